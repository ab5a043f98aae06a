//! Injected faults on both front doors, host faults, and the admin request log.

mod common;

use std::time::{Duration, Instant};

use bk_sim::faults::{ApiFault, FaultSpec, InjectedError, RateLimit};
use common::*;
use serde_json::{Value, json};

fn plan_list_query() -> Vec<(&'static str, String)> {
    vec![("bk_scope_type", "biz".into()), ("bk_scope_id", "3".into())]
}

#[tokio::test]
async fn a_rate_limited_burst_gets_429_on_the_gateway_beyond_the_bucket() {
    let s = spawn().await;
    let fault = json!({"rate_limit": {"per_second": 0.01, "burst": 3}});
    assert_eq!(
        s.admin_put("/faults/apis/get_job_plan_list", fault).await,
        204
    );
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(
            s.job_get("get_job_plan_list", "admin", &plan_list_query())
                .await,
        );
    }
    assert_eq!(
        statuses.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![200, 200, 200, 429, 429]
    );
    let last = &statuses[4];
    assert_eq!(
        last.body,
        json!({"code": 1_642_903, "code_name": "RATE_LIMIT_RESTRICTION", "message": "API rate limit exceeded by resource strategy", "result": false, "data": null})
    );
    assert_eq!(
        last.header("x-bkapi-error-code").as_deref(),
        Some("1642903")
    );
}

#[tokio::test]
async fn a_rate_limited_burst_gets_1306429_with_http_200_on_esb() {
    let mut spec = FaultSpec::default();
    spec.apis.insert(
        "*".into(),
        ApiFault {
            rate_limit: Some(RateLimit {
                per_second: 0.01,
                burst: 1,
            }),
            ..ApiFault::default()
        },
    );
    let s = spawn_with(|c| c.faults = spec).await;
    let first = s.esb("cc", "search_business", "admin", json!({})).await;
    let second = s.esb("cc", "search_business", "admin", json!({})).await;
    assert_eq!((first.status, first.code()), (200, 0));
    assert_eq!(
        (
            second.status,
            second.code(),
            second.body["message"].as_str()
        ),
        (200, 1_306_429, Some("Access frequency limit"))
    );
}

#[tokio::test]
async fn injected_upstream_errors_answer_with_the_chosen_status() {
    let s = spawn().await;
    let fault = json!({"fail_next": 2, "error": {"kind": "http", "status": 503}});
    assert_eq!(
        s.admin_put("/faults/apis/get_job_plan_list", fault).await,
        204
    );
    let gw = s
        .job_get("get_job_plan_list", "admin", &plan_list_query())
        .await;
    assert_eq!(
        (gw.status, gw.code(), gw.body["code_name"].as_str()),
        (503, 1_650_300, Some("SERVICE_UNAVAILABLE"))
    );
    let esb = s.http.post(format!("{}/api/c/compapi/v2/jobv3/get_job_plan_list/", s.base))
        .json(&json!({"bk_app_code": APP, "bk_app_secret": SECRET, "bk_username": "admin", "bk_scope_type": "biz", "bk_scope_id": "3"}))
        .send().await.expect("call");
    assert_eq!(esb.status().as_u16(), 503);
    assert!(
        esb.text()
            .await
            .expect("text")
            .contains("503 Service Unavailable")
    );
    let third = s
        .job_get("get_job_plan_list", "admin", &plan_list_query())
        .await;
    assert_eq!((third.status, third.code()), (200, 0));
}

#[tokio::test]
async fn an_injected_business_error_is_answered_in_the_system_envelope() {
    let mut spec = FaultSpec::default();
    let error = InjectedError::Code {
        code: 1_240_001,
        message: "Service Unavailable".into(),
    };
    spec.apis.insert(
        "fast_execute_script".into(),
        ApiFault {
            error_rate: 1.0,
            error,
            ..ApiFault::default()
        },
    );
    let s = spawn_with(|c| c.faults = spec).await;
    let r = s.job_post("fast_execute_script", "admin", json!({})).await;
    assert_eq!(
        (r.status, r.code(), r.body["message"].as_str()),
        (200, 1_240_001, Some("Service Unavailable"))
    );
    assert_eq!(
        keys(&r.body),
        ["code", "job_request_id", "message", "result"]
    );
    assert_eq!(s.admin_get("/jobs").await["count"], 0);
}

