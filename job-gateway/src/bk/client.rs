//! `BkClient`: the one HTTP client toward BlueKing (reqwest + rustls), shared by every gRPC
//! adapter. It owns the endpoints and credentials, the per-call timeout, the limiter and the
//! retry loop; the per-system files (`job.rs`, `cmdb.rs`, `gse.rs`) only describe calls.
//!
//! A call made while serving a gRPC caller with a deadline is bounded, retries and backoff
//! included, by what is left of it (`service_kit::edge::remaining`): past it the call is
//! dropped (its connection with it) and fails as [`BkError::Timeout`].
//!
//! The decision a reader must know: every call names its operator (`bk_username`)
//! explicitly. The gRPC layer passes the authenticated caller's user (a fixed-user token's
//! user, or the `x-bk-username` a delegator token named); [`BkClient::default_operator`] stands
//! in only when authentication is off, so BlueKing's own permission checks apply to the real
//! caller. The app secret lives in a `SecretString` and in a
//! sensitive header; neither `Debug` nor any error shows it.

use super::operator::Operator;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use tracing::{Instrument, field};

use super::envelope::{self, Decoded, Success};
use super::error::{BkError, BkResult};
use super::metrics::BkMetrics;
use super::resilience::{Limiter, RetryPolicy, with_retries};
use super::transport::{ApiCall, Endpoints, System};
use crate::config::{BkSettings, GseVersion, Transport};

/// The BlueKing client. Cheap to clone; clones share the connection pool and the limiter.
#[derive(Clone)]
pub struct BkClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    endpoints: Endpoints,
    limiter: Limiter,
    retry: RetryPolicy,
    timeout: Duration,
    default_operator: String,
    login_exempt: bool,
    job_web_url: String,
    gse_version: GseVersion,
    metrics: Option<BkMetrics>,
}

impl std::fmt::Debug for BkClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BkClient")
            .field("endpoints", &self.inner.endpoints)
            .field("retry", &self.inner.retry)
            .field("timeout", &self.inner.timeout)
            .field("default_operator", &self.inner.default_operator)
            .finish_non_exhaustive()
    }
}

impl BkClient {
    /// Builds the client from validated `[bk]` settings (the app secret already resolved).
    pub fn new(bk: &BkSettings) -> BkResult<Self> {
        Self::with_metrics(bk, None)
    }

