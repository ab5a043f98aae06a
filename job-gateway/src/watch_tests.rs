//! Tests of the shared pollers, on paused time so intervals are exact and nothing sleeps.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

const BACKOFF: Backoff = Backoff {
    initial: Duration::from_millis(100),
    max: Duration::from_millis(800),
    factor: 2.0,
};
const BOUNDS: StreamBounds = StreamBounds {
    idle: Duration::from_secs(60),
    lifetime: Duration::from_secs(3600),
};

/// A fake upstream: snapshot `n` is the number of calls so far, "finished" at `finish_at`.
fn counter(calls: Arc<AtomicUsize>, finish_at: usize) -> impl Fn() -> FetchFuture<usize> + Send {
    move || {
        let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
        Box::pin(async move { Ok(n.min(finish_at)) })
    }
}

fn finished_at_3(n: &usize) -> bool {
    *n >= 3
}

#[tokio::test(start_paused = true)]
async fn many_watchers_of_one_instance_share_one_upstream_poller() {
    let hub: WatchHub<u64, usize> = WatchHub::new(BACKOFF);
    let calls = Arc::new(AtomicUsize::new(0));
    let mut streams: Vec<_> = (0..100)
        .map(|_| hub.watch(7, counter(calls.clone(), 3), finished_at_3, BOUNDS))
        .collect();
    assert_eq!(hub.active_pollers(), 1);
    for s in &mut streams {
        let mut seen = vec![];
        while let Some(item) = s.recv().await {
            seen.push(item.unwrap());
        }
        assert_eq!(*seen.last().unwrap(), 3);
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "one upstream call per tick"
    );
    tokio::task::yield_now().await;
    assert_eq!(hub.active_pollers(), 0);
}

#[tokio::test(start_paused = true)]
async fn the_poll_interval_grows_while_nothing_changes_and_is_capped() {
    let hub: WatchHub<u64, usize> = WatchHub::new(BACKOFF);
    let times = Arc::new(Mutex::new(vec![]));
    let t = times.clone();
    let start = Instant::now();
    let fetch = move || {
        t.lock().unwrap().push(start.elapsed().as_millis() as u64);
        let done = t.lock().unwrap().len() >= 6;
        Box::pin(async move { Ok(usize::from(done)) }) as FetchFuture<usize>
    };
    let mut s = hub.watch(1, fetch, |n| *n == 1, BOUNDS);
    while s.recv().await.is_some() {}
    // first call at 0; unchanged snapshots back off 200, 400, 800, 800 (capped) after the
    // first change at t=0 reset the interval to 100.
    assert_eq!(*times.lock().unwrap(), [0, 100, 300, 700, 1500, 2300]);
}

#[tokio::test(start_paused = true)]
async fn a_poller_stops_once_its_last_watcher_disconnects() {
    let hub: WatchHub<u64, usize> = WatchHub::new(BACKOFF);
    let calls = Arc::new(AtomicUsize::new(0));
    let mut s = hub.watch(9, counter(calls.clone(), usize::MAX), |_| false, BOUNDS);
    assert_eq!(s.recv().await.unwrap().unwrap(), 1);
    drop(s);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let after_drop = calls.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(
        calls.load(Ordering::SeqCst),
        after_drop,
        "no calls once nobody watches"
    );
    assert_eq!(hub.active_pollers(), 0);
}

#[tokio::test(start_paused = true)]
async fn different_operators_get_different_pollers() {
    let hub: WatchHub<(u64, &'static str), usize> = WatchHub::new(BACKOFF);
    let calls = Arc::new(AtomicUsize::new(0));
    let _a = hub.watch(
        (1, "alice"),
        counter(calls.clone(), usize::MAX),
        |_| false,
        BOUNDS,
    );
    let _b = hub.watch(
        (1, "bob"),
        counter(calls.clone(), usize::MAX),
        |_| false,
        BOUNDS,
    );
    assert_eq!(hub.active_pollers(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_permanent_error_ends_every_stream_with_that_error() {
    let hub: WatchHub<u64, usize> = WatchHub::new(BACKOFF);
    let fetch = || Box::pin(async { Err(Status::not_found("no such job")) }) as FetchFuture<usize>;
    let mut s = hub.watch(3, fetch, |_| false, BOUNDS);
    let err = s.recv().await.unwrap().unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert!(s.recv().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn transient_errors_are_polled_through() {
    let hub: WatchHub<u64, usize> = WatchHub::new(BACKOFF);
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let fetch = move || {
        let n = c.fetch_add(1, Ordering::SeqCst) + 1;
        Box::pin(async move {
            if n < 3 {
                Err(Status::unavailable("bk down"))
            } else {
                Ok(3usize)
            }
        }) as FetchFuture<usize>
    };
    let mut s = hub.watch(4, fetch, finished_at_3, BOUNDS);
    assert_eq!(s.recv().await.unwrap().unwrap(), 3);
    assert!(s.recv().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn an_idle_stream_ends_with_deadline_exceeded() {
    let hub: WatchHub<u64, usize> = WatchHub::new(BACKOFF);
    let fetch = || Box::pin(async { Ok(0usize) }) as FetchFuture<usize>;
    let bounds = StreamBounds {
        idle: Duration::from_secs(5),
        lifetime: Duration::from_secs(3600),
    };
    let mut s = hub.watch(5, fetch, |_| false, bounds);
    assert_eq!(s.recv().await.unwrap().unwrap(), 0);
    let start = Instant::now();
    let err = s.recv().await.unwrap().unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded);
    assert_eq!(start.elapsed(), Duration::from_secs(5));
}
