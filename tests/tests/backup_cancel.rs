//! A cancel at every point of a backup's launch, through both BlueKing front doors: checking
//! agents, looking for an earlier job, while the launch is on its way to JOB, with the job
//! queued in JOB (status 1, where JOB refuses to terminate it with `1241003`), and running.
//! Each time the backup is CANCELLED within seconds, and a job that was launched ends
//! terminated instead of running on to its own timeout.

use std::time::{Duration, Instant};

use e2e::flow::{self, start, start_backup};
use e2e::stack::{Door, Stack};
use proto::backup::v1 as pb;
use serde_json::{Value, json};
use sqlx::postgres::PgConnectOptions;

type Pool = sqlx::pool::PoolOptions<sqlx::Postgres>;

/// How long a new job stays queued (status 1) in bk-sim before it runs.
const QUEUED_MS: u64 = 1500;
/// JOB's "terminated" status (STOP_SUCCESS).
const STOPPED: i64 = 11;

/// Where the cancel arrives.
#[derive(Debug, Clone, Copy)]
enum Point {
    CheckingAgents,
    LookingForAnEarlierJob,
    LaunchOnItsWay,
    JobQueued,
    JobRunning,
}

async fn sim_get(stack: &Stack, path: &str) -> Value {
    reqwest::get(format!("{}{path}", stack.sim.base_url()))
        .await
        .expect("bk-sim admin answers")
        .json()
        .await
        .expect("json")
}

async fn job_status(stack: &Stack, job: i64) -> i64 {
    sim_get(stack, &format!("/_sim/jobs/{job}")).await["status"]
        .as_i64()
        .expect("status")
}

/// Polls GetBackup until `pred` holds (at most `limit`).
async fn until(
    client: &mut flow::Client,
    id: &str,
    limit: Duration,
    what: &str,
    pred: impl Fn(&pb::Backup) -> bool,
) -> pb::Backup {
    let deadline = Instant::now() + limit;
    loop {
        let b = flow::get(client, id, pb::BackupView::Hosts).await;
        if pred(&b) {
            return b;
        }
        assert!(Instant::now() < deadline, "{what} never held: {b:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Starts a backup of a host that hangs, cancels it at `point`, and checks the end.
async fn cancel_at(stack: &Stack, point: Point) {
    let reset = reqwest::Client::new()
        .post(format!("{}/_sim/reset", stack.sim.base_url()))
        .send()
        .await
        .unwrap();
    assert!(reset.status().is_success());
    // Unless it is terminated, the job runs until JOB's own timeout (10 minutes).
    stack.fault("hosts/1006", json!({"kind": "hang"})).await;
    let slow = json!({"latency_ms": 1000});
    match point {
        Point::CheckingAgents => {
            stack.fault("apis/get_agent_status", slow.clone()).await;
            stack.fault("apis/list_agent_state", slow).await;
        }
        Point::LookingForAnEarlierJob => stack.fault("apis/get_job_instance_list", slow).await,
        Point::LaunchOnItsWay => stack.fault("apis/fast_execute_script", slow).await,
        Point::JobQueued | Point::JobRunning => {}
    }
    let mut client = stack.client("admin").await;
    let id = start_backup(&mut client, start(&[1006], "/data/logs", "log")).await;
    let phase = |p: pb::BackupPhase| move |b: &pb::Backup| b.phase == p as i32;
    let within = Duration::from_secs(20);
    match point {
        Point::CheckingAgents => {
            let checking = phase(pb::BackupPhase::CheckingAgents);
            until(&mut client, &id, within, "checking agents", checking).await;
        }
        Point::LookingForAnEarlierJob | Point::LaunchOnItsWay => {
            let launching = phase(pb::BackupPhase::Launching);
            until(&mut client, &id, within, "launching", launching).await;
            if matches!(point, Point::LaunchOnItsWay) {
                // The lookup before the launch is quick; the launch takes a second.
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
        Point::JobQueued => {
            let b = until(&mut client, &id, within, "launched", |b| {
                b.job_instance_id > 0
            })
            .await;
            assert_eq!(job_status(stack, b.job_instance_id).await, 1, "queued");
        }
        Point::JobRunning => {
            let b = until(&mut client, &id, within, "launched", |b| {
                b.job_instance_id > 0
            })
            .await;
            let deadline = Instant::now() + within;
            while job_status(stack, b.job_instance_id).await != 2 {
                assert!(Instant::now() < deadline, "the job never ran");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    let asked = Instant::now();
    client
        .cancel_backup(pb::CancelBackupRequest {
            backup_id: id.clone(),
        })
        .await
        .expect("cancel accepted");
    let done = until(
        &mut client,
        &id,
        Duration::from_secs(15),
        "cancelled",
        |b| b.state == pb::BackupState::Cancelled as i32,
    )
    .await;
    let took = asked.elapsed();
    let launches = stack.upstream_calls("fast_execute_script").await;
    match point {
        Point::CheckingAgents | Point::LookingForAnEarlierJob => {
            assert_eq!(launches, 0, "{point:?}: nothing launched");
            assert_eq!(done.job_instance_id, 0, "{point:?}");
        }
        Point::LaunchOnItsWay | Point::JobQueued | Point::JobRunning => {
            assert_eq!(launches, 1, "{point:?}: launched once");
            let job = done.job_instance_id;
            assert!(job > 0, "{point:?}: the launched job is recorded: {done:?}");
            assert_eq!(
                job_status(stack, job).await,
                STOPPED,
                "{point:?}: the job was terminated"
            );
        }
    }
    eprintln!("{point:?}: cancelled {took:?} after the request");
    assert!(took < Duration::from_secs(10), "{point:?}: took {took:?}");
}

async fn cancel_at_every_point(db: PgConnectOptions, door: Door) {
    let stack = Stack::start_all(
        &db,
        door,
        |sim| sim.dispatch_delay_ms = QUEUED_MS,
        |_| {},
        |_| {},
    )
    .await;
    for point in [
        Point::CheckingAgents,
        Point::LookingForAnEarlierJob,
        Point::LaunchOnItsWay,
        Point::JobQueued,
        Point::JobRunning,
    ] {
        cancel_at(&stack, point).await;
    }
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn a_cancel_at_any_point_of_the_launch_ends_the_backup_and_its_job_over_esb(
    _p: Pool,
    db: PgConnectOptions,
) {
    cancel_at_every_point(db, Door::Esb).await;
}

#[sqlx::test(migrations = false)]
async fn a_cancel_at_any_point_of_the_launch_ends_the_backup_and_its_job_over_the_api_gateway(
    _p: Pool,
    db: PgConnectOptions,
) {
    cancel_at_every_point(db, Door::Apigw).await;
}
