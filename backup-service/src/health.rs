//! Readiness: backup-service can do nothing useful without its database, so health reports
//! NOT_SERVING (for `backup.v1.BackupService` and the server as a whole) while a periodic
//! `SELECT 1` fails or does not answer within the probe interval, and SERVING again once it
//! answers.

use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::store::stats;

/// Starts probing `pool` every `every` (each probe bounded by `every` too) until `stop`;
/// the receiver says whether the last probe reached the database. It starts true: the
/// service has just run its migrations.
pub fn probe_database(
    pool: PgPool,
    every: Duration,
    stop: CancellationToken,
) -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(true);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
            let up = match tokio::time::timeout(every, stats::ping(&pool)).await {
                Ok(Ok(())) => true,
                Ok(Err(e)) => {
                    if *tx.borrow() {
                        tracing::warn!(error = %e, "database unreachable: health NOT_SERVING");
                    }
                    false
                }
                Err(_) => {
                    if *tx.borrow() {
                        tracing::warn!(
                            after_ms = every.as_millis() as u64,
                            "database did not answer: health NOT_SERVING"
                        );
                    }
                    false
                }
            };
            if up && !*tx.borrow() {
                tracing::info!("database reachable again: health SERVING");
            }
            tx.send_if_modified(|last| std::mem::replace(last, up) != up);
        }
    });
    rx
}
