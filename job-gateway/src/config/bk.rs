//! The `[bk]` section: BlueKing endpoints, credentials, limits and retries.

use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

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

/// Which GSE API answers agent-status questions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GseVersion {
    /// GSE 1.0 `get_agent_status`, always through ESB.
    #[default]
    V1,
    /// GSE 2.0 `list_agent_state`, always through the API gateway.
    V2,
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
    /// Operator used when a caller names none and authentication is off.
    pub default_operator: String,
    /// JOB web UI base URL.
    pub job_web_url: String,
    /// Per-call timeout toward BlueKing.
    pub timeout_ms: u64,
    /// Time to open a connection; a connect failure proves the request never left.
    pub connect_timeout_ms: u64,
    /// API gateway name of JOB.
    pub gateway_job: String,
    /// API gateway name of CMDB.
    pub gateway_cmdb: String,
    /// API gateway name of GSE.
    pub gateway_gse: String,
    /// API gateway name of BlueKing login.
    pub gateway_login: String,
    /// The page people log in at, named when a `bk_token` is refused.
    pub login_url: String,
    /// The app is on ESB's login-exempt whitelist: calls name their user with `bk_username`.
    /// When false, each call must carry the user's `bk_token` (`x-bk-token`) or OAuth
    /// `access_token` (`x-bk-access-token`), which is sent upstream instead.
    pub login_exempt: bool,
    /// How long a verified `bk_token` is remembered; a token BlueKing expires within it may
    /// still pass until it has elapsed. 0 = ask BlueKing every time.
    pub login_cache_ms: u64,
    /// Which GSE API reports agent status.
    pub gse_version: GseVersion,
    /// Calls in flight toward BlueKing at once.
    pub max_concurrency: usize,
    /// Token-bucket refill per second toward BlueKing; 0 disables the limit.
    pub rate_per_second: f64,
    /// Token-bucket capacity.
    pub rate_burst: u32,
    /// Per-business token-bucket refill per second; 0 disables the limit.
    pub biz_rate_per_second: f64,
    /// Per-business token-bucket capacity.
    pub biz_rate_burst: u32,
    /// Attempts per call, the first included; 1 disables retries.
    pub retry_max_attempts: u32,
    /// Backoff before the first retry; doubled per retry and jittered.
    pub retry_base_ms: u64,
    /// Backoff cap.
    pub retry_max_ms: u64,
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
            connect_timeout_ms: 3_000,
            gateway_job: "bk-job".to_owned(),
            gateway_cmdb: "bk-cmdb".to_owned(),
            gateway_gse: "bk-gse".to_owned(),
            gateway_login: "bk-login".to_owned(),
            login_url: "http://127.0.0.1:8600/login/".to_owned(),
            login_exempt: true,
            login_cache_ms: 30_000,
            gse_version: GseVersion::V1,
            max_concurrency: 32,
            rate_per_second: 50.0,
            rate_burst: 50,
            biz_rate_per_second: 20.0,
            biz_rate_burst: 20,
            retry_max_attempts: 3,
            retry_base_ms: 200,
            retry_max_ms: 3_000,
        }
    }
}
