//! Jobs really run: per-host sandboxes, statuses, exit codes, logs, params, timeout, terminate, callback.

mod common;

use common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn a_script_runs_on_each_host_in_its_own_tree_and_reports_per_host_results() {
    let s = spawn().await;
    let job = s
        .run_script(
            "hostname; cat /project/only-on-101.txt",
            "",
            &[101, 102],
            json!({}),
        )
        .await;
    let st = s.wait_finished(job).await;
    assert_eq!(st["job_instance"]["status"], 4);
    assert_eq!(host_results(&st), vec![(101, 9, 0), (102, 104, 1)]);
    assert_eq!(s.log(job, 101).await, json!("game-01\nmine\n"));
    assert_eq!(
        s.log(job, 102).await,
        json!("game-02\ncat: /project/only-on-101.txt: No such file or directory\n")
    );
}

#[tokio::test]
async fn job_status_moves_from_pending_to_running_to_success() {
    let s = spawn_with(|c| c.dispatch_delay_ms = 1000).await;
    let job = s
        .run_script("sleep 0.3; echo done", "", &[101], json!({}))
        .await;
    let first = s.status(job).await;
    assert_eq!(first["job_instance"]["status"], 1);
    assert_eq!(first["finished"], false);
    let st = s.wait_finished(job).await;
    assert_eq!(st["job_instance"]["status"], 3);
    assert_eq!(st["step_instance_list"][0]["status"], 3);
    let admin = s.admin_get(&format!("/jobs/{job}")).await;
    assert_eq!(admin["status_history"], json!([1, 2, 3]));
}

#[tokio::test]
async fn a_non_zero_exit_code_fails_the_host_with_status_104_and_that_exit_code() {
    let s = spawn().await;
    let job = s.run_script("exit 7", "", &[101], json!({})).await;
    let st = s.wait_finished(job).await;
    assert_eq!(host_results(&st), vec![(101, 104, 7)]);
    assert_eq!(st["job_instance"]["status"], 4);
}

#[tokio::test]
async fn a_host_with_its_agent_down_fails_as_agent_abnormal_without_running() {
    let s = spawn().await;
    let job = s.run_script("echo ran", "", &[101, 104], json!({})).await;
    let st = s.wait_finished(job).await;
    assert_eq!(host_results(&st), vec![(101, 9, 0), (104, 1, 0)]);
    assert_eq!(s.log(job, 104).await, Value::Null);
}

#[tokio::test]
async fn script_param_is_split_by_a_shell_as_job_does() {
    let s = spawn().await;
    let job = s
        .run_script(
            "printf '<%s>' \"$@\"",
            "one 'two three' \"$((1+1))\"\nfour",
            &[101],
            json!({}),
        )
        .await;
    s.wait_finished(job).await;
    assert_eq!(s.log(job, 101).await, json!("<one><two three><2><four>"));
}

#[tokio::test]
async fn an_unreadable_directory_is_unreadable_inside_the_sandbox() {
    let s = spawn().await;
    let job = s
        .run_script(
            "find /project -name '*.log' | sort; echo rc=${PIPESTATUS[0]}",
            "",
            &[103],
            json!({}),
        )
        .await;
    s.wait_finished(job).await;
    let log = s.log(job, 103).await;
    assert_eq!(
        log,
        json!("find: ‘/project/private’: Permission denied\n/project/a.log\nrc=1\n")
    );
}

#[tokio::test]
async fn a_script_writes_into_its_host_tree_and_nowhere_else() {
    let s = spawn().await;
    let job = s.run_script("mkdir -p /project/backup && cp -p /project/a.log /project/backup/a.log && ls /project/backup", "", &[101], json!({})).await;
    let st = s.wait_finished(job).await;
    assert_eq!(host_results(&st), vec![(101, 9, 0)]);
    let root101 = s.sim.host_root(101).await.expect("root");
    let root102 = s.sim.host_root(102).await.expect("root");
    assert_eq!(
        std::fs::read(root101.join("project/backup/a.log")).expect("copied"),
        b"alpha\n"
    );
    assert!(!root102.join("project/backup").exists());
}

#[tokio::test]
async fn a_timeout_kills_the_script_and_reports_status_102() {
    let s = spawn().await;
    let job = s
        .run_script("echo started; sleep 30", "", &[101], json!({"timeout": 1}))
        .await;
    let st = s.wait_finished(job).await;
    assert_eq!(host_results(&st), vec![(101, 102, 0)]);
    assert_eq!(st["job_instance"]["status"], 4);
    assert_eq!(s.log(job, 101).await, json!("started\n"));
}

