//! The spec's arithmetic on fixed instants: the plain case, DST in two zones (2026: New York
//! springs forward on 8 March and falls back on 1 November; Berlin on 29 March and 25 October),
//! macros, seconds, start and end, jitter, and every refusal naming its field.

use chrono::{DateTime, TimeDelta, Utc};
use croner::Cron;
use uuid::Uuid;

use super::*;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn input(cron: &str, zone: &str) -> SpecInput {
    SpecInput {
        cron: cron.to_owned(),
        time_zone: zone.to_owned(),
        start_time: None,
        end_time: None,
        jitter: TimeDelta::zero(),
    }
}

fn spec(cron: &str, zone: &str) -> Spec {
    Spec::new(input(cron, zone)).unwrap()
}

fn refusal(i: SpecInput) -> (String, String) {
    let e = Spec::new(i).unwrap_err();
    (e.field.to_owned(), e.reason)
}

fn times(list: &[&str]) -> Vec<DateTime<Utc>> {
    list.iter().map(|t| at(t)).collect()
}

#[test]
fn a_daily_spec_in_shanghai_fires_at_four_local_which_is_twenty_utc_the_day_before() {
    let s = spec("0 4 * * *", "Asia/Shanghai");
    assert_eq!(
        s.preview(at("2026-12-04T19:00:00Z"), 3),
        times(&[
            "2026-12-04T20:00:00Z",
            "2026-12-05T20:00:00Z",
            "2026-12-06T20:00:00Z"
        ])
    );
    // Strictly after: a fire instant itself is not its own next fire.
    assert_eq!(
        s.next_after(at("2026-12-04T20:00:00Z")),
        Some(at("2026-12-05T20:00:00Z"))
    );
}

#[test]
fn a_time_skipped_by_spring_forward_in_new_york_fires_once_when_the_gap_ends() {
    let s = spec("30 2 * * *", "America/New_York");
    assert_eq!(
        s.preview(at("2026-03-07T12:00:00Z"), 3),
        times(&[
            "2026-03-08T07:00:00Z", // 02:30 does not exist: 03:00 EDT
            "2026-03-09T06:30:00Z", // 02:30 EDT
            "2026-03-10T06:30:00Z",
        ])
    );
}

#[test]
fn an_interval_spec_fires_once_for_all_its_times_inside_the_new_york_gap() {
    // 02:00 and 02:30 do not exist; with 03:00 they all fall on 03:00 EDT, fired once.
    let s = spec("*/30 * * * *", "America/New_York");
    assert_eq!(
        s.preview(at("2026-03-08T06:00:00Z"), 3),
        times(&[
            "2026-03-08T06:30:00Z",
            "2026-03-08T07:00:00Z",
            "2026-03-08T07:30:00Z"
        ])
    );
}

#[test]
fn a_time_repeated_by_fall_back_in_new_york_fires_once_at_its_first_occurrence() {
    let s = spec("30 1 * * *", "America/New_York");
    assert_eq!(
        s.preview(at("2026-10-31T12:00:00Z"), 2),
        times(&["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"])
    );
}

#[test]
fn an_hourly_spec_fires_the_repeated_hour_once_and_not_again_in_its_second_pass() {
    let s = spec("0 * * * *", "America/New_York");
    // 00:00 EDT, 01:00 EDT, (01:00 EST skipped), 02:00 EST.
    assert_eq!(
        s.preview(at("2026-11-01T03:59:59Z"), 3),
        times(&[
            "2026-11-01T04:00:00Z",
            "2026-11-01T05:00:00Z",
            "2026-11-01T07:00:00Z"
        ])
    );
    // From inside the second pass (01:10 EST) the next fire is 02:00 EST.
    assert_eq!(
        s.next_after(at("2026-11-01T06:10:00Z")),
        Some(at("2026-11-01T07:00:00Z"))
    );
}

#[test]
fn croner_alone_would_fire_the_repeated_hour_twice_which_is_why_the_zone_is_applied_here() {
    let cron = Cron::from_str("0 * * * *").unwrap();
    let first = at("2026-11-01T05:00:00Z").with_timezone(&chrono_tz::America::New_York);
    let next = cron.find_next_occurrence(&first, false).unwrap();
    assert_eq!(next.to_utc(), at("2026-11-01T06:00:00Z"));
}

#[test]
fn berlin_spring_forward_moves_a_skipped_time_to_the_end_of_the_gap() {
    let s = spec("30 2 * * *", "Europe/Berlin");
    assert_eq!(
        s.preview(at("2026-03-28T12:00:00Z"), 2),
        times(&["2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"])
    );
}

#[test]
fn berlin_fall_back_fires_a_repeated_time_once() {
    let s = spec("30 2 * * *", "Europe/Berlin");
    assert_eq!(
        s.preview(at("2026-10-24T12:00:00Z"), 2),
        times(&["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"])
    );
    let every_ten_minutes = spec("*/10 2 * * *", "Europe/Berlin");
    let night: Vec<_> = every_ten_minutes
        .fires_between(at("2026-10-24T23:00:00Z"), at("2026-10-25T03:00:00Z"))
        .collect();
    // 02:00..02:50 once each, during the first (CEST) pass.
    assert_eq!(night.len(), 6);
    assert_eq!(night[0], at("2026-10-25T00:00:00Z"));
    assert_eq!(night[5], at("2026-10-25T00:50:00Z"));
}

