//! Envelopes key by key on each front door, and authentication failures as ESB and the gateway answer them.

mod common;

use common::*;
use serde_json::{Value, json};

fn status_query(job: &str) -> Vec<(&'static str, String)> {
    vec![
        ("bk_scope_type", "biz".into()),
        ("bk_scope_id", "3".into()),
        ("job_instance_id", job.into()),
    ]
}

#[tokio::test]
async fn job_gateway_success_has_result_code_data_and_job_request_id_only() {
    let s = spawn().await;
    let job = s.run_script("true", "", &[101], json!({})).await;
    let r = s
        .job_get(
            "get_job_instance_status",
            "admin",
            &status_query(&job.to_string()),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(keys(&r.body), ["code", "data", "job_request_id", "result"]);
    assert_eq!(r.body["job_request_id"].as_str().map(str::len), Some(32));
    assert_eq!(
        r.header("x-bk-job-request-id").as_deref(),
        r.body["job_request_id"].as_str()
    );
    assert!(r.header("x-bkapi-request-id").is_some());
    assert_eq!(
        keys(&r.body["data"]),
        ["finished", "job_instance", "step_instance_list"]
    );
    assert_eq!(
        keys(&r.body["data"]["job_instance"]),
        [
            "bk_biz_id",
            "bk_scope_id",
            "bk_scope_type",
            "create_time",
            "end_time",
            "job_instance_id",
            "name",
            "start_time",
            "status",
            "total_time"
        ]
    );
    assert_eq!(
        r.body["data"]["step_instance_list"][0]["step_ip_result_list"],
        Value::Null
    );
}

#[tokio::test]
async fn job_gateway_business_error_is_http_200_with_message_and_no_data() {
    let s = spawn().await;
    let r = s
        .job_get("get_job_instance_status", "admin", &status_query("99999"))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        keys(&r.body),
        ["code", "job_request_id", "message", "result"]
    );
    assert_eq!(r.body["result"], false);
    assert_eq!(r.code(), 1_244_006);
}

