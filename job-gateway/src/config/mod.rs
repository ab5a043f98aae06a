//! job-gateway settings: defaults, then an optional TOML file, then `JOB_GATEWAY__…` variables.
//!
//! The BlueKing app secret is held in a [`SecretString`] so it never reaches a log line or an
//! error message; it can come from the file, the environment or a separate secret file.
//! Caller-facing settings (auth, TLS, metrics, watch bounds) live in `serving.rs`.

mod bk;
mod serving;

pub use bk::{BkSettings, GseVersion, Transport};
pub use serving::{TlsSettings, WatchSettings};

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use service_kit::auth::AuthSettings;
use service_kit::grpc::ServerSettings;
use service_kit::{LogSettings, SettingsError};
use url::Url;

/// Environment variable prefix of every setting.
pub const ENV_PREFIX: &str = "JOB_GATEWAY";

/// Every setting, printed by `--help`.
pub const SETTINGS_HELP: &str = "\
Settings (defaults < --config TOML file < environment):
  listen_addr           JOB_GATEWAY__LISTEN_ADDR          gRPC listen address [127.0.0.1:50051]
  shutdown_grace_ms     JOB_GATEWAY__SHUTDOWN_GRACE_MS    time in-flight calls get after SIGTERM [4000]
  log.format            JOB_GATEWAY__LOG__FORMAT          human | json [human]
  log.filter            JOB_GATEWAY__LOG__FILTER          tracing filter; RUST_LOG wins [info]
  bk.transport          JOB_GATEWAY__BK__TRANSPORT        esb | apigw: which BlueKing front door [esb]
  bk.esb_url            JOB_GATEWAY__BK__ESB_URL          ESB base; APIs at <esb_url>/api/c/compapi/v2/… [http://127.0.0.1:8600]
  bk.apigw_url          JOB_GATEWAY__BK__APIGW_URL        API gateway base; gateways at <apigw_url>/api/<gateway>/<stage>/… [http://127.0.0.1:8600]
  bk.stage              JOB_GATEWAY__BK__STAGE            API gateway stage [prod]
  bk.app_code           JOB_GATEWAY__BK__APP_CODE         BlueKing app code [bk-log-backup]
  bk.app_secret         JOB_GATEWAY__BK__APP_SECRET       BlueKing app secret (required unless app_secret_file)
  bk.app_secret_file    JOB_GATEWAY__BK__APP_SECRET_FILE  file holding the app secret
  bk.default_operator   JOB_GATEWAY__BK__DEFAULT_OPERATOR bk_username when a caller sends no x-bk-username and authentication is off; with tokens the header is required [admin]
  bk.job_web_url        JOB_GATEWAY__BK__JOB_WEB_URL      JOB web UI base; links are <job_web_url>/api_execute/<id> [http://127.0.0.1:8600]
  bk.timeout_ms         JOB_GATEWAY__BK__TIMEOUT_MS       per-call timeout toward BlueKing [10000]
  bk.connect_timeout_ms JOB_GATEWAY__BK__CONNECT_TIMEOUT_MS time to open a connection to BlueKing [3000]
  bk.gateway_job        JOB_GATEWAY__BK__GATEWAY_JOB      API gateway name of JOB [bk-job]
  bk.gateway_cmdb       JOB_GATEWAY__BK__GATEWAY_CMDB     API gateway name of CMDB [bk-cmdb]
  bk.gateway_gse        JOB_GATEWAY__BK__GATEWAY_GSE      API gateway name of GSE [bk-gse]
  bk.gateway_login      JOB_GATEWAY__BK__GATEWAY_LOGIN    API gateway name of BlueKing login [bk-login]
  bk.login_url          JOB_GATEWAY__BK__LOGIN_URL        page people log in at, named when a bk_token is refused [http://127.0.0.1:8600/login/]
  bk.login_exempt       JOB_GATEWAY__BK__LOGIN_EXEMPT     the app is login-exempt: calls name the user with bk_username; false: each call must carry the user's x-bk-token (verified, sent as bk_token) or x-bk-access-token (sent as access_token) [true]
  bk.login_cache_ms     JOB_GATEWAY__BK__LOGIN_CACHE_MS   how long a verified bk_token is remembered (a token expired meanwhile still passes); 0 = always ask [30000]
  bk.gse_version        JOB_GATEWAY__BK__GSE_VERSION      v1 (get_agent_status via ESB) | v2 (list_agent_state via gateway) [v1]
  bk.max_concurrency    JOB_GATEWAY__BK__MAX_CONCURRENCY  calls in flight toward BlueKing at once [32]
  bk.rate_per_second    JOB_GATEWAY__BK__RATE_PER_SECOND  token-bucket refill toward BlueKing; 0 = unlimited [50]
  bk.rate_burst         JOB_GATEWAY__BK__RATE_BURST       token-bucket capacity [50]
  bk.biz_rate_per_second JOB_GATEWAY__BK__BIZ_RATE_PER_SECOND same, per business; 0 = unlimited [20]
  bk.biz_rate_burst     JOB_GATEWAY__BK__BIZ_RATE_BURST   per-business bucket capacity [20]
  bk.retry_max_attempts JOB_GATEWAY__BK__RETRY_MAX_ATTEMPTS attempts per call, first included [3]
  bk.retry_base_ms      JOB_GATEWAY__BK__RETRY_BASE_MS    first retry backoff, doubled per retry, jittered [200]
  bk.retry_max_ms       JOB_GATEWAY__BK__RETRY_MAX_MS     backoff cap [3000]
  auth.tokens_file      JOB_GATEWAY__AUTH__TOKENS_FILE    TOML file of named tokens, each acting as one `user` or a `delegator` naming the user in x-bk-username; secrets plain or sha256:<hex>; re-read on change and on SIGHUP (optional)
  auth.tokens_file_poll_secs JOB_GATEWAY__AUTH__TOKENS_FILE_POLL_SECS check the token file for changes this often; 0 = on SIGHUP only [5]
  auth.tokens           JOB_GATEWAY__AUTH__TOKENS         legacy bearer tokens, each a delegator named token#<n> (comma-separated; each >= 16 chars or sha256:<hex>)
  auth.allow_unauthenticated JOB_GATEWAY__AUTH__ALLOW_UNAUTHENTICATED serve without tokens, for development only [false]
  metrics_addr          JOB_GATEWAY__METRICS_ADDR         Prometheus text at http://<addr>/metrics; a bare port means 127.0.0.1:<port> (optional)
  metrics_public        JOB_GATEWAY__METRICS_PUBLIC       allow metrics_addr other than loopback (/metrics has no authentication) [false]
  server.max_message_bytes JOB_GATEWAY__SERVER__MAX_MESSAGE_BYTES largest request accepted; larger is RESOURCE_EXHAUSTED [4194304]
  server.max_concurrent_streams JOB_GATEWAY__SERVER__MAX_CONCURRENT_STREAMS calls one connection may have open at once [128]
  server.keepalive_interval_ms JOB_GATEWAY__SERVER__KEEPALIVE_INTERVAL_MS HTTP/2 PING to idle callers this often; 0 = off [30000]
  server.keepalive_timeout_ms JOB_GATEWAY__SERVER__KEEPALIVE_TIMEOUT_MS close a connection whose PING gets no answer within this [10000]
  tls.cert_file         JOB_GATEWAY__TLS__CERT_FILE       PEM certificate chain; with tls.key_file the gRPC port serves TLS (optional)
  tls.key_file          JOB_GATEWAY__TLS__KEY_FILE        PEM private key of tls.cert_file (optional)
  watch.initial_interval_ms JOB_GATEWAY__WATCH__INITIAL_INTERVAL_MS first poll interval of WatchJobInstance, and after every change [200]
  watch.max_interval_ms JOB_GATEWAY__WATCH__MAX_INTERVAL_MS longest poll interval [5000]
  watch.backoff_factor  JOB_GATEWAY__WATCH__BACKOFF_FACTOR growth of the interval per unchanged poll, >= 1 [1.5]
  watch.idle_timeout_ms JOB_GATEWAY__WATCH__IDLE_TIMEOUT_MS a watch seeing no change this long ends with DEADLINE_EXCEEDED [600000]
  watch.max_lifetime_ms JOB_GATEWAY__WATCH__MAX_LIFETIME_MS a watch ends with DEADLINE_EXCEEDED after this long [3600000]
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
    /// BlueKing endpoints and credentials.
    pub bk: BkSettings,
    /// Caller authentication (bearer tokens).
    pub auth: AuthSettings,
    /// What one caller can hold of the gRPC server.
    pub server: ServerSettings,
    /// Where to serve Prometheus metrics, if anywhere (a bare port means loopback).
    #[serde(deserialize_with = "service_kit::settings::metrics_addr")]
    pub metrics_addr: Option<SocketAddr>,
    /// Allow metrics on an address other than loopback (they have no authentication).
    pub metrics_public: bool,
    /// Optional TLS on the gRPC port.
    pub tls: TlsSettings,
    /// WatchJobInstance polling and stream bounds.
    pub watch: WatchSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen_addr: ([127, 0, 0, 1], 50051).into(),
            shutdown_grace_ms: 4000,
            log: LogSettings::default(),
            bk: BkSettings::default(),
            auth: AuthSettings::default(),
            server: ServerSettings::default(),
            metrics_addr: None,
            metrics_public: false,
            tls: TlsSettings::default(),
            watch: WatchSettings::default(),
        }
    }
}

impl Settings {
    /// Loads and validates the settings; the error names the offending setting.
    pub fn load(file: Option<&Path>) -> Result<Self, SettingsError> {
        let mut settings: Settings = service_kit::settings::load(file, ENV_PREFIX)?;
        settings.resolve_secret()?;
        settings.validate()?;
        Ok(settings)
    }

    /// Grace period after SIGTERM.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_millis(self.shutdown_grace_ms)
    }

    fn resolve_secret(&mut self) -> Result<(), SettingsError> {
        if let Some(path) = &self.bk.app_secret_file {
            let raw = std::fs::read_to_string(path).map_err(|e| {
                invalid(
                    "bk.app_secret_file",
                    format!("cannot read `{}`: {e}", path.display()),
                )
            })?;
            self.bk.app_secret = Some(SecretString::from(raw.trim().to_owned()));
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
        for (key, value) in [
            ("bk.esb_url", &self.bk.esb_url),
            ("bk.apigw_url", &self.bk.apigw_url),
            ("bk.job_web_url", &self.bk.job_web_url),
        ] {
            check_http_url(key, value)?;
        }
        if self.bk.stage.is_empty() || self.bk.stage.contains('/') {
            return Err(invalid("bk.stage", "must be a non-empty path segment"));
        }
        if self.bk.app_code.trim().is_empty() {
            return Err(invalid("bk.app_code", "must not be empty"));
        }
        match &self.bk.app_secret {
            Some(s) if !s.expose_secret().is_empty() => {}
            _ => {
                return Err(invalid(
                    "bk.app_secret",
                    "is required (or set bk.app_secret_file)",
                ));
            }
        }
        if let Some((key, problem)) = self.server.problem() {
            return Err(invalid(key, problem));
        }
        if self.bk.login_url.trim().is_empty() {
            return Err(invalid("bk.login_url", "must not be empty"));
        }
        if self.bk.default_operator.trim().is_empty() {
            return Err(invalid("bk.default_operator", "must not be empty"));
        }
        for (key, value) in [
            ("bk.timeout_ms", self.bk.timeout_ms),
            ("bk.connect_timeout_ms", self.bk.connect_timeout_ms),
            ("bk.max_concurrency", self.bk.max_concurrency as u64),
            (
                "bk.retry_max_attempts",
                u64::from(self.bk.retry_max_attempts),
            ),
        ] {
            if value == 0 {
                return Err(invalid(key, "must be greater than zero"));
            }
        }
        for (key, value) in [
            ("bk.gateway_job", &self.bk.gateway_job),
            ("bk.gateway_cmdb", &self.bk.gateway_cmdb),
            ("bk.gateway_gse", &self.bk.gateway_gse),
            ("bk.gateway_login", &self.bk.gateway_login),
        ] {
            if value.is_empty() || value.contains('/') {
                return Err(invalid(key, "must be a non-empty path segment"));
            }
        }
        for (key, rate, burst) in [
            (
                "bk.rate_per_second",
                self.bk.rate_per_second,
                self.bk.rate_burst,
            ),
            (
                "bk.biz_rate_per_second",
                self.bk.biz_rate_per_second,
                self.bk.biz_rate_burst,
            ),
        ] {
            if !rate.is_finite() || rate < 0.0 {
                return Err(invalid(
                    key,
                    "must be zero (unlimited) or a positive number",
                ));
            }
            if rate > 0.0 && burst == 0 {
                return Err(invalid(key, "needs a burst of at least one"));
            }
        }
        if self.bk.retry_base_ms > self.bk.retry_max_ms {
            return Err(invalid(
                "bk.retry_base_ms",
                "must not exceed bk.retry_max_ms",
            ));
        }
        if let Some((key, problem)) = self.auth.problem() {
            return Err(invalid(key, problem));
        }
        self.tls.validate()?;
        self.watch.validate()?;
        Ok(())
    }
}

fn check_http_url(key: &str, value: &str) -> Result<(), SettingsError> {
    match Url::parse(value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        Ok(_) => Err(invalid(key, "must be an http(s) URL with a host")),
        Err(e) => Err(invalid(key, format!("`{value}` is not a URL: {e}"))),
    }
}

pub(crate) fn invalid(key: &str, reason: impl std::fmt::Display) -> SettingsError {
    SettingsError::invalid(ENV_PREFIX, key, reason)
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
