//! fast_transfer_file: files copied between host trees, per-file logs, missing sources, validation.

mod common;

use common::*;
use serde_json::{Value, json};

fn transfer(files: &[&str], sources: &[i64], targets: &[i64], dir: &str) -> Value {
    json!({"bk_scope_type": "biz", "bk_scope_id": "3", "file_target_path": dir, "account_alias": "root",
        "file_source_list": [{"file_list": files, "account": {"alias": "root"}, "server": {"host_id_list": sources}}],
        "target_server": {"host_id_list": targets}})
}

#[tokio::test]
async fn a_file_is_copied_from_the_source_tree_into_each_target_tree() {
    let s = spawn().await;
    let r = s
        .job_post(
            "fast_transfer_file",
            "admin",
            transfer(
                &["/project/only-on-101.txt"],
                &[101],
                &[102, 103],
                "/data/recv",
            ),
        )
        .await;
    assert_eq!(r.code(), 0, "{}", r.body);
    let job = r.body["data"]["job_instance_id"].as_i64().expect("job");
    let step = r.body["data"]["step_instance_id"].as_i64().expect("step");
    let st = s.wait_finished(job).await;
    assert_eq!(st["job_instance"]["status"], 3);
    assert_eq!(st["step_instance_list"][0]["type"], 2);
    assert_eq!(host_results(&st), vec![(102, 9, 0), (103, 9, 0)]);
    for host in [102, 103] {
        let root = s.sim.host_root(host).await.expect("root");
        assert_eq!(
            std::fs::read(root.join("data/recv/only-on-101.txt")).expect("copied"),
            b"mine\n"
        );
    }
    let q: Vec<(&str, String)> = vec![
        ("bk_scope_type", "biz".into()),
        ("bk_scope_id", "3".into()),
        ("job_instance_id", job.to_string()),
        ("step_instance_id", step.to_string()),
        ("bk_host_id", "102".into()),
    ];
    let log = s.job_get("get_job_instance_ip_log", "admin", &q).await.body["data"].clone();
    assert_eq!(
        (log["log_type"].as_i64(), log["log_content"].clone()),
        (Some(2), Value::Null)
    );
    let modes: Vec<i64> = log["file_logs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["mode"].as_i64())
        .collect();
    assert_eq!(modes, vec![1, 0]);
    let download = &log["file_logs"][0];
    assert_eq!(
        (
            download["dest_path"].as_str(),
            download["status"].as_i64(),
            download["size"].as_str()
        ),
        (Some("/data/recv/only-on-101.txt"), Some(4), Some("5 B"))
    );
    assert_eq!(download["src_ip"]["bk_host_id"], 101);
    let batch = s.job_post("batch_get_job_instance_ip_log", "admin",
        json!({"bk_scope_type": "biz", "bk_scope_id": "3", "job_instance_id": job, "step_instance_id": step, "host_id_list": [101, 103]})).await;
    let data = &batch.body["data"];
    assert_eq!(
        (data["log_type"].as_i64(), data["script_task_logs"].clone()),
        (Some(2), Value::Null)
    );
    let per_host: Vec<(i64, Vec<i64>)> = data["file_task_logs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| {
            (
                h["bk_host_id"].as_i64().unwrap_or(0),
                h["file_logs"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|l| l["mode"].as_i64())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(per_host, vec![(101, vec![0]), (103, vec![1])]);
}

#[tokio::test]
async fn a_missing_source_file_fails_the_target_with_status_203() {
    let s = spawn().await;
    let r = s
        .job_post(
            "fast_transfer_file",
            "admin",
            transfer(&["/project/nope.log"], &[101], &[102], "/data/recv"),
        )
        .await;
    let job = r.body["data"]["job_instance_id"].as_i64().expect("job");
    let st = s.wait_finished(job).await;
    assert_eq!(st["job_instance"]["status"], 4);
    assert_eq!(host_results(&st), vec![(102, 203, 0)]);
}

#[tokio::test]
async fn an_unreadable_source_fails_the_copy_with_status_202() {
    let s = spawn().await;
    let r = s
        .job_post(
            "fast_transfer_file",
            "admin",
            transfer(&["/project/private/x.log"], &[103], &[102], "/data/recv"),
        )
        .await;
    let job = r.body["data"]["job_instance_id"].as_i64().expect("job");
    assert_eq!(
        host_results(&s.wait_finished(job).await),
        vec![(102, 202, 0)]
    );
}

#[tokio::test]
async fn fast_transfer_file_validates_its_inputs() {
    let s = spawn().await;
    let relative = s
        .job_post(
            "fast_transfer_file",
            "admin",
            transfer(&["/project/a.log"], &[101], &[102], "data/recv"),
        )
        .await;
    assert_eq!(
        (relative.code(), relative.body["message"].as_str()),
        (
            1_241_007,
            Some("Missing or invalid request parameter [file_target_path]")
        )
    );
    let mut empty = transfer(&["/project/a.log"], &[101], &[102], "/data");
    empty["file_source_list"] = json!([]);
    let r = s.job_post("fast_transfer_file", "admin", empty).await;
    assert_eq!(
        (r.code(), r.body["message"].as_str()),
        (
            1_241_004,
            Some("Missing request parameter [file_source_list]")
        )
    );
    let mut third_party = transfer(&["bucket/a.log"], &[101], &[102], "/data");
    third_party["file_source_list"][0]["file_type"] = json!(3);
    assert_eq!(
        s.job_post("fast_transfer_file", "admin", third_party)
            .await
            .code(),
        1_241_005
    );
    assert_eq!(s.admin_get("/jobs").await["count"], 0);
}
