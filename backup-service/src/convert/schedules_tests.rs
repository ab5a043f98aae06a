//! The validation of ScheduleService's inbound values: etags, durations, spec field paths.

use super::*;

fn field_of(e: BackupError) -> String {
    match e {
        BackupError::InvalidArgument { field, .. } => field,
        other => panic!("not INVALID_ARGUMENT: {other:?}"),
    }
}

#[test]
fn an_etag_is_empty_or_the_decimal_version_as_read() {
    assert_eq!(etag("etag", "").unwrap(), None);
    assert_eq!(etag("etag", "12").unwrap(), Some(12));
    for bad in ["0", "-1", "012", "+3", "v4", "1.0", " 1"] {
        assert_eq!(
            field_of(etag("schedule.etag", bad).unwrap_err()),
            "schedule.etag",
            "{bad}"
        );
    }
}

#[test]
fn a_duration_whose_seconds_and_nanos_disagree_in_sign_is_refused() {
    let d = |seconds, nanos| prost_types::Duration { seconds, nanos };
    assert_eq!(
        duration("x", d(1, 500)).unwrap(),
        TimeDelta::new(1, 500).unwrap()
    );
    assert_eq!(
        duration("x", d(-1, -500)).unwrap(),
        -TimeDelta::new(1, 500).unwrap()
    );
    for bad in [d(1, -1), d(-1, 1), d(0, 1_000_000_000)] {
        assert_eq!(
            field_of(duration("spec.jitter", bad).unwrap_err()),
            "spec.jitter"
        );
    }
    assert_eq!(ceil_secs(TimeDelta::milliseconds(1_001)), 2);
    assert_eq!(ceil_secs(TimeDelta::seconds(7)), 7);
}

#[test]
fn a_spec_error_names_the_field_under_its_prefix_and_an_empty_zone_is_utc() {
    let spec = |cron: &str, zone: &str| pb::ScheduleSpec {
        cron: cron.into(),
        time_zone: zone.into(),
        ..Default::default()
    };
    let ok = spec_of(spec("@daily", ""), "spec").unwrap();
    assert_eq!(ok.input().time_zone, "UTC");
    let err = spec_of(spec("@daily", "Nowhere/City"), "schedule.spec").unwrap_err();
    assert_eq!(field_of(err), "schedule.spec.time_zone");
    let err = spec_of(spec("* * * *", ""), "spec").unwrap_err();
    assert_eq!(field_of(err), "spec.cron");
}

fn schedule() -> pb::Schedule {
    pb::Schedule {
        name: "nightly".into(),
        bk_biz_id: 3,
        selector: Some(pb::HostSelector {
            bk_module_ids: vec![3003, 3001, 3001],
            ..Default::default()
        }),
        bk_file_dir: "/data/logs".into(),
        bk_file_suffix: ".log".into(),
        spec: Some(pb::ScheduleSpec {
            cron: "0 4 * * *".into(),
            time_zone: "Asia/Shanghai".into(),
            jitter: Some(prost_types::Duration {
                seconds: 1,
                nanos: 500_000_000,
            }),
            ..Default::default()
        }),
        retention: Some(pb::Retention {
            keep_last: 0,
            keep_within: Some(prost_types::Duration {
                seconds: 86_399,
                nanos: 1,
            }),
        }),
        // Output only: ignored.
        state: pb::ScheduleState::Deleted as i32,
        operator: "mallory".into(),
        ..Default::default()
    }
}

#[test]
fn a_schedule_becomes_the_columns_the_store_keeps_with_defaults_filled_in() {
    let v = ValidSchedule::new(schedule(), 1_000, 3_600).unwrap();
    let f = &v.fields;
    assert_eq!(v.bk_biz_id, 3);
    assert_eq!(
        v.selector.bk_module_ids,
        vec![3001, 3003],
        "sorted, each once"
    );
    assert_eq!(f.selector, serde_json::to_value(&v.selector).unwrap());
    assert_eq!(f.bk_file_suffix, "log", "stored without its dot");
    assert_eq!(
        (f.cron.as_str(), f.time_zone.as_str()),
        ("0 4 * * *", "Asia/Shanghai")
    );
    assert_eq!(f.jitter_ms, 1_500);
    assert_eq!(f.overlap_policy, OverlapPolicy::Skip, "unspecified is SKIP");
    assert_eq!(f.catch_up_window_secs, 0);
    assert_eq!(f.pause_after_failures, None, "0: never");
    assert_eq!(f.run_timeout_secs, 3_600, "unset: the server default");
    assert_eq!(
        (f.keep_last, f.keep_within_secs),
        (None, Some(86_400)),
        "a fraction counts"
    );
}

#[test]
fn each_bad_field_is_named_by_its_path_in_the_request() {
    type Edit = fn(&mut pb::Schedule);
    let cases: [(Edit, &str); 6] = [
        (|s| s.bk_file_suffix = ".".into(), "schedule.bk_file_suffix"),
        (
            |s| s.selector.as_mut().unwrap().cloud_ips = vec!["10.0.1.11".into()],
            "schedule.selector.cloud_ips[0]",
        ),
        (
            |s| {
                s.spec.as_mut().unwrap().start_time = Some(prost_types::Timestamp {
                    seconds: 0,
                    nanos: -1,
                })
            },
            "schedule.spec.start_time",
        ),
        (
            |s| {
                s.retention = Some(pb::Retention {
                    keep_last: 1_000_000_000,
                    keep_within: None,
                })
            },
            "schedule.retention.keep_last",
        ),
        (
            |s| {
                s.catch_up_window = Some(prost_types::Duration {
                    seconds: -1,
                    nanos: 0,
                })
            },
            "schedule.catch_up_window",
        ),
        (
            |s| {
                s.run_timeout = Some(prost_types::Duration {
                    seconds: -5,
                    nanos: 0,
                })
            },
            "schedule.run_timeout",
        ),
    ];
    for (edit, field) in cases {
        let mut s = schedule();
        edit(&mut s);
        assert_eq!(
            field_of(ValidSchedule::new(s, 1_000, 3_600).unwrap_err()),
            field
        );
    }
}
