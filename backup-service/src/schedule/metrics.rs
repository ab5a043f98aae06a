//! The scheduler's metrics: how late fires are queued (`schedule_fire_delay_seconds`, scheduled
//! time to backup queued, by the engine's clock; this replica's fires), fires by decision
//! (`schedule_fires_total`, this replica's), and schedules by state (`schedules`, read from the
//! database on each scrape: the same on every replica).

use chrono::TimeDelta;
use prometheus::{Histogram, HistogramOpts, IntCounterVec, IntGaugeVec, Opts, Registry};
use sqlx::PgPool;

use crate::domain::ScheduleState;
use crate::store::schedule_runs;

/// Fire delays in seconds: the goal is under one second; a catch-up is minutes or hours late.
const DELAY_BUCKETS: &[f64] = &[
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0,
];

/// The scheduler's metrics. Cheap to clone.
#[derive(Clone)]
pub struct ScheduleMetrics {
    pool: PgPool,
    delay: Histogram,
    fires: IntCounterVec,
    schedules: IntGaugeVec,
}

impl ScheduleMetrics {
    /// Creates the metrics in `registry`; the gauge reads `pool`.
    pub fn register(registry: &Registry, pool: PgPool) -> prometheus::Result<Self> {
        let delay = Histogram::with_opts(
            HistogramOpts::new(
                "schedule_fire_delay_seconds",
                "Time from a fire's scheduled time to its backup queued, of fires this replica made",
            )
            .buckets(DELAY_BUCKETS.to_vec()),
        )?;
        let fires = IntCounterVec::new(
            Opts::new(
                "schedule_fires_total",
                "Fires this replica recorded, by decision (fired, skipped_overlap, missed, failed_to_start, buffered)",
            ),
            &["decision"],
        )?;
        let schedules = IntGaugeVec::new(
            Opts::new("schedules", "Schedules in the database, by state"),
            &["state"],
        )?;
        registry.register(Box::new(delay.clone()))?;
        registry.register(Box::new(fires.clone()))?;
        registry.register(Box::new(schedules.clone()))?;
        Ok(Self {
            pool,
            delay,
            fires,
            schedules,
        })
    }

    /// Counts `n` fires decided `decision`.
    pub fn fired(&self, decision: &str, n: u64) {
        if n > 0 {
            self.fires.with_label_values(&[decision]).inc_by(n);
        }
    }

    /// Observes one fire's delay (negative, with jitter ahead of time, counts as zero).
    pub fn delay(&self, late: TimeDelta) {
        self.delay
            .observe((late.num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6).max(0.0));
    }

    /// Re-reads the schedules by state; on a database error the gauge keeps its last values.
    pub async fn refresh(&self) {
        match schedule_runs::by_state(&self.pool).await {
            Ok(counts) => {
                for s in ScheduleState::ALL {
                    let n = counts.iter().find(|(st, _)| st == s).map_or(0, |c| c.1);
                    self.schedules.with_label_values(&[s.as_str()]).set(n);
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read schedule counts for metrics"),
        }
    }
}
