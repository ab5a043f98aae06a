//! After the fires: buffered fires are released once no backup of their schedule runs, and
//! the result of every run that ended is counted once towards its schedule's failures in a
//! row, pausing the schedule at its limit.
//!
//! Counting is crash-safe through a marker, not through memory: a run that owes its result
//! has `result_pending` set when it is written (fired or failed to start), and one transaction
//! clears the mark, updates the count and pauses the schedule if due
//! (`store::schedule_runs::count_result`). A crash before that commit leaves the mark and the
//! next tick (of any replica) counts the run; after it, the cleared mark stops a second count.
//! Counting inside the transaction that ends a backup would have tied the scheduler into every
//! path that ends one (the worker's finish, a cancel before launch, a retry's end); the marker
//! sees them all through one partial index.

use super::Engine;
use super::decide;
use crate::domain::ScheduleState;
use crate::error::{BackupError, Result};
use crate::store::schedule_runs::{self, Release};
use crate::store::schedules;

/// Releases up to `limit` buffered fires whose schedule has no backup running.
pub(crate) async fn release_buffered(engine: &Engine, limit: u32) -> Result<()> {
    for r in schedule_runs::releasable(&engine.pool, limit).await? {
        let Some(s) = schedules::get(&engine.pool, r.schedule_id).await? else {
            continue;
        };
        let release = if s.state == ScheduleState::Deleted {
            Release::Missed("the schedule was deleted while this fire was buffered".into())
        } else {
            match engine.resolve(&s).await {
                Ok(hosts) => Release::Fire(Box::new(engine.new_backup(&s, &hosts)?)),
                Err(BackupError::Store(e)) => return Err(e.into()),
                Err(e) => Release::FailedToStart(e.to_string()),
            }
        };
        let now = engine.clock.now();
        let Some(run) = schedule_runs::release(&engine.pool, r.id, &release, now).await? else {
            continue;
        };
        let decision = run.decision.as_str();
        if run.backup_id.is_some() {
            engine.wakeup.wake();
            tracing::info!(schedule_id = %s.id, scheduled_at = %run.scheduled_at, backup_id = ?run.backup_id, "buffered fire released: scheduled backup queued");
        } else {
            tracing::warn!(schedule_id = %s.id, scheduled_at = %run.scheduled_at, decision, reason = %run.reason, "buffered fire not made");
        }
        if let Some(m) = &engine.metrics {
            m.fired(decision, 1);
            if run.backup_id.is_some() {
                m.delay(engine.clock.now() - run.scheduled_at);
            }
        }
    }
    Ok(())
}

/// Counts the results of up to `limit` runs whose backup ended (or that failed to start).
pub(crate) async fn count_results(engine: &Engine, limit: u32) -> Result<()> {
    for id in schedule_runs::results_due(&engine.pool, limit).await? {
        let counted =
            schedule_runs::count_result(&engine.pool, id, decide::run_result, decide::pause_note)
                .await?;
        let Some(c) = counted else {
            continue;
        };
        if let Some(note) = &c.paused {
            tracing::warn!(schedule_id = %c.run.schedule_id, note = %note, "schedule paused by its failed runs");
        }
    }
    Ok(())
}
