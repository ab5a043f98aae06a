//! Settings loading shared by both services.
//!
//! Precedence is defaults, then an optional TOML file, then environment variables named
//! `<PREFIX>__<SECTION>__<KEY>` (e.g. `BACKUP_SERVICE__DATABASE__URL`). Each service keeps its
//! own typed settings tree with `#[serde(default)]` and validates it after loading, so a bad
//! value stops start-up with one line naming the setting.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Why settings could not be loaded or are invalid.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file or an environment value could not be read or has the wrong type.
    #[error("{0}")]
    Load(String),
    /// A value was read but is not acceptable.
    #[error("invalid setting `{key}` (env {env}): {reason}")]
    Invalid {
        /// Dotted key, e.g. `database.url`.
        key: String,
        /// The environment variable that sets it.
        env: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl SettingsError {
    /// An invalid value for `key`, naming the environment variable under `prefix` that sets it.
    pub fn invalid(prefix: &str, key: &str, reason: impl std::fmt::Display) -> Self {
        Self::Invalid {
            key: key.to_owned(),
            env: env_name(prefix, key),
            reason: reason.to_string(),
        }
    }
}

/// The environment variable that sets dotted `key` for a service with `prefix`.
pub fn env_name(prefix: &str, key: &str) -> String {
    format!("{prefix}__{}", key.replace('.', "__").to_uppercase())
}

/// Loads `T` from its serde defaults, the TOML `file` when given, and `<prefix>__…` variables.
///
/// Unknown keys in the file are rejected when `T` says `deny_unknown_fields`, so a typo is an
/// error rather than a silently ignored setting.
pub fn load<T: DeserializeOwned>(file: Option<&Path>, prefix: &str) -> Result<T, SettingsError> {
    load_with_env(file, prefix, None)
}

/// [`load`] with the environment given as a map instead of read from the process (for tests).
pub fn load_with_env<T: DeserializeOwned>(
    file: Option<&Path>,
    prefix: &str,
    env: Option<HashMap<String, String>>,
) -> Result<T, SettingsError> {
    let mut builder = config::Config::builder();
    if let Some(path) = file {
        if !path.is_file() {
            return Err(SettingsError::Load(format!(
                "config file `{}` not found",
                path.display()
            )));
        }
        builder = builder.add_source(config::File::from(path).format(config::FileFormat::Toml));
    }
    builder = builder.add_source(
        config::Environment::with_prefix(prefix)
            .prefix_separator("__")
            .separator("__")
            .try_parsing(false)
            .source(env),
    );
    let raw = builder
        .build()
        .map_err(|e| SettingsError::Load(format!("cannot read settings: {e}")))?;
    raw.try_deserialize::<T>()
        .map_err(|e| SettingsError::Load(format!("invalid settings: {e}")))
}

/// Deserializes a list from either a sequence (TOML arrays) or one comma-separated string
/// (environment variables), e.g. `auth.tokens`. Items are trimmed; empty items are dropped.
pub fn string_or_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        One(String),
        Many(Vec<String>),
    }
    let items = match Raw::deserialize(d)? {
        Raw::One(s) => s.split(',').map(str::to_owned).collect(),
        Raw::Many(v) => v,
    };
    Ok(items
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect())
}

/// Deserializes a metrics address: `host:port`, or a bare port (`9102`, as a number or a
/// string) meaning loopback, `127.0.0.1:<port>`; metrics bind to loopback unless an address
/// says otherwise (see [`metrics_problem`]).
pub fn metrics_addr<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<std::net::SocketAddr>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Port(u16),
        Text(String),
    }
    let parsed = match Option::<Raw>::deserialize(d)? {
        None => return Ok(None),
        Some(Raw::Port(p)) => Ok(std::net::SocketAddr::from(([127, 0, 0, 1], p))),
        Some(Raw::Text(t)) if t.trim().is_empty() => return Ok(None),
        Some(Raw::Text(t)) => match t.trim().trim_start_matches(':').parse::<u16>() {
            Ok(p) => Ok(std::net::SocketAddr::from(([127, 0, 0, 1], p))),
            Err(_) => t.trim().parse(),
        },
    };
    parsed
        .map(Some)
        .map_err(|_| serde::de::Error::custom("metrics_addr must be `host:port` or a port"))
}

