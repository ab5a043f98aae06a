//! The scheduler loop: every tick, claim the due schedules and make their fires (several at
//! once), release buffered fires whose blocker ended, and count the results of scheduled
//! backups that ended; then sleep on the engine's clock until the next tick, ticks falling on
//! the grid of the tick period (so on every whole second). Time comes only from `engine.clock`
//! and is passed to the store as `now`.
//!
//! An idle tick is three statements, each reading a partial index (due schedules, buffered
//! runs, runs whose result is pending), whatever the number of schedules.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::decide;
use super::{Engine, Spec, SpecError, SpecInput};
use crate::domain::RunTrigger;
use crate::error::Result;
use crate::store::schedule_fires::{self, Decision, Fire};
use crate::store::schedules::ScheduleRow;

/// The `[scheduler]` settings the loop runs with.
#[derive(Debug, Clone)]
pub struct SchedulerSettings {
    /// Whether this replica fires schedules at all.
    pub enabled: bool,
    /// Time between ticks.
    pub tick: Duration,
    /// Most due schedules claimed (and buffered fires or results handled) per statement.
    pub batch: u32,
    /// Fires decided and recorded at once.
    pub concurrency: usize,
    /// How long a claim keeps other replicas off a due schedule.
    pub lease: TimeDelta,
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            tick: Duration::from_millis(250),
            batch: 500,
            concurrency: 32,
            lease: TimeDelta::seconds(30),
        }
    }
}

/// Runs the scheduler until `stop` is cancelled (at once when it is not enabled).
pub async fn run(engine: Engine, settings: SchedulerSettings, stop: CancellationToken) {
    if !settings.enabled {
        tracing::info!("scheduler disabled on this replica");
        return;
    }
    tracing::info!(
        tick_ms = settings.tick.as_millis() as u64,
        "scheduler running"
    );
    while !stop.is_cancelled() {
        let now = engine.clock.now();
        let full = match tick(&engine, &settings).await {
            Ok(full) => full,
            Err(e) => {
                tracing::warn!(error = %e, "scheduler tick failed; trying again next tick");
                false
            }
        };
        if full {
            // A full batch: more may be due now.
            continue;
        }
        let next = next_on_grid(engine.clock.now().max(now), settings.tick);
        tokio::select! {
            () = stop.cancelled() => break,
            () = engine.clock.sleep_until(next, settings.tick) => {}
        }
    }
    tracing::info!("scheduler stopped");
}

/// The first instant after `t` on the grid of `period` (its multiples since the Unix epoch).
/// Cron fires fall on whole seconds, so ticks on that grid find a fire due the moment it is,
/// not up to a tick later; every replica ticks at the same instants and they share a busy
/// second's claims (`skip locked`).
pub(crate) fn next_on_grid(t: DateTime<Utc>, period: Duration) -> DateTime<Utc> {
    let p = i64::try_from(period.as_micros()).unwrap_or(i64::MAX).max(1);
    let next = (t.timestamp_micros().div_euclid(p) + 1).saturating_mul(p);
    DateTime::from_timestamp_micros(next)
        .unwrap_or_else(|| t + TimeDelta::from_std(period).unwrap_or(TimeDelta::seconds(1)))
}

/// One tick; true when the claim filled its batch.
pub async fn tick(engine: &Engine, settings: &SchedulerSettings) -> Result<bool> {
    let engine = &engine.for_tick();
    let now = engine.clock.now();
    let due = schedule_fires::claim_due(&engine.pool, now, settings.lease, settings.batch).await?;
    let full = due.len() >= settings.batch as usize;
    bounded(due, settings.concurrency, |s| {
        let engine = engine.clone();
        async move {
            if let Err(e) = fire_due(&engine, &s, now).await {
                tracing::warn!(schedule_id = %s.id, error = %e, "scheduled fire not recorded; retried when its claim runs out");
            }
        }
    })
    .await;
    super::results::release_buffered(engine, settings.batch).await?;
    super::results::count_results(engine, settings.batch).await?;
    Ok(full)
}

/// Runs `work` on every item, at most `n` at once.
async fn bounded<T, F, Fut>(items: Vec<T>, n: usize, work: F)
where
    F: Fn(T) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut running = JoinSet::new();
    for item in items {
        if running.len() >= n.max(1) {
            let _ = running.join_next().await;
        }
        running.spawn(work(item));
    }
    while running.join_next().await.is_some() {}
}

/// The spec of stored schedule `s`.
pub(crate) fn spec_of(s: &ScheduleRow) -> std::result::Result<Spec, SpecError> {
    Spec::new(SpecInput {
        cron: s.fields.cron.clone(),
        time_zone: s.fields.time_zone.clone(),
        start_time: s.fields.start_time,
        end_time: s.fields.end_time,
        jitter: TimeDelta::milliseconds(s.fields.jitter_ms),
    })
}

/// Makes claimed schedule `s`'s due fire, found due at `found`: catch-up picks the fire to make
/// (or records it MISSED), with the earlier ones MISSED, and the overlap policy decides the
/// rest. Lateness is judged at `found`, the claim's time: a fire found on time is not missed
/// because this replica's own queue of fires (or BlueKing's rate limit on resolving selectors)
/// kept it waiting.
async fn fire_due(engine: &Engine, s: &ScheduleRow, found: DateTime<Utc>) -> Result<()> {
    let Some(first) = s.next_fire_at else {
        return Ok(());
    };
    let spec = match spec_of(s) {
        Ok(spec) => spec,
        Err(e) => {
            tracing::error!(schedule_id = %s.id, error = %e, "stored spec no longer valid; the schedule cannot fire");
            return Ok(());
        }
    };
    let now = engine.clock.now();
    let window = TimeDelta::seconds(s.fields.catch_up_window_secs);
    let limits = &engine.limits;
    let c = decide::catch_up(
        &spec,
        s.id,
        first,
        found,
        window,
        limits.grace,
        limits.max_missed_rows,
    );
    let base = Fire {
        schedule_id: s.id,
        version: s.version,
        scheduled_at: c.latest,
        trigger: RunTrigger::Cron,
        decision: Decision::Missed(c.missed_reason.clone()),
        resolved_host_ids: Vec::new(),
        next: c.next,
        now,
        triggered_by: String::new(),
        missed: c.missed,
        seen: None,
    };
    if c.make {
        engine.make(s, base).await?;
    } else {
        let recorded = schedule_fires::record_fire(&engine.pool, &base).await?;
        engine.observe(s, &base, &recorded);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn ticks_fall_on_the_grid_of_the_period_so_a_whole_second_is_a_tick() {
        let quarter = Duration::from_millis(250);
        assert_eq!(
            next_on_grid(at("2026-12-06T04:00:00.100Z"), quarter),
            at("2026-12-06T04:00:00.250Z")
        );
        // On the grid: the next one, never the same instant twice.
        assert_eq!(
            next_on_grid(at("2026-12-06T04:00:00.250Z"), quarter),
            at("2026-12-06T04:00:00.500Z")
        );
        assert_eq!(
            next_on_grid(at("2026-12-06T03:59:59.999Z"), quarter),
            at("2026-12-06T04:00:00Z")
        );
        assert_eq!(
            next_on_grid(at("2026-12-06T04:00:00.999Z"), Duration::from_secs(1)),
            at("2026-12-06T04:00:01Z")
        );
        // Before the epoch, as a clock set wrong may read.
        assert_eq!(
            next_on_grid(at("1969-12-31T23:59:59.900Z"), quarter),
            at("1970-01-01T00:00:00Z")
        );
    }
}
