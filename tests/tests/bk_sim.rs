//! bk-sim as the services will meet it: the shipped demo world, a script run on several hosts
//! through both front doors, watched to the end, each host's log read back, and a denied
//! user, a rate-limited burst and an offline host each answered as BlueKing answers them.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

const APP: &str = "bk-log-backup";
const SECRET: &str = "demo-secret";
const BIZ: i64 = 3;

async fn demo_sim() -> bk_sim::RunningSim {
    let world = concat!(env!("CARGO_MANIFEST_DIR"), "/../bk-sim/worlds/demo.toml");
    let mut settings =
        bk_sim::Settings::new(bk_sim::World::load(world.as_ref()).expect("demo world"));
    settings.dispatch_delay_ms = 20;
    bk_sim::spawn(settings).await.expect("bk-sim starts")
}

#[derive(Clone, Copy, Debug)]
enum Door {
    Esb,
    Gateway,
}

/// Calls JOB `api` through `door` as `user`: ESB POSTs credentials in the body; the gateway
/// takes them only from `X-Bkapi-Authorization` and reads JOB queries as GET parameters.
async fn job(base: &str, door: Door, user: &str, api: &str, params: Value) -> (u16, Value) {
    let http = reqwest::Client::new();
    let read = api.starts_with("get_");
    let resp = match door {
        Door::Esb => {
            let mut body = params;
            body["bk_app_code"] = json!(APP);
            body["bk_app_secret"] = json!(SECRET);
            body["bk_username"] = json!(user);
            http.post(format!("{base}/api/c/compapi/v2/jobv3/{api}/"))
                .json(&body)
        }
        Door::Gateway => {
            let auth = json!({"bk_app_code": APP, "bk_app_secret": SECRET, "bk_username": user});
            let url = format!("{base}/api/bk-job/prod/api/v3/{api}");
            let req = if read {
                let query: Vec<(String, String)> = params
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_str().map(str::to_owned).unwrap_or(v.to_string()),
                        )
                    })
                    .collect();
                http.get(url).query(&query)
            } else {
                http.post(url).json(&params)
            };
            req.header("X-Bkapi-Authorization", auth.to_string())
        }
    };
    let resp = resp.send().await.expect("bk-sim answers");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("json body"))
}

fn scope() -> Value {
    json!({"bk_scope_type": "biz", "bk_scope_id": BIZ.to_string()})
}

fn with_scope(extra: Value) -> Value {
    let mut v = scope();
    v.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    v
}

async fn run_script(base: &str, door: Door, hosts: &[i64], script: &str) -> i64 {
    let (http, body) = job(
        base,
        door,
        "admin",
        "fast_execute_script",
        with_scope(json!({
            "script_content": STANDARD.encode(script),
            "script_language": 1,
            "timeout": 60,
            "account_alias": "root",
            "task_name": "e2e",
            "target_server": {"host_id_list": hosts},
        })),
    )
    .await;
    assert_eq!((http, body["code"].as_i64()), (200, Some(0)), "{body}");
    body["data"]["job_instance_id"].as_i64().unwrap()
}

async fn wait_finished(base: &str, door: Door, id: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, body) = job(
            base,
            door,
            "admin",
            "get_job_instance_status",
            with_scope(json!({"job_instance_id": id, "return_ip_result": true})),
        )
        .await;
        if body["data"]["finished"] == json!(true) {
            return body["data"].clone();
        }
        assert!(Instant::now() < deadline, "job {id} did not finish: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_script_runs_on_several_hosts_through_both_front_doors_and_each_log_reads_back() {
    let sim = demo_sim().await;
    let base = sim.base_url();
    for door in [Door::Esb, Door::Gateway] {
        let id = run_script(
            &base,
            door,
            &[1001, 1002, 1003],
            "ls /data/logs | head -n 1; echo host-done",
        )
        .await;
        let status = wait_finished(&base, door, id).await;
        assert_eq!(
            status["job_instance"]["status"],
            json!(3),
            "{door:?}: {status}"
        );
        let step = &status["step_instance_list"][0];
        let hosts = step["step_ip_result_list"].as_array().unwrap();
        assert_eq!(hosts.len(), 3);
        assert!(
            hosts
                .iter()
                .all(|h| h["status"] == json!(9) && h["exit_code"] == json!(0)),
            "{door:?}: {step}"
        );
        let (_, logs) = job(
            &base,
            door,
            "admin",
            "batch_get_job_instance_ip_log",
            with_scope(json!({
                "job_instance_id": id,
                "step_instance_id": step["step_instance_id"],
                "host_id_list": [1001, 1002, 1003],
            })),
        )
        .await;
        let list = logs["data"]["script_task_logs"].as_array().unwrap();
        assert_eq!(list.len(), 3, "{logs}");
        for log in list {
            assert!(
                log["log_content"]
                    .as_str()
                    .unwrap()
                    .ends_with("host-done\n"),
                "{door:?}: {log}"
            );
        }
    }
}

