//! WatchBackup: a snapshot, then every stored event in sequence until the backup is terminal.
//!
//! The `backup_events` table is the truth; LISTEN/NOTIFY is only the wake-up. One listener
//! connection per replica fans notifications out through a broadcast channel to one shared
//! reader per watched backup (`feed.rs`), which reads each new event once and hands it to every
//! watcher of that backup. A watcher joins the feed before it reads its start point, so from a
//! snapshot it needs no table read at all; it reads the table itself only to catch up, when it
//! resumes from an `after_seq` behind the latest event or falls out of its feed's buffer. It
//! tracks its last sequence number, so it sees every event exactly once whichever replica wrote
//! it. Watchers never call BlueKing: the worker driving the backup is its only poller, however
//! many watch. One caller may hold a bounded number of streams (`limit.rs`).

mod feed;
mod limit;

pub use limit::{Held, WatchLimit, WatchSlot};

use std::sync::Arc;
use std::time::Duration;

use proto::backup::v1 as pb;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{Semaphore, broadcast, mpsc};
use tokio::time::Instant;
use tonic::Status;
use uuid::Uuid;

use self::feed::{Feeds, ReadCounts};
use crate::convert::{backup_message, event_message};
use crate::store::{backups, events};

/// Events read per query.
const BATCH: i64 = 500;
/// Re-read the table this often even without a notification (a lost NOTIFY costs at most this).
const RESYNC: Duration = Duration::from_secs(5);
/// Watcher catch-up reads in flight at once: 1,000 watchers opened together must not drain
/// the pool and starve the worker (docs/benchmarks.md).
const WATCHER_READS: usize = 3;

type Sink = mpsc::Sender<Result<pb::WatchBackupResponse, Status>>;

/// Shared by the watchers of one replica.
#[derive(Clone)]
pub struct Progress {
    pool: PgPool,
    feeds: Arc<Feeds>,
    lifetime: Duration,
    reads: Arc<Semaphore>,
    limit: WatchLimit,
}

impl Progress {
    /// Starts the replica's listener on `pool` (it reconnects by itself); counts table reads
    /// and running feeds in `registry`. One caller may hold `max_per_caller` streams.
    pub fn start(
        pool: PgPool,
        lifetime: Duration,
        max_per_caller: usize,
        registry: &prometheus::Registry,
    ) -> prometheus::Result<Self> {
        let reads = prometheus::IntCounterVec::new(
            prometheus::Opts::new(
                "backup_watch_event_reads_total",
                "Reads of backup_events for WatchBackup, by reader: one shared feed per watched \
                 backup, or one watcher catching up",
            ),
            &["reader"],
        )?;
        let feeds = prometheus::IntGauge::new(
            "backup_watch_feeds",
            "Backups with a shared progress reader on this replica",
        )?;
        registry.register(Box::new(reads.clone()))?;
        registry.register(Box::new(feeds.clone()))?;
        let counts = ReadCounts {
            shared: reads.with_label_values(&["shared"]),
            catch_up: reads.with_label_values(&["catch_up"]),
            feeds,
        };
        let (wake, _) = broadcast::channel(1024);
        tokio::spawn(listen(pool.clone(), wake.clone()));
        Ok(Self {
            feeds: Arc::new(Feeds::new(pool.clone(), wake, counts)),
            pool,
            lifetime,
            reads: Arc::new(Semaphore::new(WATCHER_READS)),
            limit: WatchLimit::new(max_per_caller),
        })
    }

    /// A stream slot for the caller of `request` (see `limit.rs`): RESOURCE_EXHAUSTED when it
    /// holds `watch.max_streams_per_caller` already.
    pub fn admit<T>(&self, request: &tonic::Request<T>) -> Result<WatchSlot, Status> {
        self.limit.admit(request)
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
        // Joined before the start point is read: the running feed then sends everything
        // after it, and no table read is needed to bridge the two.
        let joined = self.feeds.join(id);
        let permit = self.reads.acquire().await.expect("never closed");
        let (first, last_seq, latest) = self.start_point(id, after_seq).await?;
        drop(permit);
        // Subscribed before this call returns: whatever is stored after it reaches the stream.
        let feed = latest.map(|_| joined.unwrap_or_else(|| self.feeds.subscribe(id, last_seq)));
        let (tx, rx) = mpsc::channel(64);
        let this = self.clone();
        tokio::spawn(async move {
            if let Some(snapshot) = first
                && tx.send(Ok(snapshot)).await.is_err()
            {
                return;
            }
            // Terminal already and nothing after the start point: the stream is complete.
            if let (Some(latest), Some(feed)) = (latest, feed) {
                this.follow(id, last_seq, latest, feed, &tx).await;
            }
        });
        Ok(rx)
    }

