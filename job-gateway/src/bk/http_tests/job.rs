//! JOB calls over HTTP: exact requests per transport and the launch-once rule under faults.

use axum::http::Method;
use serde_json::{Value, json};

use super::*;

#[tokio::test]
async fn execute_script_over_esb_posts_the_documented_body_with_credentials() {
    let server = Server::start(|_, _| launched()).await;
    let launch = server
        .client(Transport::Esb)
        .fast_execute_script(&"alice".into(), &script_request())
        .await
        .unwrap();
    assert_eq!(launch.job_instance_id, Some(88120));
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, Method::POST);
    assert_eq!(
        seen[0].uri.path(),
        "/api/c/compapi/v2/jobv3/fast_execute_script/"
    );
    assert_eq!(seen[0].headers["blueking-language"], "en");
    assert_eq!(
        seen[0].json(),
        json!({"bk_app_code": "bk-log-backup", "bk_app_secret": "s3cr3t", "bk_username": "alice",
               "bk_scope_type": "biz", "bk_scope_id": "12", "script_content": "bHMgLWwgIiQxIg==",
               "script_language": 1, "script_param": "L3Zhci9sb2c=", "is_param_sensitive": 0,
               "account_id": 41, "target_server": {"host_id_list": [2041, 2042]}, "task_name": "backup-1f3c"})
    );
}

#[tokio::test]
async fn the_gateway_carries_credentials_only_in_the_header_and_reads_with_get() {
    let server = Server::start(|_, req| {
        if req.method == Method::GET {
            Reply::Json(200, json!({"result": true, "code": 0, "data": {"finished": false,
                "job_instance": {"job_instance_id": 88120, "status": 2}, "step_instance_list": []}}))
        } else {
            launched()
        }
    })
    .await;
    let client = server.client(Transport::Apigw);
    client
        .fast_execute_script(&"alice".into(), &script_request())
        .await
        .unwrap();
    let status = client
        .get_job_instance_status(&"bob".into(), &Scope::biz(12), 88120, true)
        .await
        .unwrap();
    assert_eq!(status.job_instance.unwrap().status, Some(2));

    let seen = server.seen();
    assert_eq!(
        seen[0].uri.path(),
        "/api/bk-job/prod/api/v3/fast_execute_script"
    );
    let body = seen[0].json();
    assert!(body.get("bk_app_secret").is_none() && body.get("bk_username").is_none());
    let auth: Value =
        serde_json::from_slice(seen[0].headers["x-bkapi-authorization"].as_bytes()).unwrap();
    assert_eq!(
        auth,
        json!({"bk_app_code": "bk-log-backup", "bk_app_secret": "s3cr3t", "bk_username": "alice"})
    );

    assert_eq!(seen[1].method, Method::GET);
    assert_eq!(
        seen[1].uri.path(),
        "/api/bk-job/prod/api/v3/get_job_instance_status"
    );
    let mut query: Vec<&str> = seen[1].uri.query().unwrap().split('&').collect();
    query.sort_unstable();
    assert_eq!(
        query,
        [
            "bk_scope_id=12",
            "bk_scope_type=biz",
            "job_instance_id=88120",
            "return_ip_result=true"
        ]
    );
    assert!(seen[1].body.is_empty());
}

#[tokio::test]
async fn a_launch_that_times_out_is_sent_exactly_once() {
    let server = Server::start(|_, _| Reply::Hang).await;
    let err = server
        .client(Transport::Esb)
        .fast_execute_script(&"alice".into(), &script_request())
        .await
        .unwrap_err();
    assert!(matches!(err, BkError::Timeout { .. }), "{err:?}");
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn a_launch_answered_502_is_sent_exactly_once() {
    let server = Server::start(|_, _| Reply::Text(502, "Bad Gateway")).await;
    let err = server
        .client(Transport::Esb)
        .fast_execute_script(&"alice".into(), &script_request())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            BkError::Unavailable {
                http_status: 502,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn a_launch_stopped_by_the_gateway_rate_limit_is_sent_again_and_lands_once() {
    let server = Server::start(|n, _| match n {
        0 => Reply::Json(429, json!({"code": 1642903, "code_name": "RATE_LIMIT_RESTRICTION",
            "message": "API rate limit exceeded by resource strategy", "result": false, "data": null})),
        _ => launched(),
    })
    .await;
    let launch = server
        .client(Transport::Apigw)
        .fast_execute_script(&"alice".into(), &script_request())
        .await
        .unwrap();
    assert_eq!(launch.job_instance_id, Some(88120));
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn a_terminate_answered_by_esb_1306201_is_not_repeated() {
    let server = Server::start(|_, _| {
        Reply::Json(200, json!({"result": false, "code": 1306201, "data": null,
            "message": "Component request third-party system [JOBV3] interface [operate_job_instance] error", "request_id": "e-7"}))
    })
    .await;
    let err = server
        .client(Transport::Esb)
        .terminate_job_instance(&"alice".into(), &Scope::biz(12), 88120)
        .await
        .unwrap_err();
    assert_eq!(err.request_id(), Some("e-7"));
    assert_eq!(server.seen().len(), 1);
    assert_eq!(server.seen()[0].json()["operation_code"], 1);
}

#[tokio::test]
async fn a_read_answered_502_is_retried_until_it_succeeds() {
    let server = Server::start(|n, _| match n {
        0 | 1 => Reply::Text(502, "Bad Gateway"),
        _ => Reply::Json(200, json!({"result": true, "code": 0, "data": {"job_instance_id": 7, "step_instance_var_list": null}})),
    })
    .await;
    let vars = server
        .client(Transport::Apigw)
        .get_job_instance_global_var_value(&"alice".into(), &Scope::biz(12), 7)
        .await
        .unwrap();
    assert_eq!(vars.job_instance_id, Some(7));
    assert_eq!(server.seen().len(), 3);
}

#[tokio::test]
async fn a_refused_connection_proves_the_launch_never_left() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let err = client_for(&base, Transport::Esb)
        .fast_execute_script(&"alice".into(), &script_request())
        .await
        .unwrap_err();
    assert!(matches!(err, BkError::NotDelivered { .. }), "{err:?}");
    assert!(err.proves_not_delivered());
}

#[tokio::test]
async fn batch_logs_of_1200_hosts_go_in_calls_of_500_500_200_and_merge_in_order() {
    let server = Server::start(|_, req| {
        let ids = req.json()["host_id_list"].clone();
        let logs: Vec<Value> = ids
            .as_array()
            .unwrap()
            .iter()
            .map(|id| json!({"bk_host_id": id, "log_content": format!("log of {id}")}))
            .collect();
        Reply::Json(200, json!({"result": true, "code": 0, "data": {"job_instance_id": 1,
            "step_instance_id": 2, "log_type": 1, "script_task_logs": logs, "file_task_logs": null}}))
    })
    .await;
    let ids: Vec<i64> = (1..=1200).collect();
    let logs = server
        .client(Transport::Apigw)
        .batch_get_job_instance_ip_log(
            &"alice".into(),
            &Scope::biz(12),
            1,
            2,
            &LogHosts::Ids(ids.clone()),
        )
        .await
        .unwrap();
    let sizes: Vec<usize> = server
        .seen()
        .iter()
        .map(|s| s.json()["host_id_list"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [500, 500, 200]);
    let got: Vec<i64> = logs
        .script_task_logs
        .unwrap()
        .iter()
        .map(|l| l.host_id().unwrap())
        .collect();
    assert_eq!(got, ids);
    assert_eq!(logs.file_task_logs, None);
}
