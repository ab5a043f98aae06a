//! The backup workers: each replica runs a claim loop that takes queued backups from Postgres
//! (any number of replicas share one queue) and drives each through JOB to a terminal state.
//!
//! A claim holds a lease renewed by a heartbeat. If a replica dies, its lease expires and
//! another replica re-claims the backup with a higher attempt number, which fences the dead
//! one out of every later write, and resumes it from what was stored: a stored job instance
//! is followed, never launched again. A launch is preceded by a fenced write of the decision
//! and a check of the lease on this replica's own clock (`lease.rs`), so a replica stopped
//! past its lease does not launch when it resumes.
//!
//! One claimed backup is a `run::BackupRun` whose methods are the phases, in this order:
//! `launch` (agents, then exactly one JOB instance), `follow` (status polls, progress, cancel
//! and deadline), `collect` and `pages` (every host's log, then the manifest pages the logs
//! could not carry), `end` (judge every host, decide the backup's state, write it all once).

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::PgPool;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::gateway::Gateway;
use crate::store::work::{self, Fence};

mod collect;
mod end;
mod follow;
mod launch;
mod lease;
mod pages;
mod run;

/// How workers behave.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Backups driven at once by this replica.
    pub concurrency: usize,
    /// Lease length; the heartbeat renews it every third of it.
    pub lease: Duration,
    /// How often an idle worker looks for queued backups.
    pub claim_interval: Duration,
    /// First and longest interval between JOB status polls.
    pub poll_initial: Duration,
    /// Longest interval between JOB status polls.
    pub poll_max: Duration,
    /// After a launch whose fate is unknown (a timeout, or an earlier claim's recorded
    /// decision to launch), how long to keep looking for the instance before launching again:
    /// at least as long as a request can take to reach JOB. Also the deadline of the launch
    /// call itself, so job-gateway sends nothing of it later than that.
    pub launch_settle: Duration,
    /// Name of this replica in leases (for operators reading the table).
    pub owner: String,
    /// Busy slots and ended backups are counted here.
    pub metrics: crate::metrics::BackupMetrics,
}

/// Wakes the claim loop early, e.g. right after StartBackup stored a backup.
#[derive(Debug, Clone, Default)]
pub struct Wakeup(Arc<Notify>);

impl Wakeup {
    /// Signals that work may be waiting.
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

/// Runs the claim loop until `stop` is cancelled; running backups are then abandoned to
/// their leases (another replica, or this one after a restart, resumes them).
pub async fn run(
    pool: PgPool,
    gateway: Gateway,
    settings: WorkerSettings,
    wakeup: Wakeup,
    stop: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(settings.concurrency.max(1)));
    let mut running = JoinSet::new();
    loop {
        let permit = tokio::select! {
            () = stop.cancelled() => break,
            p = Arc::clone(&slots).acquire_owned() => p.expect("semaphore never closed"),
        };
        let asked = Instant::now();
        match work::claim(&pool, &settings.owner, settings.lease).await {
            Ok(Some(row)) => {
                let fence = Fence {
                    id: row.id,
                    attempt: row.attempt,
                };
                let lease = Arc::new(lease::Lease::new(settings.lease, asked));
                tracing::info!(
                    backup_id = %row.id,
                    attempt = row.attempt,
                    operator = %row.operator,
                    state = row.state().as_str(),
                    "backup claimed"
                );
                let (pool, gateway, settings, stop) = (
                    pool.clone(),
                    gateway.clone(),
                    settings.clone(),
                    stop.clone(),
                );
                // The heartbeat runs inside the task (not spawned beside it), so whatever ends
                // the task — finishing, shutdown, an abort — also stops renewing the lease.
                running.spawn(async move {
                    let _busy = settings.metrics.busy();
                    tokio::select! {
                        () = settings.metrics.drive(fence.id, run::drive(&pool, &gateway, &settings, &lease, row)) => {}
                        () = heartbeat(&pool, fence, &lease) => {
                            tracing::warn!(backup_id = %fence.id, "lease lost: stopping");
                        }
                        () = stop.cancelled() => {}
                    }
                    drop(permit);
                });
            }
            Ok(None) => {
                drop(permit);
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = wakeup.0.notified() => {}
                    () = tokio::time::sleep(settings.claim_interval) => {}
                }
            }
            Err(e) => {
                drop(permit);
                tracing::error!(error = %e, "cannot claim backups");
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(settings.claim_interval) => {}
                }
            }
        }
        while running.try_join_next().is_some() {}
    }
    running.shutdown().await;
}

/// Renews the lease every third of its length; returns when the claim is gone.
async fn heartbeat(pool: &PgPool, fence: Fence, lease: &lease::Lease) {
    let length = lease.length();
    loop {
        tokio::time::sleep(length / 3).await;
        let asked = Instant::now();
        match work::heartbeat(pool, fence, length).await {
            Ok(true) => lease.renewed(asked),
            Ok(false) => return,
            Err(e) => tracing::warn!(backup_id = %fence.id, error = %e, "heartbeat failed"),
        }
    }
}
