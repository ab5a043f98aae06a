//! The proto is the contract, for `backup.v1.ScheduleService`'s life of a schedule: create,
//! read and list with each filter and page tokens; updates by FieldMask under an etag; pause,
//! resume and delete. Over real gRPC against the whole stack (bk-sim, job-gateway,
//! backup-service, Postgres). Bad input and previews are in `schedule_input.rs`, runs and
//! scheduled backups in `schedule_runs.rs`; TriggerSchedule's engine has its own tests.

use backup_service::schedule::Clock;
use backup_service::startup::Application;
use chrono::{TimeDelta, Utc};
use e2e::contract::{duration, violation};
use e2e::flow::watch_to_end;
use e2e::schedules::{
    YEARLY, at, create, fired, first_after, get, list, mask, nightly, record, time_of, up,
};
use e2e::stack::{Door, Stack};
use e2e::{Authed, backup_settings, schedule_client};
use prost_types::FieldMask;
use proto::backup::v1 as pb;
use proto::backup::v1::schedule_service_client::ScheduleServiceClient;
use sqlx::postgres::PgConnectOptions;
use tonic::Code;
use uuid::Uuid;

type Pool = sqlx::pool::PoolOptions<sqlx::Postgres>;

#[sqlx::test(migrations = false)]
async fn schedules_are_created_read_back_and_listed_by_business_state_and_name_in_pages(
    _p: Pool,
    db: PgConnectOptions,
) {
    let (stack, mut alice, _pool) = up(&db).await;
    let before = Utc::now();
    let first = create(&mut alice, nightly("Nightly gamesvr logs")).await;
    assert_eq!(first.state, pb::ScheduleState::Active as i32);
    assert_eq!(
        (first.operator.as_str(), first.updated_by.as_str()),
        ("alice", "alice")
    );
    assert_eq!(first.etag, "1");
    assert_eq!(first.bk_file_dir, "/data/logs");
    assert_eq!(first.selector.as_ref().unwrap().bk_module_ids, vec![3001]);
    assert_eq!(first.retention.unwrap().keep_last, 14);
    assert_eq!(
        first.run_timeout.unwrap().seconds,
        i64::from(
            backup_service::config::Settings::default()
                .backup
                .default_timeout_secs
        ),
        "unset: the server default"
    );
    assert_eq!(
        time_of(&first.next_fire_time),
        first_after(YEARLY, "Asia/Shanghai", before),
        "the spec's first fire after now"
    );
    assert_eq!(first.delete_time, None);
    let read = get(&mut alice, &first.schedule_id).await;
    assert_eq!(read, first);

    create(&mut alice, nightly("hourly gateway")).await;
    let third = create(&mut alice, nightly("NIGHTLY login")).await;
    let mut bob = schedule_client(&stack.backup, Some("bob")).await;
    let payments = pb::Schedule {
        bk_biz_id: 5,
        selector: Some(pb::HostSelector {
            all_hosts: true,
            ..Default::default()
        }),
        ..nightly("nightly pay-web")
    };
    create(&mut bob, payments).await;
    alice
        .pause_schedule(pb::PauseScheduleRequest {
            schedule_id: third.schedule_id.clone(),
            note: "login is being migrated".into(),
            etag: String::new(),
        })
        .await
        .unwrap();

    let all = pb::ListSchedulesRequest::default();
    let mut admin = schedule_client(&stack.backup, Some("admin")).await;
    let (names, token) = list(&mut admin, all.clone()).await;
    assert_eq!(
        names,
        [
            "nightly pay-web",
            "NIGHTLY login",
            "hourly gateway",
            "Nightly gamesvr logs"
        ],
        "newest first, active and paused"
    );
    assert_eq!(token, "");
    assert_eq!(
        list(&mut alice, all.clone()).await.0,
        ["NIGHTLY login", "hourly gateway", "Nightly gamesvr logs"],
        "without a business filter, only the caller's businesses"
    );
    let biz3 = pb::ListSchedulesRequest {
        bk_biz_id: 3,
        ..all.clone()
    };
    assert_eq!(list(&mut alice, biz3.clone()).await.0.len(), 3);
    let paused = pb::ListSchedulesRequest {
        states: vec![pb::ScheduleState::Paused as i32],
        ..all.clone()
    };
    assert_eq!(list(&mut alice, paused).await.0, ["NIGHTLY login"]);
    let named = pb::ListSchedulesRequest {
        bk_biz_id: 3,
        name_contains: "nightly".into(),
        ..all.clone()
    };
    assert_eq!(
        list(&mut alice, named).await.0,
        ["NIGHTLY login", "Nightly gamesvr logs"],
        "ignoring case"
    );

    // Pages of two, the token bound to its filters.
    let paged = pb::ListSchedulesRequest {
        page_size: 2,
        ..biz3.clone()
    };
    let (page1, token) = list(&mut alice, paged.clone()).await;
    assert_eq!(page1, ["NIGHTLY login", "hourly gateway"]);
    assert_ne!(token, "");
    let next = pb::ListSchedulesRequest {
        page_token: token.clone(),
        ..paged.clone()
    };
    let (page2, last) = list(&mut alice, next).await;
    assert_eq!(
        (page2, last),
        (vec!["Nightly gamesvr logs".to_owned()], String::new())
    );
    let other = pb::ListSchedulesRequest {
        page_token: token,
        ..all.clone()
    };
    let err = alice.list_schedules(other).await.unwrap_err();
    assert_eq!(violation(&err).0, "page_token");
    for (req, field) in [
        (
            pb::ListSchedulesRequest {
                page_size: -1,
                ..all.clone()
            },
            "page_size",
        ),
        (
            pb::ListSchedulesRequest {
                bk_biz_id: -3,
                ..all.clone()
            },
            "bk_biz_id",
        ),
        (
            pb::ListSchedulesRequest {
                states: vec![0],
                ..all.clone()
            },
            "states[0]",
        ),
        (
            pb::ListSchedulesRequest {
                name_contains: "x".repeat(129),
                ..all.clone()
            },
            "name_contains",
        ),
    ] {
        let err = alice.list_schedules(req).await.unwrap_err();
        assert_eq!(violation(&err).0, field);
    }
    let err = alice
        .get_schedule(pb::GetScheduleRequest {
            schedule_id: Uuid::new_v4().to_string(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn an_update_changes_the_masked_fields_only_and_a_stale_etag_changes_nothing(
    _p: Pool,
    db: PgConnectOptions,
) {
    let (stack, mut alice, _pool) = up(&db).await;
    let mut admin = schedule_client(&stack.backup, Some("admin")).await;
    let s = create(&mut alice, nightly("nightly")).await;
    let update = |schedule: pb::Schedule, paths: Option<FieldMask>| pb::UpdateScheduleRequest {
        schedule: Some(schedule),
        update_mask: paths,
    };

    // A sub-path: the cron text alone; the next fire is recomputed, the zone kept. (Specs here
    // fire once a year, so no scheduler fires them while the test runs.)
    let changed = pb::Schedule {
        schedule_id: s.schedule_id.clone(),
        etag: s.etag.clone(),
        spec: Some(pb::ScheduleSpec {
            cron: "0 4 1 1 *".into(),
            time_zone: "Europe/Berlin".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let before = Utc::now();
    let v2 = admin
        .update_schedule(update(changed.clone(), mask(&["spec.cron"])))
        .await
        .unwrap()
        .into_inner()
        .schedule
        .unwrap();
    let spec = v2.spec.as_ref().unwrap();
    assert_eq!(
        (spec.cron.as_str(), spec.time_zone.as_str()),
        ("0 4 1 1 *", "Asia/Shanghai")
    );
    assert_eq!(v2.etag, "2");
    assert_eq!(
        (v2.operator.as_str(), v2.updated_by.as_str()),
        ("alice", "admin")
    );
    let next = time_of(&v2.next_fire_time);
    assert!(
        next == first_after("0 4 1 1 *", "Asia/Shanghai", before)
            || next == first_after("0 4 1 1 *", "Asia/Shanghai", Utc::now()),
        "{next}"
    );
    assert_eq!(v2.name, "nightly");
    assert_eq!(v2.create_time, s.create_time);

    // The stale etag of the first read: ABORTED, and nothing changed.
    let err = alice
        .update_schedule(update(
            pb::Schedule {
                name: "renamed".into(),
                ..changed.clone()
            },
            mask(&["name"]),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted, "{err:?}");
    assert_eq!(get(&mut alice, &s.schedule_id).await, v2);

    // An empty mask: every field set in the request, and nothing else.
    let renamed = pb::Schedule {
        schedule_id: s.schedule_id.clone(),
        name: "nightly (renamed)".into(),
        pause_after_failures: 5,
        ..Default::default()
    };
    let v3 = alice
        .update_schedule(update(renamed, None))
        .await
        .unwrap()
        .into_inner()
        .schedule
        .unwrap();
    assert_eq!(v3.name, "nightly (renamed)");
    assert_eq!(v3.pause_after_failures, 5);
    assert_eq!(v3.spec, v2.spec);
    assert_eq!(v3.retention, v2.retention);
    assert_eq!(
        v3.next_fire_time, v2.next_fire_time,
        "spec unchanged: same next fire"
    );
    assert_eq!(v3.etag, "3");

    // `*`: every field from the request; an unset one is cleared (no retention, UTC).
    let all = pb::Schedule {
        schedule_id: s.schedule_id.clone(),
        etag: v3.etag.clone(),
        name: "everything".into(),
        bk_biz_id: 3,
        selector: Some(pb::HostSelector {
            bk_host_ids: vec![1003],
            ..Default::default()
        }),
        bk_file_dir: "/data/logs".into(),
        spec: Some(pb::ScheduleSpec {
            cron: "@yearly".into(),
            ..Default::default()
        }),
        overlap_policy: pb::OverlapPolicy::BufferOne as i32,
        catch_up_window: duration(3600),
        ..Default::default()
    };
    let v4 = alice
        .update_schedule(update(all, mask(&["*"])))
        .await
        .unwrap()
        .into_inner()
        .schedule
        .unwrap();
    assert_eq!(v4.name, "everything");
    assert_eq!(v4.bk_file_suffix, "");
    assert_eq!(v4.retention, None);
    assert_eq!(v4.pause_after_failures, 0);
    assert_eq!(v4.spec.as_ref().unwrap().time_zone, "UTC");
    assert_eq!(v4.selector.as_ref().unwrap().bk_host_ids, vec![1003]);
    assert_eq!(v4.overlap_policy, pb::OverlapPolicy::BufferOne as i32);
    assert_eq!(v4.catch_up_window.unwrap().seconds, 3600);

    // Refused paths and etags, each naming the field; nothing changes.
    for (paths, etag, field, says) in [
        (vec!["nme"], "", "update_mask", "not a field"),
        (vec!["bk_biz_id"], "", "update_mask", "cannot be changed"),
        (vec!["state"], "", "update_mask", "output only"),
        (vec!["name"], "v4", "schedule.etag", "etag"),
        (
            vec!["spec.time_zone"],
            "",
            "schedule.spec.time_zone",
            "unknown zone",
        ),
    ] {
        let req = pb::Schedule {
            schedule_id: s.schedule_id.clone(),
            etag: etag.into(),
            name: "refused".into(),
            spec: Some(pb::ScheduleSpec {
                time_zone: "Mars/Olympus".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let err = alice
            .update_schedule(update(req, mask(&paths)))
            .await
            .unwrap_err();
        let (f, reason) = violation(&err);
        assert_eq!(f, field, "{paths:?}");
        assert!(reason.contains(says), "{paths:?}: {reason}");
    }
    assert_eq!(get(&mut alice, &s.schedule_id).await, v4);
    // The request is checked before the schedule is looked up.
    let unknown = pb::Schedule {
        schedule_id: Uuid::new_v4().to_string(),
        ..Default::default()
    };
    let err = alice
        .update_schedule(update(unknown.clone(), mask(&["operator"])))
        .await
        .unwrap_err();
    assert_eq!(violation(&err).0, "update_mask");
    let err = alice
        .update_schedule(update(unknown, mask(&["name"])))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn pause_takes_a_note_resume_fires_from_now_and_delete_keeps_runs_and_backups_readable(
    _p: Pool,
    db: PgConnectOptions,
) {
    let (stack, mut alice, pool) = up(&db).await;
    let mut backups = stack.client("alice").await;
    let s = create(&mut alice, nightly("nightly")).await;
    let id = s.schedule_id.clone();

    let paused = alice
        .pause_schedule(pb::PauseScheduleRequest {
            schedule_id: id.clone(),
            note: "disk replacement on gs1".into(),
            etag: s.etag.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .schedule
        .unwrap();
    assert_eq!(paused.state, pb::ScheduleState::Paused as i32);
    assert_eq!(paused.pause_note, "disk replacement on gs1");
    assert_eq!(paused.next_fire_time, None, "no next fire while paused");
    assert_eq!(paused.etag, "2");
    // A stale etag: ABORTED, still paused with its note.
    let err = alice
        .resume_schedule(pb::ResumeScheduleRequest {
            schedule_id: id.clone(),
            etag: s.etag.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    let err = alice
        .resume_schedule(pb::ResumeScheduleRequest {
            schedule_id: id.clone(),
            etag: "two".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(violation(&err).0, "etag");
    let err = alice
        .pause_schedule(pb::PauseScheduleRequest {
            schedule_id: id.clone(),
            note: "n".repeat(1025),
            etag: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(violation(&err).0, "note");
    assert_eq!(get(&mut alice, &id).await, paused);

    // The fire due while paused (its time passed) is not made up: the next fire is the first
    // after now.
    sqlx::query("update schedules set next_fire_at = $2, next_due_at = $2 where id = $1")
        .bind(Uuid::parse_str(&id).unwrap())
        .bind(Utc::now() - TimeDelta::days(3))
        .execute(&pool)
        .await
        .unwrap();
    let before = Utc::now();
    let resumed = alice
        .resume_schedule(pb::ResumeScheduleRequest {
            schedule_id: id.clone(),
            etag: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .schedule
        .unwrap();
    assert_eq!(resumed.state, pb::ScheduleState::Active as i32);
    assert_eq!(resumed.pause_note, "");
    assert_eq!(resumed.consecutive_failures, 0);
    assert_eq!(
        time_of(&resumed.next_fire_time),
        first_after(YEARLY, "Asia/Shanghai", before)
    );

    // A run with its backup, then delete.
    let run = record(&pool, &resumed, Utc::now(), fired()).await;
    let backup_id = run.backup_id.unwrap().to_string();
    let deleted = alice
        .delete_schedule(pb::DeleteScheduleRequest {
            schedule_id: id.clone(),
            etag: resumed.etag.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .schedule
        .unwrap();
    assert_eq!(deleted.state, pb::ScheduleState::Deleted as i32);
    assert!(deleted.delete_time.is_some());
    assert_eq!(deleted.next_fire_time, None);
    assert_eq!(get(&mut alice, &id).await, deleted, "readable once deleted");
    let runs = alice
        .list_schedule_runs(pb::ListScheduleRunsRequest {
            schedule_id: id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .runs;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].backup_id, backup_id);
    let backup = backups
        .get_backup(pb::GetBackupRequest {
            backup_id: backup_id.clone(),
            ..Default::default()
        })
        .await
        .expect("the backup stays readable")
        .into_inner()
        .backup
        .unwrap();
    assert_eq!(backup.schedule_id, id);
    watch_to_end(&mut backups, &backup_id).await;

    // Gone from the default listing; the name is free again; no change is accepted.
    let (names, _) = list(&mut alice, pb::ListSchedulesRequest::default()).await;
    assert!(names.is_empty(), "{names:?}");
    let deleted_only = pb::ListSchedulesRequest {
        states: vec![pb::ScheduleState::Deleted as i32],
        ..Default::default()
    };
    assert_eq!(list(&mut alice, deleted_only).await.0, ["nightly"]);
    let again = create(&mut alice, nightly("nightly")).await;
    assert_ne!(again.schedule_id, id);
    let err = alice
        .pause_schedule(pb::PauseScheduleRequest {
            schedule_id: id.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    let refused = [
        alice
            .resume_schedule(pb::ResumeScheduleRequest {
                schedule_id: id.clone(),
                ..Default::default()
            })
            .await
            .map(|_| ()),
        alice
            .delete_schedule(pb::DeleteScheduleRequest {
                schedule_id: id.clone(),
                ..Default::default()
            })
            .await
            .map(|_| ()),
        alice
            .update_schedule(pb::UpdateScheduleRequest {
                schedule: Some(pb::Schedule {
                    schedule_id: id.clone(),
                    name: "revived".into(),
                    ..Default::default()
                }),
                update_mask: mask(&["name"]),
            })
            .await
            .map(|_| ()),
    ];
    for r in refused {
        assert_eq!(r.unwrap_err().code(), Code::FailedPrecondition);
    }
    assert_eq!(get(&mut alice, &id).await, deleted, "nothing changed");
    let err = alice
        .delete_schedule(pb::DeleteScheduleRequest {
            schedule_id: Uuid::new_v4().to_string(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn the_schedule_service_wants_the_bearer_token_and_its_calls_are_counted(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start_with(&db, Door::Esb, |s| {
        s.metrics_addr = Some(([127, 0, 0, 1], 0).into());
    })
    .await;
    let err = ScheduleServiceClient::new(stack.backup.channel().await)
        .list_schedules(pb::ListSchedulesRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    let mut alice = schedule_client(&stack.backup, Some("alice")).await;
    create(&mut alice, nightly("nightly")).await;
    let sample = "grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"CreateSchedule\",\
                  grpc_service=\"backup.v1.ScheduleService\",grpc_type=\"unary\"}";
    assert_eq!(stack.backup.metric(sample).await, 1.0);
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn every_time_the_api_reads_or_writes_is_the_scheduler_clock(_p: Pool, db: PgConnectOptions) {
    // bk-sim and job-gateway of a stack, and instead of its backup-service (whose scheduler
    // would find this test's March fires long due) one whose scheduler clock the test sets.
    let Stack {
        sim, gw, backup, ..
    } = Stack::start(&db, Door::Esb).await;
    backup.stop().await;
    let t0 = at("2026-03-07T12:00:00Z");
    let (clock, manual) = Clock::manual(t0);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = Application::build(backup_settings(&db, gw.addr), listener)
        .await
        .unwrap()
        .with_clock(clock);
    let addr = app.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut alice = ScheduleServiceClient::with_interceptor(
        channel,
        Authed {
            username: Some("alice"),
        },
    );

    let ny = pb::ScheduleSpec {
        cron: "30 2 * * *".into(),
        time_zone: "America/New_York".into(),
        ..Default::default()
    };
    let s = create(
        &mut alice,
        pb::Schedule {
            spec: Some(ny.clone()),
            ..nightly("new york")
        },
    )
    .await;
    assert_eq!(time_of(&s.create_time), t0);
    assert_eq!(
        time_of(&s.next_fire_time),
        at("2026-03-08T07:00:00Z"),
        "spring forward: 03:00 EDT"
    );
    let preview = alice
        .preview_schedule(pb::PreviewScheduleRequest {
            spec: Some(ny),
            count: 1,
            after: None,
        })
        .await
        .unwrap()
        .into_inner()
        .fires;
    assert_eq!(time_of(&preview[0].fire_time), at("2026-03-08T07:00:00Z"));

    let paused = alice
        .pause_schedule(pb::PauseScheduleRequest {
            schedule_id: s.schedule_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .schedule
        .unwrap();
    assert_eq!(time_of(&paused.update_time), t0);
    let t1 = manual.advance(TimeDelta::days(3));
    let resumed = alice
        .resume_schedule(pb::ResumeScheduleRequest {
            schedule_id: s.schedule_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .schedule
        .unwrap();
    assert_eq!(time_of(&resumed.update_time), t1);
    assert_eq!(
        time_of(&resumed.next_fire_time),
        at("2026-03-11T06:30:00Z"),
        "the first fire after the clock's now"
    );
    let updated = alice
        .update_schedule(pb::UpdateScheduleRequest {
            schedule: Some(pb::Schedule {
                schedule_id: s.schedule_id.clone(),
                spec: Some(pb::ScheduleSpec {
                    cron: "0 12 * * *".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            update_mask: mask(&["spec.cron"]),
        })
        .await
        .unwrap()
        .into_inner()
        .schedule
        .unwrap();
    assert_eq!(
        time_of(&updated.next_fire_time),
        at("2026-03-10T16:00:00Z"),
        "12:00 EDT, later the same day"
    );
    let t2 = manual.advance(TimeDelta::hours(1));
    let deleted = alice
        .delete_schedule(pb::DeleteScheduleRequest {
            schedule_id: s.schedule_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .schedule
        .unwrap();
    assert_eq!(time_of(&deleted.delete_time), t2);
    drop(alice);
    let _ = stop.send(());
    task.await.unwrap().unwrap();
    gw.stop().await;
    sim.stop();
}
