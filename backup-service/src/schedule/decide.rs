//! The scheduler's decisions as pure functions of what it read: which of a schedule's due fires
//! is made and which are missed (catch-up), what the overlap policy does with a fire, how a
//! run's end counts, and when a failing schedule pauses. No I/O and no clock: the engine passes
//! `now` in, so the rules are tested here directly. docs/schedules.md states them for users.

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use uuid::Uuid;

use super::Spec;
use crate::domain::{BackupState, OverlapPolicy, RunDecision};
use crate::store::schedule_fires::{MissedFire, Overlap};
use crate::store::schedule_runs::{EndedRun, RunResult};
use crate::store::schedules::{NextFire, ScheduleRow};

/// Fires examined one by one when a schedule is found late; past this (a dense spec after a
/// long outage) the latest fire is found by searching back from now and the rest are counted
/// as "more than" this.
pub const MAX_COUNTED: usize = 100_000;

/// What catch-up decided for a schedule whose next fire `first` is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatchUp {
    /// L: the latest fire due at or before now.
    pub latest: DateTime<Utc>,
    /// Whether L is made (it is at most max(catch-up window, grace) late); else it is MISSED.
    pub make: bool,
    /// Why L is missed, when it is.
    pub missed_reason: String,
    /// The fires before L, recorded MISSED in the same transaction: at most `max_rows`, the
    /// last of them standing for the rest too when there are more.
    pub missed: Vec<MissedFire>,
    /// The schedule's fire after L.
    pub next: Option<NextFire>,
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The catch-up rule (docs/schedules.md, "Catch-up"): of the fires from `first` on, L is the
/// latest whose due time (with jitter) is at or before `now`. L is made if `now - due(L)` is
/// at most `max(window, grace)`, else recorded MISSED ("past the catch-up window"). Every
/// fire before L is MISSED: "a later fire (L) was made instead" when L is made, else "past
/// the catch-up window". At most `max_rows` (>= 1) of them get a row each; when there are
/// more, the row of the `max_rows`-th says how many later ones it stands for.
pub fn catch_up(
    spec: &Spec,
    schedule_id: Uuid,
    first: DateTime<Utc>,
    now: DateTime<Utc>,
    window: TimeDelta,
    grace: TimeDelta,
    max_rows: usize,
) -> CatchUp {
    let max_rows = max_rows.max(1);
    let due = |f: DateTime<Utc>| spec.due_at(schedule_id, f);
    // `head`: the first fires, for rows; `before_latest`: how many fires precede L.
    let mut head: Vec<DateTime<Utc>> = Vec::new();
    let mut latest = first;
    let mut before_latest = 0usize;
    let mut exact = true;
    let fires = std::iter::once(first).chain(spec.fires_after(first));
    for (seen, f) in fires.take_while(|&f| f <= now).enumerate() {
        if seen == MAX_COUNTED {
            exact = false;
            latest = latest_near(spec, schedule_id, now).unwrap_or(latest);
            break;
        }
        if head.len() < max_rows {
            head.push(f);
        }
        if due(f) <= now {
            latest = f;
            before_latest = seen;
        }
    }
    let late = now - due(latest);
    let make = late <= window.max(grace);
    let why = if make {
        format!("a later fire ({}) was made instead", rfc3339(latest))
    } else {
        "past the catch-up window".to_owned()
    };
    let mut missed: Vec<MissedFire> = Vec::new();
    let individually = if exact && before_latest <= max_rows {
        before_latest
    } else {
        max_rows - 1
    };
    for &f in head.iter().take(individually) {
        missed.push(MissedFire {
            scheduled_at: f,
            reason: why.clone(),
        });
    }
    if !exact || before_latest > max_rows {
        let rest = if exact {
            (before_latest - individually - 1).to_string()
        } else {
            format!("more than {}", MAX_COUNTED - individually - 1)
        };
        missed.push(MissedFire {
            scheduled_at: head[individually],
            reason: format!(
                "{why}; this row stands for it and the {rest} later fires before {} too",
                rfc3339(latest)
            ),
        });
    }
    let next = spec.next_after(latest).map(|f| NextFire {
        fire_at: f,
        due_at: due(f),
    });
    CatchUp {
        latest,
        make,
        missed_reason: if make {
            String::new()
        } else {
            format!(
                "past the catch-up window: {}s late, the window is {}s",
                late.num_seconds(),
                window.max(grace).num_seconds()
            )
        },
        missed,
        next,
    }
}

