//! The exactly-once fire against a real Postgres: concurrent claimers on separate connections,
//! a fire recorded twice, a claim that a change supersedes, manual runs, the claim's index.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::PgPool;
use tokio::sync::Barrier;

use super::*;
use crate::schedule::{Spec, SpecInput};
use crate::store::schedules::tests::{at, backup_for, fields, stored};
use crate::store::schedules::{self, StateChange};

fn spec_of(row: &ScheduleRow) -> Spec {
    Spec::new(SpecInput {
        cron: row.fields.cron.clone(),
        time_zone: row.fields.time_zone.clone(),
        start_time: row.fields.start_time,
        end_time: row.fields.end_time,
        jitter: TimeDelta::milliseconds(row.fields.jitter_ms),
    })
    .unwrap()
}

/// What a scheduler decides for claimed `row`: start a backup at its next fire, and the fire
/// after it from the spec.
fn fire_of(row: &ScheduleRow, now: DateTime<Utc>) -> Fire {
    let scheduled_at = row.next_fire_at.unwrap();
    let spec = spec_of(row);
    let next = spec.next_after(scheduled_at).map(|f| NextFire {
        fire_at: f,
        due_at: spec.due_at(row.id, f),
    });
    Fire {
        schedule_id: row.id,
        version: row.version,
        scheduled_at,
        trigger: RunTrigger::Cron,
        decision: Decision::Fire(Box::new(backup_for(row, scheduled_at))),
        resolved_host_ids: vec![1001, 1002],
        next,
        now,
        triggered_by: String::new(),
        missed: Vec::new(),
        seen: None,
    }
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn concurrent_claimers_fire_every_schedule_time_exactly_once(pool: PgPool) {
    const SCHEDULES: usize = 20;
    const CLAIMERS: usize = 4;
    const TICKS: i64 = 5;
    let start = at("2026-12-05T04:00:00Z");
    for i in 0..SCHEDULES {
        stored(&pool, 3, &format!("every ten seconds {i}"), start).await;
    }
    // A live lease keeps claimers apart; a zero lease lets all of them claim each fire, so
    // only record_fire stands between them and a second run.
    for (round, lease) in [TimeDelta::seconds(30), TimeDelta::zero()]
        .into_iter()
        .enumerate()
    {
        let mut new_runs = 0;
        for tick in 0..TICKS {
            let now = start + TimeDelta::seconds(10 * (tick + TICKS * round as i64));
            let barrier = Arc::new(Barrier::new(CLAIMERS));
            let claimers: Vec<_> = (0..CLAIMERS)
                .map(|_| {
                    let (pool, barrier) = (pool.clone(), barrier.clone());
                    tokio::spawn(async move {
                        let mut conn = pool.acquire().await.unwrap();
                        barrier.wait().await;
                        let claimed: Vec<ScheduleRow> = sqlx::query_as(&claim_statement(""))
                            .bind(now)
                            .bind(now + lease)
                            .bind(100_i64)
                            .fetch_all(&mut *conn)
                            .await
                            .unwrap();
                        drop(conn);
                        let mut outcomes = Vec::new();
                        for row in &claimed {
                            outcomes.push(record_fire(&pool, &fire_of(row, now)).await.unwrap());
                        }
                        outcomes
                    })
                })
                .collect();
            for claimer in claimers {
                new_runs += claimer
                    .await
                    .unwrap()
                    .iter()
                    .filter(|o| matches!(o, Recorded::New(_)))
                    .count();
            }
        }
        assert_eq!(new_runs, SCHEDULES * TICKS as usize, "lease {lease}");
    }
    let fires = SCHEDULES as i64 * TICKS * 2;
    assert_eq!(
        count(&pool, "select count(*) from schedule_runs").await,
        fires
    );
    assert_eq!(
        count(
            &pool,
            "select count(*) from backups where schedule_id is not null"
        )
        .await,
        fires
    );
    let behind = count(
        &pool,
        "select count(*) from schedules where next_fire_at <> '2026-12-05T04:01:40Z'",
    )
    .await;
    assert_eq!(behind, 0, "every schedule advanced past every tick's fire");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_fire_recorded_twice_yields_one_run_and_one_backup(pool: PgPool) {
    let t = at("2026-12-05T04:00:00Z");
    let row = stored(&pool, 3, "nightly", t).await;
    let first = fire_of(&row, t);
    let Recorded::New(run) = record_fire(&pool, &first).await.unwrap() else {
        panic!("not new");
    };
    // Another replica whose lease ran out decided the same fire with its own backup id.
    let second = fire_of(&row, t + TimeDelta::seconds(45));
    assert_eq!(
        record_fire(&pool, &second).await.unwrap(),
        Recorded::Duplicate(run.clone())
    );
    assert_eq!(count(&pool, "select count(*) from schedule_runs").await, 1);
    assert_eq!(count(&pool, "select count(*) from backups").await, 1);
    let backup = backups::get(&pool, run.backup_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        backup.request_id.as_deref(),
        Some(format!("schedule:{}:2026-12-05T04:00:00.000000Z", row.id).as_str())
    );
    let now = schedules::get(&pool, row.id).await.unwrap().unwrap();
    assert_eq!(now.next_fire_at, Some(at("2026-12-05T04:00:10Z")));
    assert_eq!(now.claimed_until, None);
    assert_eq!(
        now.version, row.version,
        "a fire is not a change of the etag"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_fire_claimed_before_a_change_records_nothing(pool: PgPool) {
    let t = at("2026-12-05T04:00:00Z");
    let row = stored(&pool, 3, "nightly", t).await;
    let claimed = claim_due(&pool, t, TimeDelta::seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(
        claim_due(&pool, t, TimeDelta::seconds(30), 10)
            .await
            .unwrap()
            .is_empty(),
        "a live claim is not claimed again"
    );
    let next = Some(NextFire {
        fire_at: t,
        due_at: t,
    });
    schedules::update(&pool, row.id, None, &fields("nightly"), next, "bob", t)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        record_fire(&pool, &fire_of(&claimed[0], t)).await.unwrap(),
        Recorded::Superseded
    );
    assert_eq!(count(&pool, "select count(*) from schedule_runs").await, 0);
    assert_eq!(count(&pool, "select count(*) from backups").await, 0);
    // The update dropped the claim: the fire is claimed again, from the new version.
    let again = claim_due(&pool, t, TimeDelta::seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(again[0].version, 2);
    assert!(matches!(
        record_fire(&pool, &fire_of(&again[0], t)).await.unwrap(),
        Recorded::New(_)
    ));
}

#[sqlx::test(migrations = "../migrations")]
async fn decisions_that_start_nothing_are_recorded_and_advance_the_schedule(pool: PgPool) {
    let t = at("2026-12-05T04:00:00Z");
    let row = stored(&pool, 3, "nightly", t).await;
    let decisions = [
        Decision::Missed("past the catch-up window".into()),
        Decision::SkipOverlap,
        Decision::FailedToStart("no host in the selector".into()),
    ];
    let mut current = row;
    for decision in decisions {
        let fire = Fire {
            decision,
            ..fire_of(&current, t + TimeDelta::minutes(1))
        };
        assert!(matches!(
            record_fire(&pool, &fire).await.unwrap(),
            Recorded::New(_)
        ));
        current = schedules::get(&pool, current.id).await.unwrap().unwrap();
    }
    assert_eq!(current.next_fire_at, Some(at("2026-12-05T04:00:30Z")));
    let (runs, _) = runs(&pool, current.id, None, 10).await.unwrap();
    let seen: Vec<_> = runs
        .iter()
        .map(|r| (r.decision, r.backup_id, r.reason.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            (RunDecision::FailedToStart, None, "no host in the selector"),
            (RunDecision::SkippedOverlap, None, ""),
            (RunDecision::Missed, None, "past the catch-up window"),
        ]
    );
    let (newest, more) = super::runs(&pool, current.id, None, 1).await.unwrap();
    assert!(more);
    let (older, _) = super::runs(&pool, current.id, Some(newest[0].scheduled_at), 5)
        .await
        .unwrap();
    assert_eq!(older, runs[1..]);
    assert_eq!(count(&pool, "select count(*) from backups").await, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_manual_run_leaves_the_next_fire_alone_and_stands_for_a_cron_fire_at_its_instant(
    pool: PgPool,
) {
    let t = at("2026-12-05T04:00:00Z");
    let row = stored(&pool, 3, "nightly", t).await;
    let manual = Fire {
        trigger: RunTrigger::Manual,
        next: None,
        ..fire_of(&row, t)
    };
    let Recorded::New(run) = record_fire(&pool, &manual).await.unwrap() else {
        panic!("not new");
    };
    let after = schedules::get(&pool, row.id).await.unwrap().unwrap();
    assert_eq!(after.next_fire_at, Some(t));
    // The cron fire at the same instant finds the manual run and moves on.
    assert_eq!(
        record_fire(&pool, &fire_of(&after, t)).await.unwrap(),
        Recorded::Duplicate(run)
    );
    let after = schedules::get(&pool, row.id).await.unwrap().unwrap();
    assert_eq!(after.next_fire_at, Some(at("2026-12-05T04:00:10Z")));
    schedules::change_state(&pool, row.id, None, &StateChange::Delete, "bob", t)
        .await
        .unwrap();
    let late = Fire {
        scheduled_at: t + TimeDelta::minutes(5),
        version: after.version + 1,
        ..manual
    };
    assert_eq!(
        record_fire(&pool, &late).await.unwrap(),
        Recorded::Superseded
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn the_claim_reads_only_due_schedules_from_the_partial_index(pool: PgPool) {
    // 10,000 active schedules due over the next 10,000 minutes, 500 paused ones overdue.
    sqlx::query(
        "insert into schedules (id, bk_biz_id, name, operator, updated_by, selector, \
           bk_file_dir, bk_file_suffix, cron, time_zone, run_timeout_secs, state, \
           next_fire_at, next_due_at, created_at, updated_at) \
         select gen_random_uuid(), 3, 's' || g, 'alice', 'alice', '{}', '/data/logs', 'log', \
           '@hourly', 'UTC', 600, case when g > 10000 then 'paused' else 'active' end, \
           t, t, now(), now() \
         from generate_series(1, 10500) g, \
           lateral (select timestamptz '2026-12-05T04:00:00Z' \
             + (case when g > 10000 then -1 else g end) * interval '1 minute' as t) x",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("analyze schedules")
        .execute(&pool)
        .await
        .unwrap();
    let now = at("2026-12-05T04:05:00Z");
    let plan: Vec<String> = sqlx::query_scalar(&claim_statement("explain "))
        .bind(now)
        .bind(now)
        .bind(100_i64)
        .fetch_all(&pool)
        .await
        .unwrap();
    let plan = plan.join("\n");
    assert!(plan.contains("schedules_due_idx"), "{plan}");
    let claimed = claim_due(&pool, now, TimeDelta::seconds(30), 100)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 5);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_fire_recorded_before_leaves_the_schedule_unlocked_when_the_call_returns(pool: PgPool) {
    use sqlx::Connection;
    let t = at("2026-12-05T04:00:00Z");
    let row = stored(&pool, 3, "nightly", t).await;
    let fire = fire_of(&row, t);
    record_fire(&pool, &fire).await.unwrap();
    // Another replica's session, ready before the duplicate is recorded: it asks as soon as
    // the call returns, before this runtime gets to any connection the pool took back.
    let mut other = sqlx::PgConnection::connect_with(&pool.connect_options())
        .await
        .unwrap();
    let lockable = "select count(*) from (select id from schedules where id = $1 \
                    for update skip locked) free";
    let mut free = 0;
    for _ in 0..20 {
        assert!(matches!(
            record_fire(&pool, &fire).await.unwrap(),
            Recorded::Duplicate(_)
        ));
        let n: i64 = sqlx::query_scalar(lockable)
            .bind(row.id)
            .fetch_one(&mut other)
            .await
            .unwrap();
        free += n;
    }
    assert_eq!(
        free, 20,
        "the schedule row was still locked after a duplicate"
    );
}
