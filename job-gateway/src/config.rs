//! job-gateway settings: defaults, then an optional TOML file, then `JOB_GATEWAY__…` variables.
//!
//! The BlueKing app secret is held in a [`SecretString`] so it never reaches a log line or an
//! error message; it can come from the file, the environment or a separate secret file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
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
  bk.default_operator   JOB_GATEWAY__BK__DEFAULT_OPERATOR bk_username when a caller sends no x-bk-username [admin]
  bk.job_web_url        JOB_GATEWAY__BK__JOB_WEB_URL      JOB web UI base; links are <job_web_url>/api_execute/<id> [http://127.0.0.1:8600]
  bk.timeout_ms         JOB_GATEWAY__BK__TIMEOUT_MS       per-call timeout toward BlueKing [10000]
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
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen_addr: ([127, 0, 0, 1], 50051).into(),
            shutdown_grace_ms: 4000,
            log: LogSettings::default(),
            bk: BkSettings::default(),
        }
    }
}

/// Which BlueKing front door carries the calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// ESB: `/api/c/compapi/v2/<system>/<api>/`, credentials in the body.
    #[default]
    Esb,
    /// API gateway: `/api/<gateway>/<stage>/…`, credentials in `X-Bkapi-Authorization`.
    Apigw,
}

/// The `[bk]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BkSettings {
    /// Front door.
    pub transport: Transport,
    /// ESB base URL.
    pub esb_url: String,
    /// API gateway base URL.
    pub apigw_url: String,
    /// API gateway stage.
    pub stage: String,
    /// App code.
    pub app_code: String,
    /// App secret, when given inline.
    pub app_secret: Option<SecretString>,
    /// File holding the app secret.
    pub app_secret_file: Option<PathBuf>,
    /// Operator used when a caller names none.
    pub default_operator: String,
    /// JOB web UI base URL.
    pub job_web_url: String,
    /// Per-call timeout toward BlueKing.
    pub timeout_ms: u64,
}

impl Default for BkSettings {
    fn default() -> Self {
        Self {
            transport: Transport::Esb,
            esb_url: "http://127.0.0.1:8600".to_owned(),
            apigw_url: "http://127.0.0.1:8600".to_owned(),
            stage: "prod".to_owned(),
            app_code: "bk-log-backup".to_owned(),
            app_secret: None,
            app_secret_file: None,
            default_operator: "admin".to_owned(),
            job_web_url: "http://127.0.0.1:8600".to_owned(),
            timeout_ms: 10_000,
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
        if self.bk.default_operator.trim().is_empty() {
            return Err(invalid("bk.default_operator", "must not be empty"));
        }
        if self.bk.timeout_ms == 0 {
            return Err(invalid("bk.timeout_ms", "must be greater than zero"));
        }
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

fn invalid(key: &str, reason: impl std::fmt::Display) -> SettingsError {
    SettingsError::invalid(ENV_PREFIX, key, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> Settings {
        let mut s = Settings::default();
        s.bk.app_secret = Some(SecretString::from("s3cr3t".to_owned()));
        s
    }

    #[test]
    fn defaults_with_a_secret_are_valid() {
        valid().validate().unwrap();
    }

    #[test]
    fn a_missing_secret_is_named() {
        let err = Settings::default().validate().unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid setting `bk.app_secret` (env JOB_GATEWAY__BK__APP_SECRET)"),
            "{err}"
        );
    }

    #[test]
    fn a_malformed_url_is_named_with_its_variable() {
        let mut s = valid();
        s.bk.esb_url = "not a url".to_owned();
        let err = s.validate().unwrap_err().to_string();
        assert!(
            err.starts_with("invalid setting `bk.esb_url` (env JOB_GATEWAY__BK__ESB_URL)"),
            "{err}"
        );
    }

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        let s = valid();
        assert!(!format!("{s:?}").contains("s3cr3t"));
    }

    #[test]
    fn the_help_text_documents_every_setting() {
        for key in [
            "listen_addr",
            "shutdown_grace_ms",
            "log.format",
            "log.filter",
            "bk.transport",
            "bk.esb_url",
            "bk.apigw_url",
            "bk.stage",
            "bk.app_code",
            "bk.app_secret",
            "bk.app_secret_file",
            "bk.default_operator",
            "bk.job_web_url",
            "bk.timeout_ms",
        ] {
            let env = service_kit::settings::env_name(ENV_PREFIX, key);
            assert!(
                SETTINGS_HELP.contains(&format!("{key:<22}")),
                "{key} missing from help"
            );
            assert!(SETTINGS_HELP.contains(&env), "{env} missing from help");
        }
    }
}
