//! Schedules against a real Postgres: names unique per business, the etag, pause and resume,
//! soft delete, listing. Helpers here are shared with `schedule_fires_tests`.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::*;
use crate::domain::RunTrigger;
use crate::store::Within;
use crate::store::backups::{self, NewBackup};
use crate::store::schedule_fires::{self, Decision, Fire, Recorded};

pub(crate) fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

pub(crate) fn fields(name: &str) -> ScheduleFields {
    ScheduleFields {
        name: name.to_owned(),
        selector: json!({"bk_host_ids": [1001, 1002]}),
        bk_file_dir: "/data/logs".into(),
        bk_file_suffix: "log".into(),
        cron: "*/10 * * * * *".into(),
        time_zone: "Asia/Shanghai".into(),
        start_time: None,
        end_time: None,
        jitter_ms: 0,
        overlap_policy: OverlapPolicy::Skip,
        catch_up_window_secs: 60,
        pause_after_failures: Some(3),
        run_timeout_secs: 600,
        keep_last: Some(14),
        keep_within_secs: None,
    }
}

/// A schedule of business `biz` named `name` whose next fire is `fire_at` (due then).
pub(crate) async fn stored(
    pool: &PgPool,
    biz: i64,
    name: &str,
    fire_at: DateTime<Utc>,
) -> ScheduleRow {
    let new = NewSchedule {
        id: Uuid::new_v4(),
        bk_biz_id: biz,
        operator: "alice".into(),
        fields: fields(name),
        next: Some(NextFire {
            fire_at,
            due_at: fire_at,
        }),
    };
    create(pool, &new, fire_at - TimeDelta::hours(1))
        .await
        .unwrap()
}

/// The backup a fire of `row` at `scheduled_at` starts.
pub(crate) fn backup_for(row: &ScheduleRow, scheduled_at: DateTime<Utc>) -> NewBackup {
    let id = Uuid::new_v4();
    NewBackup {
        id,
        request_id: None,
        bk_biz_id: row.bk_biz_id,
        bk_host_ids: vec![1001, 1002],
        bk_file_dir: row.fields.bk_file_dir.clone(),
        bk_file_suffix: row.fields.bk_file_suffix.clone(),
        operator: row.operator.clone(),
        job_timeout_secs: 300,
        backup_name: format!("backup_{}", id.simple()),
        job_name: format!("bk-log-backup {id}"),
        deadline_at: scheduled_at + TimeDelta::seconds(600),
        retry_of: None,
        host_selector: None,
    }
}

