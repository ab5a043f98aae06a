//! Helpers of the scheduler's tests: schedules stored directly (the engine's tests do not go
//! through the API), runs read back, waiting (on real time, bounded) for the scheduler to act
//! after the test moved its manual clock, and an engine of the test's own for manual triggers.

use std::future::Future;
use std::time::Duration;

use backup_service::domain::OverlapPolicy;
use backup_service::gateway::{Gateway, Runner};
use backup_service::schedule::{Clock, Engine, FireLimits, ManualClock, Spec, SpecInput};
use backup_service::store::schedule_fires::RunRow;
use backup_service::store::schedules::{self, NewSchedule, NextFire, ScheduleFields, ScheduleRow};
use backup_service::worker::Wakeup;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;

use crate::stack::Stack;

/// A pool on the test's database (the one the stack's backup-service uses).
pub async fn pool(db: &PgConnectOptions) -> PgPool {
    sqlx::pool::PoolOptions::new()
        .max_connections(4)
        .connect_with(db.clone())
        .await
        .expect("test database")
}

/// Business 3's `/data/logs/*.log` on `selector`, every minute in UTC, SKIP, no window.
pub fn fields(name: &str, selector: serde_json::Value) -> ScheduleFields {
    ScheduleFields {
        name: name.to_owned(),
        selector,
        bk_file_dir: "/data/logs".to_owned(),
        bk_file_suffix: "log".to_owned(),
        cron: "0 * * * * *".to_owned(),
        time_zone: "UTC".to_owned(),
        start_time: None,
        end_time: None,
        jitter_ms: 0,
        overlap_policy: OverlapPolicy::Skip,
        catch_up_window_secs: 0,
        pause_after_failures: None,
        run_timeout_secs: 600,
        keep_last: None,
        keep_within_secs: None,
    }
}

/// The selector of host ids `ids`.
pub fn hosts(ids: &[i64]) -> serde_json::Value {
    json!({ "bk_host_ids": ids })
}

/// The spec of `f`.
pub fn spec_of(f: &ScheduleFields) -> Spec {
    Spec::new(SpecInput {
        cron: f.cron.clone(),
        time_zone: f.time_zone.clone(),
        start_time: f.start_time,
        end_time: f.end_time,
        jitter: TimeDelta::milliseconds(f.jitter_ms),
    })
    .expect("a valid spec")
}

/// Stores an active schedule of business 3 made by `operator` at `now`, its first fire the
/// spec's first after `now`.
pub async fn create(
    pool: &PgPool,
    fields: ScheduleFields,
    operator: &str,
    now: DateTime<Utc>,
) -> ScheduleRow {
    let id = uuid::Uuid::new_v4();
    let spec = spec_of(&fields);
    let next = spec.next_after(now).map(|f| NextFire {
        fire_at: f,
        due_at: spec.due_at(id, f),
    });
    schedules::create(
        pool,
        &NewSchedule {
            id,
            bk_biz_id: 3,
            operator: operator.to_owned(),
            fields,
            next,
        },
        now,
    )
    .await
    .expect("schedule stored")
}

/// Schedule `id`'s runs, oldest first.
pub async fn runs(pool: &PgPool, id: uuid::Uuid) -> Vec<RunRow> {
    let (mut rows, _) = schedules_runs(pool, id).await;
    rows.reverse();
    rows
}

async fn schedules_runs(pool: &PgPool, id: uuid::Uuid) -> (Vec<RunRow>, bool) {
    backup_service::store::schedule_fires::runs(pool, id, None, 500)
        .await
        .expect("runs")
}

/// Schedule `id` as stored now.
pub async fn get(pool: &PgPool, id: uuid::Uuid) -> ScheduleRow {
    schedules::get(pool, id)
        .await
        .expect("read")
        .expect("exists")
}

/// Polls `check` every 50 ms of real time until it returns `Some`, at most 30 s; panics naming
/// `what` otherwise.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    for _ in 0..600 {
        if let Some(v) = check().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Waits until schedule `id` has `n` runs; they, oldest first.
pub async fn runs_reach(pool: &PgPool, id: uuid::Uuid, n: usize) -> Vec<RunRow> {
    for _ in 0..600 {
        let r = runs(pool, id).await;
        if r.len() >= n {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (r, s) = (runs(pool, id).await, get(pool, id).await);
    panic!("timed out waiting for {n} runs of schedule {id}: it has {r:?}; it is {s:?}");
}

/// The state of backup `id` (text).
pub async fn backup_state(pool: &PgPool, id: uuid::Uuid) -> String {
    sqlx::query_scalar("select state from backups where id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("backup")
}

/// Waits until backup `id` runs (a fire's backup is stored queued and a worker launches it);
/// panics if it ends first.
pub async fn running(pool: &PgPool, id: uuid::Uuid) {
    eventually(&format!("backup {id} to run"), || async {
        let s = backup_state(pool, id).await;
        assert!(
            matches!(s.as_str(), "queued" | "running"),
            "backup {id} ended ({s}) instead of running"
        );
        (s == "running").then_some(())
    })
    .await
}

/// Waits until backup `id` has ended; its final state.
pub async fn ended(pool: &PgPool, id: uuid::Uuid) -> String {
    eventually(&format!("backup {id} to end"), || async {
        let s = backup_state(pool, id).await;
        (!matches!(s.as_str(), "queued" | "running" | "cancelling")).then_some(s)
    })
    .await
}

/// Waits until run `run_id`'s result has been counted towards its schedule.
pub async fn counted(pool: &PgPool, run_id: i64) {
    eventually("the run's result counted", || async {
        let pending: bool =
            sqlx::query_scalar("select result_pending from schedule_runs where id = $1")
                .bind(run_id)
                .fetch_one(pool)
                .await
                .expect("run");
        (!pending).then_some(())
    })
    .await
}

/// An engine of the test's own on the stack's database and job-gateway, on `clock`: what
/// TriggerSchedule calls.
pub fn engine(stack: &Stack, pool: &PgPool, clock: &ManualClock) -> Engine {
    let settings = stack.backup_settings();
    let gateway = Gateway::new(&settings.job_gateway, Runner::Script).expect("gateway");
    Engine::new(
        pool.clone(),
        gateway,
        Clock::Manual(clock.clone()),
        Wakeup::default(),
    )
    .with_limits(FireLimits::default())
}

/// Real now, to the second: a manual clock starting here keeps backups' deadlines (read by
/// the workers on real time) sensible.
pub fn real_now() -> DateTime<Utc> {
    DateTime::from_timestamp(Utc::now().timestamp(), 0).expect("now")
}
