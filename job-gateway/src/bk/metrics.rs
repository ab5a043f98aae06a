//! Prometheus metrics of the BlueKing client: upstream calls by API, transport and outcome
//! (the BlueKing code, or the failure class when no code came back), retries and rate-limit
//! waits.
//!
//! One attempt is one upstream call, so a retried call counts once per attempt; retries are
//! also counted on their own so a dashboard can tell load from flakiness.

use prometheus::{Histogram, HistogramOpts, IntCounterVec, Opts, Registry};

use super::error::BkError;

/// The client's metrics, registered once per registry.
#[derive(Clone)]
pub struct BkMetrics {
    calls: IntCounterVec,
    retries: IntCounterVec,
    rate_limit_waits: Histogram,
}

impl BkMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let calls = IntCounterVec::new(
            Opts::new(
                "bk_upstream_calls_total",
                "HTTP calls to BlueKing, by api, transport and code (BlueKing code or failure class)",
            ),
            &["api", "transport", "code"],
        )?;
        let retries = IntCounterVec::new(
            Opts::new(
                "bk_upstream_retries_total",
                "BlueKing calls sent again, by api",
            ),
            &["api"],
        )?;
        let rate_limit_waits = Histogram::with_opts(
            HistogramOpts::new(
                "bk_rate_limit_wait_seconds",
                "time calls waited for a token of our own rate limit toward BlueKing",
            )
            .buckets(vec![0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]),
        )?;
        registry.register(Box::new(calls.clone()))?;
        registry.register(Box::new(retries.clone()))?;
        registry.register(Box::new(rate_limit_waits.clone()))?;
        Ok(Self {
            calls,
            retries,
            rate_limit_waits,
        })
    }

    pub(crate) fn attempt<T>(&self, api: &str, transport: &str, result: &Result<T, BkError>) {
        let code = match result {
            Ok(_) => "0".to_owned(),
            Err(e) => outcome(e),
        };
        self.calls
            .with_label_values(&[api, transport, code.as_str()])
            .inc();
    }

    pub(crate) fn retry(&self, api: &str) {
        self.retries.with_label_values(&[api]).inc();
    }

    pub(crate) fn rate_limit_wait(&self, waited: std::time::Duration) {
        self.rate_limit_waits.observe(waited.as_secs_f64());
    }
}

/// The BlueKing code, else the failure class.
fn outcome(e: &BkError) -> String {
    if let Some(code) = e.code() {
        return code.to_string();
    }
    match e {
        BkError::NotDelivered { .. } => "not_delivered",
        BkError::Timeout { .. } => "timeout",
        BkError::Transport { .. } => "transport",
        BkError::Unavailable { http_status, .. } => return format!("http_{http_status}"),
        BkError::Undecodable { .. } => "undecodable",
        BkError::Invalid { .. } => "invalid",
        _ => "error",
    }
    .to_owned()
}
