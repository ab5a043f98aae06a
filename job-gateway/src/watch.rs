//! Shared pollers behind WatchJobInstance.
//!
//! However many watchers follow one job instance, one task polls BlueKing for it: watchers
//! subscribe to a `tokio::sync::watch` channel that the poller updates, so an upstream status
//! call happens once per poll tick, not once per watcher. Pollers are keyed by instance AND
//! operator, because BlueKing checks permissions per user: a watcher must never see a
//! snapshot fetched under someone else's name.
//!
//! The poll interval starts fast and grows by `factor` up to `max`, falling back to `initial`
//! whenever the snapshot changes. A poller stops when the job finishes, when a permanent error
//! ends it, or at the first tick with no watcher left, so a disconnected watcher costs nothing.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus::{IntCounter, IntGauge};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tonic::{Code, Status};

/// How often to poll: starts at `initial`, grows by `factor` up to `max`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// First interval, and the interval after every change.
    pub initial: Duration,
    /// Longest interval.
    pub max: Duration,
    /// Growth per unchanged tick.
    pub factor: f64,
}

impl Backoff {
    fn next(&self, current: Duration) -> Duration {
        current.mul_f64(self.factor).min(self.max)
    }
}

/// Bounds on one watcher's stream.
#[derive(Debug, Clone, Copy)]
pub struct StreamBounds {
    /// End the stream when no new snapshot arrived for this long.
    pub idle: Duration,
    /// End the stream after this long regardless.
    pub lifetime: Duration,
}

/// A future yielding one snapshot.
pub type FetchFuture<S> = Pin<Box<dyn Future<Output = Result<S, Status>> + Send>>;

/// What a poller publishes: nothing yet, a snapshot, or the error that ended polling.
type Published<S> = Option<Result<S, Status>>;

/// The registry of running pollers.
pub struct WatchHub<K, S> {
    pollers: Arc<Mutex<HashMap<K, watch::Sender<Published<S>>>>>,
    backoff: Backoff,
    gauges: Option<Gauges>,
}

/// Gauges of running pollers and open watcher streams.
#[derive(Clone)]
pub struct Gauges {
    /// Upstream pollers running now.
    pub pollers: IntGauge,
    /// Watcher streams open now.
    pub watchers: IntGauge,
    /// Upstream fetches made by all pollers.
    pub polls: IntCounter,
}

impl Gauges {
    /// Creates `job_watch_pollers` and `job_watch_watchers` and registers them in `registry`.
    pub fn register(registry: &prometheus::Registry) -> prometheus::Result<Self> {
        let pollers = IntGauge::new(
            "job_watch_pollers",
            "upstream status pollers running for WatchJobInstance",
        )?;
        let watchers = IntGauge::new("job_watch_watchers", "open WatchJobInstance streams")?;
        let polls = IntCounter::new(
            "job_watch_polls_total",
            "upstream status fetches made by WatchJobInstance pollers",
        )?;
        registry.register(Box::new(pollers.clone()))?;
        registry.register(Box::new(watchers.clone()))?;
        registry.register(Box::new(polls.clone()))?;
        Ok(Self {
            pollers,
            watchers,
            polls,
        })
    }
}

/// Decrements a gauge when dropped, however the task holding it ends.
struct GaugeGuard(Option<IntGauge>);

impl GaugeGuard {
    fn new(gauge: Option<IntGauge>) -> Self {
        if let Some(g) = &gauge {
            g.inc();
        }
        Self(gauge)
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        if let Some(g) = &self.0 {
            g.dec();
        }
    }
}

