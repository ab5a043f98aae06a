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
