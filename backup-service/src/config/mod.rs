//! backup-service settings: defaults, then an optional TOML file, then `BACKUP_SERVICE__…`
//! variables. The database URL has no default: pointing a service at a database is a choice.

use std::net::SocketAddr;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use service_kit::auth::AuthSettings;
use service_kit::grpc::ServerSettings;
use service_kit::{LogSettings, SettingsError};
use sqlx::postgres::PgConnectOptions;
use url::Url;

mod sections;

pub use sections::{
    AccessConfig, BackupSettings, ConsoleConfig, DatabaseSettings, JobGatewaySettings, PlanConfig,
    RetentionConfig, SchedulerConfig, WatchConfig, WorkerConfig,
};

/// Environment variable prefix of every setting.
pub const ENV_PREFIX: &str = "BACKUP_SERVICE";

/// Every setting, printed by `--help`.
pub const SETTINGS_HELP: &str = "\
Settings (defaults < --config TOML file < environment):
  listen_addr                 BACKUP_SERVICE__LISTEN_ADDR                 gRPC listen address [127.0.0.1:50052]
  shutdown_grace_ms           BACKUP_SERVICE__SHUTDOWN_GRACE_MS           time in-flight calls get after SIGTERM [4000]
  log.format                  BACKUP_SERVICE__LOG__FORMAT                 human | json [human]
  log.filter                  BACKUP_SERVICE__LOG__FILTER                 tracing filter; RUST_LOG wins [info]
  database.url                BACKUP_SERVICE__DATABASE__URL               postgres://user@host:port/db (required; DATABASE_URL also works)
  database.max_connections    BACKUP_SERVICE__DATABASE__MAX_CONNECTIONS   pool size [10]
  database.connect_timeout_ms BACKUP_SERVICE__DATABASE__CONNECT_TIMEOUT_MS time to wait for a connection [5000]
  database.probe_interval_ms  BACKUP_SERVICE__DATABASE__PROBE_INTERVAL_MS health pings the database this often; NOT_SERVING while it fails [1000]
  job_gateway.url             BACKUP_SERVICE__JOB_GATEWAY__URL            job-gateway gRPC endpoint [http://127.0.0.1:50051]
  job_gateway.token           BACKUP_SERVICE__JOB_GATEWAY__TOKEN          bearer token sent to job-gateway (optional)
  job_gateway.keepalive_interval_ms BACKUP_SERVICE__JOB_GATEWAY__KEEPALIVE_INTERVAL_MS HTTP/2 PING to job-gateway this often; 0 = off [30000]
  job_gateway.keepalive_timeout_ms BACKUP_SERVICE__JOB_GATEWAY__KEEPALIVE_TIMEOUT_MS reconnect when a PING gets no answer within this [10000]
  server.max_message_bytes    BACKUP_SERVICE__SERVER__MAX_MESSAGE_BYTES   largest request accepted; larger is RESOURCE_EXHAUSTED [4194304]
  server.max_concurrent_streams BACKUP_SERVICE__SERVER__MAX_CONCURRENT_STREAMS calls one connection may have open at once [128]
  server.keepalive_interval_ms BACKUP_SERVICE__SERVER__KEEPALIVE_INTERVAL_MS HTTP/2 PING to idle callers this often; 0 = off [30000]
  server.keepalive_timeout_ms BACKUP_SERVICE__SERVER__KEEPALIVE_TIMEOUT_MS close a connection whose PING gets no answer within this [10000]
  auth.tokens_file            BACKUP_SERVICE__AUTH__TOKENS_FILE           TOML file of named tokens, each acting as one `user` or a `delegator` naming the user in x-bk-username; secrets plain or sha256:<hex>; re-read on change and on SIGHUP (optional)
  auth.tokens_file_poll_secs  BACKUP_SERVICE__AUTH__TOKENS_FILE_POLL_SECS check the token file for changes this often; 0 = on SIGHUP only [5]
  auth.tokens                 BACKUP_SERVICE__AUTH__TOKENS                legacy bearer tokens, each a delegator named token#<n> (comma-separated; each >= 16 chars or sha256:<hex>)
  auth.allow_unauthenticated  BACKUP_SERVICE__AUTH__ALLOW_UNAUTHENTICATED serve without tokens, for development only [false]
  metrics_addr                BACKUP_SERVICE__METRICS_ADDR                Prometheus text at http://<addr>/metrics; a bare port means 127.0.0.1:<port> (optional)
  metrics_public              BACKUP_SERVICE__METRICS_PUBLIC              allow metrics_addr other than loopback (/metrics has no authentication) [false]
  default_operator            BACKUP_SERVICE__DEFAULT_OPERATOR            operator when a caller sends no x-bk-username and authentication is off (unset: the header is required)
  backup.max_hosts            BACKUP_SERVICE__BACKUP__MAX_HOSTS           hosts per search or backup [1000]
  backup.default_timeout_secs BACKUP_SERVICE__BACKUP__DEFAULT_TIMEOUT_SECS bound on a backup's total time when a request gives none [900]
  backup.deadline_slack_secs  BACKUP_SERVICE__BACKUP__DEADLINE_SLACK_SECS of a backup's total time, kept for launching and reading results (at most half); its JOB step gets the rest [300]
  backup.max_files_per_host   BACKUP_SERVICE__BACKUP__MAX_FILES_PER_HOST  SearchFiles default per-host limit [1000]
  backup.name_time_zone       BACKUP_SERVICE__BACKUP__NAME_TIME_ZONE      IANA time zone of the time in backup directory names (Asia/Shanghai: 04:00 local is backup_YYYYmmdd_040000_…) [UTC]
  worker.concurrency          BACKUP_SERVICE__WORKER__CONCURRENCY         backups this replica drives at once [4]
  worker.lease_ms             BACKUP_SERVICE__WORKER__LEASE_MS            claim lease, renewed every third [15000]
  worker.claim_interval_ms    BACKUP_SERVICE__WORKER__CLAIM_INTERVAL_MS   idle poll for queued backups [1000]
  worker.poll_initial_ms      BACKUP_SERVICE__WORKER__POLL_INITIAL_MS     first JOB status poll interval [200]
  worker.poll_max_ms          BACKUP_SERVICE__WORKER__POLL_MAX_MS         longest JOB status poll interval [3000]
  worker.launch_settle_ms     BACKUP_SERVICE__WORKER__LAUNCH_SETTLE_MS    after an uncertain launch (or an earlier claim's), look for the job this long before launching again; bounds the launch call [60000]
  watch.lifetime_secs         BACKUP_SERVICE__WATCH__LIFETIME_SECS        WatchBackup streams end after this [3600]
  watch.max_streams_per_caller BACKUP_SERVICE__WATCH__MAX_STREAMS_PER_CALLER WatchBackup streams one caller (its token's name; its IP without auth) may hold; more is RESOURCE_EXHAUSTED [100]
  scheduler.enabled           BACKUP_SERVICE__SCHEDULER__ENABLED          fire schedules on this replica (any number of replicas may) [true]
  scheduler.tick_ms           BACKUP_SERVICE__SCHEDULER__TICK_MS          look for due schedules this often, on the grid of this period [250]
  scheduler.batch             BACKUP_SERVICE__SCHEDULER__BATCH            due schedules claimed per statement (a full batch is followed at once by the next) [500]
  scheduler.concurrency       BACKUP_SERVICE__SCHEDULER__CONCURRENCY      fires decided and recorded at once [32]
  scheduler.claim_lease_ms    BACKUP_SERVICE__SCHEDULER__CLAIM_LEASE_MS   a claimed due schedule is left to this replica this long; after a crash another replica makes the fire [30000]
  scheduler.grace_ms          BACKUP_SERVICE__SCHEDULER__GRACE_MS         a fire this late is still made without a catch-up window; later is MISSED [30000]
  plan.enabled                BACKUP_SERVICE__PLAN__ENABLED               run the scripts as JOB plans instead of ExecuteScript [false]
  plan.search_plan_id         BACKUP_SERVICE__PLAN__SEARCH_PLAN_ID        JOB plan holding search.sh (plan mode)
  plan.backup_plan_id         BACKUP_SERVICE__PLAN__BACKUP_PLAN_ID        JOB plan holding backup.sh (plan mode)
  plan.read_plan_id           BACKUP_SERVICE__PLAN__READ_PLAN_ID          JOB plan holding read.sh; 0 runs it with ExecuteScript [0]
  plan.args_variable          BACKUP_SERVICE__PLAN__ARGS_VARIABLE         string variable receiving the arguments [bkb_args]
  plan.hosts_variable         BACKUP_SERVICE__PLAN__HOSTS_VARIABLE        host-list variable the plans target [bkb_hosts]
  access.cache_ms             BACKUP_SERVICE__ACCESS__CACHE_MS            how long BlueKing's answer to whether a user may act on a business is remembered (a permission revoked meanwhile still works until then); 0 = always ask [30000]
  retention.enabled           BACKUP_SERVICE__RETENTION__ENABLED          prune schedules' old backups after their runs on this replica [true]
  retention.interval_ms       BACKUP_SERVICE__RETENTION__INTERVAL_MS      look for finished runs that owe a prune this often [5000]
  retention.batch             BACKUP_SERVICE__RETENTION__BATCH            runs claimed at once [8]
  retention.prune_timeout_secs BACKUP_SERVICE__RETENTION__PRUNE_TIMEOUT_SECS bound on one prune.sh job (its JOB timeout) [300]
  console.enabled             BACKUP_SERVICE__CONSOLE__ENABLED            serve the web console at http://<listen_addr>/ (grpc-web is served either way) [true]
  console.allowed_origins     BACKUP_SERVICE__CONSOLE__ALLOWED_ORIGINS    other origins whose pages may call by grpc-web (CORS; comma-separated scheme://host[:port]) [none: the console's own only]
";

/// The whole settings tree.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// gRPC listen address.
    pub listen_addr: SocketAddr,
    /// Time in-flight calls get after SIGTERM before they are dropped.
    pub shutdown_grace_ms: u64,
    /// Logging.
    pub log: LogSettings,
    /// Postgres.
    pub database: DatabaseSettings,
    /// The job-gateway this service calls.
    pub job_gateway: JobGatewaySettings,
    /// Caller authentication.
    pub auth: AuthSettings,
    /// What one caller can hold of the gRPC server.
    pub server: ServerSettings,
    /// Where to serve Prometheus metrics, if anywhere (a bare port means loopback).
    #[serde(deserialize_with = "service_kit::settings::metrics_addr")]
    pub metrics_addr: Option<SocketAddr>,
    /// Allow metrics on an address other than loopback (they have no authentication).
    pub metrics_public: bool,
    /// Operator when a caller sends no `x-bk-username` and authentication is off.
    pub default_operator: Option<String>,
    /// Limits of backups.
    pub backup: BackupSettings,
    /// Workers.
    pub worker: WorkerConfig,
    /// WatchBackup streams.
    pub watch: WatchConfig,
    /// JOB plan mode.
    pub plan: PlanConfig,
    /// Per-business authorization.
    pub access: AccessConfig,
    /// The scheduler.
    pub scheduler: SchedulerConfig,
    /// Retention of schedules' backups.
    pub retention: RetentionConfig,
    /// The web console and grpc-web callers from other origins.
    pub console: ConsoleConfig,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen_addr: ([127, 0, 0, 1], 50052).into(),
            shutdown_grace_ms: 4000,
            log: LogSettings::default(),
            database: DatabaseSettings::default(),
            job_gateway: JobGatewaySettings::default(),
            auth: AuthSettings::default(),
            server: ServerSettings::default(),
            metrics_addr: None,
            metrics_public: false,
            default_operator: None,
            backup: BackupSettings::default(),
            worker: WorkerConfig::default(),
            watch: WatchConfig::default(),
            plan: PlanConfig::default(),
            access: AccessConfig::default(),
            scheduler: SchedulerConfig::default(),
            retention: RetentionConfig::default(),
            console: ConsoleConfig::default(),
        }
    }
}

impl Settings {
    /// Loads and validates the settings; the error names the offending setting.
    ///
    /// `DATABASE_URL` fills `database.url` when nothing else set it, as sqlx tools expect.
    pub fn load(file: Option<&Path>) -> Result<Self, SettingsError> {
        let mut settings: Settings = service_kit::settings::load(file, ENV_PREFIX)?;
        if settings.database.url.is_none() {
            settings.database.url = std::env::var("DATABASE_URL").ok().map(SecretString::from);
        }
        settings.validate()?;
        Ok(settings)
    }

    /// Grace period after SIGTERM.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_millis(self.shutdown_grace_ms)
    }

    /// Connection options parsed from `database.url`.
    pub fn connect_options(&self) -> Result<PgConnectOptions, SettingsError> {
        let url = self
            .database
            .url
            .as_ref()
            .ok_or_else(|| invalid("database.url", "is required (or set DATABASE_URL)"))?;
        let raw = url.expose_secret();
        if !(raw.starts_with("postgres://") || raw.starts_with("postgresql://")) {
            return Err(invalid(
                "database.url",
                "must start with postgres:// or postgresql://",
            ));
        }
        // sqlx's parse error can quote the URL, password included: report only its kind.
        PgConnectOptions::from_str(raw)
            .map_err(|_| invalid("database.url", "is not a valid postgres URL"))
    }

    /// The checks only serving needs (the `migrate` subcommand has no callers to authenticate).
    pub fn validate_serving(&self) -> Result<(), SettingsError> {
        if let Some((key, problem)) = self.auth.problem() {
            return Err(invalid(key, problem));
        }
        Ok(())
    }

    /// Checks every value that serde's types alone do not.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if !service_kit::telemetry::filter_is_valid(&self.log.filter) {
            return Err(invalid("log.filter", "not a valid tracing filter"));
        }
        if let Some(why) =
            service_kit::settings::metrics_problem(self.metrics_addr, self.metrics_public)
        {
            return Err(invalid("metrics_addr", why));
        }
        self.connect_options()?;
        if self.database.max_connections == 0 {
            return Err(invalid("database.max_connections", "must be at least 1"));
        }
        if self.database.probe_interval_ms < 100 {
            return Err(invalid(
                "database.probe_interval_ms",
                "must be at least 100",
            ));
        }
        if let Some((key, problem)) = self.server.problem() {
            return Err(invalid(key, problem));
        }
        if self.watch.max_streams_per_caller == 0 {
            return Err(invalid(
                "watch.max_streams_per_caller",
                "must be at least 1",
            ));
        }
        if self.backup.max_hosts == 0 {
            return Err(invalid("backup.max_hosts", "must be at least 1"));
        }
        if !(1..=86_400).contains(&self.backup.default_timeout_secs) {
            return Err(invalid("backup.default_timeout_secs", "must be 1..=86400"));
        }
        if self.backup.name_time_zone.parse::<chrono_tz::Tz>().is_err() {
            return Err(invalid(
                "backup.name_time_zone",
                format!(
                    "`{}` is not an IANA time zone (e.g. UTC, Asia/Shanghai)",
                    self.backup.name_time_zone
                ),
            ));
        }
        if self.backup.deadline_slack_secs < 0 {
            return Err(invalid(
                "backup.deadline_slack_secs",
                "must not be negative",
            ));
        }
        if self.worker.concurrency == 0 {
            return Err(invalid("worker.concurrency", "must be at least 1"));
        }
        if self.worker.lease_ms < 300 {
            return Err(invalid("worker.lease_ms", "must be at least 300"));
        }
        if self.worker.poll_initial_ms == 0 || self.worker.poll_max_ms < self.worker.poll_initial_ms
        {
            return Err(invalid(
                "worker.poll_max_ms",
                "must be at least worker.poll_initial_ms (> 0)",
            ));
        }
        if let Some((key, problem)) = self.scheduler.problem() {
            return Err(invalid(key, problem));
        }
        if self.retention.interval_ms < 10 {
            return Err(invalid("retention.interval_ms", "must be at least 10"));
        }
        if self.retention.batch == 0 {
            return Err(invalid("retention.batch", "must be at least 1"));
        }
        if !(1..=86_400).contains(&self.retention.prune_timeout_secs) {
            return Err(invalid("retention.prune_timeout_secs", "must be 1..=86400"));
        }
        if let Some((key, problem)) = self.console.problem() {
            return Err(invalid(key, problem));
        }
        if let Some(op) = &self.default_operator
            && op.trim().is_empty()
        {
            return Err(invalid("default_operator", "must not be empty when set"));
        }
        if self.plan.read_plan_id < 0 {
            return Err(invalid(
                "plan.read_plan_id",
                "must be a JOB plan id, or 0 for none",
            ));
        }
        if self.plan.enabled {
            if self.plan.search_plan_id <= 0 || self.plan.backup_plan_id <= 0 {
                let key = if self.plan.search_plan_id <= 0 {
                    "plan.search_plan_id"
                } else {
                    "plan.backup_plan_id"
                };
                return Err(invalid(
                    key,
                    "must be a JOB plan id when plan.enabled is true",
                ));
            }
            for (key, name) in [
                ("plan.args_variable", &self.plan.args_variable),
                ("plan.hosts_variable", &self.plan.hosts_variable),
            ] {
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(invalid(key, "must be a JOB variable name ([A-Za-z0-9_]+)"));
                }
            }
        }
        match Url::parse(&self.job_gateway.url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => {
                return Err(invalid(
                    "job_gateway.url",
                    "must be an http(s) URL with a host",
                ));
            }
        }
        Ok(())
    }
}

