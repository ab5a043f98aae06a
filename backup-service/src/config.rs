//! backup-service settings: defaults, then an optional TOML file, then `BACKUP_SERVICE__…`
//! variables. The database URL has no default: pointing a service at a database is a choice.

use std::net::SocketAddr;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use service_kit::{LogSettings, SettingsError};
use sqlx::postgres::PgConnectOptions;
use url::Url;

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
  job_gateway.url             BACKUP_SERVICE__JOB_GATEWAY__URL            job-gateway gRPC endpoint [http://127.0.0.1:50051]
  job_gateway.token           BACKUP_SERVICE__JOB_GATEWAY__TOKEN          bearer token sent to job-gateway (optional)
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
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen_addr: ([127, 0, 0, 1], 50052).into(),
            shutdown_grace_ms: 4000,
            log: LogSettings::default(),
            database: DatabaseSettings::default(),
            job_gateway: JobGatewaySettings::default(),
        }
    }
}

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
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 10,
            connect_timeout_ms: 5000,
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
}

impl Default for JobGatewaySettings {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:50051".to_owned(),
            token: None,
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

    /// Checks every value that serde's types alone do not.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if !service_kit::telemetry::filter_is_valid(&self.log.filter) {
            return Err(invalid("log.filter", "not a valid tracing filter"));
        }
        self.connect_options()?;
        if self.database.max_connections == 0 {
            return Err(invalid("database.max_connections", "must be at least 1"));
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
