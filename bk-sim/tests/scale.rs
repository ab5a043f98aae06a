//! Scale: a 5,000-host world and one job over 1,000 of them on a small machine.

mod common;

use std::time::{Duration, Instant};

use bk_sim::world::model::{HostGroupDef, WorldFile};
use bk_sim::{Settings, World};
use common::*;
use serde_json::json;

fn big_world() -> World {
    let mut file: WorldFile = toml::from_str(WORLD).expect("test world parses");
    file.host_groups.push(HostGroupDef {
        count: 5000,
        first_id: 100_000,
        first_ip: "10.100.0.1".into(),
        cloud_id: 0,
        name_prefix: "bulk-".into(),
        modules: vec![321],
        biz: None,
        profiles: vec![],
        agent_alive: true,
    });
    World::from_file(file, None).expect("big world is valid")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_over_1000_of_5000_hosts_finishes_and_status_stays_cheap() {
    let world = big_world();
    // 1,000 host trees: keep them in RAM when possible, disk I/O is not what this test measures.
    let shm = std::path::Path::new("/dev/shm");
    let state_dir = shm
        .is_dir()
        .then(|| shm.join(format!("bk-sim-scale-{}", std::process::id())));
    let dir = state_dir.clone();
    let s = spawn_with(move |c: &mut Settings| {
        *c = Settings {
            world: std::sync::Arc::new(world),
            dispatch_delay_ms: 0,
            state_dir: dir,
            ..c.clone()
        };
    })
    .await;
    let hosts: Vec<i64> = (100_000..101_000).collect();
    let job = s
        .run_script("echo $(hostname)", "", &hosts, json!({}))
        .await;
    let st = s.wait_finished_light(job, 120).await;
    let results = host_results(&st);
    assert_eq!(results.len(), 1000);
    assert_eq!(results.iter().filter(|h| h.1 == 9).count(), 1000);
    assert_eq!(s.log(job, 100_999).await, json!("bulk-01000\n"));
    let t = Instant::now();
    for _ in 0..20 {
        s.status(job).await;
    }
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "20 status calls took {:?}",
        t.elapsed()
    );
    let count = s
        .cmdb_post(
            "/api/v3/hosts/app/3/list_hosts",
            "admin",
            json!({"page": {"limit": 1}, "fields": ["bk_host_id"]}),
        )
        .await;
    assert_eq!(count.body["data"]["count"], 5004);
    s.sim.stop();
    if let Some(dir) = state_dir {
        std::fs::remove_dir_all(&dir).expect("scale state dir removed");
    }
}