#[tokio::test]
async fn job_via_esb_adds_request_id() {
    let s = spawn().await;
    let r = s
        .esb(
            "jobv3",
            "get_job_instance_status",
            "admin",
            json!({"bk_scope_type": "biz", "bk_scope_id": "3", "job_instance_id": 99999}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        keys(&r.body),
        ["code", "job_request_id", "message", "request_id", "result"]
    );
    assert_eq!(r.body["request_id"].as_str().map(str::len), Some(32));
}

#[tokio::test]
async fn cmdb_envelopes_carry_message_success_and_null_permission() {
    let s = spawn().await;
    let gw = s
        .cmdb_post(
            "/api/v3/biz/search/0",
            "admin",
            json!({"fields": ["bk_biz_id"]}),
        )
        .await;
    assert_eq!(
        keys(&gw.body),
        ["code", "data", "message", "permission", "result"]
    );
    assert_eq!(
        (gw.body["message"].clone(), gw.body["permission"].clone()),
        (json!("success"), Value::Null)
    );
    let esb = s
        .esb(
            "cc",
            "search_business",
            "admin",
            json!({"fields": ["bk_biz_id"]}),
        )
        .await;
    assert_eq!(
        keys(&esb.body),
        [
            "code",
            "data",
            "message",
            "permission",
            "request_id",
            "result"
        ]
    );
}

#[tokio::test]
async fn esb_auth_failures_are_http_200_code_1306000_with_the_documented_messages() {
    let s = spawn().await;
    let cases = [
        (
            json!({"bk_app_secret": SECRET, "bk_username": "admin"}),
            "APP Code [bk_app_code] cannot be empty",
        ),
        (
            json!({"bk_app_code": APP, "bk_username": "admin"}),
            "APP Secret [bk_app_secret] cannot be empty",
        ),
        (
            json!({"bk_app_code": APP, "bk_app_secret": SECRET, "bk_token": "nope"}),
            "User authentication failed, please check if the bk_token is valid",
        ),
        (
            json!({"bk_app_code": "portal", "bk_app_secret": "p0rtal", "bk_username": "admin"}),
            "User authentication failed, please provide a valid user identity, such as bk_token, bk_username",
        ),
    ];
    for (body, message) in cases {
        let r = s.esb_raw("cc", "search_business", body).await;
        assert_eq!((r.status, r.code()), (200, 1_306_000));
        assert_eq!(r.body["message"], message);
        assert_eq!(
            keys(&r.body),
            ["code", "data", "message", "request_id", "result"]
        );
        assert_eq!(r.body["data"], Value::Null);
    }
    let wrong = s
        .esb_raw(
            "cc",
            "search_business",
            json!({"bk_app_code": APP, "bk_app_secret": "bad", "bk_username": "admin"}),
        )
        .await;
    assert_eq!(wrong.code(), 1_306_000);
}

#[tokio::test]
async fn gateway_auth_failures_use_real_status_codes_and_error_headers() {
    let s = spawn().await;
    let url = format!(
        "{}/api/bk-job/prod/api/v3/get_job_plan_list?bk_scope_type=biz&bk_scope_id=3",
        s.base
    );
    let cases: [(Option<&str>, u16, i64, &str); 5] = [
        (None, 401, 1_640_101, "APP_VERIFY_FAILED"),
        (Some("not json"), 401, 1_640_101, "APP_VERIFY_FAILED"),
        (
            Some(r#"{"bk_app_code":"log-backup","bk_app_secret":"bad","bk_username":"admin"}"#),
            401,
            1_640_101,
            "APP_VERIFY_FAILED",
        ),
        (
            Some(r#"{"bk_app_code":"portal","bk_app_secret":"p0rtal"}"#),
            401,
            1_640_102,
            "USER_VERIFY_FAILED",
        ),
        (
            Some(r#"{"bk_app_code":"portal","bk_app_secret":"p0rtal","bk_token":"forged"}"#),
            401,
            1_640_102,
            "USER_VERIFY_FAILED",
        ),
    ];
    for (header, status, code, name) in cases {
        let mut req = s.http.get(&url);
        if let Some(h) = header {
            req = req.header("X-Bkapi-Authorization", h);
        }
        let r = req.send().await.expect("call");
        assert_eq!(r.status().as_u16(), status);
        assert_eq!(
            r.headers()["x-bkapi-error-code"].to_str().ok(),
            Some(code.to_string().as_str())
        );
        assert!(r.headers().contains_key("x-bkapi-error-message"));
        let body: Value = r.json().await.expect("json");
        assert_eq!(
            keys(&body),
            ["code", "code_name", "data", "message", "result"]
        );
        assert_eq!(
            (body["code"].as_i64(), body["code_name"].as_str()),
            (Some(code), Some(name))
        );
    }
}

#[tokio::test]
async fn credentials_in_the_body_are_ignored_by_the_gateway() {
    let s = spawn().await;
    let url = format!("{}/api/bk-job/prod/api/v3/fast_execute_script", s.base);
    let r = s
        .http
        .post(url)
        .json(&json!({"bk_app_code": APP, "bk_app_secret": SECRET, "bk_username": "admin"}))
        .send()
        .await
        .expect("call");
    assert_eq!(r.status().as_u16(), 401);
}

#[tokio::test]
async fn an_app_not_granted_a_gateway_gets_403() {
    let s = spawn().await;
    let r = s
        .http
        .post(format!("{}/api/bk-cmdb/prod/api/v3/biz/search/0", s.base))
        .header(
            "X-Bkapi-Authorization",
            r#"{"bk_app_code":"portal","bk_app_secret":"p0rtal","bk_username":"admin"}"#,
        )
        .json(&json!({}))
        .send()
        .await
        .expect("call");
    assert_eq!(r.status().as_u16(), 403);
    let body: Value = r.json().await.expect("json");
    assert_eq!(
        (body["code"].as_i64(), body["code_name"].as_str()),
        (Some(1_640_301), Some("APP_NO_PERMISSION"))
    );
}

#[tokio::test]
async fn a_job_system_resource_without_x_bk_username_is_401_1247002() {
    let s = spawn().await;
    let url = format!(
        "{}/api/bk-job/prod/api/v3/system/get_job_plan_list?bk_scope_type=biz&bk_scope_id=3",
        s.base
    );
    let auth = json!({"bk_app_code": APP, "bk_app_secret": SECRET}).to_string();
    let r = s
        .http
        .get(&url)
        .header("X-Bkapi-Authorization", &auth)
        .send()
        .await
        .expect("call");
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(r.json::<Value>().await.expect("json")["code"], 1_247_002);
    let ok = s
        .http
        .get(&url)
        .header("X-Bkapi-Authorization", &auth)
        .header("X-Bk-Username", "alice")
        .send()
        .await
        .expect("call");
    assert_eq!(ok.json::<Value>().await.expect("json")["data"]["total"], 1);
}

#[tokio::test]
async fn a_user_without_the_business_gets_9900403_with_a_permission_object_from_job() {
    let s = spawn().await;
    let body = json!({"bk_scope_type": "biz", "bk_scope_id": "3", "script_content": b64("id"), "script_language": 1,
        "account_alias": "root", "target_server": {"host_id_list": [101]}});
    let r = s.job_post("fast_execute_script", "bob", body).await;
    assert_eq!((r.status, r.code()), (200, 9_900_403));
    assert_eq!(
        r.body["message"],
        "User (bob) permission not allowed, please confirm and apply permission in IAM and try again"
    );
    let p = &r.body["permission"];
    assert_eq!(keys(p), ["actions", "system_id", "system_name"]);
    assert_eq!(p["system_id"], "bk_job");
    assert_eq!(p["actions"][0]["id"], "quick_execute_script");
    let rrt = &p["actions"][0]["related_resource_types"][0];
    assert_eq!(
        keys(rrt),
        ["instances", "system_id", "system_name", "type", "type_name"]
    );
    assert_eq!(
        rrt["instances"],
        json!([[{"id": "3", "type": "biz", "type_name": "Business", "name": "game"}]])
    );
    let jobs = s.admin_get("/jobs").await;
    assert_eq!(jobs["count"], 0);
}

#[tokio::test]
async fn a_user_without_the_business_gets_9900403_from_cmdb_and_1199048_from_get_host_base_info() {
    let s = spawn().await;
    let r = s
        .cmdb_post(
            "/api/v3/hosts/app/3/list_hosts",
            "bob",
            json!({"page": {"start": 0, "limit": 10}, "fields": ["bk_host_id"]}),
        )
        .await;
    assert_eq!(r.code(), 9_900_403);
    assert_eq!(r.body["message"], "Do not have access permission.");
    assert_eq!(r.body["permission"]["system_id"], "bk_cmdb");
    let body = s.cmdb_get("/api/v3/hosts/0/101", "bob").await.body;
    assert_eq!(
        (body["code"].as_i64(), body["permission"].clone()),
        (Some(1_199_048), Value::Null)
    );
}

#[tokio::test]
async fn esb_honours_an_authorization_header_over_body_credentials() {
    let s = spawn().await;
    let url = format!("{}/api/c/compapi/v2/cc/search_business/", s.base);
    let body = json!({"bk_app_code": APP, "bk_app_secret": "wrong", "bk_username": "admin"});
    let r: Value = s
        .http
        .post(&url)
        .header("X-Bkapi-Authorization", gw_auth("alice"))
        .json(&body)
        .send()
        .await
        .expect("call")
        .json()
        .await
        .expect("json");
    assert_eq!(r["code"], 0);
    assert_eq!(r["data"]["count"], 1);
    let bad: Value = s
        .http
        .post(&url)
        .header("X-Bkapi-Authorization", "{oops")
        .json(&body)
        .send()
        .await
        .expect("call")
        .json()
        .await
        .expect("json");
    assert_eq!(bad["code"], 1_306_000);
}

#[tokio::test]
async fn a_bk_token_identifies_the_user_on_both_front_doors() {
    let s = spawn().await;
    let esb = s
        .esb_raw(
            "cc",
            "search_business",
            json!({"bk_app_code": "portal", "bk_app_secret": "p0rtal", "bk_token": "tkn-alice"}),
        )
        .await;
    assert_eq!(esb.body["data"]["count"], 1);
    let url = format!(
        "{}/api/bk-job/prod/api/v3/get_job_plan_list?bk_scope_type=biz&bk_scope_id=3",
        s.base
    );
    let auth = r#"{"bk_app_code":"portal","bk_app_secret":"p0rtal","bk_token":"tkn-alice"}"#;
    let gw: Value = s
        .http
        .get(&url)
        .header("X-Bkapi-Authorization", auth)
        .send()
        .await
        .expect("call")
        .json()
        .await
        .expect("json");
    assert_eq!(gw["data"]["total"], 1);
    let rec = s.admin_get("/requests?api=get_job_plan_list").await;
    assert_eq!(rec["requests"][0]["username"], "alice");
}

#[tokio::test]
async fn esb_reads_a_form_encoded_body() {
    let s = spawn().await;
    let url = format!("{}/api/c/compapi/v2/gse/get_agent_status/", s.base);
    let form = [
        ("bk_app_code", APP),
        ("bk_app_secret", SECRET),
        ("bk_username", "admin"),
    ];
    let r: Value = s
        .http
        .post(url)
        .form(&form)
        .send()
        .await
        .expect("call")
        .json()
        .await
        .expect("json");
    assert_eq!(
        (r["code"].as_i64(), r["message"].as_str()),
        (Some(1_306_000), Some("hosts: This field is required."))
    );
}
