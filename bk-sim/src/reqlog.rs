//! Every BlueKing request the simulator received, for tests that count upstream calls.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;
use serde_json::Value;

use crate::faults::lock;

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
    /// BlueKing `code` of the answer.
    pub code: i64,
}

/// The request log.
#[derive(Default)]
pub struct RequestLog {
    records: Mutex<Vec<RequestRecord>>,
}

impl RequestLog {
    /// Appends a record, assigning its sequence number.
    pub fn push(&self, mut r: RequestRecord) {
        let mut records = lock(&self.records);
        r.seq = records.len() as u64 + 1;
        records.push(r);
    }

    /// Records matching the optional API and transport filters.
    pub fn list(&self, api: Option<&str>, transport: Option<&str>) -> Vec<RequestRecord> {
        lock(&self.records)
            .iter()
            .filter(|r| {
                api.is_none_or(|a| r.api == a) && transport.is_none_or(|t| r.transport == t)
            })
            .cloned()
            .collect()
    }

    /// Count per API.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for r in lock(&self.records).iter() {
            *out.entry(r.api.clone()).or_insert(0) += 1;
        }
        out
    }

    /// Forgets every record.
    pub fn clear(&self) {
        lock(&self.records).clear();
    }
}
