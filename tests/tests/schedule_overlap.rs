//! The scheduler's overlap policies against the whole stack, its clock a manual one the test
//! moves; a hung host (bk-sim fault) keeps a backup running: SKIP (and a manual trigger under
//! it), ALLOW_ALL, CANCEL_PREVIOUS, BUFFER_ONE, and a fire found on time but kept waiting by
//! the replica's own queue.

use backup_service::domain::{OverlapPolicy, RunDecision, RunTrigger};
use backup_service::store::schedule_fires::fire_request_id;
use backup_service::store::schedules::{self, StateChange};
use chrono::TimeDelta;
use e2e::scheduler::{
    backup_state, counted, create, ended, engine, eventually, fields, get, hosts, pool, real_now,
    running, runs, runs_reach,
};
use e2e::stack::{Door, Stack};
use proto::backup::v1 as pb;
use serde_json::json;
use sqlx::postgres::PgConnectOptions;

type Pool = sqlx::pool::PoolOptions<sqlx::Postgres>;

async fn cancel(stack: &Stack, backup: uuid::Uuid) {
    stack
        .client("admin")
        .await
        .cancel_backup(pb::CancelBackupRequest {
            backup_id: backup.to_string(),
        })
        .await
        .expect("cancelled");
}

#[sqlx::test(migrations = false)]
async fn under_skip_a_fire_and_a_manual_trigger_are_skipped_while_the_previous_backup_runs(
    _p: Pool,
    db: PgConnectOptions,
) {
    let t0 = real_now();
    let (stack, clock) = Stack::start_with_clock(&db, Door::Esb, t0, |_| {}).await;
    stack.fault("hosts/1001", json!({"kind": "hang"})).await;
    let pool = pool(&db).await;
    let s = create(&pool, fields("skip", hosts(&[1001])), "admin", t0).await;
    let t1 = s.next_fire_at.unwrap();
    clock.set(t1);
    let first = runs_reach(&pool, s.id, 1).await[0].backup_id.unwrap();
    clock.set(t1 + TimeDelta::minutes(1));
    let r = runs_reach(&pool, s.id, 2).await;
    assert_eq!(r[1].decision, RunDecision::SkippedOverlap);
    assert!(r[1].backup_id.is_none() && r[1].resolved_host_ids.is_empty());
    let engine = engine(&stack, &pool, &clock);
    clock.advance(TimeDelta::seconds(5));
    let manual = engine
        .trigger(&get(&pool, s.id).await, "alice")
        .await
        .unwrap();
    assert_eq!(
        (
            manual.trigger,
            manual.decision,
            manual.triggered_by.as_str()
        ),
        (RunTrigger::Manual, RunDecision::SkippedOverlap, "alice")
    );
    assert_eq!(manual.scheduled_at, t1 + TimeDelta::seconds(65));
    // Once the backup ended, a trigger fires.
    let state = backup_state(&pool, first).await;
    assert!(matches!(state.as_str(), "queued" | "running"), "{state}");
    cancel(&stack, first).await;
    ended(&pool, first).await;
    clock.advance(TimeDelta::seconds(1));
    let manual = engine
        .trigger(&get(&pool, s.id).await, "alice")
        .await
        .unwrap();
    assert_eq!(manual.decision, RunDecision::Fired);
    // A deleted schedule cannot be triggered.
    let deleted = schedules::change_state(
        &pool,
        s.id,
        None,
        &StateChange::Delete,
        "alice",
        clock.now(),
    )
    .await
    .unwrap()
    .unwrap();
    let err = engine.trigger(&deleted, "alice").await.unwrap_err();
    assert_eq!(
        tonic::Status::from(err).code(),
        tonic::Code::FailedPrecondition
    );
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn allow_all_starts_alongside_cancel_previous_cancels_and_buffer_one_buffers_one_fire(
    _p: Pool,
    db: PgConnectOptions,
) {
    let t0 = real_now();
    let (stack, clock) = Stack::start_with_clock(&db, Door::Esb, t0, |_| {}).await;
    for h in [1001, 1002, 1003] {
        stack
            .fault(&format!("hosts/{h}"), json!({"kind": "hang"}))
            .await;
    }
    let pool = pool(&db).await;
    let policy = |name: &str, host: i64, p: OverlapPolicy| {
        let mut f = fields(name, hosts(&[host]));
        f.overlap_policy = p;
        f
    };
    let allow = create(
        &pool,
        policy("allow", 1001, OverlapPolicy::AllowAll),
        "admin",
        t0,
    )
    .await;
    let cancel_prev = create(
        &pool,
        policy("cancel", 1002, OverlapPolicy::CancelPrevious),
        "admin",
        t0,
    )
    .await;
    let buffer = create(
        &pool,
        policy("buffer", 1003, OverlapPolicy::BufferOne),
        "admin",
        t0,
    )
    .await;
    let t1 = allow.next_fire_at.unwrap();
    clock.set(t1);
    for s in [&allow, &cancel_prev, &buffer] {
        runs_reach(&pool, s.id, 1).await;
    }
    clock.set(t1 + TimeDelta::minutes(1));
    let a = runs_reach(&pool, allow.id, 2).await;
    assert_eq!(a[1].decision, RunDecision::Fired);
    // Both at once: the first still runs (its host hangs) when the second starts.
    for r in &a {
        running(&pool, r.backup_id.unwrap()).await;
    }
    let c = runs_reach(&pool, cancel_prev.id, 2).await;
    assert_eq!(c[1].decision, RunDecision::Fired);
    let previous = c[0].backup_id.unwrap();
    assert_eq!(ended(&pool, previous).await, "cancelled");
    let by: Option<String> =
        sqlx::query_scalar("select cancel_requested_by from backups where id = $1")
            .bind(previous)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(by, Some(format!("schedule:{}", cancel_prev.id)));
    // The schedule's own cancel is no failed run.
    counted(&pool, c[0].id).await;
    assert_eq!(get(&pool, cancel_prev.id).await.consecutive_failures, 0);
    let b = runs_reach(&pool, buffer.id, 2).await;
    assert_eq!(
        (b[1].decision, b[1].backup_id),
        (RunDecision::Buffered, None)
    );
    clock.set(t1 + TimeDelta::minutes(2));
    let b = runs_reach(&pool, buffer.id, 3).await;
    assert_eq!(b[2].decision, RunDecision::SkippedOverlap);
    // The running backup ends: the buffered fire starts its backup, under its own request id.
    cancel(&stack, b[0].backup_id.unwrap()).await;
    let released = eventually("the buffered fire released", || async {
        let r = runs(&pool, buffer.id).await;
        (r[1].decision == RunDecision::Fired).then(|| r[1].clone())
    })
    .await;
    assert_eq!(released.scheduled_at, t1 + TimeDelta::minutes(1));
    assert_eq!(released.resolved_host_ids, [1003]);
    let request_id: Option<String> =
        sqlx::query_scalar("select request_id from backups where id = $1")
            .bind(released.backup_id.unwrap())
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        request_id,
        Some(fire_request_id(buffer.id, released.scheduled_at))
    );
    // Cancelled by someone else, the first run failed.
    counted(&pool, b[0].id).await;
    assert_eq!(get(&pool, buffer.id).await.consecutive_failures, 1);
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn a_fire_found_on_time_is_made_even_when_the_replicas_queue_keeps_it_waiting_past_the_grace(
    _p: Pool,
    db: PgConnectOptions,
) {
    let t0 = real_now();
    // One fire at a time, and each selector resolution slow: the second fire waits its turn.
    let (stack, clock) = Stack::start_with_clock(&db, Door::Esb, t0, |s| {
        s.scheduler.concurrency = 1;
    })
    .await;
    stack
        .fault("apis/list_biz_hosts", json!({"latency_ms": 1500}))
        .await;
    let pool = pool(&db).await;
    let a = create(&pool, fields("a", hosts(&[1004])), "admin", t0).await;
    let b = create(&pool, fields("b", hosts(&[1005])), "admin", t0).await;
    let t1 = a.next_fire_at.unwrap();
    clock.set(t1);
    // Both are claimed (found due on time) in one tick; then the clock moves past the grace
    // while the first one's selector is still being resolved.
    eventually("both fires claimed", || async {
        let (x, y) = (get(&pool, a.id).await, get(&pool, b.id).await);
        (x.claimed_until.is_some() && y.claimed_until.is_some()).then_some(())
    })
    .await;
    clock.advance(TimeDelta::minutes(2));
    for s in [&a, &b] {
        let r = runs_reach(&pool, s.id, 1).await;
        assert_eq!(
            (r[0].scheduled_at, r[0].decision),
            (t1, RunDecision::Fired),
            "{r:?}"
        );
    }
    stack.stop().await;
}