    /// Sends every event after `last_seq` until the terminal one, the caller leaving, a read
    /// error or the lifetime bound: from the table up to `latest` (already stored when the
    /// stream started), then from `feed`, back to the table whenever the feed skips ahead.
    async fn follow(
        &self,
        id: Uuid,
        mut last_seq: i64,
        latest: i64,
        mut feed: broadcast::Receiver<Arc<feed::Item>>,
        tx: &Sink,
    ) {
        let end = Instant::now() + self.lifetime;
        let mut behind = last_seq < latest;
        loop {
            if behind {
                match self.catch_up(id, &mut last_seq, tx).await {
                    Ok(false) => behind = false,
                    Ok(true) => return,
                    Err(e) => return unreadable(id, &e, tx).await,
                }
            }
            let item = tokio::select! {
                () = tx.closed() => return,
                () = tokio::time::sleep_until(end) => {
                    let _ = tx.send(Err(Status::deadline_exceeded(
                        "watch lifetime reached; resume with after_seq",
                    ))).await;
                    return;
                }
                item = feed.recv() => item,
            };
            match item {
                Ok(item) if item.seq <= last_seq => {}
                Ok(item) if item.seq == last_seq + 1 => {
                    last_seq = item.seq;
                    if tx.send(Ok(item.message.clone())).await.is_err() || item.terminal {
                        return;
                    }
                }
                // The feed is ahead (it started past this watcher's position) or this watcher
                // fell out of its buffer: the table has everything.
                Ok(_) | Err(RecvError::Lagged(_)) => behind = true,
                // The feed ended (a read error, or the terminal event was sent before this
                // watcher joined): catch up, then follow a new feed from there.
                Err(RecvError::Closed) => {
                    match self.catch_up(id, &mut last_seq, tx).await {
                        Ok(true) => return,
                        Ok(false) => {}
                        Err(e) => return unreadable(id, &e, tx).await,
                    }
                    feed = self.feeds.subscribe(id, last_seq);
                }
            }
        }
    }

    /// Sends the stored events after `last_seq`; true when the stream is over (terminal event
    /// sent, or the caller left).
    async fn catch_up(
        &self,
        id: Uuid,
        last_seq: &mut i64,
        tx: &Sink,
    ) -> Result<bool, crate::store::StoreError> {
        loop {
            let permit = self.reads.acquire().await.expect("never closed");
            let batch = events::after(&self.pool, id, *last_seq, BATCH).await;
            drop(permit);
            self.feeds.counts().catch_up.inc();
            let batch = batch?;
            let full = batch.len() as i64 == BATCH;
            for e in batch {
                *last_seq = e.seq;
                let terminal = e.event.is_terminal();
                if tx.send(Ok(event_message(e))).await.is_err() || terminal {
                    return Ok(true);
                }
            }
            if !full {
                return Ok(false);
            }
        }
    }

    /// The snapshot (when `after_seq` is 0), the sequence number streaming starts after, and
    /// the latest stored sequence number, or None when nothing can follow (the backup is
    /// terminal and its last event already sent).
    async fn start_point(
        &self,
        id: Uuid,
        after_seq: i64,
    ) -> Result<(Option<pb::WatchBackupResponse>, i64, Option<i64>), Status> {
        // UNAVAILABLE when the database is unreachable, INTERNAL otherwise (the cause is
        // logged by the mapping).
        let internal = |e: crate::store::StoreError| {
            tracing::warn!(backup_id = %id, "cannot read backup");
            Status::from(crate::error::BackupError::Store(e))
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
        let over = |from: i64| row.state().is_terminal() && from == row.last_seq;
        let latest = |from: i64| (!over(from)).then_some(row.last_seq);
        if after_seq > 0 {
            return Ok((None, after_seq, latest(after_seq)));
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
        Ok((Some(snapshot), row.last_seq, latest(row.last_seq)))
    }
}

/// Ends a stream whose events cannot be read; the caller resumes with its last `seq`.
async fn unreadable(id: Uuid, error: &crate::store::StoreError, tx: &Sink) {
    tracing::error!(backup_id = %id, %error, "cannot read events");
    let status = Status::unavailable("cannot read progress; resume with after_seq");
    let _ = tx.send(Err(status)).await;
}

/// Resolves when `id` (or everything, after a reconnect: the nil id) was notified.
async fn wait_for(woken: &mut broadcast::Receiver<Uuid>, id: Uuid) {
    loop {
        match woken.recv().await {
            Ok(got) if got == id || got.is_nil() => return,
            Ok(_) => {}
            Err(RecvError::Lagged(_)) => return,
            Err(RecvError::Closed) => std::future::pending().await,
        }
    }
}

/// LISTENs for event notifications and broadcasts backup ids; after a (re)connect it
/// broadcasts the nil id so every feed re-reads what it may have missed.
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

#[cfg(test)]
mod tests;