/// Why metrics may not be served at `addr`, if they may not: `/metrics` has no
/// authentication, so an address other than loopback needs `public` (the `metrics_public`
/// setting) said explicitly.
pub fn metrics_problem(addr: Option<std::net::SocketAddr>, public: bool) -> Option<String> {
    match addr {
        Some(a) if !a.ip().is_loopback() && !public => Some(format!(
            "{a} is not a loopback address, and /metrics has no authentication: give a port or 127.0.0.1:<port>, or set metrics_public = true to expose it"
        )),
        _ => None,
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines (the default).
    #[default]
    Human,
    /// One JSON object per line.
    Json,
}

/// Logging settings, the `[log]` section of both services.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// `human` or `json`.
    pub format: LogFormat,
    /// A tracing `EnvFilter` directive, e.g. `info` or `info,job_gateway=debug`; `RUST_LOG` wins.
    pub filter: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Human,
            filter: "info".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    struct Sample {
        port: u16,
        log: LogSettings,
        auth: Auth,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    struct Auth {
        #[serde(deserialize_with = "string_or_list")]
        tokens: Vec<String>,
    }

    impl Default for Sample {
        fn default() -> Self {
            Self {
                port: 1,
                log: LogSettings::default(),
                auth: Auth::default(),
            }
        }
    }

    #[test]
    fn defaults_hold_when_nothing_overrides_them() {
        let s: Sample = load(None, "SK_TEST_NONE").unwrap();
        assert_eq!(s.port, 1);
        assert_eq!(s.log.format, LogFormat::Human);
        assert!(s.auth.tokens.is_empty());
    }

    #[test]
    fn environment_overrides_the_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.toml");
        std::fs::write(
            &file,
            "port = 7\n[log]\nformat = \"json\"\nfilter = \"debug\"\n",
        )
        .unwrap();
        let env = HashMap::from([
            ("SK__LOG__FILTER".to_owned(), "warn".to_owned()),
            ("SK__AUTH__TOKENS".to_owned(), "a,b".to_owned()),
        ]);
        let s: Sample = load_with_env(Some(&file), "SK", Some(env)).unwrap();
        assert_eq!(s.port, 7);
        assert_eq!(s.log.format, LogFormat::Json);
        assert_eq!(s.log.filter, "warn");
        assert_eq!(s.auth.tokens, vec!["a".to_owned(), "b".to_owned()]);
    }

    #[test]
    fn a_list_may_be_a_toml_array_in_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.toml");
        std::fs::write(&file, "[auth]\ntokens = [\"x\", \" y \"]\n").unwrap();
        let s: Sample = load_with_env(Some(&file), "SK", Some(HashMap::new())).unwrap();
        assert_eq!(s.auth.tokens, vec!["x".to_owned(), "y".to_owned()]);
    }

    #[test]
    fn numeric_looking_values_stay_exact_strings() {
        let env = HashMap::from([("SK__AUTH__TOKENS".to_owned(), "0123".to_owned())]);
        let s: Sample = load_with_env(None, "SK", Some(env)).unwrap();
        assert_eq!(s.auth.tokens, vec!["0123".to_owned()]);
    }

    #[test]
    fn an_unknown_key_in_the_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.toml");
        std::fs::write(&file, "prot = 7\n").unwrap();
        let err = load::<Sample>(Some(&file), "SK_TEST_UNKNOWN").unwrap_err();
        assert!(err.to_string().contains("prot"), "{err}");
    }

    #[test]
    fn a_missing_file_is_named_in_the_error() {
        let err = load::<Sample>(Some(Path::new("nope.toml")), "SK_TEST_MISSING").unwrap_err();
        assert_eq!(err.to_string(), "config file `nope.toml` not found");
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct Metrics {
        #[serde(deserialize_with = "metrics_addr")]
        metrics_addr: Option<std::net::SocketAddr>,
    }

    fn metrics_from_env(value: &str) -> Result<Option<std::net::SocketAddr>, SettingsError> {
        let env = HashMap::from([("SK__METRICS_ADDR".to_owned(), value.to_owned())]);
        load_with_env::<Metrics>(None, "SK", Some(env)).map(|m| m.metrics_addr)
    }

    #[test]
    fn a_bare_metrics_port_binds_loopback_and_an_address_is_taken_as_given() {
        let loopback = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 9102)));
        assert_eq!(metrics_from_env("9102").unwrap(), loopback);
        assert_eq!(metrics_from_env(":9102").unwrap(), loopback);
        assert_eq!(
            metrics_from_env("0.0.0.0:9102").unwrap(),
            Some(([0, 0, 0, 0], 9102).into())
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.toml");
        std::fs::write(&file, "metrics_addr = 9103\n").unwrap();
        let m: Metrics = load_with_env(Some(&file), "SK", Some(HashMap::new())).unwrap();
        assert_eq!(m.metrics_addr, Some(([127, 0, 0, 1], 9103).into()));
        assert!(metrics_from_env("somewhere").is_err());
    }

    #[test]
    fn metrics_beyond_loopback_need_saying_so() {
        assert_eq!(
            metrics_problem(Some(([127, 0, 0, 1], 1).into()), false),
            None
        );
        assert_eq!(metrics_problem(None, false), None);
        let open = Some(([0, 0, 0, 0], 9102).into());
        assert!(
            metrics_problem(open, false)
                .unwrap()
                .contains("metrics_public")
        );
        assert_eq!(metrics_problem(open, true), None);
    }

    #[test]
    fn env_names_use_double_underscores_between_sections() {
        assert_eq!(
            env_name("BACKUP_SERVICE", "database.url"),
            "BACKUP_SERVICE__DATABASE__URL"
        );
    }
}
