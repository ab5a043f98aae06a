//! WatchBackup: a snapshot, then every stored event in sequence until the backup is terminal.
//!
//! The `backup_events` table is the truth; LISTEN/NOTIFY is only the wake-up. One listener
//! connection per replica fans notifications out to its watchers through a broadcast channel;
//! a watcher woken (or lagging, or reconnected) re-reads the table after its last sequence
//! number, so it sees every event exactly once whichever replica wrote it. Watchers never call
//! BlueKing: the worker driving the backup is its only poller, however many watch.

use std::sync::Arc;
use std::time::Duration;

use proto::backup::v1 as pb;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::{Semaphore, broadcast, mpsc};
use tokio::time::Instant;
use tonic::Status;
use uuid::Uuid;

use crate::convert::{backup_message, event_message};
use crate::store::{backups, events};

/// Events read per query.
const BATCH: i64 = 500;
/// Re-read the table this often even without a notification (a lost NOTIFY costs at most this).
const RESYNC: Duration = Duration::from_secs(5);
/// Watcher reads in flight at once: every notification wakes every watcher, and without a
/// bound 1,000 watchers drain the pool and starve the worker (docs/benchmarks.md).
const WATCHER_READS: usize = 3;

/// Shared by the watchers of one replica.
#[derive(Clone)]
pub struct Progress {
    pool: PgPool,
    wake: broadcast::Sender<Uuid>,
    lifetime: Duration,
    reads: Arc<Semaphore>,
}

impl Progress {
    /// Starts the replica's listener on `pool` (it reconnects by itself).
    pub fn start(pool: PgPool, lifetime: Duration) -> Self {
        let (wake, _) = broadcast::channel(1024);
        tokio::spawn(listen(pool.clone(), wake.clone()));
        Self {
            pool,
            wake,
            lifetime,
            reads: Arc::new(Semaphore::new(WATCHER_READS)),
        }
    }

    /// Streams backup `id` after `after_seq` (0: snapshot first).
    pub async fn watch(
        &self,
        id: Uuid,
        after_seq: i64,
    ) -> Result<mpsc::Receiver<Result<pb::WatchBackupResponse, Status>>, Status> {
        if after_seq < 0 {
            return Err(Status::invalid_argument(
                "invalid `after_seq`: must not be negative",
            ));
        }
        // Subscribe before reading, so nothing written after the read is missed.
        let mut woken = self.wake.subscribe();
        let permit = self.reads.acquire().await.expect("never closed");
        let (first, mut last_seq, ended) = self.start_point(id, after_seq).await?;
        drop(permit);
        let (tx, rx) = mpsc::channel(64);
        let (pool, reads) = (self.pool.clone(), Arc::clone(&self.reads));
        let end = Instant::now() + self.lifetime;
        tokio::spawn(async move {
            if let Some(snapshot) = first
                && tx.send(Ok(snapshot)).await.is_err()
            {
                return;
            }
            // Terminal already and nothing after the start point: the stream is complete.
            if ended {
                return;
            }
            loop {
                let permit = reads.acquire().await.expect("never closed");
                let batch = events::after(&pool, id, last_seq, BATCH).await;
                drop(permit);
                let batch = match batch {
                    Ok(b) => b,
                    Err(e) => {
                        tracing::error!(backup_id = %id, error = %e, "cannot read events");
                        let _ = tx
                            .send(Err(Status::unavailable(
                                "cannot read progress; resume with after_seq",
                            )))
                            .await;
                        return;
                    }
                };
                let full = batch.len() as i64 == BATCH;
                for e in batch {
                    last_seq = e.seq;
                    let terminal = e.event.is_terminal();
                    if tx.send(Ok(event_message(e))).await.is_err() || terminal {
                        return;
                    }
                }
                if full {
                    continue;
                }
                tokio::select! {
                    () = tx.closed() => return,
                    () = tokio::time::sleep_until(end) => {
                        let _ = tx.send(Err(Status::deadline_exceeded(
                            "watch lifetime reached; resume with after_seq",
                        ))).await;
                        return;
                    }
                    () = tokio::time::sleep(RESYNC) => {}
                    () = wait_for(&mut woken, id) => {}
                }
            }
        });
        Ok(rx)
    }

    /// The snapshot (when `after_seq` is 0), the sequence number streaming starts after, and
    /// whether nothing can follow it (the backup is terminal and its last event already sent).
    async fn start_point(
        &self,
        id: Uuid,
        after_seq: i64,
    ) -> Result<(Option<pb::WatchBackupResponse>, i64, bool), Status> {
        let internal = |e: crate::store::StoreError| {
            tracing::error!(backup_id = %id, error = %e, "cannot read backup");
            Status::internal("internal error")
        };
        let (row, hosts, counts) = backups::snapshot(&self.pool, id)
            .await
            .map_err(internal)?
            .ok_or_else(|| Status::not_found(format!("backup `{id}` not found")))?;
        if after_seq > row.last_seq {
            return Err(Status::out_of_range(format!(
                "after_seq {after_seq} is beyond the latest event {}",
                row.last_seq
            )));
        }
        let terminal = row.state().is_terminal();
        if after_seq > 0 {
            return Ok((None, after_seq, terminal && after_seq == row.last_seq));
        }
        let retries = backups::retries_of(&self.pool, id)
            .await
            .map_err(internal)?;
        let hosts = hosts.iter().map(crate::convert::host_message).collect();
        let snapshot = pb::WatchBackupResponse {
            seq: row.last_seq,
            event_time: Some(crate::convert::timestamp(row.updated_at)),
            event: Some(pb::watch_backup_response::Event::Snapshot(backup_message(
                &row, &counts, hosts, &retries,
            ))),
        };
        Ok((Some(snapshot), row.last_seq, terminal))
    }
}

/// Resolves when `id` (or everything, after a reconnect: the nil id) was notified.
async fn wait_for(woken: &mut broadcast::Receiver<Uuid>, id: Uuid) {
    loop {
        match woken.recv().await {
            Ok(got) if got == id || got.is_nil() => return,
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(_)) => return,
            Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
        }
    }
}

/// LISTENs for event notifications and broadcasts backup ids; after a (re)connect it
/// broadcasts the nil id so every watcher re-reads what it may have missed.
async fn listen(pool: PgPool, wake: broadcast::Sender<Uuid>) {
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot connect the event listener; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(events::CHANNEL).await {
            tracing::warn!(error = %e, "cannot LISTEN; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        let _ = wake.send(Uuid::nil());
        loop {
            match listener.try_recv().await {
                Ok(Some(n)) => {
                    if let Ok(id) = Uuid::parse_str(n.payload()) {
                        let _ = wake.send(id);
                    }
                }
                // The connection dropped: reconnect and resync everyone.
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "event listener failed; reconnecting");
                    break;
                }
            }
        }
    }
}
