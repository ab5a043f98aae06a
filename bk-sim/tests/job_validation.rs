//! JOB request validation: each documented code for each bad input, and nothing launched on a refusal.

mod common;

use common::*;
use serde_json::{Value, json};

fn launch(extra: Value) -> Value {
    let mut b = json!({"bk_scope_type": "biz", "bk_scope_id": "3", "script_content": b64("true"), "script_language": 1,
        "account_alias": "root", "target_server": {"host_id_list": [101]}});
    if let (Value::Object(m), Value::Object(e)) = (&mut b, extra) {
        for (k, v) in e {
            if v.is_null() {
                m.remove(&k);
            } else {
                m.insert(k, v);
            }
        }
    }
    b
}

#[tokio::test]
async fn fast_execute_script_rejects_each_bad_input_with_its_code() {
    let s = spawn().await;
    let cases: Vec<(Value, i64, &str)> = vec![
        (
            json!({"target_server": null}),
            1_241_004,
            "Missing request parameter [target_server]",
        ),
        (
            json!({"target_server": {"host_id_list": []}}),
            1_244_001,
            "Host is empty",
        ),
        (
            json!({"target_server": {"host_id_list": [999]}}),
            1_243_053,
            "hostIds not exist in CMDB: 999",
        ),
        (
            json!({"target_server": {"host_id_list": [201]}}),
            1_244_002,
            "hosts not in the business in CMDB",
        ),
        (
            json!({"target_server": {"ip_list": [{"bk_cloud_id": 0, "ip": "10.9.9.9"}]}}),
            1_243_052,
            "IPs(Including BK-Net) not exist in CMDB: 0:10.9.9.9",
        ),
        (
            json!({"script_content": null}),
            1_241_004,
            "Missing request parameter [script_version_id|script_id|script_content]",
        ),
        (
            json!({"script_language": 9}),
            1_241_005,
            "Invalid request parameter [script_language]",
        ),
        (
            json!({"script_version_id": 0}),
            1_241_005,
            "Invalid request parameter [script_version_id]",
        ),
        (
            json!({"account_alias": null}),
            1_241_004,
            "Missing request parameter [account_id|account_alias]",
        ),
        (
            json!({"account_alias": "nobody"}),
            1_244_003,
            "Account [nobody] does not exist",
        ),
        (
            json!({"timeout": 0}),
            1_240_003,
            "timeout must be between 1 and 259200",
        ),
        (
            json!({"bk_scope_type": "tenant"}),
            1_240_003,
            "Invalid bk_scope_type",
        ),
        (
            json!({"bk_scope_id": "4"}),
            1_243_049,
            "Business/Business Set not exist or archived",
        ),
    ];
    for (extra, code, message) in cases {
        let r = s
            .job_post("fast_execute_script", "admin", launch(extra.clone()))
            .await;
        assert_eq!(
            (r.code(), r.body["message"].as_str()),
            (code, Some(message)),
            "for {extra}"
        );
        assert_eq!(r.body["result"], false);
    }
    assert_eq!(s.admin_get("/jobs").await["count"], 0);
}

#[tokio::test]
async fn the_target_count_limit_answers_1244022() {
    let s = spawn_with(|c| c.max_script_targets = 1).await;
    let r = s
        .job_post(
            "fast_execute_script",
            "admin",
            launch(json!({"target_server": {"host_id_list": [101, 102]}})),
        )
        .await;
    assert_eq!(r.code(), 1_244_022);
    assert_eq!(
        r.body["message"],
        "The number of script task target servers exceeds the limit: 1"
    );
}

