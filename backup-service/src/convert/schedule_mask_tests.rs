//! The FieldMask merge of UpdateSchedule, as pure logic over messages.

use prost_types::{Duration, FieldMask};
use proto::backup::v1 as pb;

use super::merge;
use crate::error::BackupError;

fn stored() -> pb::Schedule {
    pb::Schedule {
        schedule_id: "a9d4f6a2-0000-4000-8000-000000000001".into(),
        name: "nightly".into(),
        bk_biz_id: 3,
        selector: Some(pb::HostSelector {
            bk_module_ids: vec![3001],
            ..Default::default()
        }),
        bk_file_dir: "/data/logs".into(),
        bk_file_suffix: "log".into(),
        spec: Some(pb::ScheduleSpec {
            cron: "0 4 * * *".into(),
            time_zone: "Asia/Shanghai".into(),
            jitter: Some(Duration {
                seconds: 30,
                nanos: 0,
            }),
            ..Default::default()
        }),
        pause_after_failures: 3,
        retention: Some(pb::Retention {
            keep_last: 14,
            keep_within: Some(Duration {
                seconds: 86_400,
                nanos: 0,
            }),
        }),
        etag: "4".into(),
        ..Default::default()
    }
}

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    })
}

fn refused(r: Result<pb::Schedule, BackupError>) -> (String, String) {
    match r {
        Err(BackupError::InvalidArgument { field, reason }) => (field, reason),
        other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
    }
}

#[test]
fn a_sub_path_changes_that_field_alone_and_keeps_its_siblings() {
    let given = pb::Schedule {
        spec: Some(pb::ScheduleSpec {
            cron: "0 5 * * *".into(),
            time_zone: "Europe/Berlin".into(),
            ..Default::default()
        }),
        retention: Some(pb::Retention {
            keep_last: 7,
            keep_within: None,
        }),
        name: "ignored".into(),
        ..Default::default()
    };
    let merged = merge(stored(), given, mask(&["spec.cron", "retention.keep_last"])).unwrap();
    let spec = merged.spec.as_ref().unwrap();
    assert_eq!(spec.cron, "0 5 * * *");
    assert_eq!(spec.time_zone, "Asia/Shanghai", "not named, kept");
    assert_eq!(spec.jitter.unwrap().seconds, 30);
    let r = merged.retention.unwrap();
    assert_eq!(r.keep_last, 7);
    assert_eq!(r.keep_within.unwrap().seconds, 86_400, "not named, kept");
    assert_eq!(merged.name, "nightly", "not named, kept");
}

#[test]
fn a_named_field_left_unset_is_cleared_to_its_default() {
    let merged = merge(
        stored(),
        pb::Schedule::default(),
        mask(&["retention", "spec.jitter", "pause_after_failures"]),
    )
    .unwrap();
    assert_eq!(merged.retention, None);
    assert_eq!(merged.spec.as_ref().unwrap().jitter, None);
    assert_eq!(merged.spec.unwrap().cron, "0 4 * * *");
    assert_eq!(merged.pause_after_failures, 0);
}

#[test]
fn a_star_takes_every_field_a_caller_sets_and_no_output_only_one() {
    let given = pb::Schedule {
        name: "hourly".into(),
        bk_file_dir: "/var/log".into(),
        spec: Some(pb::ScheduleSpec {
            cron: "@hourly".into(),
            ..Default::default()
        }),
        // Output only: ignored.
        operator: "mallory".into(),
        state: pb::ScheduleState::Deleted as i32,
        ..Default::default()
    };
    let merged = merge(stored(), given, mask(&["*"])).unwrap();
    assert_eq!(merged.name, "hourly");
    assert_eq!(merged.bk_file_dir, "/var/log");
    assert_eq!(merged.bk_file_suffix, "", "unset in the request: cleared");
    assert_eq!(merged.selector, None, "unset in the request: cleared");
    assert_eq!(merged.retention, None);
    assert_eq!(merged.spec.unwrap().time_zone, "");
    assert_eq!(merged.operator, "");
    assert_eq!(merged.state, 0);
    assert_eq!(merged.etag, "4", "identity kept");
    assert_eq!(merged.bk_biz_id, 3);
}

#[test]
fn an_empty_mask_takes_every_field_set_in_the_request_field_by_field() {
    let given = pb::Schedule {
        schedule_id: "a9d4f6a2-0000-4000-8000-000000000001".into(),
        bk_biz_id: 3,
        etag: "4".into(),
        spec: Some(pb::ScheduleSpec {
            time_zone: "UTC".into(),
            ..Default::default()
        }),
        retention: Some(pb::Retention {
            keep_last: 30,
            keep_within: None,
        }),
        overlap_policy: pb::OverlapPolicy::AllowAll as i32,
        ..Default::default()
    };
    let merged = merge(stored(), given, None).unwrap();
    let spec = merged.spec.as_ref().unwrap();
    assert_eq!(
        (spec.cron.as_str(), spec.time_zone.as_str()),
        ("0 4 * * *", "UTC")
    );
    assert_eq!(merged.overlap_policy, pb::OverlapPolicy::AllowAll as i32);
    let r = merged.retention.unwrap();
    assert_eq!((r.keep_last, r.keep_within.unwrap().seconds), (30, 86_400));
    assert_eq!(merged.name, "nightly");
    assert_eq!(merged.pause_after_failures, 3);
    // An empty FieldMask message is the same as none.
    let same = merge(stored(), pb::Schedule::default(), mask(&[])).unwrap();
    assert_eq!(same, stored());
}

#[test]
fn an_empty_mask_refuses_another_business() {
    let given = pb::Schedule {
        bk_biz_id: 5,
        ..Default::default()
    };
    let (field, reason) = refused(merge(stored(), given, None));
    assert_eq!(field, "schedule.bk_biz_id");
    assert_eq!(reason, "cannot be changed");
}

#[test]
fn unknown_output_only_and_business_paths_are_refused_naming_the_mask() {
    for (path, says) in [
        ("bk_biz_id", "cannot be changed"),
        ("state", "output only"),
        ("etag", "output only"),
        ("next_fire_time", "output only"),
        ("spec.zone", "not a field"),
        ("retention.keep", "not a field"),
        ("names", "not a field"),
        ("", "not a field"),
    ] {
        let (field, reason) = refused(merge(
            stored(),
            pb::Schedule::default(),
            mask(&["name", path]),
        ));
        assert_eq!(field, "update_mask", "{path}");
        assert!(reason.contains(says), "{path}: {reason}");
    }
}