#[tokio::test]
async fn a_user_without_the_business_is_denied_with_a_permission_object_on_both_doors() {
    let sim = demo_sim().await;
    for door in [Door::Esb, Door::Gateway] {
        let (http, body) = job(
            &sim.base_url(),
            door,
            "bob",
            "get_job_instance_list",
            with_scope(json!({"create_time_start": 0, "create_time_end": 1, "length": 10})),
        )
        .await;
        assert_eq!(http, 200, "{door:?}");
        assert_eq!(body["result"], json!(false));
        assert_eq!(body["code"], json!(9900403));
        assert_eq!(
            body["permission"]["system_id"],
            json!("bk_job"),
            "{door:?}: {body}"
        );
        assert!(
            body["permission"]["actions"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
        );
    }
}

#[tokio::test]
async fn a_burst_over_the_rate_limit_is_refused_as_each_front_door_refuses() {
    let sim = demo_sim().await;
    let base = sim.base_url();
    let http = reqwest::Client::new();
    // The bucket is per (API, app) whichever door a call uses: set a fresh one per door.
    let fault = json!({"rate_limit": {"per_second": 0.01, "burst": 2}});
    for (door, limited_http, limited_code) in
        [(Door::Gateway, 429, 1642903), (Door::Esb, 200, 1306429)]
    {
        http.put(format!("{base}/_sim/faults/apis/get_job_plan_list"))
            .json(&fault)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap();
        let mut answers = vec![];
        for _ in 0..4 {
            let (status, body) = job(&base, door, "admin", "get_job_plan_list", scope()).await;
            answers.push((status, body["code"].as_i64().unwrap()));
        }
        let limited = answers
            .iter()
            .filter(|a| **a == (limited_http, limited_code))
            .count();
        let served = answers.iter().filter(|a| **a == (200, 0)).count();
        assert_eq!((served, limited), (2, 2), "{door:?}: {answers:?}");
    }
}

#[tokio::test]
async fn an_offline_host_fails_as_agent_abnormal_without_running_anything() {
    let sim = demo_sim().await;
    let base = sim.base_url();
    for door in [Door::Esb, Door::Gateway] {
        let id = run_script(&base, door, &[1001, 1009], "touch /tmp/ran; echo ok").await;
        let status = wait_finished(&base, door, id).await;
        let hosts = status["step_instance_list"][0]["step_ip_result_list"]
            .as_array()
            .unwrap()
            .clone();
        let offline = hosts
            .iter()
            .find(|h| h["bk_host_id"] == json!(1009))
            .unwrap();
        let online = hosts
            .iter()
            .find(|h| h["bk_host_id"] == json!(1001))
            .unwrap();
        assert_eq!(offline["status"], json!(1), "{door:?}: {offline}");
        assert_eq!(online["status"], json!(9), "{door:?}: {online}");
        assert_eq!(status["job_instance"]["status"], json!(4));
    }
    let root = sim.host_root(1009).await.unwrap();
    assert!(
        !root.join("tmp/ran").exists(),
        "the offline host ran the script"
    );
}

/// `bk_host_id`s CMDB `list_biz_hosts` lists in module `module` of business 3 (ESB).
async fn module_hosts(base: &str, module: i64) -> Vec<i64> {
    let body = json!({"bk_app_code": APP, "bk_app_secret": SECRET, "bk_username": "admin",
        "bk_biz_id": BIZ, "bk_module_ids": [module], "page": {"start": 0, "limit": 500},
        "fields": ["bk_host_id"]});
    let v: Value = reqwest::Client::new()
        .post(format!("{base}/api/c/compapi/v2/cc/list_biz_hosts/"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["data"]["info"]
        .as_array()
        .expect("hosts")
        .iter()
        .map(|h| h["bk_host_id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_host_moved_between_modules_at_run_time_is_listed_in_its_new_module_until_reset() {
    let sim = demo_sim().await;
    let base = sim.base_url();
    let http = reqwest::Client::new();
    let move_to = |host: i64, body: Value| {
        http.put(format!("{base}/_sim/hosts/{host}/modules"))
            .json(&body)
            .send()
    };
    assert_eq!(module_hosts(&base, 3001).await, [1001, 1002, 1009]);
    let status = move_to(1003, json!({"bk_module_ids": [3001]}))
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 204);
    assert_eq!(module_hosts(&base, 3001).await, [1001, 1002, 1003, 1009]);
    assert_eq!(module_hosts(&base, 3002).await, [1010]);
    // Module 5001 is business 5's; no module at all; an unknown host.
    for (host, body, code) in [
        (1003, json!({"bk_module_ids": [5001]}), 400),
        (1003, json!({"bk_module_ids": []}), 400),
        (999_999, json!({"bk_module_ids": [3001]}), 404),
    ] {
        let got = move_to(host, body.clone()).await.unwrap().status().as_u16();
        assert_eq!(got, code, "{host} {body}");
    }
    http.post(format!("{base}/_sim/reset"))
        .send()
        .await
        .unwrap();
    assert_eq!(module_hosts(&base, 3001).await, [1001, 1002, 1009]);
    assert_eq!(module_hosts(&base, 3002).await, [1003, 1010]);
    sim.stop();
}
