//! TriggerSchedule end to end and the audit trail of schedule changes: a manual run starts a
//! backup of the selector's hosts now, as the schedule's operator, recorded as the caller's
//! MANUAL run and listed with its backup; it works while paused and is FAILED_PRECONDITION
//! once the schedule is deleted; every create, pause, trigger and delete (refusals included)
//! is an audit event of the schedule's business.

use e2e::flow::watch_to_end;
use e2e::schedules::{create, nightly, up};
use e2e::{Authed, backup_client};
use proto::backup::v1 as pb;
use proto::backup::v1::audit_service_client::AuditServiceClient;
use sqlx::postgres::PgConnectOptions;
use tonic::Code;

type Pool = sqlx::pool::PoolOptions<sqlx::Postgres>;

fn trigger(id: &str) -> pb::TriggerScheduleRequest {
    pb::TriggerScheduleRequest {
        schedule_id: id.to_owned(),
    }
}

#[sqlx::test(migrations = false)]
async fn a_manual_run_backs_up_the_selected_hosts_now_even_paused_and_never_once_deleted(
    _p: Pool,
    db: PgConnectOptions,
) {
    let (stack, mut schedules, _pool) = up(&db).await;
    let mut backups = backup_client(&stack.backup, Some("alice")).await;
    let s = create(
        &mut schedules,
        pb::Schedule {
            selector: Some(pb::HostSelector {
                bk_host_ids: vec![1002, 1001],
                ..Default::default()
            }),
            ..nightly("on-demand")
        },
    )
    .await;
    let id = s.schedule_id.as_str();

    let run = schedules
        .trigger_schedule(trigger(id))
        .await
        .unwrap()
        .into_inner()
        .run
        .unwrap();
    assert_eq!(run.trigger, pb::ScheduleRunTrigger::Manual as i32);
    assert_eq!(
        run.decision,
        pb::ScheduleRunDecision::Fired as i32,
        "{run:?}"
    );
    assert_eq!(run.triggered_by, "alice");
    assert_eq!(run.resolved_bk_host_ids, [1001, 1002]);
    let events = watch_to_end(&mut backups, &run.backup_id).await;
    assert!(!events.is_empty());
    let listed = backups
        .list_backups(pb::ListBackupsRequest {
            schedule_id: id.to_owned(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .backups;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].backup_id, run.backup_id);
    assert_eq!(listed[0].schedule_id, id);
    assert_eq!(listed[0].operator, "alice");
    assert_eq!(listed[0].state, pb::BackupState::Succeeded as i32);

    schedules
        .pause_schedule(pb::PauseScheduleRequest {
            schedule_id: id.to_owned(),
            note: "maintenance".into(),
            etag: String::new(),
        })
        .await
        .unwrap();
    let paused_run = schedules
        .trigger_schedule(trigger(id))
        .await
        .unwrap()
        .into_inner()
        .run
        .unwrap();
    assert_eq!(
        paused_run.decision,
        pb::ScheduleRunDecision::Fired as i32,
        "{paused_run:?}"
    );
    watch_to_end(&mut backups, &paused_run.backup_id).await;
    let runs = schedules
        .list_schedule_runs(pb::ListScheduleRunsRequest {
            schedule_id: id.to_owned(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .runs;
    assert_eq!(
        runs.iter()
            .map(|r| r.backup_id.as_str())
            .collect::<Vec<_>>(),
        [paused_run.backup_id.as_str(), run.backup_id.as_str()]
    );

    schedules
        .delete_schedule(pb::DeleteScheduleRequest {
            schedule_id: id.to_owned(),
            etag: String::new(),
        })
        .await
        .unwrap();
    let refused = schedules.trigger_schedule(trigger(id)).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    let unknown = uuid::Uuid::new_v4().to_string();
    let missing = schedules
        .trigger_schedule(trigger(&unknown))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    let bad = schedules.trigger_schedule(trigger("x")).await.unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);

    let mut audit = AuditServiceClient::with_interceptor(
        stack.backup.channel().await,
        Authed {
            username: Some("alice"),
        },
    );
    let trail = audit
        .list_audit_events(pb::ListAuditEventsRequest {
            bk_biz_id: 3,
            actions: [
                "CreateSchedule",
                "PauseSchedule",
                "TriggerSchedule",
                "DeleteSchedule",
            ]
            .map(String::from)
            .to_vec(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    let seen: Vec<(&str, &str, &str)> = trail
        .iter()
        .map(|e| (e.action.as_str(), e.code.as_str(), e.target.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("TriggerSchedule", "FAILED_PRECONDITION", id),
            ("DeleteSchedule", "OK", id),
            ("TriggerSchedule", "OK", id),
            ("PauseSchedule", "OK", id),
            ("TriggerSchedule", "OK", id),
            ("CreateSchedule", "OK", id),
        ]
    );
    assert!(trail.iter().all(|e| e.bk_username == "alice"));
    assert!(
        trail[2].message.contains(&paused_run.backup_id),
        "{:?}",
        trail[2]
    );
    stack.stop().await;
}
