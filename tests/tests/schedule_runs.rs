//! The proto is the contract, for what schedules leave behind: ListBackups filtered by
//! `schedule_id`, the reserved `schedule:` request ids, and ListScheduleRuns' pages with each
//! run's decision and its backup's state. Runs are recorded through the store as the scheduler
//! records them.

use backup_service::store::schedule_fires::Decision;
use chrono::{DateTime, TimeDelta, Utc};
use e2e::contract::{accepted_earlier, violation};
use e2e::flow::{Client, start, watch_to_end};
use e2e::schedules::{at, create, fired, nightly, record, time_of, up};
use proto::backup::v1 as pb;
use sqlx::postgres::PgConnectOptions;
use tonic::Code;
use uuid::Uuid;

type Pool = sqlx::pool::PoolOptions<sqlx::Postgres>;

#[sqlx::test(migrations = false)]
async fn list_backups_filters_by_schedule_and_a_schedule_request_id_is_refused(
    _p: Pool,
    db: PgConnectOptions,
) {
    let (stack, mut alice, pool) = up(&db).await;
    let mut backups: Client = stack.client("alice").await;
    let a = create(&mut alice, nightly("a")).await;
    let b = create(&mut alice, nightly("b")).await;
    let t0 = at("2026-12-01T04:00:00Z");
    let mut made = Vec::new();
    for day in 0..3 {
        let run = record(&pool, &a, t0 + TimeDelta::days(day), fired()).await;
        made.push(run.backup_id.unwrap().to_string());
    }
    let other = record(&pool, &b, t0, fired()).await.backup_id.unwrap();
    let by_hand = accepted_earlier(&db, 3, &[1001]).await;

    let by_a = pb::ListBackupsRequest {
        schedule_id: a.schedule_id.clone(),
        page_size: 2,
        ..Default::default()
    };
    let page1 = backups
        .list_backups(by_a.clone())
        .await
        .unwrap()
        .into_inner();
    let page2 = backups
        .list_backups(pb::ListBackupsRequest {
            page_token: page1.next_page_token.clone(),
            ..by_a.clone()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page2.next_page_token, "");
    let listed: Vec<String> = page1
        .backups
        .iter()
        .chain(&page2.backups)
        .map(|b| {
            assert_eq!(b.schedule_id, a.schedule_id);
            b.backup_id.clone()
        })
        .collect();
    made.reverse();
    assert_eq!(listed, made, "newest first, only schedule a's");
    let everything = backups
        .list_backups(pb::ListBackupsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .backups;
    assert_eq!(everything.len(), 5);
    let mine = everything.iter().find(|b| b.backup_id == by_hand).unwrap();
    assert_eq!(mine.schedule_id, "", "a caller's backup has no schedule");
    let theirs = everything
        .iter()
        .find(|x| x.backup_id == other.to_string())
        .unwrap();
    assert_eq!(theirs.schedule_id, b.schedule_id);
    // A token of schedule a's listing is not one of b's; a malformed id is refused.
    let err = backups
        .list_backups(pb::ListBackupsRequest {
            schedule_id: b.schedule_id.clone(),
            page_token: page1.next_page_token.clone(),
            ..by_a.clone()
        })
        .await
        .unwrap_err();
    assert_eq!(violation(&err).0, "page_token");
    let err = backups
        .list_backups(pb::ListBackupsRequest {
            schedule_id: "nightly".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violation(&err).0, "schedule_id");

    // The scheduler's request ids are its own: StartBackup and RetryBackup refuse them.
    let err = backups
        .start_backup(pb::StartBackupRequest {
            request_id: "schedule:x".into(),
            ..start(&[1001], "/data/logs", "log")
        })
        .await
        .unwrap_err();
    let (field, reason) = violation(&err);
    assert_eq!(field, "request_id");
    assert!(reason.contains("schedule:"), "{reason}");
    let err = backups
        .retry_backup(pb::RetryBackupRequest {
            backup_id: made[0].clone(),
            request_id: format!("schedule:{}:2026-12-01T04:00:00.000000Z", a.schedule_id),
        })
        .await
        .unwrap_err();
    assert_eq!(violation(&err).0, "request_id");
    for id in made.iter().chain([&other.to_string(), &by_hand]) {
        watch_to_end(&mut backups, id).await;
    }
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn schedule_runs_list_newest_first_in_pages_with_their_backups_state(
    _p: Pool,
    db: PgConnectOptions,
) {
    let (stack, mut alice, pool) = up(&db).await;
    let mut backups: Client = stack.client("alice").await;
    let s = create(
        &mut alice,
        pb::Schedule {
            retention: None,
            ..nightly("nightly")
        },
    )
    .await;
    let t0 = at("2026-12-01T04:00:00Z");
    let fired_run = record(&pool, &s, t0, fired()).await;
    record(&pool, &s, t0 + TimeDelta::days(1), Decision::SkipOverlap).await;
    record(
        &pool,
        &s,
        t0 + TimeDelta::days(2),
        Decision::FailedToStart("the selector selects no host".into()),
    )
    .await;
    let second = record(&pool, &s, t0 + TimeDelta::days(3), fired()).await;
    record(
        &pool,
        &s,
        t0 + TimeDelta::days(4),
        Decision::Missed("past the catch-up window".into()),
    )
    .await;
    let mut ended = Vec::new();
    for run in [&fired_run, &second] {
        let id = run.backup_id.unwrap().to_string();
        watch_to_end(&mut backups, &id).await;
        let state = backups
            .get_backup(pb::GetBackupRequest {
                backup_id: id,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .backup
            .unwrap()
            .state;
        ended.push(state);
    }

    let req = pb::ListScheduleRunsRequest {
        schedule_id: s.schedule_id.clone(),
        page_size: 2,
        page_token: String::new(),
    };
    let mut runs = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = alice
            .list_schedule_runs(pb::ListScheduleRunsRequest {
                page_token: token.clone(),
                ..req.clone()
            })
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        runs.extend(page.runs);
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(pages, 3);
    let decisions: Vec<i32> = runs.iter().map(|r| r.decision).collect();
    use pb::ScheduleRunDecision as D;
    assert_eq!(
        decisions,
        [
            D::Missed as i32,
            D::Fired as i32,
            D::FailedToStart as i32,
            D::SkippedOverlap as i32,
            D::Fired as i32
        ],
        "newest scheduled time first"
    );
    let times: Vec<DateTime<Utc>> = runs.iter().map(|r| time_of(&r.scheduled_time)).collect();
    assert_eq!(times[0], t0 + TimeDelta::days(4));
    assert_eq!(times[4], t0);
    assert_eq!(runs[1].backup_id, second.backup_id.unwrap().to_string());
    assert_eq!(runs[1].backup_state, ended[1]);
    assert_eq!(runs[4].backup_state, ended[0]);
    assert_ne!(ended[0], pb::BackupState::Unspecified as i32);
    for r in [&runs[0], &runs[2], &runs[3]] {
        assert_eq!(r.backup_state, pb::BackupState::Unspecified as i32);
        assert_eq!(r.backup_id, "");
    }
    assert_eq!(runs[2].reason, "the selector selects no host");
    let run = &runs[4];
    assert_eq!(run.trigger, pb::ScheduleRunTrigger::Manual as i32);
    assert_eq!(run.triggered_by, "alice");
    assert_eq!(run.resolved_bk_host_ids, vec![1001, 1002], "ascending");
    assert!(run.decide_time.is_some());
    let retention = run.retention.as_ref().unwrap();
    assert_eq!(
        retention.state,
        pb::RetentionState::None as i32,
        "keeps everything"
    );

    // A token of another schedule, a malformed one, an unknown schedule.
    let other = create(&mut alice, nightly("other")).await;
    let first = alice
        .list_schedule_runs(req.clone())
        .await
        .unwrap()
        .into_inner();
    let err = alice
        .list_schedule_runs(pb::ListScheduleRunsRequest {
            schedule_id: other.schedule_id.clone(),
            page_token: first.next_page_token,
            page_size: 2,
        })
        .await
        .unwrap_err();
    assert_eq!(violation(&err).0, "page_token");
    let err = alice
        .list_schedule_runs(pb::ListScheduleRunsRequest {
            page_token: "xyz".into(),
            ..req.clone()
        })
        .await
        .unwrap_err();
    assert_eq!(violation(&err).0, "page_token");
    let err = alice
        .list_schedule_runs(pb::ListScheduleRunsRequest {
            schedule_id: Uuid::new_v4().to_string(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = alice
        .list_schedule_runs(pb::ListScheduleRunsRequest {
            page_size: -1,
            ..req.clone()
        })
        .await
        .unwrap_err();
    assert_eq!(violation(&err).0, "page_size");
    stack.stop().await;
}
