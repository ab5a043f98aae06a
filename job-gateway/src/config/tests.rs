//! Settings loading and validation.
use super::*;

fn valid() -> Settings {
    let mut s = Settings::default();
    s.bk.app_secret = Some(SecretString::from("s3cr3t".to_owned()));
    s.auth.tokens = vec![SecretString::from("a-token-of-16-chars".to_owned())];
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
fn resilience_settings_load_from_the_environment() {
    let env: std::collections::HashMap<String, String> = [
        ("JOB_GATEWAY__BK__RATE_PER_SECOND", "2.5"),
        ("JOB_GATEWAY__BK__BIZ_RATE_BURST", "7"),
        ("JOB_GATEWAY__BK__GSE_VERSION", "v2"),
        ("JOB_GATEWAY__BK__RETRY_MAX_ATTEMPTS", "5"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let s: Settings = service_kit::settings::load_with_env(None, ENV_PREFIX, Some(env)).unwrap();
    assert_eq!(s.bk.rate_per_second, 2.5);
    assert_eq!(s.bk.biz_rate_burst, 7);
    assert_eq!(s.bk.gse_version, GseVersion::V2);
    assert_eq!(s.bk.retry_max_attempts, 5);
}

#[test]
fn a_negative_rate_limit_is_named() {
    let mut s = valid();
    s.bk.biz_rate_per_second = -1.0;
    let err = s.validate().unwrap_err().to_string();
    assert!(
        err.starts_with("invalid setting `bk.biz_rate_per_second`"),
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
        "bk.connect_timeout_ms",
        "bk.gateway_job",
        "bk.gateway_cmdb",
        "bk.gateway_gse",
        "bk.gateway_login",
        "bk.login_url",
        "bk.login_cache_ms",
        "bk.gse_version",
        "bk.max_concurrency",
        "bk.rate_per_second",
        "bk.rate_burst",
        "bk.biz_rate_per_second",
        "bk.biz_rate_burst",
        "bk.retry_max_attempts",
        "bk.retry_base_ms",
        "bk.retry_max_ms",
        "server.max_message_bytes",
        "server.max_concurrent_streams",
        "server.keepalive_interval_ms",
        "server.keepalive_timeout_ms",
    ] {
        let env = service_kit::settings::env_name(ENV_PREFIX, key);
        assert!(
            SETTINGS_HELP.contains(&format!("{key:<22}")),
            "{key} missing from help"
        );
        assert!(SETTINGS_HELP.contains(&env), "{env} missing from help");
    }
}

#[test]
fn serving_without_tokens_is_refused_unless_explicitly_allowed() {
    let mut s = valid();
    s.auth.tokens.clear();
    let err = s.validate().unwrap_err().to_string();
    assert!(
        err.starts_with("invalid setting `auth.tokens` (env JOB_GATEWAY__AUTH__TOKENS): no tokens"),
        "{err}"
    );
    s.auth.allow_unauthenticated = true;
    s.validate().unwrap();
}

#[test]
fn a_tls_certificate_without_its_key_is_named() {
    let mut s = valid();
    s.tls.cert_file = Some("cert.pem".into());
    let err = s.validate().unwrap_err().to_string();
    assert!(err.starts_with("invalid setting `tls.key_file`"), "{err}");
}

#[test]
fn watch_bounds_load_from_the_environment_and_are_validated() {
    let env: std::collections::HashMap<String, String> = [
        ("JOB_GATEWAY__WATCH__INITIAL_INTERVAL_MS", "50"),
        ("JOB_GATEWAY__WATCH__MAX_INTERVAL_MS", "40"),
        ("JOB_GATEWAY__WATCH__IDLE_TIMEOUT_MS", "900"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let mut s: Settings =
        service_kit::settings::load_with_env(None, ENV_PREFIX, Some(env)).unwrap();
    assert_eq!(s.watch.bounds().idle, Duration::from_millis(900));
    s.bk.app_secret = valid().bk.app_secret;
    s.auth = valid().auth;
    let err = s.validate().unwrap_err().to_string();
    assert!(
        err.starts_with("invalid setting `watch.max_interval_ms`"),
        "{err}"
    );
    s.watch.max_interval_ms = 50;
    s.watch.backoff_factor = 0.5;
    let err = s.validate().unwrap_err().to_string();
    assert!(
        err.starts_with("invalid setting `watch.backoff_factor`"),
        "{err}"
    );
}
