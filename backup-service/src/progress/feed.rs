//! One backup's shared event reader on this replica. Its watchers subscribe to it instead of
//! each re-reading the table on every notification: the feed reads new events once per
//! wake-up, converts them once, and broadcasts them. However many watch a backup, a replica
//! reads each of its events once (plus each watcher's own catch-up when it starts or falls
//! behind).
//!
//! A feed lives while someone watches and the backup is not terminal; it ends on the terminal
//! event, on a read error (watchers then read the table themselves), or at a wake-up that finds
//! nobody subscribed. Subscribing and ending both happen under the map's lock, so a new watcher
//! never subscribes to a feed that is going away.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use proto::backup::v1 as pb;
use sqlx::PgPool;
use tokio::sync::broadcast;
use uuid::Uuid;

use super::{BATCH, RESYNC, wait_for};
use crate::convert::event_message;
use crate::store::events;

/// Events a watcher may fall behind a feed before it reads the table instead. A backup's end
/// writes about two events per host in one transaction, so this covers the burst of a
/// 2,000-host backup; the slots hold shared pointers (about 200 KiB per watched backup).
const FEED_CAPACITY: usize = 4096;

/// An event as the feed broadcasts it, converted once for every watcher.
#[derive(Debug)]
pub(super) struct Item {
    /// Sequence number.
    pub seq: i64,
    /// Whether nothing follows it.
    pub terminal: bool,
    /// The stream message.
    pub message: pb::WatchBackupResponse,
}

/// Counts of table reads, for the metrics endpoint.
#[derive(Clone)]
pub(super) struct ReadCounts {
    /// Reads by shared feeds.
    pub shared: prometheus::IntCounter,
    /// Reads by single watchers catching up.
    pub catch_up: prometheus::IntCounter,
    /// Feeds running.
    pub feeds: prometheus::IntGauge,
}

/// The feeds of one replica.
pub(super) struct Feeds {
    pool: PgPool,
    wake: broadcast::Sender<Uuid>,
    running: Mutex<HashMap<Uuid, broadcast::Sender<Arc<Item>>>>,
    counts: ReadCounts,
}

impl Feeds {
    pub(super) fn new(pool: PgPool, wake: broadcast::Sender<Uuid>, counts: ReadCounts) -> Self {
        Self {
            pool,
            wake,
            running: Mutex::default(),
            counts,
        }
    }

    pub(super) fn counts(&self) -> &ReadCounts {
        &self.counts
    }

    /// Subscribes to backup `id`'s feed if one runs. Everything it sends after this call
    /// reaches the receiver, in order, and it has sent nothing the table did not hold.
    pub(super) fn join(&self, id: Uuid) -> Option<broadcast::Receiver<Arc<Item>>> {
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        running.get(&id).map(broadcast::Sender::subscribe)
    }

    /// Subscribes to backup `id`'s feed, starting one after sequence `from` when none runs.
    /// Everything the feed broadcasts after this call reaches the receiver, in order.
    pub(super) fn subscribe(
        self: &Arc<Self>,
        id: Uuid,
        from: i64,
    ) -> broadcast::Receiver<Arc<Item>> {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = running.get(&id) {
            return tx.subscribe();
        }
        let (tx, rx) = broadcast::channel(FEED_CAPACITY);
        running.insert(id, tx.clone());
        self.counts.feeds.inc();
        // Subscribed to wake-ups before the first read, so no notification falls between.
        let woken = self.wake.subscribe();
        tokio::spawn(Arc::clone(self).run(id, from, tx, woken));
        rx
    }

    async fn run(
        self: Arc<Self>,
        id: Uuid,
        mut cursor: i64,
        tx: broadcast::Sender<Arc<Item>>,
        mut woken: broadcast::Receiver<Uuid>,
    ) {
        loop {
            loop {
                let batch = match events::after(&self.pool, id, cursor, BATCH).await {
                    Ok(b) => b,
                    Err(e) => {
                        tracing::warn!(backup_id = %id, error = %e, "progress feed cannot read");
                        self.end(id, &tx, false);
                        return;
                    }
                };
                self.counts.shared.inc();
                let full = batch.len() as i64 == BATCH;
                for e in batch {
                    cursor = e.seq;
                    let terminal = e.event.is_terminal();
                    let item = Item {
                        seq: e.seq,
                        terminal,
                        message: event_message(e),
                    };
                    // No receiver right now is fine: a watcher may be between subscriptions.
                    let _ = tx.send(Arc::new(item));
                    if terminal {
                        self.end(id, &tx, false);
                        return;
                    }
                }
                if !full {
                    break;
                }
            }
            tokio::select! {
                () = tokio::time::sleep(RESYNC) => {}
                () = wait_for(&mut woken, id) => {}
            }
            if self.end(id, &tx, true) {
                return;
            }
        }
    }

    /// Removes the feed `tx` of `id` (only when nobody is subscribed, if `only_unwatched`);
    /// true when it was removed. Its receivers see the channel close once they drained it.
    fn end(&self, id: Uuid, tx: &broadcast::Sender<Arc<Item>>, only_unwatched: bool) -> bool {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if only_unwatched && tx.receiver_count() > 0 {
            return false;
        }
        if running.get(&id).is_some_and(|t| t.same_channel(tx)) {
            running.remove(&id);
            self.counts.feeds.dec();
        }
        true
    }
}