    /// Like [`BkClient::new`], recording upstream calls, retries and rate-limit waits in
    /// `metrics`.
    pub fn with_metrics(bk: &BkSettings, metrics: Option<BkMetrics>) -> BkResult<Self> {
        let timeout = Duration::from_millis(bk.timeout_ms);
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(Duration::from_millis(bk.connect_timeout_ms).min(timeout))
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| BkError::Request {
                api: "*",
                reason: format!("cannot build the http client: {e}"),
            })?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                endpoints: Endpoints::from_settings(bk)?,
                limiter: Limiter::from_settings(bk),
                retry: RetryPolicy::from_settings(bk),
                timeout,
                default_operator: bk.default_operator.clone(),
                login_exempt: bk.login_exempt,
                job_web_url: bk.job_web_url.trim_end_matches('/').to_owned(),
                gse_version: bk.gse_version,
                metrics,
            }),
        })
    }

    /// The operator used when a caller names none while authentication is off.
    pub fn default_operator(&self) -> &str {
        &self.inner.default_operator
    }

    /// Whether calls name their user with `bk_username` (the app is login-exempt) rather than
    /// prove it with the user's own token.
    pub fn login_exempt(&self) -> bool {
        self.inner.login_exempt
    }

    /// The front door calls of `system` go through.
    pub(crate) fn front_door(&self, system: System) -> Transport {
        self.inner.endpoints.front_door(system)
    }

    /// The GSE API generation configured for agent status.
    pub fn gse_version(&self) -> GseVersion {
        self.inner.gse_version
    }

    /// The stable JOB web link of an instance: `{job_web_url}/api_execute/{id}`.
    pub fn job_url(&self, job_instance_id: i64) -> String {
        format!("{}/api_execute/{job_instance_id}", self.inner.job_web_url)
    }

    /// The JOB web link of a step: `{job_web_url}/api_execute_step/{job}/{step}`.
    pub fn step_url(&self, job_instance_id: i64, step_instance_id: i64) -> String {
        format!(
            "{}/api_execute_step/{job_instance_id}/{step_instance_id}",
            self.inner.job_web_url
        )
    }

    /// The JOB web link of a plan: `{job_web_url}/api_plan/{id}`.
    pub fn plan_url(&self, job_plan_id: i64) -> String {
        format!("{}/api_plan/{job_plan_id}", self.inner.job_web_url)
    }

    /// Sends `call` as `operator` with limits and retries, and decodes its `data`.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        call: ApiCall,
        operator: &Operator,
    ) -> BkResult<Decoded<T>> {
        let transport = self.inner.endpoints.front_door(call.system);
        let parent = tracing::Span::current();
        let span = tracing::info_span!(
            "bk_call",
            api = call.api,
            transport = ?transport,
            operator = %operator,
            biz = call.biz,
            attempts = field::Empty,
            bk_request_id = field::Empty,
            bk_code = field::Empty,
        );
        let retried = async {
            with_retries(&self.inner.retry, call.effect, |n| {
                tracing::Span::current().record("attempts", n);
                if let (true, Some(m)) = (n > 1, &self.inner.metrics) {
                    m.retry(call.api);
                }
                self.attempt::<T>(&call, operator)
            })
            .await
        }
        .instrument(span.clone());
        let result = match service_kit::edge::remaining() {
            None => retried.await,
            Some(left) => {
                tokio::time::timeout(left, retried)
                    .await
                    .unwrap_or(Err(BkError::Timeout {
                        api: call.api,
                        after: left,
                    }))
            }
        };
        let request_id = match &result {
            Ok(d) => d.request_id.as_deref(),
            Err(e) => e.request_id(),
        };
        if let Some(id) = request_id {
            span.record("bk_request_id", id);
            // The RPC span declares `bk_request_id` too; a span that does not ignores this.
            parent.record("bk_request_id", id);
        }
        if let Err(err) = &result {
            if let Some(code) = err.code() {
                span.record("bk_code", code);
            }
            log_failure(err);
        }
        result
    }

    /// Asks BlueKing's login service about `bk_token` (retried as a read, within the per-call
    /// timeout) and decodes the answer with `decode`. The token is never logged: HTTP errors are
    /// stripped of their URL, whose query may hold it.
    pub(crate) async fn login_exchange<T>(
        &self,
        bk_token: &secrecy::SecretString,
        decode: impl Fn(&'static str, http::StatusCode, &http::HeaderMap, &[u8]) -> BkResult<T>,
    ) -> BkResult<T> {
        let decode = &decode;
        with_retries(
            &self.inner.retry,
            super::transport::Effect::Read,
            |_| async move {
                let (_slot, _) = self.inner.limiter.acquire(None).await;
                let (api, request) = self.inner.endpoints.login(&self.inner.http, bk_token)?;
                let exchange = async {
                    let response = self
                        .inner
                        .http
                        .execute(request)
                        .await
                        .map_err(|e| transport_error(api, &e.without_url()))?;
                    let status = response.status();
                    let headers = response.headers().clone();
                    let body = response
                        .bytes()
                        .await
                        .map_err(|e| transport_error(api, &e.without_url()))?;
                    Ok::<_, BkError>((status, headers, body))
                };
                let (status, headers, body) = tokio::time::timeout(self.inner.timeout, exchange)
                    .await
                    .map_err(|_| BkError::Timeout {
                        api,
                        after: self.inner.timeout,
                    })??;
                let result = decode(api, status, &headers, &body);
                if let Err(err) = &result {
                    log_failure(err);
                }
                result
            },
        )
        .await
    }

    async fn exchange<T: DeserializeOwned>(
        &self,
        call: &ApiCall,
        operator: &Operator,
    ) -> BkResult<Decoded<T>> {
        let (_slot, waited) = self.inner.limiter.acquire(call.biz).await;
        if !waited.is_zero() {
            if let Some(m) = &self.inner.metrics {
                m.rate_limit_wait(waited);
            }
            tracing::debug!(
                api = call.api,
                waited_ms = waited.as_millis() as u64,
                "rate limit wait"
            );
        }
        let request = self
            .inner
            .endpoints
            .build(&self.inner.http, call, operator)?;
        let api = call.api;
        let exchange = async {
            let response = self
                .inner
                .http
                .execute(request)
                .await
                .map_err(|e| transport_error(api, &e))?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = response
                .bytes()
                .await
                .map_err(|e| transport_error(api, &e))?;
            Ok::<_, BkError>((status, headers, body))
        };
        let (status, headers, body) = tokio::time::timeout(self.inner.timeout, exchange)
            .await
            .map_err(|_| BkError::Timeout {
            api,
            after: self.inner.timeout,
        })??;
        let success = match call.system {
            System::GseV2 => Success::GseV2,
            _ => Success::ResultAndCode,
        };
        envelope::decode(api, success, status, &headers, &body)
    }

    async fn attempt<T: DeserializeOwned>(
        &self,
        call: &ApiCall,
        operator: &Operator,
    ) -> BkResult<Decoded<T>> {
        let result = self.exchange(call, operator).await;
        if let Some(m) = &self.inner.metrics {
            let transport = match self.inner.endpoints.front_door(call.system) {
                Transport::Esb => "esb",
                Transport::Apigw => "apigw",
            };
            m.attempt(call.api, transport, &result);
        }
        result
    }
}

/// Classifies a reqwest failure by what it proves about delivery.
fn transport_error(api: &'static str, e: &reqwest::Error) -> BkError {
    let reason = error_chain(e);
    if e.is_connect() {
        BkError::NotDelivered { api, reason }
    } else if e.is_timeout() {
        BkError::Timeout {
            api,
            after: Duration::ZERO,
        }
    } else {
        BkError::Transport { api, reason }
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

fn log_failure(err: &BkError) {
    match err {
        BkError::Undecodable {
            api,
            http_status,
            detail,
            raw_body,
            request_id,
        } => tracing::error!(
            api,
            http_status,
            detail = %detail,
            raw_body = %raw_body,
            bk_request_id = request_id.as_deref().unwrap_or(""),
            "undecodable blueking answer"
        ),
        BkError::Business(_) | BkError::Invalid { .. } => {
            tracing::info!(error = %err, "blueking refused the call")
        }
        _ => tracing::warn!(error = %err, "blueking call failed"),
    }
}