impl<K, S> WatchHub<K, S>
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    S: Clone + PartialEq + Send + Sync + 'static,
{
    /// An empty hub polling with `backoff`.
    pub fn new(backoff: Backoff) -> Self {
        Self {
            pollers: Arc::default(),
            backoff,
            gauges: None,
        }
    }

    /// The same hub, keeping `gauges` up to date.
    pub fn with_gauges(mut self, gauges: Gauges) -> Self {
        self.gauges = Some(gauges);
        self
    }

    /// Number of pollers running now.
    pub fn active_pollers(&self) -> usize {
        self.pollers.lock().expect("poisoned").len()
    }

    /// Subscribes to `key`, starting its poller (which calls `fetch`) if none runs.
    fn subscribe<F>(
        &self,
        key: K,
        fetch: F,
        finished: fn(&S) -> bool,
    ) -> watch::Receiver<Published<S>>
    where
        F: Fn() -> FetchFuture<S> + Send + 'static,
    {
        let mut pollers = self.pollers.lock().expect("poisoned");
        if let Some(tx) = pollers.get(&key) {
            return tx.subscribe();
        }
        let (tx, rx) = watch::channel(None);
        pollers.insert(key.clone(), tx.clone());
        let registry = Arc::clone(&self.pollers);
        let backoff = self.backoff;
        let guard = GaugeGuard::new(self.gauges.as_ref().map(|g| g.pollers.clone()));
        let polls = self.gauges.as_ref().map(|g| g.polls.clone());
        tokio::spawn(async move {
            let _guard = guard;
            let mut interval = backoff.initial;
            loop {
                if let Some(p) = &polls {
                    p.inc();
                }
                let result = fetch().await;
                let done = match &result {
                    Ok(s) => finished(s),
                    Err(e) => !is_transient(e),
                };
                let changed = tx.send_if_modified(|current| {
                    let same = matches!((&*current, &result), (Some(Ok(a)), Ok(b)) if a == b);
                    // A transient error after a snapshot is not news worth waking watchers for.
                    let transient_after_ok =
                        matches!((&*current, &result), (Some(Ok(_)), Err(e)) if !done && is_transient(e));
                    if same || transient_after_ok {
                        return false;
                    }
                    *current = Some(result);
                    true
                });
                interval = if changed {
                    backoff.initial
                } else {
                    backoff.next(interval)
                };
                if !done {
                    tokio::time::sleep(interval).await;
                }
                let mut pollers = registry.lock().expect("poisoned");
                if done || tx.receiver_count() == 0 {
                    pollers.remove(&key);
                    return;
                }
            }
        });
        rx
    }

    /// A stream of distinct snapshots for `key`, ending after a finished snapshot, on a
    /// permanent error, or at the `bounds` (with DEADLINE_EXCEEDED).
    pub fn watch<F>(
        &self,
        key: K,
        fetch: F,
        finished: fn(&S) -> bool,
        bounds: StreamBounds,
    ) -> mpsc::Receiver<Result<S, Status>>
    where
        F: Fn() -> FetchFuture<S> + Send + 'static,
    {
        let mut rx = self.subscribe(key, fetch, finished);
        let (out, stream) = mpsc::channel(4);
        let guard = GaugeGuard::new(self.gauges.as_ref().map(|g| g.watchers.clone()));
        tokio::spawn(async move {
            let _guard = guard;
            let end_of_life = Instant::now() + bounds.lifetime;
            loop {
                let current = rx.borrow_and_update().clone();
                match current {
                    Some(Ok(snapshot)) => {
                        let last = finished(&snapshot);
                        if out.send(Ok(snapshot)).await.is_err() || last {
                            return;
                        }
                    }
                    Some(Err(e)) if !is_transient(&e) => {
                        let _ = out.send(Err(e)).await;
                        return;
                    }
                    _ => {}
                }
                let idle_end = (Instant::now() + bounds.idle).min(end_of_life);
                tokio::select! {
                    changed = rx.changed() => if changed.is_err() { return },
                    () = out.closed() => return,
                    () = tokio::time::sleep_until(idle_end) => {
                        let why = if idle_end == end_of_life { "stream lifetime" } else { "idle time" };
                        let _ = out.send(Err(Status::deadline_exceeded(format!(
                            "watch ended: {why} exceeded before the job finished"
                        )))).await;
                        return;
                    }
                }
            }
        });
        stream
    }
}

/// Errors worth polling through: BlueKing may answer on the next tick.
fn is_transient(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted
    )
}

#[cfg(test)]
#[path = "watch_tests.rs"]
mod tests;
