//! The proto is the contract, for what ScheduleService refuses and what it previews: bad input
//! names the field (with a BadRequest violation) and stores nothing; PreviewSchedule fires
//! once across DST in New York and Berlin, each local time with its zone's offset.

use chrono::{TimeDelta, Utc};
use e2e::contract::{duration, violation};
use e2e::schedules::{Schedules, YEARLY, at, create, first_after, list, nightly, time_of, ts, up};
use proto::backup::v1 as pb;
use sqlx::postgres::PgConnectOptions;
use tonic::Code;

type Pool = sqlx::pool::PoolOptions<sqlx::Postgres>;

/// The fires of `cron` in `zone` after `after`: (UTC instant, local time) pairs.
async fn preview(
    c: &mut Schedules,
    cron: &str,
    zone: &str,
    after: &str,
    count: i32,
) -> Vec<(String, String)> {
    let fires = c
        .preview_schedule(pb::PreviewScheduleRequest {
            spec: Some(pb::ScheduleSpec {
                cron: cron.into(),
                time_zone: zone.into(),
                ..Default::default()
            }),
            count,
            after: ts(at(after)),
        })
        .await
        .unwrap()
        .into_inner()
        .fires;
    fires
        .iter()
        .map(|f| (time_of(&f.fire_time).to_rfc3339(), f.local_time.clone()))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(u, l)| (at(u).to_rfc3339(), (*l).to_owned()))
        .collect()
}