#[test]
fn every_macro_fires_where_its_five_field_spelling_does() {
    let after = at("2026-12-05T01:30:00Z"); // Saturday 09:30 in Shanghai
    let cases = [
        ("@hourly", "2026-12-05T02:00:00Z"),
        ("@daily", "2026-12-05T16:00:00Z"),
        ("@midnight", "2026-12-05T16:00:00Z"),
        ("@weekly", "2026-12-05T16:00:00Z"), // Sunday 00:00
        ("@monthly", "2026-12-31T16:00:00Z"),
        ("@yearly", "2026-12-31T16:00:00Z"),
        ("@annually", "2026-12-31T16:00:00Z"),
    ];
    for (cron, next) in cases {
        assert_eq!(
            spec(cron, "Asia/Shanghai").next_after(after),
            Some(at(next)),
            "{cron}"
        );
    }
}

#[test]
fn a_sixth_leading_field_counts_seconds() {
    let s = spec("*/10 * * * * *", "Asia/Shanghai");
    assert_eq!(
        s.preview(at("2026-12-05T00:00:00Z"), 3),
        times(&[
            "2026-12-05T00:00:10Z",
            "2026-12-05T00:00:20Z",
            "2026-12-05T00:00:30Z"
        ])
    );
    assert_eq!(
        spec("15 0 4 * * *", "Asia/Shanghai").next_after(at("2026-12-05T00:00:00Z")),
        Some(at("2026-12-05T20:00:15Z"))
    );
}

#[test]
fn bad_specs_are_refused_naming_the_field_and_the_reason() {
    let (field, reason) = refusal(input("* * * *", "UTC"));
    assert_eq!(field, "cron");
    assert_eq!(
        reason,
        "has 4 fields; expected 5, or 6 with leading seconds"
    );
    assert_eq!(refusal(input("0 0 0 1 1 * 2027", "UTC")).0, "cron");
    assert_eq!(refusal(input("61 * * * *", "UTC")).0, "cron");
    assert_eq!(refusal(input("@reboot", "UTC")).0, "cron");
    assert_eq!(
        refusal(input("  ", "UTC")),
        ("cron".to_owned(), "must not be empty".to_owned())
    );
    assert_eq!(
        refusal(input("0 0 30 2 *", "UTC")),
        ("cron".to_owned(), "`0 0 30 2 *` never fires".to_owned())
    );
    let e = Spec::new(input("0 4 * * *", "Asia/Shangai")).unwrap_err();
    assert_eq!(e.to_string(), r#"time_zone: unknown zone "Asia/Shangai""#);
    let status = tonic::Status::from(crate::error::BackupError::from(e));
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(refusal(input("0 4 * * *", "")).0, "time_zone");
}

#[test]
fn an_end_before_the_start_and_a_negative_or_huge_jitter_are_refused() {
    let mut i = input("@daily", "UTC");
    i.start_time = Some(at("2026-12-10T00:00:00Z"));
    i.end_time = Some(at("2026-12-09T00:00:00Z"));
    assert_eq!(
        refusal(i.clone()),
        ("end_time".to_owned(), "is before start_time".to_owned())
    );
    i.end_time = i.start_time;
    assert!(Spec::new(i).is_ok(), "an end equal to the start is allowed");
    let mut i = input("@daily", "UTC");
    i.jitter = TimeDelta::seconds(-1);
    assert_eq!(
        refusal(i.clone()),
        ("jitter".to_owned(), "must not be negative".to_owned())
    );
    i.jitter = TimeDelta::days(1) + TimeDelta::seconds(1);
    assert_eq!(refusal(i).0, "jitter");
}

#[test]
fn fires_stay_within_the_start_and_end_times_both_included() {
    let mut i = input("0 4 * * *", "Asia/Shanghai");
    i.start_time = Some(at("2026-12-10T20:00:00Z"));
    i.end_time = Some(at("2026-12-12T20:00:00Z"));
    let s = Spec::new(i).unwrap();
    assert_eq!(
        s.fires_after(at("2026-12-01T00:00:00Z"))
            .collect::<Vec<_>>(),
        times(&[
            "2026-12-10T20:00:00Z",
            "2026-12-11T20:00:00Z",
            "2026-12-12T20:00:00Z"
        ])
    );
    assert_eq!(s.next_after(at("2026-12-12T20:00:00Z")), None);
}

#[test]
fn the_fires_between_two_instants_exclude_the_first_and_include_the_second() {
    let s = spec("@hourly", "UTC");
    assert_eq!(
        s.fires_between(at("2026-12-05T00:00:00Z"), at("2026-12-05T03:00:00Z"))
            .collect::<Vec<_>>(),
        times(&[
            "2026-12-05T01:00:00Z",
            "2026-12-05T02:00:00Z",
            "2026-12-05T03:00:00Z"
        ])
    );
}

#[test]
fn jitter_is_the_same_on_every_replica_within_its_bound_and_spreads_fires() {
    let mut i = input("*/10 * * * * *", "UTC");
    i.jitter = TimeDelta::seconds(90);
    let (one, other) = (Spec::new(i.clone()).unwrap(), Spec::new(i).unwrap());
    let id = Uuid::from_u128(0x1f3c_9a2b);
    let fires = one.preview(at("2026-12-05T00:00:00Z"), 1000);
    let mut offsets = std::collections::BTreeSet::new();
    for f in &fires {
        let due = one.due_at(id, *f);
        assert_eq!(due, other.due_at(id, *f), "replicas agree");
        let offset = due - *f;
        assert!(offset >= TimeDelta::zero() && offset <= TimeDelta::seconds(90));
        offsets.insert(offset);
    }
    assert!(
        offsets.len() > 900,
        "only {} distinct offsets",
        offsets.len()
    );
    let another = Uuid::from_u128(0x2e4d);
    assert_ne!(one.due_at(id, fires[0]), one.due_at(another, fires[0]));
    let none = spec("*/10 * * * * *", "UTC");
    assert_eq!(none.due_at(id, fires[0]), fires[0]);
}
