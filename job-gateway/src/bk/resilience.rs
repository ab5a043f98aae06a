//! Protection of BlueKing and of our callers: bounded concurrency, token-bucket rate limits
//! (global and per business) and retries with capped exponential backoff and jitter.
//!
//! The one rule a reader must know: a [`Effect::Write`] call (launch, terminate) is repeated
//! only after a failure that proves BlueKing never processed it
//! ([`BkError::proves_not_delivered`]); after a timeout or a 5xx a job may be running, so the
//! error goes back to the caller, who reconciles with `get_job_instance_list`.
//!
//! Every wait uses `tokio::time`, so tests drive it with `tokio::time::pause()`.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::error::{BkError, BkResult};
use super::transport::Effect;
use crate::config::BkSettings;

/// Retry rules: attempts and backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    /// Backoff before the first retry.
    pub base: Duration,
    /// Backoff cap.
    pub max: Duration,
}

impl RetryPolicy {
    /// The policy of `[bk]` settings.
    pub fn from_settings(bk: &BkSettings) -> Self {
        Self {
            max_attempts: bk.retry_max_attempts.max(1),
            base: Duration::from_millis(bk.retry_base_ms),
            max: Duration::from_millis(bk.retry_max_ms),
        }
    }

    /// Whether a call of `effect` that failed with `err` may be sent again.
    pub fn may_retry(effect: Effect, err: &BkError) -> bool {
        match effect {
            Effect::Read => err.is_retryable_for_reads(),
            Effect::Write => err.proves_not_delivered(),
        }
    }

    /// Upper bound of the wait before retry number `retry` (1-based): `base * 2^(retry-1)`,
    /// capped at `max`.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max)
    }

    /// The jittered wait before retry number `retry`: uniform in `[ceiling/2, ceiling]`
    /// ("equal jitter"), so retries spread out but never fire at once.
    pub fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self.ceiling(retry);
        let half = ceiling / 2;
        let spread = (ceiling - half).as_micros() as u64;
        let jitter = if spread == 0 {
            0
        } else {
            rand::rng().random_range(0..=spread)
        };
        half + Duration::from_micros(jitter)
    }

    /// The wait before retry `retry` after `err`: a rate limit's `Retry-After` wins when longer,
    /// still capped.
    fn delay_after(&self, retry: u32, err: &BkError) -> Duration {
        let backoff = self.backoff(retry);
        match err {
            BkError::RateLimited {
                retry_after: Some(after),
                ..
            } => (*after).max(backoff).min(self.max),
            _ => backoff,
        }
    }
}

/// Runs `attempt` (given the 1-based attempt number) until it succeeds, fails for good, or the
/// attempts are spent.
pub(crate) async fn with_retries<T, F, Fut>(
    policy: &RetryPolicy,
    effect: Effect,
    mut attempt: F,
) -> BkResult<T>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = BkResult<T>>,
{
    let mut n = 1;
    loop {
        match attempt(n).await {
            Ok(v) => return Ok(v),
            Err(err) if n < policy.max_attempts && RetryPolicy::may_retry(effect, &err) => {
                let delay = policy.delay_after(n, &err);
                tracing::warn!(
                    api = err.api(),
                    attempt = n,
                    delay_ms = delay.as_millis() as u64,
                    error = %err,
                    "retrying blueking call"
                );
                tokio::time::sleep(delay).await;
                n += 1;
            }
            Err(err) => return Err(err),
        }
    }
}

/// A token bucket: `rate` tokens per second, at most `burst` stored.
#[derive(Debug)]
struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
}

impl TokenBucket {
    fn new(rate: f64, burst: u32, now: Instant) -> Self {
        Self {
            rate,
            burst: f64::from(burst),
            tokens: f64::from(burst),
            at: now,
        }
    }

    /// Takes a token, or says how long until one is available.
    fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
        }
    }
}

/// Concurrency bound plus global and per-business token buckets toward BlueKing.
#[derive(Debug)]
pub(crate) struct Limiter {
    in_flight: Arc<Semaphore>,
    global: Option<Mutex<TokenBucket>>,
    per_biz: Option<BizBuckets>,
}

/// Per-business buckets, created on first use with the configured rate and burst.
#[derive(Debug)]
struct BizBuckets {
    rate: f64,
    burst: u32,
    buckets: Mutex<HashMap<i64, TokenBucket>>,
}

impl Limiter {
    /// A limiter from `[bk]` settings; a rate of 0 disables that bucket.
    pub(crate) fn from_settings(bk: &BkSettings) -> Self {
        let now = Instant::now();
        Self {
            in_flight: Arc::new(Semaphore::new(bk.max_concurrency.max(1))),
            global: (bk.rate_per_second > 0.0)
                .then(|| Mutex::new(TokenBucket::new(bk.rate_per_second, bk.rate_burst, now))),
            per_biz: (bk.biz_rate_per_second > 0.0).then(|| BizBuckets {
                rate: bk.biz_rate_per_second,
                burst: bk.biz_rate_burst,
                buckets: Mutex::default(),
            }),
        }
    }

    /// Waits for a token of `biz`'s bucket, of the global bucket, then a concurrency slot.
    /// Returns the slot (held until the call ends) and the time spent waiting for tokens.
    pub(crate) async fn acquire(&self, biz: Option<i64>) -> (OwnedSemaphorePermit, Duration) {
        let started = Instant::now();
        let mut slept = false;
        if let (Some(biz), Some(per_biz)) = (biz, &self.per_biz) {
            slept |= wait_for_token(|now| {
                let mut buckets = per_biz.buckets.lock().unwrap_or_else(|p| p.into_inner());
                buckets
                    .entry(biz)
                    .or_insert_with(|| TokenBucket::new(per_biz.rate, per_biz.burst, now))
                    .take(now)
            })
            .await;
        }
        if let Some(global) = &self.global {
            slept |=
                wait_for_token(|now| global.lock().unwrap_or_else(|p| p.into_inner()).take(now))
                    .await;
        }
        // Zero unless a bucket made the call wait, so callers can count real waits.
        let waited = if slept {
            started.elapsed()
        } else {
            Duration::ZERO
        };
        let permit = Arc::clone(&self.in_flight)
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        (permit, waited)
    }
}

/// Takes a token, sleeping until one is available; true when it had to sleep.
async fn wait_for_token(mut take: impl FnMut(Instant) -> Result<(), Duration>) -> bool {
    let mut slept = false;
    loop {
        match take(Instant::now()) {
            Ok(()) => return slept,
            Err(wait) => {
                slept = true;
                tokio::time::sleep(wait).await;
            }
        }
    }
}

#[cfg(test)]
#[path = "resilience_tests.rs"]
mod tests;