#[tokio::test]
async fn read_apis_validate_ids_and_windows() {
    let s = spawn().await;
    let scope = |extra: &[(&'static str, &str)]| {
        let mut q: Vec<(&str, String)> =
            vec![("bk_scope_type", "biz".into()), ("bk_scope_id", "3".into())];
        q.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        q
    };
    type Query = Vec<(&'static str, String)>;
    let cases: Vec<(&str, Query, i64)> = vec![
        (
            "get_job_instance_status",
            scope(&[("job_instance_id", "0")]),
            1_241_007,
        ),
        (
            "get_job_instance_status",
            scope(&[("job_instance_id", "424242")]),
            1_244_006,
        ),
        (
            "get_job_instance_ip_log",
            scope(&[
                ("job_instance_id", "424242"),
                ("step_instance_id", "1"),
                ("bk_host_id", "101"),
            ]),
            1_244_006,
        ),
        (
            "get_job_plan_detail",
            scope(&[("job_plan_id", "0")]),
            1_241_007,
        ),
        (
            "get_job_plan_detail",
            scope(&[("job_plan_id", "12345")]),
            1_243_009,
        ),
        (
            "get_job_instance_list",
            scope(&[("create_time_start", "1")]),
            1_241_007,
        ),
        (
            "get_job_instance_list",
            scope(&[
                ("create_time_start", "1000"),
                ("create_time_end", "3000000000"),
            ]),
            1_244_020,
        ),
        (
            "get_job_instance_list",
            scope(&[
                ("create_time_start", "1000"),
                ("create_time_end", "2000"),
                ("length", "1001"),
            ]),
            1_240_003,
        ),
        (
            "get_job_instance_list",
            scope(&[
                ("create_time_start", "1000"),
                ("create_time_end", "2000"),
                ("type", "7"),
            ]),
            1_241_002,
        ),
    ];
    for (api, q, code) in cases {
        let r = s.job_get(api, "admin", &q).await;
        assert_eq!(r.code(), code, "{api} {q:?}: {}", r.body);
    }
}

#[tokio::test]
async fn log_apis_need_a_host_and_batch_caps_at_500() {
    let s = spawn().await;
    let job = s.run_script("true", "", &[101], json!({})).await;
    let st = s.wait_finished(job).await;
    let step = st["step_instance_list"][0]["step_instance_id"]
        .as_i64()
        .expect("step");
    let q: Vec<(&str, String)> = vec![
        ("bk_scope_type", "biz".into()),
        ("bk_scope_id", "3".into()),
        ("job_instance_id", job.to_string()),
        ("step_instance_id", step.to_string()),
    ];
    let r = s.job_get("get_job_instance_ip_log", "admin", &q).await;
    assert_eq!(
        (r.code(), r.body["message"].as_str()),
        (
            1_241_007,
            Some("Missing or invalid request parameter [host_id/(bk_cloud_id+ip)]")
        )
    );
    let many: Vec<i64> = (1..=501).collect();
    let base = json!({"bk_scope_type": "biz", "bk_scope_id": "3", "job_instance_id": job, "step_instance_id": step});
    let mut too_many = base.clone();
    too_many["host_id_list"] = json!(many);
    assert_eq!(
        s.job_post("batch_get_job_instance_ip_log", "admin", too_many)
            .await
            .code(),
        1_241_007
    );
    let mut empty = base;
    empty["host_id_list"] = json!([]);
    assert_eq!(
        s.job_post("batch_get_job_instance_ip_log", "admin", empty)
            .await
            .code(),
        1_241_007
    );
}

#[tokio::test]
async fn a_job_of_another_business_is_not_found_in_this_scope() {
    let s = spawn().await;
    let job = s.run_script("true", "", &[101], json!({})).await;
    let q = vec![("bk_scope_type", "biz"), ("bk_scope_id", "5")]
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .chain([("job_instance_id", job.to_string())])
        .collect::<Vec<_>>();
    assert_eq!(
        s.job_get("get_job_instance_status", "admin", &q)
            .await
            .code(),
        1_244_006
    );
}

#[tokio::test]
async fn the_gateway_publishes_read_apis_as_get_only() {
    let s = spawn().await;
    let r = s
        .job_post(
            "get_job_instance_status",
            "admin",
            json!({"bk_scope_type": "biz", "bk_scope_id": "3", "job_instance_id": 1}),
        )
        .await;
    assert_eq!((r.status, r.code()), (404, 1_640_401));
    let unknown = s.esb("jobv3", "no_such_api", "admin", json!({})).await;
    assert_eq!((unknown.status, unknown.code()), (200, 1_306_404));
}

#[tokio::test]
async fn plans_list_and_detail_use_the_server_field_names() {
    let s = spawn().await;
    let q: Vec<(&str, String)> = vec![
        ("bk_scope_type", "biz".into()),
        ("bk_scope_id", "3".into()),
        ("length", "5000".into()),
    ];
    let list = s.job_get("get_job_plan_list", "admin", &q).await;
    assert_eq!(list.body["data"]["total"], 1);
    assert_eq!(list.body["data"]["length"], 1000);
    assert_eq!(list.body["data"]["data"][0]["id"], 700);
    let mut dq = q.clone();
    dq.push(("job_plan_id", "700".into()));
    let d = s.job_get("get_job_plan_detail", "admin", &dq).await.body["data"].clone();
    assert_eq!(
        (d["id"].clone(), d["job_template_id"].clone()),
        (json!(700), json!(70))
    );
    let info = &d["step_list"][0]["script_info"];
    assert_eq!(
        info["script_content"],
        b64("#!/bin/bash\nls \"$dir\" | sort\n")
    );
    assert_eq!(
        info["account"],
        json!({"id": 1, "name": "root", "alias": "root"})
    );
    assert_eq!(info["server"]["variable"], "targets");
    assert_eq!(d["step_list"][0]["file_info"], Value::Null);
}

#[tokio::test]
async fn the_instance_list_finds_a_job_by_name_with_server_keys() {
    let s = spawn().await;
    let job = s
        .run_script("true", "", &[101], json!({"task_name": "backup-7f3a"}))
        .await;
    s.wait_finished(job).await;
    let now = chrono_now_ms();
    let q: Vec<(&str, String)> = vec![
        ("bk_scope_type", "biz".into()),
        ("bk_scope_id", "3".into()),
        ("name", "7f3a".into()),
        ("create_time_start", (now - 60_000).to_string()),
        ("create_time_end", (now + 60_000).to_string()),
    ];
    let r = s.job_get("get_job_instance_list", "admin", &q).await;
    assert_eq!(r.body["data"]["total"], 1);
    let item = &r.body["data"]["data"][0];
    assert_eq!(
        (
            item["job_instance_id"].as_i64(),
            item["status"].as_i64(),
            item["type"].as_i64()
        ),
        (Some(job), Some(3), Some(1))
    );
    assert_eq!(
        (item["job_plan_id"].as_i64(), item["operator"].as_str()),
        (Some(-1), Some("admin"))
    );
}

fn chrono_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[tokio::test]
async fn the_default_task_name_follows_blueking_language() {
    let s = spawn().await;
    let body = launch(json!({}));
    let url = format!("{}/api/bk-job/prod/api/v3/fast_execute_script", s.base);
    let en: Value = s
        .http
        .post(&url)
        .header("X-Bkapi-Authorization", gw_auth("admin"))
        .header("Blueking-Language", "en")
        .json(&body)
        .send()
        .await
        .expect("call")
        .json()
        .await
        .expect("json");
    let zh: Value = s
        .http
        .post(&url)
        .header("X-Bkapi-Authorization", gw_auth("admin"))
        .json(&body)
        .send()
        .await
        .expect("call")
        .json()
        .await
        .expect("json");
    let name = |v: &Value| {
        v["data"]["job_instance_name"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert!(name(&en).starts_with("Script Execution_"), "{en}");
    assert!(name(&zh).starts_with("快速执行脚本_"), "{zh}");
    assert_eq!(name(&en).len(), "Script Execution_".len() + 17);
}

#[tokio::test]
async fn execute_job_plan_rejects_bad_plans_and_variables() {
    let s = spawn().await;
    let plan = |extra: Value| {
        let mut b = json!({"bk_scope_type": "biz", "bk_scope_id": "3", "job_plan_id": 700});
        if let (Value::Object(m), Value::Object(e)) = (&mut b, extra) {
            m.extend(e);
        }
        b
    };
    let cases: Vec<(Value, i64, &str)> = vec![
        (
            json!({"job_plan_id": 0}),
            1_241_005,
            "Invalid request parameter [job_plan_id]",
        ),
        (
            json!({"job_plan_id": 999}),
            1_243_009,
            "Job plan does not exist",
        ),
        (
            json!({"global_var_list": [{"value": "x"}]}),
            1_241_005,
            "Invalid request parameter [global_var.id|global_var.name]",
        ),
        (
            json!({"bk_scope_type": "biz_set", "bk_scope_id": "9000001"}),
            1_243_051,
            "Scope not exist: biz_set:9000001",
        ),
    ];
    for (extra, code, message) in cases {
        let r = s
            .job_post("execute_job_plan", "admin", plan(extra.clone()))
            .await;
        assert_eq!(
            (r.code(), r.body["message"].as_str()),
            (code, Some(message)),
            "for {extra}"
        );
    }
    assert_eq!(s.admin_get("/jobs").await["count"], 0);
}

#[tokio::test]
async fn operate_job_instance_rejects_unknown_codes_and_jobs() {
    let s = spawn().await;
    let job = s.run_script("sleep 5", "", &[101], json!({})).await;
    let op = |id: i64, code: i64| json!({"bk_scope_type": "biz", "bk_scope_id": "3", "job_instance_id": id, "operation_code": code});
    let bad_code = s
        .job_post("operate_job_instance", "admin", op(job, 3))
        .await;
    assert_eq!(
        (bad_code.code(), bad_code.body["message"].as_str()),
        (1_241_002, Some("Invalid request parameters"))
    );
    let unknown = s
        .job_post("operate_job_instance", "admin", op(424_242, 1))
        .await;
    assert_eq!(unknown.code(), 1_244_006);
    s.wait_until(job, |st| st["job_instance"]["status"] == 2)
        .await;
    assert_eq!(
        s.job_post("operate_job_instance", "admin", op(job, 1))
            .await
            .code(),
        0
    );
    assert_eq!(s.wait_finished(job).await["job_instance"]["status"], 11);
}
