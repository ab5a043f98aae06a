//! The backup metrics an operator needs, beside the gRPC ones: backups by state, queue depth
//! and hosts by failure reason (read from the database on each scrape, so they are the same on
//! every replica: take one replica's value, not the sum), busy workers (this replica's), the
//! duration, files and bytes of every backup this replica finished, and its pool use.

use std::future::Future;
use std::sync::Arc;

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntGauge, IntGaugeVec, Opts, Registry,
};
use sqlx::PgPool;
use uuid::Uuid;

use crate::store::stats;

/// Backup durations in seconds: a search-sized backup takes seconds, a large one hours.
const DURATION_BUCKETS: &[f64] = &[
    1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 21600.0,
];

/// The backup metrics of one replica. Cheap to clone.
#[derive(Clone)]
pub struct BackupMetrics {
    pool: PgPool,
    by_state: IntGaugeVec,
    queue_depth: IntGauge,
    hosts_by_reason: IntGaugeVec,
    busy: IntGauge,
    duration: HistogramVec,
    files: IntCounter,
    bytes: IntCounter,
    pool_connections: IntGaugeVec,
    pool_max: IntGauge,
}

impl std::fmt::Debug for BackupMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackupMetrics").finish_non_exhaustive()
    }
}

impl BackupMetrics {
    /// Creates the metrics in `registry`; the database ones read `pool`.
    pub fn register(
        registry: &Registry,
        pool: PgPool,
        max_connections: u32,
    ) -> prometheus::Result<Self> {
        let by_state = IntGaugeVec::new(
            Opts::new("backup_backups", "Backups in the database, by state"),
            &["state"],
        )?;
        let queue_depth = IntGauge::new(
            "backup_queue_depth",
            "Backups waiting for a worker: queued, or unfinished with no live lease",
        )?;
        let hosts_by_reason = IntGaugeVec::new(
            Opts::new(
                "backup_hosts_not_succeeded",
                "Hosts that did not fully succeed, by reason, in backups created in the last 24 hours",
            ),
            &["reason"],
        )?;
        let busy = IntGauge::new(
            "backup_workers_busy",
            "Backups this replica is driving now (its worker slots in use)",
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "backup_duration_seconds",
                "Time from StartBackup to the end, of backups this replica finished, by final state",
            )
            .buckets(DURATION_BUCKETS.to_vec()),
            &["state"],
        )?;
        let files = IntCounter::new(
            "backup_files_copied_total",
            "Files copied by backups this replica finished",
        )?;
        let bytes = IntCounter::new(
            "backup_bytes_copied_total",
            "Bytes copied by backups this replica finished",
        )?;
        let pool_connections = IntGaugeVec::new(
            Opts::new(
                "backup_db_pool_connections",
                "Database connections of this replica's pool, by state",
            ),
            &["state"],
        )?;
        let pool_max = IntGauge::new(
            "backup_db_pool_max_connections",
            "Size limit of this replica's database pool",
        )?;
        pool_max.set(i64::from(max_connections));
        for c in [
            Box::new(by_state.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(queue_depth.clone()),
            Box::new(hosts_by_reason.clone()),
            Box::new(busy.clone()),
            Box::new(duration.clone()),
            Box::new(files.clone()),
            Box::new(bytes.clone()),
            Box::new(pool_connections.clone()),
            Box::new(pool_max.clone()),
        ] {
            registry.register(c)?;
        }
        Ok(Self {
            pool,
            by_state,
            queue_depth,
            hosts_by_reason,
            busy,
            duration,
            files,
            bytes,
            pool_connections,
            pool_max,
        })
    }

    /// Re-reads the database counts and the pool's state; on a database error the counts keep
    /// their last values (the error is logged).
    pub async fn refresh(&self) {
        let size = i64::from(self.pool.size());
        let idle = self.pool.num_idle() as i64;
        self.pool_connections.with_label_values(&["idle"]).set(idle);
        self.pool_connections
            .with_label_values(&["in_use"])
            .set(size - idle);
        match stats::counts(&self.pool).await {
            Ok(counts) => {
                self.by_state.reset();
                for (state, n) in counts.by_state {
                    self.by_state.with_label_values(&[&state]).set(n);
                }
                self.queue_depth.set(counts.queue_depth);
                self.hosts_by_reason.reset();
                for (reason, n) in counts.hosts_by_reason {
                    self.hosts_by_reason.with_label_values(&[&reason]).set(n);
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read backup counts for metrics"),
        }
    }

    /// [`BackupMetrics::refresh`] as the metrics endpoint's pre-scrape hook.
    pub fn refresher(&self) -> service_kit::metrics::Refresh {
        let this = self.clone();
        Arc::new(move || {
            let this = this.clone();
            Box::pin(async move { this.refresh().await })
        })
    }

    /// Counts one busy worker slot until the guard is dropped.
    pub fn busy(&self) -> Busy {
        self.busy.inc();
        Busy(self.busy.clone())
    }

    /// Runs `drive` (a worker driving backup `id`); when it returns and the backup has ended,
    /// records its duration, files and bytes.
    pub async fn drive(&self, id: Uuid, drive: impl Future<Output = ()>) {
        drive.await;
        match stats::ended(&self.pool, id).await {
            Ok(Some(ended)) => {
                self.duration_of(&ended.state)
                    .observe(ended.seconds.max(0.0));
                self.files.inc_by(ended.files_copied.max(0) as u64);
                self.bytes.inc_by(ended.bytes_copied.max(0) as u64);
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(backup_id = %id, error = %e, "cannot read an ended backup for metrics")
            }
        }
    }

    fn duration_of(&self, state: &str) -> Histogram {
        self.duration.with_label_values(&[state])
    }

    /// The configured pool size (as exported).
    pub fn pool_max(&self) -> i64 {
        self.pool_max.get()
    }
}

/// A busy worker slot; see [`BackupMetrics::busy`].
#[derive(Debug)]
pub struct Busy(IntGauge);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.dec();
    }
}
