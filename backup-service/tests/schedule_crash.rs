//! Scheduled fires across real backup-service processes on the real clock: three replicas
//! share one database while one of them is killed with SIGKILL and restarted again and again,
//! and an every-second schedule keeps firing. Every scheduled second gets exactly one run (made,
//! or MISSED because a later one was made instead), and no fire has two backups.

use std::time::{Duration, Instant};

use backup_service::domain::{OverlapPolicy, RunDecision};
use backup_service::schedule::{Spec, SpecInput};
use backup_service::store::schedule_fires::{self, fire_request_id};
use backup_service::store::schedules::{self, NewSchedule, NextFire, ScheduleFields};
use chrono::{TimeDelta, Utc};
use serde_json::json;
use service_kit::testing::{ServiceProcess, spawn_service};
use sqlx::postgres::PgConnectOptions;

mod common;
use common::{TOKEN, Upstream, url_of};

const BIN: &str = env!("CARGO_BIN_EXE_backup-service");

fn start_replica(db_url: &str, gateway: &str) -> ServiceProcess {
    spawn_service(
        BIN,
        &[],
        &[
            ("BACKUP_SERVICE__LISTEN_ADDR", "127.0.0.1:0".to_owned()),
            ("BACKUP_SERVICE__DATABASE__URL", db_url.to_owned()),
            ("BACKUP_SERVICE__AUTH__TOKENS", TOKEN.to_owned()),
            ("BACKUP_SERVICE__JOB_GATEWAY__URL", gateway.to_owned()),
            ("BACKUP_SERVICE__JOB_GATEWAY__TOKEN", TOKEN.to_owned()),
            ("BACKUP_SERVICE__WORKER__LEASE_MS", "1500".to_owned()),
            (
                "BACKUP_SERVICE__WORKER__CLAIM_INTERVAL_MS",
                "200".to_owned(),
            ),
            ("BACKUP_SERVICE__SCHEDULER__TICK_MS", "100".to_owned()),
            (
                "BACKUP_SERVICE__SCHEDULER__CLAIM_LEASE_MS",
                "1000".to_owned(),
            ),
        ],
    )
}

#[sqlx::test(migrations = false)]
async fn three_replicas_one_killed_again_and_again_make_every_second_of_a_schedule_exactly_once(
    pool_opts: sqlx::pool::PoolOptions<sqlx::Postgres>,
    opts: PgConnectOptions,
) {
    let upstream = Upstream::start(|_| {}).await;
    let db_url = url_of(&opts);
    let gw = upstream.gw_url.clone();
    // The first start migrates the database.
    let mut replicas: Vec<ServiceProcess> = (0..3).map(|_| start_replica(&db_url, &gw)).collect();
    let pool = pool_opts.connect_with(opts).await.unwrap();
    let fields = ScheduleFields {
        name: "every-second".into(),
        selector: json!({ "bk_host_ids": [1004] }),
        bk_file_dir: "/data/logs".into(),
        bk_file_suffix: "log".into(),
        cron: "* * * * * *".into(),
        time_zone: "UTC".into(),
        start_time: None,
        end_time: None,
        jitter_ms: 0,
        overlap_policy: OverlapPolicy::AllowAll,
        catch_up_window_secs: 0,
        pause_after_failures: None,
        run_timeout_secs: 120,
        keep_last: None,
        keep_within_secs: None,
    };
    let spec = Spec::new(SpecInput {
        cron: fields.cron.clone(),
        time_zone: "UTC".into(),
        start_time: None,
        end_time: None,
        jitter: TimeDelta::zero(),
    })
    .unwrap();
    let now = Utc::now();
    let first = spec.next_after(now).unwrap();
    let id = uuid::Uuid::new_v4();
    schedules::create(
        &pool,
        &NewSchedule {
            id,
            bk_biz_id: 3,
            operator: "admin".into(),
            fields,
            next: Some(NextFire {
                fire_at: first,
                due_at: first,
            }),
        },
        now,
    )
    .await
    .unwrap();
    // Kill one replica (in turn) every 900 ms for 10 s, restarting it at once.
    let started = Instant::now();
    let mut kills = 0;
    while started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(900)).await;
        let victim = kills % replicas.len();
        replicas[victim].kill9();
        replicas[victim] = start_replica(&db_url, &gw);
        kills += 1;
    }
    // Let the survivors take over any claim a dead replica held (lease 1 s), then look.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let cutoff = Utc::now() - TimeDelta::seconds(2);
    for r in &mut replicas {
        r.kill9();
    }
    let (runs, _) = schedule_fires::runs(&pool, id, None, 500).await.unwrap();
    let mut runs: Vec<_> = runs
        .into_iter()
        .filter(|r| r.scheduled_at <= cutoff)
        .collect();
    runs.reverse();
    let expected: Vec<_> = spec
        .fires_between(first - TimeDelta::seconds(1), cutoff)
        .collect();
    let got: Vec<_> = runs.iter().map(|r| r.scheduled_at).collect();
    assert_eq!(got, expected, "every second exactly once");
    let fired: Vec<_> = runs
        .iter()
        .filter(|r| r.decision == RunDecision::Fired)
        .collect();
    for r in &runs {
        assert!(
            matches!(r.decision, RunDecision::Fired | RunDecision::Missed),
            "{r:?}"
        );
    }
    // Each fired run has its one backup, under the fire's request id; no other backup exists.
    for r in &fired {
        let request: Option<String> =
            sqlx::query_scalar("select request_id from backups where id = $1")
                .bind(r.backup_id.unwrap())
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(request, Some(fire_request_id(id, r.scheduled_at)));
    }
    let backups: i64 = sqlx::query_scalar(
        "select count(*) from backups where schedule_id = $1 and \
         created_at <= (select max(decided_at) from schedule_runs where schedule_id = $1)",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .unwrap();
    let all_fired: i64 = sqlx::query_scalar(
        "select count(*) from schedule_runs where schedule_id = $1 and decision = 'fired'",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .unwrap();
    let total_backups: i64 =
        sqlx::query_scalar("select count(*) from backups where schedule_id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        total_backups, all_fired,
        "one backup per fired run, no more"
    );
    assert!(backups > 0);
    eprintln!(
        "{kills} kills; {} seconds: {} fired, {} missed (a later fire made instead)",
        runs.len(),
        fired.len(),
        runs.len() - fired.len()
    );
    assert!(
        fired.len() * 2 >= runs.len(),
        "most seconds are made, not missed"
    );
}
