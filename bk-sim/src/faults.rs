//! Injected faults: per-API latency, error rate, fail-next, token-bucket rate limits, and host faults.
//!
//! Decision: faults are keyed by API name (`fast_execute_script`) or `*` for every API; an API-specific
//! entry wins over `*`. Buckets are per (API key, app code) like the gateway's per-app strategies, and are
//! rebuilt whenever the spec is replaced so a test starts from a full bucket.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::Rng;
use serde::{Deserialize, Serialize};

/// The complete fault configuration (JSON over the admin API, TOML with `--faults`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// API name or `*` → fault.
    #[serde(default)]
    pub apis: BTreeMap<String, ApiFault>,
    /// Host faults applied when a job step reaches the host.
    #[serde(default)]
    pub hosts: Vec<HostFault>,
}

impl FaultSpec {
    /// Reads a faults file (TOML).
    pub fn load(path: &std::path::Path) -> crate::Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            crate::SimError::Faults(format!("cannot read `{}`: {e}", path.display()))
        })?;
        toml::from_str(&text)
            .map_err(|e| crate::SimError::Faults(format!("`{}`: {e}", path.display())))
    }
}

/// Faults of one API.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApiFault {
    /// Added before the answer.
    #[serde(default)]
    pub latency_ms: u64,
    /// Probability in [0, 1] that a call fails with `error`.
    #[serde(default)]
    pub error_rate: f64,
    /// The next N calls fail with `error` (deterministic alternative to `error_rate`).
    #[serde(default)]
    pub fail_next: u32,
    #[serde(default)]
    pub error: InjectedError,
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
}

/// What an injected failure looks like.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InjectedError {
    /// HTTP 502/503/504 from the front door (gateway error body; plain text via ESB).
    Http { status: u16 },
    /// HTTP 200 with `result: false` and this code.
    Code { code: i64, message: String },
    /// The front door's rate-limit refusal, exactly as a `rate_limit` bucket gives it (gateway
    /// HTTP 429 `1642903`, ESB `1306429`): `fail_next` then refuses an exact number of calls.
    RateLimited,
}

impl Default for InjectedError {
    fn default() -> Self {
        InjectedError::Http { status: 503 }
    }
}

/// Token bucket: `per_second` refill, `burst` capacity.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: u32,
}

/// A host fault.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HostFault {
    pub host_id: i64,
    pub kind: HostFaultKind,
    /// `disk_full` only: directory (inside the host) that gets a tiny filesystem; default `/project/backup`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// `disk_full` only: capacity of that filesystem; default 4096 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
}

/// What happens on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HostFaultKind {
    /// The script never finishes (until timeout or terminate).
    Hang,
    /// The agent drops while the script runs: the run is lost and the agent reports offline afterwards.
    OfflineMidJob,
    /// Writes under `path` fail with ENOSPC once `size_bytes` are used; what was written there is gone
    /// after the run (a per-run tmpfs).
    DiskFull,
}

/// The outcome of the fault checks for one call.
#[derive(Debug, Clone, Default)]
pub struct Decision {
    pub latency: Duration,
    pub reject: Option<Reject>,
}

/// Why a call is refused before reaching its handler.
#[derive(Debug, Clone, PartialEq)]
pub enum Reject {
    RateLimited,
    Injected(InjectedError),
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Live fault state.
#[derive(Default)]
pub struct Faults {
    spec: Mutex<FaultSpec>,
    buckets: Mutex<HashMap<(String, String), Bucket>>,
}

impl Faults {
    /// Faults starting from `spec`.
    pub fn new(spec: FaultSpec) -> Self {
        Self {
            spec: Mutex::new(spec),
            buckets: Mutex::default(),
        }
    }

    /// Current spec (with `fail_next` counters as they stand).
    pub fn spec(&self) -> FaultSpec {
        lock(&self.spec).clone()
    }

    /// Replaces the whole spec and refills every bucket.
    pub fn replace(&self, spec: FaultSpec) {
        *lock(&self.spec) = spec;
        lock(&self.buckets).clear();
    }

    /// Sets or clears (`None`) the fault of one API key.
    pub fn set_api(&self, api: &str, fault: Option<ApiFault>) {
        let mut spec = lock(&self.spec);
        match fault {
            Some(f) => spec.apis.insert(api.to_string(), f),
            None => spec.apis.remove(api),
        };
        lock(&self.buckets).retain(|(k, _), _| k != api);
    }

    /// Sets a host fault, replacing any other fault of that host.
    pub fn set_host(&self, fault: HostFault) {
        let mut spec = lock(&self.spec);
        spec.hosts.retain(|h| h.host_id != fault.host_id);
        spec.hosts.push(fault);
    }

    /// Clears the fault of one host.
    pub fn clear_host(&self, host_id: i64) {
        lock(&self.spec).hosts.retain(|h| h.host_id != host_id);
    }

