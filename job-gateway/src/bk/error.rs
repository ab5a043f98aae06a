//! `BkError`: every way a BlueKing call can fail, classified for the retry rules and the gRPC
//! mapping.
//!
//! The one decision a reader must know: the classes are about *what the failure proves*. Only
//! [`BkError::NotDelivered`] and [`BkError::RateLimited`] prove BlueKing never processed the
//! request, so only they may be retried for a call that launches or terminates a job
//! ([`BkError::proves_not_delivered`]). Timeouts, 5xx and broken connections leave the outcome
//! unknown and are retried for reads only ([`BkError::is_retryable_for_reads`]).
//!
//! No variant ever holds the app secret. A raw undecodable body is kept for the log only:
//! [`BkError::Undecodable`]'s `Display` does not show it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Result alias of the BlueKing client.
pub type BkResult<T> = Result<T, BkError>;

/// A failed BlueKing call. `api` names the BlueKing API (e.g. `fast_execute_script`).
#[derive(Debug, thiserror::Error)]
pub enum BkError {
    /// The connection could not be made (refused, DNS, TLS handshake): the request never left.
    #[error("cannot reach blueking for `{api}`: {reason}")]
    NotDelivered {
        /// BlueKing API.
        api: &'static str,
        /// What the connector said.
        reason: String,
    },
    /// No answer within the per-call timeout; BlueKing may have processed the request.
    #[error("blueking `{api}` did not answer within {after:?}")]
    Timeout {
        /// BlueKing API.
        api: &'static str,
        /// The timeout that elapsed.
        after: Duration,
    },
    /// The connection broke after the request was (maybe) sent.
    #[error("connection to blueking broke during `{api}`: {reason}")]
    Transport {
        /// BlueKing API.
        api: &'static str,
        /// What the HTTP client said.
        reason: String,
    },
    /// A front door's rate limit (gateway HTTP 429 / `1642901`–`1642904`, ESB `1306429`):
    /// rejected before reaching the backend.
    #[error("blueking rate limit hit on `{api}` (code {code})")]
    RateLimited {
        /// BlueKing API.
        api: &'static str,
        /// Gateway or ESB code.
        code: i64,
        /// BlueKing request id, when one was sent.
        request_id: Option<String>,
        /// `Retry-After`, when the front door sent one.
        retry_after: Option<Duration>,
    },
    /// A 5xx from a front door, ESB `1306201`-class codes, or JOB/CMDB "service unavailable":
    /// the backend may or may not have processed the request.
    #[error("blueking unavailable on `{api}` (http {http_status}, code {code:?}): {message}")]
    Unavailable {
        /// BlueKing API.
        api: &'static str,
        /// HTTP status as received.
        http_status: u16,
        /// BlueKing code, when the body carried one.
        code: Option<i64>,
        /// BlueKing's message, or a short description.
        message: String,
        /// BlueKing request id, when one was sent.
        request_id: Option<String>,
    },
    /// BlueKing rejected the credentials: the gateway's own app (`App`) or the operator (`User`).
    #[error("blueking rejected the {who} credentials on `{api}` (code {code:?}): {message}")]
    Auth {
        /// BlueKing API.
        api: &'static str,
        /// Whose credentials.
        who: AuthSubject,
        /// HTTP status as received.
        http_status: u16,
        /// BlueKing code, when the body carried one.
        code: Option<i64>,
        /// BlueKing's message.
        message: String,
        /// BlueKing request id, when one was sent.
        request_id: Option<String>,
    },
    /// BlueKing processed the request and answered `result: false` with a business code.
    #[error("blueking `{api}` failed with code {}: {}", .0.code, .0.message, api = .0.api)]
    Business(Box<BusinessError>),
    /// The answer was not a BlueKing envelope, or `data` did not have the documented shape.
    #[error("undecodable answer from blueking `{api}` (http {http_status}): {detail}")]
    Undecodable {
        /// BlueKing API.
        api: &'static str,
        /// HTTP status as received.
        http_status: u16,
        /// What did not decode (never the body itself).
        detail: String,
        /// The raw body, truncated; for the log only, never for a client.
        raw_body: String,
        /// BlueKing request id, when one was sent.
        request_id: Option<String>,
    },
    /// An input breaks a documented BlueKing limit; caught before sending.
    #[error("invalid `{field}` for blueking `{api}`: {reason}")]
    Invalid {
        /// BlueKing API.
        api: &'static str,
        /// The offending request field, as the caller named it.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The request could not be built (e.g. a bad base URL).
    #[error("cannot build the blueking `{api}` request: {reason}")]
    Request {
        /// BlueKing API.
        api: &'static str,
        /// Why.
        reason: String,
    },
}

/// Whose credentials BlueKing rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthSubject {
    /// The gateway's app code / secret: a deployment problem.
    App,
    /// The operator (`bk_username`): the caller's identity.
    User,
}

