//! Retention's claims against a real Postgres: one run per schedule at a time across
//! concurrent claimers, only runs whose backup ended, a claim taken over is fenced, and a run
//! whose claims never finish is given up.

use std::sync::Arc;

use chrono::TimeDelta;
use tokio::sync::Barrier;

use super::*;
use crate::domain::RunTrigger;
use crate::store::schedule_fires::{self, Decision, Fire, Recorded};
use crate::store::schedules::ScheduleRow;
use crate::store::schedules::tests::{at, backup_for, stored};

const LEASE: Duration = Duration::from_secs(60);

/// Records `n` fired runs of `row` (keep_last 14) and returns their backups.
async fn fired(pool: &PgPool, row: &ScheduleRow, n: i64) -> Vec<Uuid> {
    let mut ids = vec![];
    for k in 0..n {
        let scheduled_at = row.next_fire_at.unwrap() + TimeDelta::seconds(10 * k);
        let next = scheduled_at + TimeDelta::seconds(10);
        let fire = Fire {
            schedule_id: row.id,
            version: row.version,
            scheduled_at,
            trigger: RunTrigger::Cron,
            decision: Decision::Fire(Box::new(backup_for(row, scheduled_at))),
            resolved_host_ids: vec![1001, 1002],
            next: Some(crate::store::schedules::NextFire {
                fire_at: next,
                due_at: next,
            }),
            now: scheduled_at,
            triggered_by: String::new(),
            missed: Vec::new(),
            seen: None,
        };
        let Recorded::New(run) = schedule_fires::record_fire(pool, &fire).await.unwrap() else {
            panic!("recorded");
        };
        assert_eq!(run.retention_state, RetentionState::Pending);
        ids.push(run.backup_id.unwrap());
    }
    ids
}

async fn end(pool: &PgPool, backups: &[Uuid]) {
    sqlx::query("update backups set state = 'succeeded' where id = any($1)")
        .bind(backups)
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("update backup_hosts set status = 'succeeded' where backup_id = any($1)")
        .bind(backups)
        .execute(pool)
        .await
        .unwrap();
}

#[sqlx::test(migrations = "../migrations")]
async fn concurrent_claimers_hold_at_most_one_run_of_a_schedule_and_only_ended_ones(pool: PgPool) {
    let t = at("2026-12-05T04:00:00Z");
    let a = stored(&pool, 3, "a", t).await;
    let b = stored(&pool, 3, "b", t).await;
    let a_backups = fired(&pool, &a, 3).await;
    let b_backups = fired(&pool, &b, 2).await;
    // b's backups have not ended: nothing of b is claimed.
    end(&pool, &a_backups).await;
    let mut claimed = vec![];
    for round in 0..10 {
        // Every round starts from no claim at all.
        sqlx::query(
            "update schedule_runs set retention_claimed_until = null, retention_attempts = 0",
        )
        .execute(&pool)
        .await
        .unwrap();
        let barrier = Arc::new(Barrier::new(4));
        let claimers: Vec<_> = (0..4)
            .map(|_| {
                let (pool, barrier) = (pool.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    claim(&pool, LEASE, 10, t).await.unwrap()
                })
            })
            .collect();
        claimed.clear();
        for c in claimers {
            claimed.extend(c.await.unwrap());
        }
        assert_eq!(claimed.len(), 1, "round {round}: {claimed:?}");
    }
    let first = &claimed[0];
    assert_eq!((first.schedule_id, first.backup_id), (a.id, a_backups[0]));
    assert_eq!((first.attempt, first.operator.as_str()), (1, "alice"));
    assert_eq!(first.keep_last, Some(14));
    // Once its result is in, the schedule's next run can be claimed; b's once its backups end.
    finish(&pool, first, &Pruned::default(), t).await.unwrap();
    end(&pool, &b_backups).await;
    let next = claim(&pool, LEASE, 10, t).await.unwrap();
    let mut got: Vec<Uuid> = next.iter().map(|c| c.backup_id).collect();
    got.sort();
    let mut want = vec![a_backups[1], b_backups[0]];
    want.sort();
    assert_eq!(got, want);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_claim_taken_over_is_fenced_and_the_result_marks_hosts_and_records_pruned(pool: PgPool) {
    let t = at("2026-12-05T04:00:00Z");
    let a = stored(&pool, 3, "a", t).await;
    let backups = fired(&pool, &a, 2).await;
    end(&pool, &backups).await;
    let stale = claim(&pool, Duration::ZERO, 10, t).await.unwrap().remove(0);
    let fresh = claim(&pool, LEASE, 10, t).await.unwrap().remove(0);
    assert_eq!(
        (stale.run_id, stale.attempt, fresh.attempt),
        (fresh.run_id, 1, 2)
    );
    let result = Pruned {
        removed: vec![(backups[0], 1001)],
        pruned: 1,
        failed: 1,
        message: "host 1002: x not removed: permission_denied".into(),
    };
    // The stale claim can neither renew its lease nor record a result.
    assert!(!renew(&pool, &stale, LEASE).await.unwrap());
    assert!(renew(&pool, &fresh, LEASE).await.unwrap());
    let late = finish(&pool, &stale, &result, t).await;
    assert!(matches!(late, Err(StoreError::Fenced(_))), "{late:?}");
    let pruned_hosts = "select count(*) from backup_hosts where pruned_at is not null";
    let count = |sql: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(count(pruned_hosts).await, 0);
    finish(&pool, &fresh, &result, t + TimeDelta::seconds(5))
        .await
        .unwrap();
    let hosts: Vec<(Uuid, i64)> = sqlx::query_as(
        "select backup_id, bk_host_id from backup_hosts where pruned_at is not null",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(hosts, vec![(backups[0], 1001)]);
    let run: (RetentionState, i32, i32, String, Option<DateTime<Utc>>) = sqlx::query_as(
        "select retention_state, retention_pruned, retention_failed, retention_message, \
           retention_finished_at from schedule_runs where id = $1",
    )
    .bind(fresh.run_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        run,
        (
            RetentionState::Failed,
            1,
            1,
            result.message.clone(),
            Some(t + TimeDelta::seconds(5))
        )
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_run_whose_claims_never_finish_is_given_up_after_the_last_attempt(pool: PgPool) {
    let t = at("2026-12-05T04:00:00Z");
    let a = stored(&pool, 3, "a", t).await;
    let backups = fired(&pool, &a, 2).await;
    end(&pool, &backups).await;
    for attempt in 1..=MAX_ATTEMPTS {
        let c = claim(&pool, Duration::ZERO, 1, t).await.unwrap();
        assert_eq!((c.len(), c[0].attempt), (1, attempt));
        assert_eq!(c[0].backup_id, backups[0]);
    }
    // The first run is given up; the second is claimed instead.
    let c = claim(&pool, LEASE, 1, t).await.unwrap();
    assert_eq!(c[0].backup_id, backups[1]);
    let (state, message): (RetentionState, String) = sqlx::query_as(
        "select retention_state, retention_message from schedule_runs where backup_id = $1",
    )
    .bind(backups[0])
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(state, RetentionState::Failed);
    assert!(message.contains("never finished"), "{message}");
}