    /// The host fault in force for `host_id`, if any.
    pub fn host(&self, host_id: i64) -> Option<HostFault> {
        lock(&self.spec)
            .hosts
            .iter()
            .find(|h| h.host_id == host_id)
            .cloned()
    }

    /// Decides latency and rejection for one call of `api` by `app`.
    pub fn decide(&self, api: &str, app: &str) -> Decision {
        let mut spec = lock(&self.spec);
        let key = if spec.apis.contains_key(api) {
            api.to_string()
        } else {
            "*".to_string()
        };
        let Some(fault) = spec.apis.get_mut(&key) else {
            return Decision::default();
        };
        let latency = Duration::from_millis(fault.latency_ms);
        if let Some(rl) = &fault.rate_limit
            && !self.take_token(&key, app, rl)
        {
            return Decision {
                latency,
                reject: Some(Reject::RateLimited),
            };
        }
        let fail = if fault.fail_next > 0 {
            fault.fail_next -= 1;
            true
        } else {
            fault.error_rate > 0.0 && rand::rng().random::<f64>() < fault.error_rate
        };
        let reject = fail.then(|| Reject::Injected(fault.error.clone()));
        Decision { latency, reject }
    }

    fn take_token(&self, key: &str, app: &str, rl: &RateLimit) -> bool {
        let mut buckets = lock(&self.buckets);
        let now = Instant::now();
        let b = buckets
            .entry((key.to_string(), app.to_string()))
            .or_insert(Bucket {
                tokens: f64::from(rl.burst),
                at: now,
            });
        let refill = now.duration_since(b.at).as_secs_f64() * rl.per_second;
        b.tokens = (b.tokens + refill).min(f64::from(rl.burst));
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Locks a mutex, recovering from poisoning (state stays usable after a panicked request).
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limited(burst: u32) -> FaultSpec {
        let mut spec = FaultSpec::default();
        let rate_limit = Some(RateLimit {
            per_second: 0.001,
            burst,
        });
        spec.apis.insert(
            "*".into(),
            ApiFault {
                rate_limit,
                ..ApiFault::default()
            },
        );
        spec
    }

    #[test]
    fn a_bucket_admits_exactly_its_burst_then_refuses() {
        let f = Faults::new(limited(3));
        let admitted = (0..5)
            .filter(|_| f.decide("search_business", "app").reject.is_none())
            .count();
        assert_eq!(admitted, 3);
    }

    #[test]
    fn buckets_are_per_app() {
        let f = Faults::new(limited(1));
        assert_eq!(f.decide("x", "a").reject, None);
        assert_eq!(f.decide("x", "b").reject, None);
        assert_eq!(f.decide("x", "a").reject, Some(Reject::RateLimited));
    }

    #[test]
    fn fail_next_fails_that_many_calls_only() {
        let mut spec = FaultSpec::default();
        spec.apis.insert(
            "get_job_instance_status".into(),
            ApiFault {
                fail_next: 2,
                ..ApiFault::default()
            },
        );
        let f = Faults::new(spec);
        let rejected: Vec<bool> = (0..3)
            .map(|_| f.decide("get_job_instance_status", "a").reject.is_some())
            .collect();
        assert_eq!(rejected, vec![true, true, false]);
        assert_eq!(f.decide("other", "a").reject, None);
    }

    #[test]
    fn an_injected_rate_limit_refuses_exactly_the_next_calls() {
        let mut spec = FaultSpec::default();
        let fault: ApiFault =
            serde_json::from_str(r#"{"fail_next": 2, "error": {"kind": "rate_limited"}}"#)
                .expect("parses");
        spec.apis.insert("fast_execute_script".into(), fault);
        let f = Faults::new(spec);
        let rejects: Vec<Option<Reject>> = (0..3)
            .map(|_| f.decide("fast_execute_script", "a").reject)
            .collect();
        let limited = Some(Reject::Injected(InjectedError::RateLimited));
        assert_eq!(rejects, vec![limited.clone(), limited, None]);
    }

    #[test]
    fn a_faults_file_in_toml_parses_into_the_spec() {
        let text = "[apis.\"*\"]\nrate_limit = { per_second = 100, burst = 100 }\n\n[apis.get_job_instance_status]\nlatency_ms = 50\nerror = { kind = \"code\", code = 1240001, message = \"busy\" }\n\n[[hosts]]\nhost_id = 1005\nkind = \"hang\"\n";
        let spec: FaultSpec = toml::from_str(text).expect("parses");
        assert_eq!(
            spec.apis["*"].rate_limit,
            Some(RateLimit {
                per_second: 100.0,
                burst: 100
            })
        );
        assert_eq!(
            spec.apis["get_job_instance_status"].error,
            InjectedError::Code {
                code: 1_240_001,
                message: "busy".into()
            }
        );
        assert_eq!(
            spec.hosts,
            vec![HostFault {
                host_id: 1005,
                kind: HostFaultKind::Hang,
                path: None,
                size_bytes: None
            }]
        );
    }
}