impl std::fmt::Display for AuthSubject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AuthSubject::App => "app",
            AuthSubject::User => "user",
        })
    }
}

/// A BlueKing business error: HTTP 200 (or JOB's 400), `result: false`, a numeric code.
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessError {
    /// BlueKing API.
    pub api: &'static str,
    /// BlueKing code (`code`, or CMDB's `bk_error_code`).
    pub code: i64,
    /// BlueKing's message, in English (`Blueking-Language: en`).
    pub message: String,
    /// BlueKing request id (`job_request_id`, `request_id` or a response header).
    pub request_id: Option<String>,
    /// IAM permission details sent with `9900403`.
    pub permission: Option<Permission>,
}

/// IAM permission object of a `9900403` answer (same shape in JOB and CMDB).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Permission {
    /// IAM system, e.g. `bk_job`.
    pub system_id: Option<String>,
    /// Display name of the system.
    pub system_name: Option<String>,
    /// Actions the user lacks.
    pub actions: Option<Vec<PermissionAction>>,
    /// Apply URL, when a BlueKing version sends one (not in BlueKing's docs; accepted if present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply_url: Option<String>,
}

/// One IAM action of a [`Permission`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PermissionAction {
    /// IAM action id, e.g. `execute_script`.
    pub id: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// Resources the action applies to.
    pub related_resource_types: Option<Vec<RelatedResourceType>>,
}

/// A resource type of a [`PermissionAction`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RelatedResourceType {
    /// IAM system of the resource, e.g. `bk_cmdb`.
    pub system_id: Option<String>,
    /// Display name of the system.
    pub system_name: Option<String>,
    /// Resource type, e.g. `biz`.
    #[serde(rename = "type")]
    pub resource_type: Option<String>,
    /// Display name of the type.
    pub type_name: Option<String>,
    /// Resource paths: each inner list is one path of instances.
    pub instances: Option<Vec<Vec<PermissionInstance>>>,
    /// CMDB only: attribute conditions, kept raw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<serde_json::Value>,
}

/// One resource instance in a permission path.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PermissionInstance {
    /// Instance id (a string, e.g. `"12"`).
    pub id: Option<String>,
    /// Resource type.
    #[serde(rename = "type")]
    pub resource_type: Option<String>,
    /// Display name of the type.
    pub type_name: Option<String>,
    /// Instance name.
    pub name: Option<String>,
}

/// BlueKing's IAM denial code (JOB and CMDB).
pub const CODE_PERMISSION_DENIED: i64 = 9_900_403;

impl BkError {
    /// True when the failure proves BlueKing never processed the request, so even a call that
    /// launches or terminates a job may be sent again.
    pub fn proves_not_delivered(&self) -> bool {
        matches!(
            self,
            BkError::NotDelivered { .. } | BkError::RateLimited { .. }
        )
    }

    /// True when a read may be retried: the cause is transient, whatever BlueKing did.
    pub fn is_retryable_for_reads(&self) -> bool {
        match self {
            BkError::NotDelivered { .. }
            | BkError::Timeout { .. }
            | BkError::Transport { .. }
            | BkError::RateLimited { .. }
            | BkError::Unavailable { .. } => true,
            BkError::Auth { .. }
            | BkError::Business(_)
            | BkError::Undecodable { .. }
            | BkError::Invalid { .. }
            | BkError::Request { .. } => false,
        }
    }

    /// The BlueKing API that failed.
    pub fn api(&self) -> &'static str {
        match self {
            BkError::NotDelivered { api, .. }
            | BkError::Timeout { api, .. }
            | BkError::Transport { api, .. }
            | BkError::RateLimited { api, .. }
            | BkError::Unavailable { api, .. }
            | BkError::Auth { api, .. }
            | BkError::Undecodable { api, .. }
            | BkError::Invalid { api, .. }
            | BkError::Request { api, .. } => api,
            BkError::Business(b) => b.api,
        }
    }

    /// The BlueKing code, when the answer carried one.
    pub fn code(&self) -> Option<i64> {
        match self {
            BkError::RateLimited { code, .. } => Some(*code),
            BkError::Unavailable { code, .. } | BkError::Auth { code, .. } => *code,
            BkError::Business(b) => Some(b.code),
            _ => None,
        }
    }

    /// The BlueKing request id, when the answer carried one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            BkError::RateLimited { request_id, .. }
            | BkError::Unavailable { request_id, .. }
            | BkError::Auth { request_id, .. }
            | BkError::Undecodable { request_id, .. } => request_id.as_deref(),
            BkError::Business(b) => b.request_id.as_deref(),
            _ => None,
        }
    }
}
