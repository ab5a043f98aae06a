//! Helpers for the benchmark binaries in `benches/`: a world of many similar hosts, bk-sim's
//! call counters, this process's resident memory and latency summaries.
//!
//! The benches run bk-sim, the services and the load generators in ONE process, so memory is
//! the whole process's and every figure shares the same cores; they print figures, they do
//! not judge them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// The app, user and business every bench world has: app `bk-log-backup` / `bench-secret`
/// (login-exempt), user `admin` on every business, business 3 with one set and module 3001.
pub const APP_SECRET: &str = "bench-secret";

/// A world with `hosts` hosts (ids from `first_id`, IPs from `10.100.0.1`) in module 3001 of
/// business 3; each holds `files` generated `.log` files of 200–2,000 bytes under `/data/logs`
/// (none when `files` is 0).
pub fn bulk_world(hosts: u32, first_id: i64, files: u32) -> anyhow::Result<bk_sim::World> {
    let (profile, profiles) = if files > 0 {
        (
            format!(
                "[profile.bulk]\ngenerate = [{{ dir = \"/data/logs\", count = {files}, \
                 prefix = \"app_\", suffix = \".log\", min_size = 200, max_size = 2000, \
                 age_days = 3 }}]\n"
            ),
            "[\"bulk\"]",
        )
    } else {
        (String::new(), "[]")
    };
    let text = format!(
        r#"
[[app]]
code = "bk-log-backup"
secret = "{APP_SECRET}"
login_exempt = true

[[user]]
name = "admin"
all_businesses = true

[[business]]
id = 3
name = "Bench"
maintainer = "admin"

[[business.set]]
id = 301
name = "bulk"

[[business.set.module]]
id = 3001
name = "app"

{profile}
[[host_group]]
count = {hosts}
first_id = {first_id}
first_ip = "10.100.0.1"
name_prefix = "bulk-"
modules = [3001]
profiles = {profiles}
"#
    );
    Ok(bk_sim::World::from_toml(&text, None)?)
}

/// A fresh directory for bk-sim's host trees under `/dev/shm` (tmpfs) when it exists, else
/// `None` (bk-sim then uses a temporary directory it removes itself). The caller removes a
/// returned directory.
pub fn tmpfs_state_dir(tag: &str) -> Option<PathBuf> {
    let shm = PathBuf::from("/dev/shm");
    shm.is_dir()
        .then(|| shm.join(format!("bk-log-backup-{tag}-{}", std::process::id())))
}

/// bk-sim's request counts by API since it started.
pub async fn sim_counts(sim: &bk_sim::RunningSim) -> anyhow::Result<BTreeMap<String, u64>> {
    let counts: serde_json::Value =
        reqwest::get(format!("{}/_sim/requests/counts", sim.base_url()))
            .await?
            .error_for_status()?
            .json()
            .await?;
    let by_api = counts["by_api"]
        .as_object()
        .ok_or_else(|| anyhow::anyhow!("counts without by_api: {counts}"))?;
    Ok(by_api
        .iter()
        .map(|(api, n)| (api.clone(), n.as_u64().unwrap_or(0)))
        .collect())
}

/// Per-API differences `after - before`, only the APIs that were called in between.
pub fn count_delta(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(api, n)| (api.clone(), n - before.get(api).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// This process's resident set size in KiB (`VmRSS` of `/proc/self/status`).
pub fn rss_kib() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no VmRSS line in /proc/self/status"))
}

/// Where a bench runs, for its first line: cores, build profile, and whether the host trees
/// are on tmpfs (`/dev/shm`) or disk.
pub fn machine(on_tmpfs: bool) -> String {
    format!(
        "{} cores, {} build, host trees on {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        if on_tmpfs { "/dev/shm" } else { "disk" },
    )
}

/// Samples this process's resident set size in the background and keeps the highest; stops
/// sampling when dropped.
pub struct PeakRss {
    peak: std::sync::Arc<std::sync::atomic::AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl PeakRss {
    /// Starts sampling every `every`, from the current size.
    pub fn start(every: Duration) -> anyhow::Result<Self> {
        use std::sync::atomic::{AtomicU64, Ordering};
        let peak = std::sync::Arc::new(AtomicU64::new(rss_kib()?));
        let task = tokio::spawn({
            let peak = std::sync::Arc::clone(&peak);
            async move {
                loop {
                    if let Ok(rss) = rss_kib() {
                        peak.fetch_max(rss, Ordering::Relaxed);
                    }
                    tokio::time::sleep(every).await;
                }
            }
        });
        Ok(Self { peak, task })
    }

    /// The highest resident set size seen so far, in KiB.
    pub fn peak_kib(&self) -> u64 {
        self.peak.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Drop for PeakRss {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Throughput and latency of one series of requests.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    /// Requests completed.
    pub count: usize,
    /// Requests per second over the measured time.
    pub per_second: f64,
    /// Median latency.
    pub p50: Duration,
    /// 99th-percentile latency.
    pub p99: Duration,
}

impl Summary {
    /// Summarises `latencies` measured over `elapsed` of wall time.
    pub fn of(mut latencies: Vec<Duration>, elapsed: Duration) -> Self {
        latencies.sort_unstable();
        let at = |q: f64| {
            if latencies.is_empty() {
                return Duration::ZERO;
            }
            let i = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len());
            latencies[i - 1]
        };
        Self {
            count: latencies.len(),
            per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
            p50: at(0.50),
            p99: at(0.99),
        }
    }
}

/// A duration in milliseconds with three decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1e3)
}

/// A signed difference `a - b` in milliseconds with three decimals.
pub fn ms_diff(a: Duration, b: Duration) -> String {
    format!("{:+.3}", (a.as_secs_f64() - b.as_secs_f64()) * 1e3)
}

/// Logs of every component on stderr when `RUST_LOG` is set (e.g. `RUST_LOG=warn`).
pub fn init_tracing() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .try_init();
    }
}
