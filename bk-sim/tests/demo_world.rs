//! The shipped demo world loads, seeds realistic trees and runs its plan.

mod common;

use bk_sim::{Settings, World};
use common::*;
use serde_json::json;

fn demo() -> World {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("worlds/demo.toml");
    World::load(&path).expect("demo world loads")
}

#[tokio::test]
async fn the_demo_world_has_a_game_business_with_ten_hosts_and_runs_its_plan() {
    let world = demo();
    assert_eq!(world.biz_hosts(3).count(), 10);
    assert_eq!(world.host(1009).map(|h| h.agent_alive), Some(false));
    assert_eq!(world.businesses.get(&4).map(|b| b.archived), Some(true));
    let s = spawn_with(move |c: &mut Settings| {
        *c = Settings {
            world: std::sync::Arc::new(world),
            dispatch_delay_ms: 0,
            ..c.clone()
        }
    })
    .await;
    let root = s.sim.host_root(1001).await.expect("root");
    let server_log = std::fs::metadata(root.join("project/server.log")).expect("server.log");
    assert_eq!(server_log.len(), 48_000);
    let logs = std::fs::read_dir(root.join("data/logs"))
        .expect("logs")
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .count();
    assert_eq!(logs, 12);
    let body = json!({"bk_scope_type": "biz", "bk_scope_id": "3", "job_plan_id": 3150});
    let url = format!("{}/api/c/compapi/v2/jobv3/execute_job_plan/", s.base);
    let mut esb = body.clone();
    esb["bk_app_code"] = json!("bk-log-backup");
    esb["bk_app_secret"] = json!("demo-secret");
    esb["bk_username"] = json!("admin");
    let r: serde_json::Value = s
        .http
        .post(url)
        .json(&esb)
        .send()
        .await
        .expect("call")
        .json()
        .await
        .expect("json");
    let job = r["data"]["job_instance_id"].as_i64().expect("job id");
    let url = format!("{}/api/c/compapi/v2/jobv3/get_job_instance_status/", s.base);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let mut q = esb.clone();
        q["job_instance_id"] = json!(job);
        let st: serde_json::Value = s
            .http
            .post(&url)
            .json(&q)
            .send()
            .await
            .expect("call")
            .json()
            .await
            .expect("json");
        if st["data"]["finished"] == json!(true) {
            assert_eq!(st["data"]["job_instance"]["status"], 3);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "plan did not finish: {st}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let step = job + 1;
    let q = json!({"bk_app_code": "bk-log-backup", "bk_app_secret": "demo-secret", "bk_username": "admin",
        "bk_scope_type": "biz", "bk_scope_id": "3", "job_instance_id": job, "step_instance_id": step, "bk_host_id": 1001});
    let url = format!("{}/api/c/compapi/v2/jobv3/get_job_instance_ip_log/", s.base);
    let log: serde_json::Value = s
        .http
        .post(url)
        .json(&q)
        .send()
        .await
        .expect("call")
        .json()
        .await
        .expect("json");
    let text = log["data"]["log_content"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        text.starts_with("listing /data/logs on gs1-game-01\n/data/logs/gamesvr_0001.log\n"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 13);
}