#[tokio::test]
async fn terminate_stops_a_running_job_through_10_to_11() {
    let s = spawn().await;
    let job = s
        .run_script("echo up; sleep 30", "", &[101, 102], json!({}))
        .await;
    s.wait_until(job, |st| host_results(st).iter().all(|h| h.1 == 7))
        .await;
    let body = json!({"bk_scope_type": "biz", "bk_scope_id": "3", "job_instance_id": job, "operation_code": 1});
    let r = s
        .job_post("operate_job_instance", "admin", body.clone())
        .await;
    assert_eq!(
        r.body["data"],
        json!({"job_instance_id": job, "job_instance_name": null, "step_instance_id": null})
    );
    let st = s.wait_finished(job).await;
    assert_eq!(st["job_instance"]["status"], 11);
    assert_eq!(st["step_instance_list"][0]["status"], 11);
    assert_eq!(host_results(&st), vec![(101, 103, 0), (102, 103, 0)]);
    let admin = s.admin_get(&format!("/jobs/{job}")).await;
    assert_eq!(admin["status_history"], json!([1, 2, 10, 11]));
    let again = s.job_post("operate_job_instance", "admin", body).await;
    assert_eq!(again.code(), 1_241_003);
}

#[tokio::test]
async fn output_beyond_the_log_cap_is_cut_at_exactly_the_cap() {
    let s = spawn_with(|c| c.log_cap_bytes = 1000).await;
    let job = s
        .run_script("head -c 5000 /dev/zero | tr '\\0' x", "", &[101], json!({}))
        .await;
    let st = s.wait_finished(job).await;
    assert_eq!(host_results(&st), vec![(101, 9, 0)]);
    assert_eq!(s.log(job, 101).await, json!("x".repeat(1000)));
}

