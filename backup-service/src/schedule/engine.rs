//! The scheduler's engine: decides and records fires (cron fires from the loop, manual ones
//! from TriggerSchedule) under a schedule's overlap policy and catch-up window. SKELETON: the
//! decisions and the loop are being written; only the types are settled.

use sqlx::PgPool;

use super::Clock;
use crate::error::{BackupError, Result};
use crate::gateway::Gateway;
use crate::store::schedule_fires::RunRow;
use crate::store::schedules::ScheduleRow;
use crate::worker::Wakeup;

/// What the engine needs; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub(crate) pool: PgPool,
    pub(crate) gateway: Gateway,
    pub(crate) clock: Clock,
    pub(crate) wakeup: Wakeup,
}

impl Engine {
    /// The engine.
    pub fn new(pool: PgPool, gateway: Gateway, clock: Clock, wakeup: Wakeup) -> Self {
        Self {
            pool,
            gateway,
            clock,
            wakeup,
        }
    }

    /// The engine's clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Makes one manual run of `schedule` now, as `by`, under its overlap policy; the run
    /// recorded. FAILED_PRECONDITION for a deleted schedule.
    pub async fn trigger(&self, schedule: &ScheduleRow, by: &str) -> Result<RunRow> {
        let _ = (schedule, by, &self.pool, &self.gateway, &self.wakeup);
        Err(BackupError::FailedPrecondition(
            "TriggerSchedule is not built yet".into(),
        ))
    }
}
