//! Retry policy and limiter under `tokio::time::pause()`: virtual time, exact counts.

use std::cell::Cell;

use super::*;

const MS: Duration = Duration::from_millis(1);

fn policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base: 100 * MS,
        max: 1000 * MS,
    }
}

fn timeout() -> BkError {
    BkError::Timeout {
        api: "x",
        after: MS,
    }
}

fn refused() -> BkError {
    BkError::NotDelivered {
        api: "x",
        reason: "connection refused".to_owned(),
    }
}

/// Runs `with_retries` whose attempt n returns `outcomes[n-1]`; returns (result, attempts, elapsed).
async fn run(effect: Effect, outcomes: Vec<BkResult<u32>>) -> (BkResult<u32>, u32, Duration) {
    let outcomes = std::cell::RefCell::new(outcomes.into_iter());
    let attempts = Cell::new(0);
    let started = Instant::now();
    let result = with_retries(&policy(), effect, |n| {
        attempts.set(n);
        let next = outcomes
            .borrow_mut()
            .next()
            .expect("an outcome per attempt");
        async move { next }
    })
    .await;
    (result, attempts.get(), started.elapsed())
}

#[test]
fn the_backoff_ceiling_doubles_then_caps() {
    let p = policy();
    let ceilings: Vec<u128> = (1..=7).map(|r| p.ceiling(r).as_millis()).collect();
    assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000, 1000]);
    assert_eq!(p.ceiling(200), 1000 * MS);
}

#[test]
fn the_jittered_backoff_stays_between_half_and_the_ceiling() {
    let p = policy();
    for retry in 1..=5 {
        let ceiling = p.ceiling(retry);
        for _ in 0..200 {
            let b = p.backoff(retry);
            assert!(b >= ceiling / 2 && b <= ceiling, "{b:?} vs {ceiling:?}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_read_is_retried_after_a_timeout_with_growing_backoff() {
    let (result, attempts, elapsed) =
        run(Effect::Read, vec![Err(timeout()), Err(timeout()), Ok(7)]).await;
    assert_eq!(result.unwrap(), 7);
    assert_eq!(attempts, 3);
    // Waits of [50, 100] ms then [100, 200] ms.
    assert!(elapsed >= 150 * MS && elapsed <= 300 * MS, "{elapsed:?}");
}

#[tokio::test(start_paused = true)]
async fn a_read_gives_up_after_max_attempts() {
    let outcomes = (0..4).map(|_| Err(timeout())).collect();
    let (result, attempts, _) = run(Effect::Read, outcomes).await;
    assert!(matches!(result, Err(BkError::Timeout { .. })));
    assert_eq!(attempts, 4);
}

#[tokio::test(start_paused = true)]
async fn a_launch_is_never_retried_after_a_timeout_or_a_5xx() {
    let unavailable = BkError::Unavailable {
        api: "x",
        http_status: 502,
        code: None,
        message: "http 502".to_owned(),
        request_id: None,
    };
    for err in [timeout(), unavailable] {
        let (result, attempts, elapsed) = run(Effect::Write, vec![Err(err), Ok(1)]).await;
        assert!(result.is_err());
        assert_eq!(attempts, 1);
        assert_eq!(elapsed, Duration::ZERO);
    }
}

#[tokio::test(start_paused = true)]
async fn a_launch_is_retried_when_the_failure_proves_it_never_arrived() {
    let limited = BkError::RateLimited {
        api: "x",
        code: 1_642_903,
        request_id: None,
        retry_after: None,
    };
    let (result, attempts, _) = run(Effect::Write, vec![Err(refused()), Err(limited), Ok(9)]).await;
    assert_eq!(result.unwrap(), 9);
    assert_eq!(attempts, 3);
}

#[tokio::test(start_paused = true)]
async fn a_business_error_is_never_retried() {
    let denied = BkError::Business(Box::new(crate::bk::BusinessError {
        api: "x",
        code: 9_900_403,
        message: "denied".to_owned(),
        request_id: None,
        permission: None,
    }));
    let (result, attempts, _) = run(Effect::Read, vec![Err(denied), Ok(1)]).await;
    assert!(result.is_err());
    assert_eq!(attempts, 1);
}

#[tokio::test(start_paused = true)]
async fn a_rate_limits_retry_after_is_honoured_within_the_cap() {
    let limited = BkError::RateLimited {
        api: "x",
        code: 1_642_901,
        request_id: None,
        retry_after: Some(Duration::from_millis(700)),
    };
    let (result, attempts, elapsed) = run(Effect::Read, vec![Err(limited), Ok(1)]).await;
    assert_eq!((result.unwrap(), attempts), (1, 2));
    assert_eq!(elapsed, 700 * MS);
}

fn limiter(rate: f64, burst: u32, biz_rate: f64, biz_burst: u32, concurrency: usize) -> Limiter {
    let bk = BkSettings {
        rate_per_second: rate,
        rate_burst: burst,
        biz_rate_per_second: biz_rate,
        biz_rate_burst: biz_burst,
        max_concurrency: concurrency,
        ..BkSettings::default()
    };
    Limiter::from_settings(&bk)
}

#[tokio::test(start_paused = true)]
async fn the_global_bucket_admits_its_burst_then_paces_at_its_rate() {
    let l = limiter(10.0, 2, 0.0, 0, 8);
    let started = Instant::now();
    let mut waits = Vec::new();
    for _ in 0..4 {
        let (_slot, waited) = l.acquire(None).await;
        waits.push(waited.as_millis());
    }
    assert_eq!(waits, [0, 0, 100, 100]);
    assert_eq!(started.elapsed(), 200 * MS);
}

#[tokio::test(start_paused = true)]
async fn one_busy_business_does_not_slow_another() {
    let l = limiter(0.0, 0, 1.0, 1, 8);
    let (_a, waited) = l.acquire(Some(1)).await;
    assert_eq!(waited, Duration::ZERO);
    let (_b, waited) = l.acquire(Some(2)).await;
    assert_eq!(waited, Duration::ZERO);
    let (_c, waited) = l.acquire(Some(1)).await;
    assert_eq!(waited, Duration::from_secs(1));
    let (_d, waited) = l.acquire(None).await;
    assert_eq!(waited, Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn calls_beyond_the_concurrency_bound_wait_for_a_slot() {
    let l = limiter(0.0, 0, 0.0, 0, 1);
    let (slot, _) = l.acquire(None).await;
    let blocked = tokio::time::timeout(Duration::from_secs(60), l.acquire(None)).await;
    assert!(
        blocked.is_err(),
        "a second call got a slot while the first held it"
    );
    drop(slot);
    let freed = tokio::time::timeout(Duration::from_secs(60), l.acquire(None)).await;
    assert!(freed.is_ok());
}