#[tokio::test]
async fn the_callback_url_receives_the_final_status_as_json() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/cb", listener.local_addr().expect("addr"));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Value>();
    let app = axum::Router::new().route(
        "/cb",
        axum::routing::post(move |axum::Json(v): axum::Json<Value>| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(v);
                "ok"
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let s = spawn().await;
    let job = s
        .run_script("exit 0", "", &[101], json!({"callback_url": url}))
        .await;
    let got = tokio::time::timeout(std::time::Duration::from_secs(30), rx.recv())
        .await
        .expect("callback in time")
        .expect("body");
    let step = s.status(job).await["step_instance_list"][0]["step_instance_id"].clone();
    assert_eq!(
        got,
        json!({"job_instance_id": job, "status": 3, "step_instance_list": [{"step_instance_id": step, "status": 3}]})
    );
    let cbs = s.admin_get("/callbacks").await;
    assert_eq!(cbs["callbacks"][0]["encoding"], "json");
    assert_eq!(cbs["callbacks"][0]["http_status"], 200);
}

#[tokio::test]
async fn a_plan_runs_with_its_variables_and_an_override() {
    let s = spawn().await;
    let body = json!({"bk_scope_type": "biz", "bk_scope_id": "3", "job_plan_id": 700,
        "global_var_list": [{"name": "dir", "value": "/project"}, {"id": 2, "server": {"host_id_list": [102]}}]});
    let r = s.job_post("execute_job_plan", "admin", body).await;
    assert_eq!(r.body["data"]["job_instance_name"], "list logs");
    assert_eq!(r.body["data"]["step_instance_id"], Value::Null);
    let job = r.body["data"]["job_instance_id"].as_i64().expect("id");
    let st = s.wait_finished(job).await;
    assert_eq!(host_results(&st), vec![(102, 9, 0)]);
    assert_eq!(s.log(job, 102).await, json!("a.log\n"));
    let q: Vec<(&str, String)> = vec![
        ("bk_scope_type", "biz".into()),
        ("bk_scope_id", "3".into()),
        ("job_instance_id", job.to_string()),
    ];
    let vars = s
        .job_get("get_job_instance_global_var_value", "admin", &q)
        .await;
    let step = st["step_instance_list"][0]["step_instance_id"].clone();
    assert_eq!(
        vars.body["data"],
        json!({"job_instance_id": job, "step_instance_var_list": [
        {"step_instance_id": step, "global_var_list": [{"name": "dir", "value": "/project", "type": 1}]}]})
    );
}

#[tokio::test]
async fn a_job_created_unstarted_waits_in_status_1_until_started() {
    let s = spawn().await;
    let job = s
        .run_script("echo go", "", &[101], json!({"start_task": false}))
        .await;
    let body = json!({"bk_scope_type": "biz", "bk_scope_id": "3", "job_instance_id": job, "operation_code": 2});
    assert_eq!(s.status(job).await["job_instance"]["status"], 1);
    assert_eq!(
        s.job_post("operate_job_instance", "admin", body.clone())
            .await
            .code(),
        0
    );
    let st = s.wait_finished(job).await;
    assert_eq!(st["job_instance"]["status"], 3);
    assert_eq!(
        s.job_post("operate_job_instance", "admin", body)
            .await
            .code(),
        1_241_015
    );
}

#[tokio::test]
async fn the_same_job_reads_the_same_through_esb_and_batch_logs() {
    let s = spawn().await;
    let body = json!({"bk_scope_type": "biz", "bk_scope_id": "3", "script_content": b64("echo hi-$(hostname)"),
        "script_language": 1, "account_id": 1, "target_server": {"ip_list": [{"bk_cloud_id": 0, "ip": "10.0.0.1"}, {"bk_cloud_id": 0, "ip": "10.0.0.2"}]}});
    let r = s.esb("jobv3", "fast_execute_script", "alice", body).await;
    assert_eq!(r.code(), 0, "{}", r.body);
    let job = r.body["data"]["job_instance_id"].as_i64().expect("id");
    let step = r.body["data"]["step_instance_id"].as_i64().expect("step");
    s.wait_finished(job).await;
    let logs = s.esb("jobv3", "batch_get_job_instance_ip_log", "alice",
        json!({"bk_scope_type": "biz", "bk_scope_id": "3", "job_instance_id": job, "step_instance_id": step, "host_id_list": [101, 102]})).await;
    let list = &logs.body["data"]["script_task_logs"];
    assert_eq!(list[0]["log_content"], "hi-game-01\n");
    assert_eq!(list[1]["log_content"], "hi-game-02\n");
    assert_eq!(logs.body["data"]["file_task_logs"], Value::Null);
    assert_eq!(logs.body["data"]["log_type"], 1);
}

#[tokio::test]
async fn a_callback_refused_as_json_is_retried_once_form_encoded() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/cb", listener.local_addr().expect("addr"));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let app = axum::Router::new().route(
        "/cb",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let tx = tx.clone();
            async move {
                let json = headers
                    .get("content-type")
                    .is_some_and(|v| v == "application/json");
                let _ = tx.send(body);
                if json {
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    axum::http::StatusCode::OK
                }
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let s = spawn().await;
    let job = s
        .run_script("exit 1", "", &[101], json!({"callback_url": url}))
        .await;
    let wait = std::time::Duration::from_secs(30);
    let first = tokio::time::timeout(wait, rx.recv())
        .await
        .expect("first in time")
        .expect("first");
    let second = tokio::time::timeout(wait, rx.recv())
        .await
        .expect("second in time")
        .expect("second");
    let step = s.status(job).await["step_instance_list"][0]["step_instance_id"]
        .as_i64()
        .expect("step");
    assert_eq!(
        serde_json::from_str::<Value>(&first).expect("json"),
        json!({"job_instance_id": job, "status": 4, "step_instance_list": [{"step_instance_id": step, "status": 4}]})
    );
    let list = format!("[{{\"status\":4,\"step_instance_id\":{step}}}]");
    let expected: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("job_instance_id", &job.to_string())
        .append_pair("status", "4")
        .append_pair("step_instance_list", &list)
        .finish();
    assert_eq!(second, expected);
    let cbs = s.admin_get("/callbacks").await;
    let seen: Vec<(String, i64)> = cbs["callbacks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c["encoding"].as_str().unwrap_or_default().to_string(),
                c["http_status"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![("json".to_string(), 500), ("form".to_string(), 200)]
    );
}

#[tokio::test]
async fn a_three_megabyte_script_is_accepted_and_runs() {
    let s = spawn().await;
    let script = format!("#{}\necho big", "x".repeat(3 * 1024 * 1024));
    let job = s.run_script(&script, "", &[101], json!({})).await;
    s.wait_finished(job).await;
    assert_eq!(s.log(job, 101).await, json!("big\n"));
}