fn invalid(key: &str, reason: impl std::fmt::Display) -> SettingsError {
    SettingsError::invalid(ENV_PREFIX, key, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_url(url: &str) -> Settings {
        let mut s = Settings::default();
        s.auth.allow_unauthenticated = true;
        s.database.url = Some(SecretString::from(url.to_owned()));
        s
    }

    #[test]
    fn a_postgres_url_is_valid() {
        with_url("postgres://bklb@127.0.0.1:5432/bklb")
            .validate()
            .unwrap();
    }

    #[test]
    fn limits_that_would_refuse_everything_are_named() {
        type Spoil = fn(&mut Settings);
        let bad: [(&str, Spoil); 4] = [
            ("server.max_concurrent_streams", |s| {
                s.server.max_concurrent_streams = 0
            }),
            ("server.max_message_bytes", |s| {
                s.server.max_message_bytes = 10
            }),
            ("watch.max_streams_per_caller", |s| {
                s.watch.max_streams_per_caller = 0
            }),
            ("database.probe_interval_ms", |s| {
                s.database.probe_interval_ms = 0
            }),
        ];
        for (key, spoil) in bad {
            let mut s = with_url("postgres://bklb@127.0.0.1:5432/bklb");
            spoil(&mut s);
            let err = s.validate().unwrap_err().to_string();
            assert!(err.contains(&format!("`{key}`")), "{key}: {err}");
        }
    }

    #[test]
    fn the_backup_name_time_zone_is_utc_by_default_and_must_be_an_iana_zone() {
        let mut s = with_url("postgres://bklb@127.0.0.1:5432/bklb");
        assert_eq!(s.backup.name_zone(), chrono_tz::Tz::UTC);
        s.backup.name_time_zone = "Asia/Shanghai".to_owned();
        s.validate().unwrap();
        assert_eq!(s.backup.name_zone(), chrono_tz::Asia::Shanghai);
        for bad in ["Asia/Beijing", "CST+8", ""] {
            s.backup.name_time_zone = bad.to_owned();
            let err = s.validate().unwrap_err().to_string();
            assert!(
                err.starts_with("invalid setting `backup.name_time_zone`")
                    && err.contains("not an IANA time zone"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn a_malformed_database_url_is_named_without_echoing_it() {
        let err = with_url("postgres://u:hunter2@host:notaport/db")
            .validate()
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "invalid setting `database.url` (env BACKUP_SERVICE__DATABASE__URL): is not a valid postgres URL"
        );
    }

    #[test]
    fn serving_without_tokens_needs_the_explicit_opt_out() {
        let mut s = with_url("postgres://bklb@127.0.0.1:5432/bklb");
        s.auth.allow_unauthenticated = false;
        s.validate().unwrap();
        let err = s.validate_serving().unwrap_err().to_string();
        assert!(err.starts_with("invalid setting `auth.tokens`"), "{err}");
    }

    #[test]
    fn console_origins_must_be_origins_as_browsers_send_them() {
        let mut s = with_url("postgres://bklb@127.0.0.1:5432/bklb");
        s.console.allowed_origins = vec![
            "http://127.0.0.1:5173".to_owned(),
            "https://console.example.com".to_owned(),
        ];
        s.validate().unwrap();
        for bad in [
            "*",
            "console.example.com",
            "https://console.example.com/",
            "https://console.example.com/app",
            "https://Console.example.com",
            "https://console.example.com:443",
            "ftp://console.example.com",
        ] {
            s.console.allowed_origins = vec![bad.to_owned()];
            let err = s.validate().unwrap_err().to_string();
            assert!(
                err.starts_with("invalid setting `console.allowed_origins`") && err.contains(bad),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn a_non_postgres_scheme_is_rejected() {
        let err = with_url("mysql://x/y").validate().unwrap_err().to_string();
        assert!(err.contains("must start with postgres://"), "{err}");
    }

    #[test]
    fn the_help_text_documents_every_setting() {
        for key in [
            "listen_addr",
            "shutdown_grace_ms",
            "log.format",
            "log.filter",
            "database.url",
            "database.max_connections",
            "database.connect_timeout_ms",
            "job_gateway.url",
            "job_gateway.token",
            "auth.tokens",
            "auth.tokens_file",
            "auth.tokens_file_poll_secs",
            "auth.allow_unauthenticated",
            "metrics_addr",
            "metrics_public",
            "default_operator",
            "backup.max_hosts",
            "backup.default_timeout_secs",
            "backup.deadline_slack_secs",
            "backup.max_files_per_host",
            "backup.name_time_zone",
            "worker.concurrency",
            "scheduler.enabled",
            "scheduler.tick_ms",
            "scheduler.batch",
            "scheduler.concurrency",
            "scheduler.claim_lease_ms",
            "scheduler.grace_ms",
            "worker.lease_ms",
            "worker.claim_interval_ms",
            "worker.poll_initial_ms",
            "worker.poll_max_ms",
            "worker.launch_settle_ms",
            "watch.lifetime_secs",
            "watch.max_streams_per_caller",
            "database.probe_interval_ms",
            "job_gateway.keepalive_interval_ms",
            "job_gateway.keepalive_timeout_ms",
            "server.max_message_bytes",
            "server.max_concurrent_streams",
            "server.keepalive_interval_ms",
            "retention.enabled",
            "retention.interval_ms",
            "retention.batch",
            "retention.prune_timeout_secs",
            "server.keepalive_timeout_ms",
            "plan.enabled",
            "plan.search_plan_id",
            "plan.backup_plan_id",
            "plan.read_plan_id",
            "plan.args_variable",
            "plan.hosts_variable",
            "access.cache_ms",
            "console.enabled",
            "console.allowed_origins",
        ] {
            let env = service_kit::settings::env_name(ENV_PREFIX, key);
            assert!(
                SETTINGS_HELP.contains(&format!("  {key} ")),
                "{key} missing from help"
            );
            assert!(SETTINGS_HELP.contains(&env), "{env} missing from help");
        }
    }
}
