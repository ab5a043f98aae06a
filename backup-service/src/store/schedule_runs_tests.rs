//! Releasing buffered fires and counting results against a real Postgres: each exactly once
//! when several replicas try at the same moment, and the idle tick's reads served by their
//! partial indexes.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio::sync::Barrier;

use super::*;
use crate::domain::RunTrigger;
use crate::schedule::decide;
use crate::store::schedule_fires::fire_request_id;
use crate::store::schedule_fires::{Decision, Fire, Recorded, record_fire};
use crate::store::schedules::tests::{at, backup_for, stored};
use crate::store::schedules::{self, NextFire};

fn fire(row: &ScheduleRow, at_: DateTime<Utc>, decision: Decision) -> Fire {
    let next = at_ + chrono::TimeDelta::seconds(10);
    Fire {
        schedule_id: row.id,
        version: row.version,
        scheduled_at: at_,
        trigger: RunTrigger::Cron,
        decision,
        resolved_host_ids: vec![1001, 1002],
        next: Some(NextFire {
            fire_at: next,
            due_at: next,
        }),
        now: at_,
        triggered_by: String::new(),
        missed: Vec::new(),
        seen: None,
    }
}

async fn record(pool: &PgPool, f: &Fire) -> RunRow {
    let Recorded::New(run) = record_fire(pool, f).await.unwrap() else {
        panic!("not recorded");
    };
    run
}

/// Runs `n` copies of `work` at the same moment; their results.
async fn at_once<T: Send + 'static, F, Fut>(n: usize, work: F) -> Vec<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(n));
    let mut tasks = Vec::new();
    for _ in 0..n {
        let (barrier, fut) = (barrier.clone(), work());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            fut.await
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[sqlx::test(migrations = "../migrations")]
async fn a_result_counted_by_several_replicas_at_once_counts_once_and_pauses_once(pool: PgPool) {
    let t = at("2026-12-05T04:00:00Z");
    let row = stored(&pool, 3, "nightly", t).await;
    sqlx::query("update schedules set pause_after_failures = 1 where id = $1")
        .bind(row.id)
        .execute(&pool)
        .await
        .unwrap();
    let run = record(
        &pool,
        &fire(&row, t, Decision::FailedToStart("no host".into())),
    )
    .await;
    assert_eq!(results_due(&pool, 10).await.unwrap(), [run.id]);
    let counted = at_once(6, || {
        let pool = pool.clone();
        async move {
            count_result(&pool, run.id, decide::run_result, decide::pause_note)
                .await
                .unwrap()
        }
    })
    .await;
    let counted: Vec<Counted> = counted.into_iter().flatten().collect();
    assert_eq!(counted.len(), 1);
    assert_eq!(
        counted[0].paused.as_deref(),
        Some("paused after 1 failed runs in a row; the last: no host")
    );
    let after = schedules::get(&pool, row.id).await.unwrap().unwrap();
    assert_eq!(
        (after.state, after.consecutive_failures, after.version),
        (ScheduleState::Paused, 1, row.version + 1)
    );
    assert!(results_due(&pool, 10).await.unwrap().is_empty());
}

#[sqlx::test(migrations = "../migrations")]
async fn a_buffered_fire_is_released_once_and_only_after_the_running_backup_ended(pool: PgPool) {
    let t = at("2026-12-05T04:00:00Z");
    let row = stored(&pool, 3, "nightly", t).await;
    let first = record(
        &pool,
        &fire(&row, t, Decision::Fire(Box::new(backup_for(&row, t)))),
    )
    .await;
    let row = schedules::get(&pool, row.id).await.unwrap().unwrap();
    let t2 = row.next_fire_at.unwrap();
    let buffered = record(&pool, &fire(&row, t2, Decision::Buffer)).await;
    assert_eq!(buffered.decision, RunDecision::Buffered);
    // The first backup is still queued: nothing to release, and a release refuses.
    assert!(releasable(&pool, 10).await.unwrap().is_empty());
    let release_now = Release::Fire(Box::new(backup_for(&row, t2)));
    assert_eq!(
        release(&pool, buffered.id, &release_now, t2).await.unwrap(),
        None
    );
    sqlx::query("update backups set state = 'failed', finished_at = now() where id = $1")
        .bind(first.backup_id.unwrap())
        .execute(&pool)
        .await
        .unwrap();
    let due = releasable(&pool, 10).await.unwrap();
    assert_eq!(due.iter().map(|r| r.id).collect::<Vec<_>>(), [buffered.id]);
    let released = at_once(4, || {
        let (pool, row) = (pool.clone(), row.clone());
        async move {
            let r = Release::Fire(Box::new(backup_for(&row, t2)));
            release(&pool, buffered.id, &r, t2).await.unwrap()
        }
    })
    .await;
    let released: Vec<RunRow> = released.into_iter().flatten().collect();
    assert_eq!(released.len(), 1);
    assert_eq!(released[0].decision, RunDecision::Fired);
    let backups: Vec<(Option<String>, Option<Uuid>)> =
        sqlx::query_as("select request_id, schedule_id from backups where id = $1")
            .bind(released[0].backup_id.unwrap())
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(backups, [(Some(fire_request_id(row.id, t2)), Some(row.id))]);
    let total: i64 = sqlx::query_scalar("select count(*) from backups")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(total, 2);
    // Both runs now owe their result: the first's backup ended, the second's has not.
    assert_eq!(results_due(&pool, 10).await.unwrap(), [first.id]);
}

#[sqlx::test(migrations = "../migrations")]
async fn the_idle_ticks_reads_use_the_partial_indexes_of_buffered_and_pending_runs(pool: PgPool) {
    let row = stored(&pool, 3, "nightly", at("2026-12-05T04:00:00Z")).await;
    // 20,000 runs that owe nothing.
    sqlx::query(
        "insert into schedule_runs (schedule_id, scheduled_at, trigger, decision, decided_at) \
         select $1, timestamptz '2026-01-01T00:00:00Z' + g * interval '10 seconds', 'cron', \
           'skipped_overlap', now() from generate_series(1, 20000) g",
    )
    .bind(row.id)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("analyze schedule_runs")
        .execute(&pool)
        .await
        .unwrap();
    for (statement, index) in [
        (
            releasable_statement("explain "),
            "schedule_runs_buffered_idx",
        ),
        (
            results_due_statement("explain "),
            "schedule_runs_result_pending_idx",
        ),
    ] {
        let plan: Vec<String> = sqlx::query_scalar(&statement)
            .bind(100_i64)
            .fetch_all(&pool)
            .await
            .unwrap();
        let plan = plan.join("\n");
        assert!(plan.contains(index), "{plan}");
    }
}
