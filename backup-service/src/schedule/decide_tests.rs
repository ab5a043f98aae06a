//! The pure rules: catch-up after downtime, the overlap table, how a run's end counts.

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::*;
use crate::schedule::SpecInput;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn spec(cron: &str) -> Spec {
    Spec::new(SpecInput {
        cron: cron.into(),
        time_zone: "UTC".into(),
        start_time: None,
        end_time: None,
        jitter: TimeDelta::zero(),
    })
    .unwrap()
}

const GRACE: TimeDelta = TimeDelta::seconds(30);

#[test]
fn a_fire_found_on_time_is_made_and_nothing_is_missed() {
    let s = spec("0 * * * *");
    let c = catch_up(
        &s,
        Uuid::nil(),
        at("2026-12-05T04:00:00Z"),
        at("2026-12-05T04:00:00.300Z"),
        TimeDelta::zero(),
        GRACE,
        100,
    );
    assert_eq!(c.latest, at("2026-12-05T04:00:00Z"));
    assert!(c.make);
    assert!(c.missed.is_empty());
    assert_eq!(c.next.unwrap().fire_at, at("2026-12-05T05:00:00Z"));
}

#[test]
fn after_hours_down_the_latest_fire_is_made_within_the_window_and_older_ones_are_missed() {
    let s = spec("0 * * * *");
    let c = catch_up(
        &s,
        Uuid::nil(),
        at("2026-12-05T01:00:00Z"),
        at("2026-12-05T04:20:00Z"),
        TimeDelta::hours(1),
        GRACE,
        100,
    );
    assert_eq!(c.latest, at("2026-12-05T04:00:00Z"));
    assert!(c.make);
    let missed: Vec<_> = c.missed.iter().map(|m| m.scheduled_at).collect();
    assert_eq!(
        missed,
        [
            at("2026-12-05T01:00:00Z"),
            at("2026-12-05T02:00:00Z"),
            at("2026-12-05T03:00:00Z")
        ]
    );
    assert!(
        c.missed
            .iter()
            .all(|m| m.reason == "a later fire (2026-12-05T04:00:00Z) was made instead")
    );
    assert_eq!(c.next.unwrap().fire_at, at("2026-12-05T05:00:00Z"));
}

#[test]
fn a_fire_later_than_the_window_and_the_grace_is_missed_with_the_older_ones() {
    let s = spec("0 * * * *");
    let c = catch_up(
        &s,
        Uuid::nil(),
        at("2026-12-05T03:00:00Z"),
        at("2026-12-05T04:20:00Z"),
        TimeDelta::minutes(10),
        GRACE,
        100,
    );
    assert!(!c.make);
    assert_eq!(
        c.missed_reason,
        "past the catch-up window: 1200s late, the window is 600s"
    );
    assert_eq!(c.missed.len(), 1);
    assert_eq!(c.missed[0].reason, "past the catch-up window");
    // Without a window, the grace alone decides.
    let c = catch_up(
        &s,
        Uuid::nil(),
        at("2026-12-05T04:00:00Z"),
        at("2026-12-05T04:00:29Z"),
        TimeDelta::zero(),
        GRACE,
        100,
    );
    assert!(c.make);
    let c = catch_up(
        &s,
        Uuid::nil(),
        at("2026-12-05T04:00:00Z"),
        at("2026-12-05T04:00:31Z"),
        TimeDelta::zero(),
        GRACE,
        100,
    );
    assert!(!c.make);
}

#[test]
fn a_long_outage_writes_a_bounded_number_of_rows_and_the_last_counts_the_rest() {
    let s = spec("* * * * *");
    let c = catch_up(
        &s,
        Uuid::nil(),
        at("2026-12-04T04:00:00Z"),
        at("2026-12-05T04:00:10Z"),
        TimeDelta::hours(1),
        GRACE,
        10,
    );
    assert_eq!(c.latest, at("2026-12-05T04:00:00Z"));
    assert_eq!(c.missed.len(), 10);
    // 1,440 fires precede L: 9 rows, then one standing for itself and 1,430 more.
    assert_eq!(c.missed[9].scheduled_at, at("2026-12-04T04:09:00Z"));
    assert!(
        c.missed[9].reason.ends_with(
            "this row stands for it and the 1430 later fires before 2026-12-05T04:00:00Z too"
        ),
        "{}",
        c.missed[9].reason
    );
}

#[test]
fn a_dense_spec_after_a_very_long_outage_is_bounded_and_says_more_than() {
    let s = spec("* * * * * *");
    let c = catch_up(
        &s,
        Uuid::nil(),
        at("2026-12-01T00:00:00Z"),
        at("2026-12-05T04:00:00Z"),
        TimeDelta::zero(),
        GRACE,
        5,
    );
    assert_eq!(c.latest, at("2026-12-05T04:00:00Z"));
    assert!(c.make);
    assert_eq!(c.missed.len(), 5);
    assert!(
        c.missed[4]
            .reason
            .contains("the more than 99995 later fires"),
        "{}",
        c.missed[4].reason
    );
}

#[test]
fn each_overlap_policy_does_what_its_name_says() {
    use OverlapPolicy::*;
    let idle = Overlap::default();
    let running = Overlap {
        running: true,
        buffered: false,
    };
    let both = Overlap {
        running: true,
        buffered: true,
    };
    for p in [Skip, BufferOne, AllowAll, CancelPrevious] {
        assert_eq!(on_overlap(p, idle), Step::Fire, "{p:?}");
    }
    assert_eq!(on_overlap(Skip, running), Step::Skip);
    assert_eq!(on_overlap(AllowAll, running), Step::Fire);
    assert_eq!(on_overlap(CancelPrevious, running), Step::CancelThenFire);
    assert_eq!(on_overlap(BufferOne, running), Step::Buffer);
    assert_eq!(on_overlap(BufferOne, both), Step::Skip);
}

fn ended(state: BackupState, by: Option<String>) -> EndedRun {
    EndedRun {
        run_id: 1,
        schedule_id: Uuid::nil(),
        decision: RunDecision::Fired,
        reason: String::new(),
        backup_state: Some(state),
        cancel_requested_by: by,
        status_message: "boom".into(),
    }
}

#[test]
fn a_run_fails_unless_it_succeeded_and_the_schedules_own_cancel_counts_neither_way() {
    assert_eq!(
        run_result(&ended(BackupState::Succeeded, None)),
        RunResult::Succeeded
    );
    assert_eq!(
        run_result(&ended(BackupState::Failed, None)),
        RunResult::Failed("its backup ended failed: boom".into())
    );
    assert!(matches!(
        run_result(&ended(BackupState::Partial, None)),
        RunResult::Failed(_)
    ));
    assert!(matches!(
        run_result(&ended(BackupState::Cancelled, Some("alice".into()))),
        RunResult::Failed(_)
    ));
    assert_eq!(
        run_result(&ended(BackupState::Cancelled, Some(canceller(Uuid::nil())))),
        RunResult::Neither
    );
    let not_started = EndedRun {
        decision: RunDecision::FailedToStart,
        reason: "no host".into(),
        backup_state: None,
        ..ended(BackupState::Failed, None)
    };
    assert_eq!(
        run_result(&not_started),
        RunResult::Failed("no host".into())
    );
}