#[tokio::test]
async fn added_latency_delays_the_answer() {
    let s = spawn().await;
    assert_eq!(
        s.admin_put("/faults/apis/get_job_plan_list", json!({"latency_ms": 300}))
            .await,
        204
    );
    let t = Instant::now();
    let r = s
        .job_get("get_job_plan_list", "admin", &plan_list_query())
        .await;
    assert_eq!(r.code(), 0);
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "answered after {:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn a_hanging_host_runs_into_the_timeout_while_others_succeed() {
    let s = spawn().await;
    assert_eq!(
        s.admin_put("/faults/hosts/102", json!({"kind": "hang"}))
            .await,
        204
    );
    let job = s
        .run_script("echo ok", "", &[101, 102], json!({"timeout": 1}))
        .await;
    let st = s.wait_finished(job).await;
    assert_eq!(host_results(&st), vec![(101, 9, 0), (102, 102, 0)]);
}

#[tokio::test]
async fn a_host_that_goes_offline_mid_job_fails_as_agent_abnormal_and_stays_offline() {
    let s = spawn().await;
    assert_eq!(
        s.admin_put("/faults/hosts/101", json!({"kind": "offline_mid_job"}))
            .await,
        204
    );
    let job = s
        .run_script("echo begun; sleep 1", "", &[101, 102], json!({}))
        .await;
    let st = s.wait_finished(job).await;
    assert_eq!(host_results(&st), vec![(101, 1, 0), (102, 9, 0)]);
    let host = s.admin_get("/hosts/101").await;
    assert_eq!(host["agent_alive"], false);
}

#[tokio::test]
async fn the_request_log_counts_calls_per_api_and_reset_clears_it() {
    let s = spawn().await;
    let job = s.run_script("true", "", &[101], json!({})).await;
    s.wait_finished(job).await;
    let counts = s.admin_get("/requests/counts").await;
    assert_eq!(counts["by_api"]["fast_execute_script"], 1);
    let launches = s.admin_get("/requests?api=fast_execute_script").await;
    let rec = &launches["requests"][0];
    assert_eq!(
        (
            rec["transport"].as_str(),
            rec["app_code"].as_str(),
            rec["username"].as_str()
        ),
        (Some("gateway"), Some(APP), Some("admin"))
    );
    assert_eq!(
        rec["params"]["target_server"],
        json!({"host_id_list": [101]})
    );
    assert_eq!(rec["params"].get("bk_app_secret"), None::<&Value>);
    let since = rec["seq"].as_u64().expect("seq");
    let after = s.admin_get(&format!("/requests?since={since}")).await;
    assert_eq!(after["requests"][0]["seq"].as_u64(), Some(since + 1));
    let r = s
        .http
        .post(format!("{}/_sim/reset", s.base))
        .send()
        .await
        .expect("reset");
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(
        s.admin_get("/requests/counts").await,
        json!({"total": 0, "by_api": {}})
    );
}

#[tokio::test]
async fn a_full_disk_fails_writes_with_no_space_left_on_device() {
    let s = spawn().await;
    let fault = json!({"kind": "disk_full", "path": "/project/backup", "size_bytes": 4096});
    assert_eq!(s.admin_put("/faults/hosts/101", fault).await, 204);
    let script = "mkdir -p /project/backup; head -c 3000 /dev/zero > /project/backup/a && echo first-ok; head -c 3000 /dev/zero > /project/backup/b 2>/dev/null || echo second-failed";
    let job = s.run_script(script, "", &[101, 102], json!({})).await;
    s.wait_finished(job).await;
    assert_eq!(s.log(job, 101).await, json!("first-ok\nsecond-failed\n"));
    assert_eq!(s.log(job, 102).await, json!("first-ok\n"));
}
