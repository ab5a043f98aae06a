//! Scheduled backups: [`spec`], when a schedule fires; [`clock`], the scheduler's one source
//! of time; [`engine`], which decides and records fires; [`retention`], which prunes a
//! schedule's old backups after each run (what it asks of each host: [`prune_plan`]); and the
//! rule that pauses a failing schedule. The tables and the exactly-once fire are in
//! `store::schedules` and `store::schedule_fires`; retention's SQL in `store::retention`.

pub mod clock;
pub mod decide;
pub mod engine;
mod metrics;
pub mod prune_plan;
mod results;
pub mod retention;
mod shared;
pub mod spec;
mod tick;

pub use clock::{Clock, ManualClock};
pub use engine::{Engine, FireLimits};
pub use metrics::ScheduleMetrics;
pub use spec::{Spec, SpecError, SpecInput};
pub use tick::{SchedulerSettings, run, tick};

/// Whether a schedule with `consecutive_failures` failed runs in a row (counting the one that
/// just ended) pauses, when it pauses after `pause_after` of them (`None`: never).
pub fn pauses(consecutive_failures: i32, pause_after: Option<i32>) -> bool {
    pause_after.is_some_and(|n| consecutive_failures >= n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_pauses_at_its_nth_failure_in_a_row_and_never_without_a_limit() {
        assert!(!pauses(2, Some(3)));
        assert!(pauses(3, Some(3)));
        assert!(pauses(4, Some(3)));
        assert!(!pauses(1_000, None));
    }
}