#[sqlx::test(migrations = false)]
async fn a_preview_fires_once_across_dst_in_new_york_and_berlin_with_each_local_offset(
    _p: Pool,
    db: PgConnectOptions,
) {
    let (stack, mut alice, _pool) = up(&db).await;
    let ny = "America/New_York";
    // Spring forward (8 March 2026): 02:30 does not exist and fires at 03:00 EDT.
    assert_eq!(
        preview(&mut alice, "30 2 * * *", ny, "2026-03-07T12:00:00Z", 3).await,
        pairs(&[
            ("2026-03-08T07:00:00Z", "2026-03-08T03:00:00-04:00"),
            ("2026-03-09T06:30:00Z", "2026-03-09T02:30:00-04:00"),
            ("2026-03-10T06:30:00Z", "2026-03-10T02:30:00-04:00"),
        ])
    );
    // Fall back (1 November 2026): 01:30 happens twice and fires once, the first time.
    assert_eq!(
        preview(&mut alice, "30 1 * * *", ny, "2026-10-31T12:00:00Z", 2).await,
        pairs(&[
            ("2026-11-01T05:30:00Z", "2026-11-01T01:30:00-04:00"),
            ("2026-11-02T06:30:00Z", "2026-11-02T01:30:00-05:00"),
        ])
    );
    let berlin = "Europe/Berlin";
    // Spring forward (29 March 2026) and fall back (25 October 2026).
    assert_eq!(
        preview(&mut alice, "30 2 * * *", berlin, "2026-03-28T12:00:00Z", 2).await,
        pairs(&[
            ("2026-03-29T01:00:00Z", "2026-03-29T03:00:00+02:00"),
            ("2026-03-30T00:30:00Z", "2026-03-30T02:30:00+02:00"),
        ])
    );
    assert_eq!(
        preview(&mut alice, "30 2 * * *", berlin, "2026-10-24T12:00:00Z", 2).await,
        pairs(&[
            ("2026-10-25T00:30:00Z", "2026-10-25T02:30:00+02:00"),
            ("2026-10-26T01:30:00Z", "2026-10-26T02:30:00+01:00"),
        ])
    );
    // No DST: the proto's own example; an empty zone is UTC; 0 asks for 5.
    assert_eq!(
        preview(
            &mut alice,
            "0 4 * * *",
            "Asia/Shanghai",
            "2026-12-04T12:00:00Z",
            1
        )
        .await,
        pairs(&[("2026-12-04T20:00:00Z", "2026-12-05T04:00:00+08:00")])
    );
    let utc = preview(&mut alice, "@hourly", "", "2026-12-05T04:10:00Z", 0).await;
    assert_eq!(utc.len(), 5);
    assert_eq!(utc[0].1, "2026-12-05T05:00:00+00:00");

    // Without `after`: from now. Nothing is stored either way.
    let before = Utc::now();
    let now = alice
        .preview_schedule(pb::PreviewScheduleRequest {
            spec: Some(pb::ScheduleSpec {
                cron: YEARLY.into(),
                time_zone: "Asia/Shanghai".into(),
                ..Default::default()
            }),
            count: 1,
            after: None,
        })
        .await
        .unwrap()
        .into_inner()
        .fires;
    assert_eq!(
        time_of(&now[0].fire_time),
        first_after(YEARLY, "Asia/Shanghai", before)
    );
    for (cron, zone, count, field) in [
        ("* * * *", "UTC", 1, "spec.cron"),
        ("0 4 * * *", "Asia/Shangai", 1, "spec.time_zone"),
        ("0 4 * * *", "UTC", 101, "count"),
        ("0 4 * * *", "UTC", -1, "count"),
    ] {
        let err = alice
            .preview_schedule(pb::PreviewScheduleRequest {
                spec: Some(pb::ScheduleSpec {
                    cron: cron.into(),
                    time_zone: zone.into(),
                    ..Default::default()
                }),
                count,
                after: None,
            })
            .await
            .unwrap_err();
        assert_eq!(violation(&err).0, field);
    }
    let (names, _) = list(&mut alice, pb::ListSchedulesRequest::default()).await;
    assert!(names.is_empty());
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn bad_input_is_refused_naming_the_field_and_stores_nothing(_p: Pool, db: PgConnectOptions) {
    let (stack, mut alice, pool) = up(&db).await;
    let spec = |cron: &str, zone: &str| pb::ScheduleSpec {
        cron: cron.into(),
        time_zone: zone.into(),
        ..Default::default()
    };
    let base = nightly("nightly");
    let now = Utc::now();
    let cases: Vec<(&str, pb::Schedule, &str)> = vec![
        (
            "bad cron",
            pb::Schedule {
                spec: Some(spec("61 * * * *", "UTC")),
                ..base.clone()
            },
            "schedule.spec.cron",
        ),
        (
            "4 fields",
            pb::Schedule {
                spec: Some(spec("0 4 * *", "UTC")),
                ..base.clone()
            },
            "schedule.spec.cron",
        ),
        (
            "never fires",
            pb::Schedule {
                spec: Some(spec("0 0 30 2 *", "UTC")),
                ..base.clone()
            },
            "schedule.spec.cron",
        ),
        (
            "unknown zone",
            pb::Schedule {
                spec: Some(spec("0 4 * * *", "Asia/Shangai")),
                ..base.clone()
            },
            "schedule.spec.time_zone",
        ),
        (
            "end before start",
            pb::Schedule {
                spec: Some(pb::ScheduleSpec {
                    start_time: ts(now + TimeDelta::days(2)),
                    end_time: ts(now + TimeDelta::days(1)),
                    ..spec("0 4 * * *", "UTC")
                }),
                ..base.clone()
            },
            "schedule.spec.end_time",
        ),
        (
            "ended already",
            pb::Schedule {
                spec: Some(pb::ScheduleSpec {
                    end_time: ts(now - TimeDelta::days(1)),
                    ..spec("0 4 * * *", "UTC")
                }),
                ..base.clone()
            },
            "schedule.spec.end_time",
        ),
        (
            "jitter over a day",
            pb::Schedule {
                spec: Some(pb::ScheduleSpec {
                    jitter: duration(86_401),
                    ..spec("0 4 * * *", "UTC")
                }),
                ..base.clone()
            },
            "schedule.spec.jitter",
        ),
        (
            "no spec",
            pb::Schedule {
                spec: None,
                ..base.clone()
            },
            "schedule.spec",
        ),
        (
            "negative keep_last",
            pb::Schedule {
                retention: Some(pb::Retention {
                    keep_last: -1,
                    keep_within: None,
                }),
                ..base.clone()
            },
            "schedule.retention.keep_last",
        ),
        (
            "negative keep_within",
            pb::Schedule {
                retention: Some(pb::Retention {
                    keep_last: 0,
                    keep_within: duration(-60),
                }),
                ..base.clone()
            },
            "schedule.retention.keep_within",
        ),
        (
            "zero retention",
            pb::Schedule {
                retention: Some(pb::Retention::default()),
                ..base.clone()
            },
            "schedule.retention",
        ),
        (
            "empty selector",
            pb::Schedule {
                selector: Some(pb::HostSelector::default()),
                ..base.clone()
            },
            "schedule.selector",
        ),
        (
            "no selector",
            pb::Schedule {
                selector: None,
                ..base.clone()
            },
            "schedule.selector",
        ),
        (
            "a module of another business",
            pb::Schedule {
                selector: Some(pb::HostSelector {
                    bk_module_ids: vec![5001],
                    ..Default::default()
                }),
                ..base.clone()
            },
            "schedule.selector.bk_module_ids",
        ),
        (
            "a host of another business",
            pb::Schedule {
                selector: Some(pb::HostSelector {
                    bk_host_ids: vec![2001],
                    ..Default::default()
                }),
                ..base.clone()
            },
            "schedule.selector.bk_host_ids",
        ),
        (
            "no name",
            pb::Schedule {
                name: String::new(),
                ..base.clone()
            },
            "schedule.name",
        ),
        (
            "a long name",
            pb::Schedule {
                name: "n".repeat(129),
                ..base.clone()
            },
            "schedule.name",
        ),
        (
            "a control character",
            pb::Schedule {
                name: "night\tly".into(),
                ..base.clone()
            },
            "schedule.name",
        ),
        (
            "no business",
            pb::Schedule {
                bk_biz_id: 0,
                ..base.clone()
            },
            "schedule.bk_biz_id",
        ),
        (
            "a relative directory",
            pb::Schedule {
                bk_file_dir: "data/logs".into(),
                ..base.clone()
            },
            "schedule.bk_file_dir",
        ),
        (
            "a catch-up window over 7 days",
            pb::Schedule {
                catch_up_window: duration(7 * 86_400 + 1),
                ..base.clone()
            },
            "schedule.catch_up_window",
        ),
        (
            "negative pause_after_failures",
            pb::Schedule {
                pause_after_failures: -1,
                ..base.clone()
            },
            "schedule.pause_after_failures",
        ),
        (
            "a zero run timeout",
            pb::Schedule {
                run_timeout: duration(0),
                ..base.clone()
            },
            "schedule.run_timeout",
        ),
        (
            "an unknown overlap policy",
            pb::Schedule {
                overlap_policy: 99,
                ..base.clone()
            },
            "schedule.overlap_policy",
        ),
    ];
    for (what, schedule, field) in cases {
        let err = alice
            .create_schedule(pb::CreateScheduleRequest {
                schedule: Some(schedule),
            })
            .await
            .unwrap_err();
        let (f, reason) = violation(&err);
        assert_eq!(f, field, "{what}: {reason}");
    }
    let err = alice
        .create_schedule(pb::CreateScheduleRequest { schedule: None })
        .await
        .unwrap_err();
    assert_eq!(violation(&err).0, "schedule");
    let stored: i64 = sqlx::query_scalar("select count(*) from schedules")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, 0, "nothing stored");

    // A name the business already uses is ALREADY_EXISTS; another business may use it.
    create(&mut alice, base.clone()).await;
    let err = alice
        .create_schedule(pb::CreateScheduleRequest {
            schedule: Some(base.clone()),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists, "{err:?}");
    assert!(err.message().contains("`name`"), "{}", err.message());
    let stored: i64 = sqlx::query_scalar("select count(*) from schedules")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, 1);
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn a_selector_that_selects_no_host_now_is_accepted_for_hosts_that_join_before_it_fires(
    _p: Pool,
    db: PgConnectOptions,
) {
    let (stack, mut alice, _pool) = up(&db).await;
    // Module 3004 (dbproxy) loses its only host, 1006.
    reqwest::Client::new()
        .put(format!("{}/_sim/hosts/1006/modules", stack.sim.base_url()))
        .json(&serde_json::json!({ "bk_module_ids": [3003] }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .expect("host moved");
    let empty = pb::Schedule {
        selector: Some(pb::HostSelector {
            bk_module_ids: vec![3004],
            ..Default::default()
        }),
        ..nightly("dbproxy")
    };
    let s = create(&mut alice, empty).await;
    assert_eq!(s.selector.unwrap().bk_module_ids, vec![3004]);
    // A module id the business does not have is refused all the same.
    let typo = pb::Schedule {
        selector: Some(pb::HostSelector {
            bk_module_ids: vec![30004],
            ..Default::default()
        }),
        ..nightly("typo")
    };
    let err = alice
        .create_schedule(pb::CreateScheduleRequest {
            schedule: Some(typo),
        })
        .await
        .unwrap_err();
    assert_eq!(violation(&err).0, "schedule.selector.bk_module_ids");
    // Bob may not see business 3: BlueKing's verdict, passed on.
    let mut bob = e2e::schedule_client(&stack.backup, Some("bob")).await;
    let err = bob
        .create_schedule(pb::CreateScheduleRequest {
            schedule: Some(nightly("bob's")),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    stack.stop().await;
}