fn taken(r: Result<impl std::fmt::Debug, StoreError>) -> (i64, String) {
    match r {
        Err(StoreError::NameTaken { bk_biz_id, name }) => (bk_biz_id, name),
        other => panic!("expected a taken name, got {other:?}"),
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_name_is_unique_per_business_among_schedules_not_deleted(pool: PgPool) {
    let t = at("2026-12-05T04:00:00Z");
    let first = stored(&pool, 3, "nightly", t).await;
    let again = NewSchedule {
        id: Uuid::new_v4(),
        bk_biz_id: 3,
        operator: "bob".into(),
        fields: fields("nightly"),
        next: None,
    };
    assert_eq!(taken(create(&pool, &again, t).await), (3, "nightly".into()));
    stored(&pool, 4, "nightly", t).await;
    let other = stored(&pool, 3, "hourly", t).await;
    let renamed = update(&pool, other.id, None, &fields("nightly"), None, "bob", t).await;
    assert_eq!(taken(renamed), (3, "nightly".into()));
    change_state(&pool, first.id, None, &StateChange::Delete, "bob", t)
        .await
        .unwrap()
        .unwrap();
    create(&pool, &again, t)
        .await
        .expect("the name is free again");
    let count: i64 = sqlx::query_scalar("select count(*) from schedules where name = 'nightly'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 3);
}

#[sqlx::test(migrations = "../migrations")]
async fn an_update_with_a_stale_etag_is_refused_and_changes_nothing(pool: PgPool) {
    let t = at("2026-12-05T04:00:00Z");
    let row = stored(&pool, 3, "nightly", t).await;
    assert_eq!(row.version, 1);
    let mut changed = fields("nightly");
    changed.bk_file_dir = "/data/other".into();
    let v2 = update(&pool, row.id, Some(1), &changed, None, "bob", t)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (v2.version, v2.updated_by.as_str(), v2.operator.as_str()),
        (2, "bob", "alice")
    );
    assert_eq!(v2.next_fire_at, None);
    let stale = update(&pool, row.id, Some(1), &fields("nightly"), None, "carol", t).await;
    assert!(
        matches!(
            stale,
            Err(StoreError::StaleEtag {
                given: 1,
                current: 2,
                ..
            })
        ),
        "{stale:?}"
    );
    let pause = StateChange::Pause {
        note: "maintenance".into(),
    };
    let stale = change_state(&pool, row.id, Some(1), &pause, "carol", t).await;
    assert!(
        matches!(stale, Err(StoreError::StaleEtag { .. })),
        "{stale:?}"
    );
    let now = get(&pool, row.id).await.unwrap().unwrap();
    assert_eq!(now, v2, "a refused change wrote nothing");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_paused_schedule_is_not_claimed_until_resumed_with_a_new_next_fire(pool: PgPool) {
    let t = at("2026-12-05T04:00:00Z");
    let row = stored(&pool, 3, "nightly", t).await;
    let pause = StateChange::Pause {
        note: "disk maintenance".into(),
    };
    let paused = change_state(&pool, row.id, Some(1), &pause, "bob", t)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (paused.state, paused.pause_note.as_str(), paused.version),
        (ScheduleState::Paused, "disk maintenance", 2)
    );
    let lease = TimeDelta::seconds(30);
    let later = t + TimeDelta::hours(1);
    let claimed = schedule_fires::claim_due(&pool, later, lease, 10).await;
    assert!(claimed.unwrap().is_empty());
    sqlx::query("update schedules set consecutive_failures = 2 where id = $1")
        .bind(row.id)
        .execute(&pool)
        .await
        .unwrap();
    let next = NextFire {
        fire_at: later + TimeDelta::seconds(10),
        due_at: later + TimeDelta::seconds(10),
    };
    let resume = StateChange::Resume { next: Some(next) };
    let resumed = change_state(&pool, row.id, None, &resume, "bob", later)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resumed.state, ScheduleState::Active);
    assert_eq!(
        (resumed.pause_note.as_str(), resumed.consecutive_failures),
        ("", 0)
    );
    assert_eq!(resumed.next_fire_at, Some(next.fire_at));
    let claimed = schedule_fires::claim_due(&pool, next.due_at, lease, 10).await;
    let ids: Vec<Uuid> = claimed.unwrap().iter().map(|r| r.id).collect();
    assert_eq!(ids, [row.id]);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_deleted_schedule_keeps_its_runs_and_backups_readable(pool: PgPool) {
    let t = at("2026-12-05T04:00:00Z");
    let row = stored(&pool, 3, "nightly", t).await;
    let fire = Fire {
        schedule_id: row.id,
        version: row.version,
        scheduled_at: t,
        trigger: RunTrigger::Cron,
        decision: Decision::Fire(Box::new(backup_for(&row, t))),
        resolved_host_ids: vec![1001, 1002],
        next: None,
        now: t,
        triggered_by: String::new(),
        missed: Vec::new(),
        seen: None,
    };
    let Recorded::New(run) = schedule_fires::record_fire(&pool, &fire).await.unwrap() else {
        panic!("recorded before");
    };
    let deleted = change_state(&pool, row.id, None, &StateChange::Delete, "bob", t)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(deleted.state, ScheduleState::Deleted);
    assert_eq!(deleted.deleted_at, Some(t));
    assert!(
        change_state(&pool, row.id, None, &StateChange::Delete, "bob", t)
            .await
            .unwrap()
            .is_none(),
        "a deleted schedule cannot change again"
    );
    assert_eq!(get(&pool, row.id).await.unwrap().unwrap(), deleted);
    let (runs, more) = schedule_fires::runs(&pool, row.id, None, 10).await.unwrap();
    assert_eq!((runs, more), (vec![run.clone()], false));
    let backup = backups::get(&pool, run.backup_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(backup.schedule_id, Some(row.id));
}

#[sqlx::test(migrations = "../migrations")]
async fn listing_filters_by_business_state_and_name_and_pages_newest_first(pool: PgPool) {
    let t = at("2026-12-05T04:00:00Z");
    let mut ids = Vec::new();
    for (i, (biz, name)) in [
        (3, "gamesvr nightly"),
        (3, "GameSvr hourly"),
        (3, "dbsvr nightly"),
        (4, "gamesvr nightly"),
        (3, "gamesvr weekly"),
    ]
    .into_iter()
    .enumerate()
    {
        // Created a minute apart, in this order.
        let row = stored(&pool, biz, name, t + TimeDelta::minutes(i as i64 + 60)).await;
        ids.push(row.id);
    }
    let pause = StateChange::Pause { note: "".into() };
    change_state(&pool, ids[2], None, &pause, "bob", t)
        .await
        .unwrap();
    change_state(&pool, ids[4], None, &StateChange::Delete, "bob", t)
        .await
        .unwrap();
    let list_ids = |filter: ScheduleFilter| {
        let pool = pool.clone();
        async move {
            let (rows, more) = list(&pool, &filter, &Within::Any, None, 10).await.unwrap();
            assert!(!more);
            rows.iter().map(|r| r.id).collect::<Vec<_>>()
        }
    };
    let f = ScheduleFilter::default;
    assert_eq!(list_ids(f()).await, [ids[3], ids[2], ids[1], ids[0]]);
    let biz3 = ScheduleFilter {
        bk_biz_id: Some(3),
        ..f()
    };
    assert_eq!(list_ids(biz3.clone()).await, [ids[2], ids[1], ids[0]]);
    let gamesvr = ScheduleFilter {
        name_contains: Some("gameSVR".into()),
        ..biz3.clone()
    };
    assert_eq!(list_ids(gamesvr).await, [ids[1], ids[0]]);
    let paused = ScheduleFilter {
        states: vec![ScheduleState::Paused],
        ..f()
    };
    assert_eq!(list_ids(paused).await, [ids[2]]);
    let deleted = ScheduleFilter {
        states: vec![ScheduleState::Deleted],
        ..f()
    };
    assert_eq!(list_ids(deleted).await, [ids[4]]);
    let (page, more) = list(&pool, &f(), &Within::Any, None, 3).await.unwrap();
    assert!(more);
    let last = page.last().unwrap();
    let (rest, more) = list(
        &pool,
        &f(),
        &Within::Any,
        Some((last.created_at, last.id)),
        3,
    )
    .await
    .unwrap();
    assert!(!more);
    assert_eq!(rest.iter().map(|r| r.id).collect::<Vec<_>>(), [ids[0]]);
}

#[sqlx::test(migrations = "../migrations")]
async fn failures_in_a_row_are_counted_a_success_resets_them_and_the_version_stays(pool: PgPool) {
    let t = at("2026-12-05T04:00:00Z");
    let row = stored(&pool, 3, "nightly", t).await;
    let mut seen = Vec::new();
    for failed in [true, true, false, true, true, true] {
        let after = count_run_result(&pool, row.id, failed)
            .await
            .unwrap()
            .unwrap();
        seen.push(after.consecutive_failures);
        assert_eq!(after.version, row.version);
    }
    assert_eq!(seen, [1, 2, 0, 1, 2, 3]);
    let third = get(&pool, row.id).await.unwrap().unwrap();
    assert!(crate::schedule::pauses(
        third.consecutive_failures,
        third.fields.pause_after_failures
    ));
    change_state(&pool, row.id, None, &StateChange::Delete, "bob", t)
        .await
        .unwrap();
    assert_eq!(count_run_result(&pool, row.id, true).await.unwrap(), None);
}
