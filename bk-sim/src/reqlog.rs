//! Every BlueKing request the simulator received, for tests that count upstream calls.
//!
//! Decision: counts are exact for the simulator's whole life (until reset) while only the most recent
//! records are kept, so a benchmark of millions of calls cannot exhaust memory.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use serde::Serialize;
use serde_json::Value;

use crate::faults::lock;

/// Records kept for listing; older ones are dropped (their counts stay).
pub const KEPT_RECORDS: usize = 100_000;

/// One received request and how it was answered.
#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    pub seq: u64,
    /// RFC 3339 receive time.
    pub at: String,
    /// `esb` or `gateway`.
    pub transport: &'static str,
    /// `job`, `cmdb` or `gse`.
    pub system: &'static str,
    /// API name, e.g. `fast_execute_script`; the raw path when unknown.
    pub api: String,
    pub method: String,
    pub app_code: Option<String>,
    pub username: Option<String>,
    /// Request parameters without credentials.
    pub params: Value,
    pub http_status: u16,
    /// BlueKing `code` of the answer (-1 when the answer had none).
    pub code: i64,
}

#[derive(Default)]
struct Inner {
    total: u64,
    counts: BTreeMap<String, u64>,
    records: VecDeque<RequestRecord>,
}

/// The request log.
#[derive(Default)]
pub struct RequestLog {
    inner: Mutex<Inner>,
}

impl RequestLog {
    /// Appends a record, assigning its sequence number.
    pub fn push(&self, mut r: RequestRecord) {
        let mut inner = lock(&self.inner);
        inner.total += 1;
        r.seq = inner.total;
        *inner.counts.entry(r.api.clone()).or_insert(0) += 1;
        if inner.records.len() == KEPT_RECORDS {
            inner.records.pop_front();
        }
        inner.records.push_back(r);
    }

    /// Kept records after sequence number `since` matching the optional API and transport filters,
    /// oldest first.
    pub fn list(
        &self,
        since: u64,
        api: Option<&str>,
        transport: Option<&str>,
    ) -> Vec<RequestRecord> {
        lock(&self.inner)
            .records
            .iter()
            .filter(|r| {
                r.seq > since
                    && api.is_none_or(|a| r.api == a)
                    && transport.is_none_or(|t| r.transport == t)
            })
            .cloned()
            .collect()
    }

    /// Total calls and calls per API since start or the last reset.
    pub fn counts(&self) -> (u64, BTreeMap<String, u64>) {
        let inner = lock(&self.inner);
        (inner.total, inner.counts.clone())
    }

    /// Forgets every record and count.
    pub fn clear(&self) {
        *lock(&self.inner) = Inner::default();
    }
}
