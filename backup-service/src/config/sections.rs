//! The sections of backup-service's settings tree, each with its defaults.

use secrecy::SecretString;
use serde::Deserialize;

/// The `[database]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// Connection URL; may carry a password, so it is a secret.
    pub url: Option<SecretString>,
    /// Pool size.
    pub max_connections: u32,
    /// Time to wait for a pooled connection.
    pub connect_timeout_ms: u64,
    /// Health probes the database (`SELECT 1`) this often, each bounded by the same time.
    pub probe_interval_ms: u64,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 10,
            connect_timeout_ms: 5000,
            probe_interval_ms: 1000,
        }
    }
}

/// The `[job_gateway]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobGatewaySettings {
    /// gRPC endpoint.
    pub url: String,
    /// Bearer token for job-gateway's caller authentication.
    pub token: Option<SecretString>,
    /// HTTP/2 PING to job-gateway this often, idle or not; 0 disables keepalive.
    pub keepalive_interval_ms: u64,
    /// The connection is dropped (and remade) when a PING is not answered within this.
    pub keepalive_timeout_ms: u64,
}

impl Default for JobGatewaySettings {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:50051".to_owned(),
            token: None,
            keepalive_interval_ms: 30_000,
            keepalive_timeout_ms: 10_000,
        }
    }
}

/// The `[backup]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackupSettings {
    /// Hosts per search or backup.
    pub max_hosts: usize,
    /// Bound on a backup's total time (its deadline, from creation) when a request gives none.
    pub default_timeout_secs: i32,
    /// Of a backup's total time, what is kept for launching and reading results back (at most
    /// half of it); the JOB step timeout is the rest, so a step that runs its whole timeout
    /// still ends before the deadline.
    pub deadline_slack_secs: i64,
    /// SearchFiles default per-host file limit.
    pub max_files_per_host: u32,
    /// IANA time zone of the time in backup directory names (`backup_<YYYYmmdd_HHMMSS>_…`).
    pub name_time_zone: String,
}

impl BackupSettings {
    /// The zone of `name_time_zone`; UTC when it does not name one (which
    /// [`super::Settings::validate`] refuses).
    pub fn name_zone(&self) -> chrono_tz::Tz {
        self.name_time_zone.parse().unwrap_or(chrono_tz::Tz::UTC)
    }
}

impl Default for BackupSettings {
    fn default() -> Self {
        Self {
            max_hosts: 1000,
            default_timeout_secs: 900,
            deadline_slack_secs: 300,
            max_files_per_host: 1000,
            name_time_zone: "UTC".to_owned(),
        }
    }
}

/// The `[worker]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerConfig {
    /// Backups driven at once.
    pub concurrency: usize,
    /// Lease length.
    pub lease_ms: u64,
    /// Idle claim poll.
    pub claim_interval_ms: u64,
    /// First status poll interval.
    pub poll_initial_ms: u64,
    /// Longest status poll interval.
    pub poll_max_ms: u64,
    /// How long to look for an uncertain launch before launching again.
    pub launch_settle_ms: u64,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            concurrency: 4,
            lease_ms: 15_000,
            claim_interval_ms: 1000,
            poll_initial_ms: 200,
            poll_max_ms: 3000,
            launch_settle_ms: 60_000,
        }
    }
}

/// The `[plan]` section: run our scripts as JOB plans instead of ExecuteScript.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlanConfig {
    /// Use the plans.
    pub enabled: bool,
    /// Plan holding `search.sh`.
    pub search_plan_id: i64,
    /// Plan holding `backup.sh`.
    pub backup_plan_id: i64,
    /// Plan holding `read.sh`; 0 runs `read.sh` with ExecuteScript even in plan mode.
    pub read_plan_id: i64,
    /// String global variable that receives the arguments.
    pub args_variable: String,
    /// Host-list global variable the plans' steps target.
    pub hosts_variable: String,
}

impl Default for PlanConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            search_plan_id: 0,
            backup_plan_id: 0,
            read_plan_id: 0,
            args_variable: "bkb_args".to_owned(),
            hosts_variable: "bkb_hosts".to_owned(),
        }
    }
}