/// The latest fire at or before `now` whose due time is at or before `now`, searched back from
/// `now` in doubling windows (for a dense spec after a long outage).
fn latest_near(spec: &Spec, schedule_id: Uuid, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let mut w = TimeDelta::seconds(1);
    while w < TimeDelta::days(3660) {
        let found = spec
            .fires_between(now - w, now)
            .take(MAX_COUNTED)
            .filter(|&f| spec.due_at(schedule_id, f) <= now)
            .last();
        if found.is_some() {
            return found;
        }
        w = w * 2;
    }
    None
}

/// What an overlap policy does with a fire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Start its backup.
    Fire,
    /// Cancel the schedule's running backups, then start its backup.
    CancelThenFire,
    /// Record SKIPPED_OVERLAP.
    Skip,
    /// Record BUFFERED.
    Buffer,
}

/// The overlap rule: with no earlier backup running, a fire starts (for BUFFER_ONE, unless a
/// fire is already buffered); otherwise SKIP skips, ALLOW_ALL starts another, CANCEL_PREVIOUS
/// cancels and starts, BUFFER_ONE buffers (or skips when one is buffered already).
pub fn on_overlap(policy: OverlapPolicy, seen: Overlap) -> Step {
    match policy {
        OverlapPolicy::AllowAll => Step::Fire,
        OverlapPolicy::Skip if seen.running => Step::Skip,
        OverlapPolicy::CancelPrevious if seen.running => Step::CancelThenFire,
        OverlapPolicy::BufferOne if seen.buffered => Step::Skip,
        OverlapPolicy::BufferOne if seen.running => Step::Buffer,
        _ => Step::Fire,
    }
}

/// Who a schedule's CANCEL_PREVIOUS cancels as (kept as the backup's `cancel_requested_by`).
pub fn canceller(schedule_id: Uuid) -> String {
    format!("schedule:{schedule_id}")
}

/// How a run's end counts: it fails when it could not start, or its backup ended FAILED,
/// PARTIAL, or CANCELLED by anyone but the schedule's own CANCEL_PREVIOUS (which counts
/// neither way); it succeeds when its backup SUCCEEDED.
pub fn run_result(run: &EndedRun) -> RunResult {
    if run.decision == RunDecision::FailedToStart {
        return RunResult::Failed(run.reason.clone());
    }
    let message = || {
        let state = run.backup_state.map(|s| s.as_str()).unwrap_or("ended");
        if run.status_message.is_empty() {
            format!("its backup ended {state}")
        } else {
            format!("its backup ended {state}: {}", run.status_message)
        }
    };
    match run.backup_state {
        Some(BackupState::Succeeded) => RunResult::Succeeded,
        Some(BackupState::Cancelled)
            if run.cancel_requested_by.as_deref() == Some(&*canceller(run.schedule_id)) =>
        {
            RunResult::Neither
        }
        _ => RunResult::Failed(message()),
    }
}

/// The pause note of `schedule`, counted with a failure `why`, if that failure pauses it.
pub fn pause_note(schedule: &ScheduleRow, why: &str) -> Option<String> {
    let n = schedule.consecutive_failures;
    super::pauses(n, schedule.fields.pause_after_failures)
        .then(|| format!("paused after {n} failed runs in a row; the last: {why}"))
}

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