/// The `[watch]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WatchConfig {
    /// Stream lifetime bound.
    pub lifetime_secs: u64,
    /// WatchBackup streams one caller may hold open on this replica at once.
    pub max_streams_per_caller: usize,
}

impl Default for WatchConfig {
    fn default() -> Self {
        Self {
            lifetime_secs: 3600,
            max_streams_per_caller: 100,
        }
    }
}

/// The `[access]` section: per-business authorization.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccessConfig {
    /// How long BlueKing's answer to "may this user act on this business" (and the list of
    /// businesses a user may see) is remembered; 0 asks every time.
    pub cache_ms: u64,
}

impl Default for AccessConfig {
    fn default() -> Self {
        Self { cache_ms: 30_000 }
    }
}

/// The `[scheduler]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SchedulerConfig {
    /// Whether this replica fires schedules.
    pub enabled: bool,
    /// Time between ticks.
    pub tick_ms: u64,
    /// Most due schedules claimed per tick.
    pub batch: u32,
    /// Fires decided and recorded at once.
    pub concurrency: usize,
    /// How long a claim keeps other replicas off a due schedule.
    pub claim_lease_ms: u64,
    /// How late a fire may be and still be made without a catch-up window.
    pub grace_ms: u64,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            tick_ms: 250,
            batch: 500,
            concurrency: 32,
            claim_lease_ms: 30_000,
            grace_ms: 30_000,
        }
    }
}

impl SchedulerConfig {
    /// The first setting that is out of range, and why.
    pub fn problem(&self) -> Option<(&'static str, &'static str)> {
        if !(10..=60_000).contains(&self.tick_ms) {
            return Some(("scheduler.tick_ms", "must be 10..=60000"));
        }
        if !(1..=10_000).contains(&self.batch) {
            return Some(("scheduler.batch", "must be 1..=10000"));
        }
        if !(1..=1024).contains(&self.concurrency) {
            return Some(("scheduler.concurrency", "must be 1..=1024"));
        }
        if self.claim_lease_ms < 1000 {
            return Some(("scheduler.claim_lease_ms", "must be at least 1000"));
        }
        if self.grace_ms > 3_600_000 {
            return Some(("scheduler.grace_ms", "must be at most 3600000 (an hour)"));
        }
        None
    }
}

/// The `[retention]` section: pruning schedules' old backups after their runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Whether this replica prunes.
    pub enabled: bool,
    /// How often to look for runs that owe a prune.
    pub interval_ms: u64,
    /// Runs claimed at once.
    pub batch: u32,
    /// Bound on one `prune.sh` job.
    pub prune_timeout_secs: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            interval_ms: 5000,
            batch: 8,
            prune_timeout_secs: 300,
        }
    }
}

/// The `[console]` section: the web console served beside gRPC on `listen_addr`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleConfig {
    /// Serve the console's files (embedded at build time) at `/`.
    pub enabled: bool,
    /// Other origins (`scheme://host[:port]`) whose pages may call the services by grpc-web
    /// (CORS, with credentials). The console's own origin needs no entry: it is the same origin.
    #[serde(deserialize_with = "service_kit::settings::string_or_list")]
    pub allowed_origins: Vec<String>,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            allowed_origins: Vec::new(),
        }
    }
}

impl ConsoleConfig {
    /// The offending setting and why, if an allowed origin is not an origin.
    pub fn problem(&self) -> Option<(&'static str, String)> {
        self.allowed_origins.iter().find_map(|o| {
            origin_problem(o).map(|why| ("console.allowed_origins", format!("`{o}` {why}")))
        })
    }
}

/// Why `origin` is not what a browser sends as `Origin` (`scheme://host[:port]`), if it is not.
fn origin_problem(origin: &str) -> Option<&'static str> {
    if origin == "*" {
        return Some("is a wildcard: name each origin (calls carry the bk_token cookie)");
    }
    let Ok(url) = url::Url::parse(origin) else {
        return Some("is not an origin like https://console.example.com");
    };
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Some("must be an http(s) origin with a host");
    }
    if url.path() != "/" || origin.ends_with('/') || url.query().is_some() {
        return Some("must have no path (scheme://host[:port] only)");
    }
    if url.origin().ascii_serialization() != origin {
        return Some("must be written as the browser sends it (lowercase host, no default port)");
    }
    None
}
