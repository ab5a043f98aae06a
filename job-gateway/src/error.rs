//! `GatewayError`, the crate's error at the gRPC boundary, and its one mapping to
//! `tonic::Status` with rich details (`tonic-types`).
//!
//! The mapping, written down once (domain of every `ErrorInfo`: [`BK_DOMAIN`] for BlueKing
//! failures, [`GATEWAY_DOMAIN`] for our own; BlueKing failures carry metadata `bk_code`,
//! `bk_message`, `bk_request_id`, `bk_api` where known):
//!
//! | Failure | gRPC code | Details |
//! |---|---|---|
//! | our validation ([`GatewayError::InvalidArgument`], [`BkError::Invalid`]) | INVALID_ARGUMENT | `BadRequest` field violations |
//! | `9900403` (JOB/CMDB IAM), CMDB `1199047`/`1199048`, JOB `1238001`, `1244004` | PERMISSION_DENIED | `ErrorInfo` `BK_PERMISSION_DENIED` + `permission_*` metadata; `Help` link to the apply URL when BlueKing sends one |
//! | ESB `1306402`/`1306403`/`1306207`, gateway `1640301`–`1640304` (app not granted) | PERMISSION_DENIED | `ErrorInfo` `BK_APP_NOT_GRANTED` |
//! | operator rejected ([`AuthSubject::User`]: `1640102`, `1247001`/`1247002`, `1306401`, ESB user auth) | PERMISSION_DENIED | `ErrorInfo` `BK_USER_REJECTED` |
//! | our app credentials rejected ([`AuthSubject::App`]) | INTERNAL | `ErrorInfo` `BK_APP_AUTH_FAILED` (a deployment problem, not the caller's) |
//! | unknown instance / plan / step / script / scope / host / business (`1244006`, `1244007`, `1243009`, `1244012`, `1243047`, `1243049`, `1243051`, `1245001`, `1110008`, `1199019`, `1199079`) | NOT_FOUND | `ErrorInfo` `BK_NOT_FOUND` |
//! | parameter errors (`1240003`, `1241xxx`, `1243052`/`1243053`, `1244001`–`1244003`, `1244008`/`1244009`, `1244020`–`1244022`, `1244026`/`1244027`, CMDB `1199000`–`1199013`, `1199035`, `1199059`, ESB `1306000`/`1306406`, gateway `1640001`, `1641301`, `1641401`) | INVALID_ARGUMENT | `ErrorInfo` `BK_INVALID_ARGUMENT` |
//! | wrong state (`1241003` terminate a finished job, `1241015`, `1244015`, `1243017`, `1244014`, `1244018`, `1244019`, `1244025`) | FAILED_PRECONDITION | `ErrorInfo` `BK_FAILED_PRECONDITION` |
//! | running-job quotas (`1244032`–`1244034`) | RESOURCE_EXHAUSTED | `ErrorInfo` `BK_QUOTA_EXCEEDED` |
//! | front-door rate limit (HTTP 429, `1642901`–`1642904`, `1306429`, CMDB `1199997`) | RESOURCE_EXHAUSTED | `ErrorInfo` `BK_RATE_LIMITED` + `RetryInfo` (`Retry-After`, else 1 s) |
//! | 5xx, ESB `1306201`-class, `1240001`, connection refused / DNS, broken connection | UNAVAILABLE | `ErrorInfo` `BK_UNAVAILABLE` / `BK_UNREACHABLE` |
//! | no answer within `bk.timeout_ms`, or within what is left of the caller's deadline | DEADLINE_EXCEEDED | `ErrorInfo` `BK_TIMEOUT` |
//! | undecodable answer | INTERNAL | `ErrorInfo` `BK_UNDECODABLE`; raw body in the log only |
//! | upstream internal errors (`1240002`, CMDB `1199999`, `-2`) and gateway `1640401`, ESB `1306404`/`1306405`/`1306407` (misrouted) | INTERNAL | `ErrorInfo` `BK_INTERNAL` |
//! | any other BlueKing code | UNKNOWN | `ErrorInfo` `BK_ERROR` with the code |
//! | a person's `bk_token` empty, unknown or expired ([`GatewayError::NotLoggedIn`]) | UNAUTHENTICATED | `ErrorInfo` `BK_LOGIN_REQUIRED` (domain job-gateway) + `login_url` metadata; `Help` link to `bk.login_url` |
//! | [`GatewayError::Internal`] | INTERNAL | message `internal error`; the cause chain in the log only |

use std::collections::HashMap;
use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

use crate::bk::{AuthSubject, BkError, BusinessError, CODE_PERMISSION_DENIED};

/// `ErrorInfo.domain` of failures that came from BlueKing.
pub const BK_DOMAIN: &str = "blueking";
/// `ErrorInfo.domain` of failures job-gateway decided itself.
pub const GATEWAY_DOMAIN: &str = "job-gateway";
/// `RetryInfo` delay when a rate limit names none.
pub const DEFAULT_RETRY_DELAY: Duration = Duration::from_secs(1);

/// Result alias of the gRPC layer.
pub type GatewayResult<T> = Result<T, GatewayError>;

/// An error at the gRPC boundary.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// A BlueKing call failed.
    #[error(transparent)]
    Bk(#[from] BkError),
    /// The request broke our own validation; one violation per field.
    #[error("invalid request: {}", describe(.0))]
    InvalidArgument(Vec<FieldViolation>),
    /// A person's BlueKing login token is empty, unknown or expired; they must log in again at
    /// `login_url`.
    #[error(
        "blueking login token is not valid (unknown or expired); log in at {login_url} and use the new bk_token"
    )]
    NotLoggedIn {
        /// The page to log in at (`bk.login_url`).
        login_url: String,
    },
    /// An unexpected failure; the client sees only `internal error`.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

fn describe(violations: &[FieldViolation]) -> String {
    violations
        .iter()
        .map(|v| format!("`{}` {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ")
}

impl GatewayError {
    /// One invalid field.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        GatewayError::InvalidArgument(vec![FieldViolation::new(field, description)])
    }
}

/// How a BlueKing business code maps.
fn business_code(code: i64) -> (Code, &'static str) {
    match code {
        CODE_PERMISSION_DENIED | 1_199_047 | 1_199_048 | 1_238_001 | 1_244_004 => {
            (Code::PermissionDenied, "BK_PERMISSION_DENIED")
        }
        1_306_402 | 1_306_403 | 1_306_207 | 1_640_301..=1_640_304 => {
            (Code::PermissionDenied, "BK_APP_NOT_GRANTED")
        }
        1_244_006 | 1_244_007 | 1_243_009 | 1_244_012 | 1_243_047 | 1_243_049 | 1_243_051
        | 1_245_001 | 1_110_008 | 1_199_019 | 1_199_079 => (Code::NotFound, "BK_NOT_FOUND"),
        1_241_003 | 1_241_015 | 1_244_015 | 1_243_017 | 1_244_014 | 1_244_018 | 1_244_019
        | 1_244_025 => (Code::FailedPrecondition, "BK_FAILED_PRECONDITION"),
        1_240_003
        | 1_241_000..=1_241_999
        | 1_243_052
        | 1_243_053
        | 1_244_001..=1_244_003
        | 1_244_008
        | 1_244_009
        | 1_244_020..=1_244_022
        | 1_244_026
        | 1_244_027
        | 1_199_000..=1_199_013
        | 1_199_035
        | 1_199_059
        | 1_306_000
        | 1_306_406
        | 1_640_001
        | 1_641_301
        | 1_641_401 => (Code::InvalidArgument, "BK_INVALID_ARGUMENT"),
        1_244_032..=1_244_034 => (Code::ResourceExhausted, "BK_QUOTA_EXCEEDED"),
        1_240_002 | 1_199_999 | -2 | 1_640_401 | 1_306_404 | 1_306_405 | 1_306_407 => {
            (Code::Internal, "BK_INTERNAL")
        }
        _ => (Code::Unknown, "BK_ERROR"),
    }
}

fn bk_metadata(err: &BkError, message: Option<&str>) -> HashMap<String, String> {
    let mut m = HashMap::new();
    m.insert("bk_api".to_owned(), err.api().to_owned());
    if let Some(code) = err.code() {
        m.insert("bk_code".to_owned(), code.to_string());
    }
    if let Some(msg) = message {
        m.insert("bk_message".to_owned(), msg.to_owned());
    }
    if let Some(id) = err.request_id() {
        m.insert("bk_request_id".to_owned(), id.to_owned());
    }
    m
}

fn business_status(err: &BkError, b: &BusinessError) -> Status {
    let (code, reason) = business_code(b.code);
    let mut meta = bk_metadata(err, Some(&b.message));
    let mut details = ErrorDetails::new();
    if let Some(p) = &b.permission {
        if let Some(system) = &p.system_id {
            meta.insert("permission_system_id".to_owned(), system.clone());
        }
        let actions: Vec<&str> = p
            .actions
            .iter()
            .flatten()
            .filter_map(|a| a.id.as_deref())
            .collect();
        meta.insert("permission_actions".to_owned(), actions.join(","));
        if let Ok(json) = serde_json::to_string(p) {
            meta.insert("permission".to_owned(), json);
        }
        if let Some(url) = &p.apply_url {
            meta.insert("permission_apply_url".to_owned(), url.clone());
            details.add_help_link("apply for the missing blueking permission", url);
        }
    }
    details.set_error_info(reason, BK_DOMAIN, meta);
    Status::with_error_details(code, err.to_string(), details)
}

impl From<GatewayError> for Status {
    fn from(err: GatewayError) -> Self {
        match err {
            GatewayError::InvalidArgument(violations) => {
                let message = format!("invalid request: {}", describe(&violations));
                Status::with_error_details(
                    Code::InvalidArgument,
                    message,
                    ErrorDetails::with_bad_request(violations),
                )
            }
            GatewayError::Internal(cause) => {
                tracing::error!(error = ?cause, "internal error");
                Status::internal("internal error")
            }
            GatewayError::NotLoggedIn { login_url } => {
                let message = err_message(&login_url);
                let mut details = ErrorDetails::new();
                details.add_help_link("log in to BlueKing", login_url.clone());
                let meta = HashMap::from([("login_url".to_owned(), login_url)]);
                details.set_error_info("BK_LOGIN_REQUIRED", GATEWAY_DOMAIN, meta);
                Status::with_error_details(Code::Unauthenticated, message, details)
            }
            GatewayError::Bk(err) => bk_status(&err),
        }
    }
}

fn err_message(login_url: &str) -> String {
    GatewayError::NotLoggedIn {
        login_url: login_url.to_owned(),
    }
    .to_string()
}

fn with_info(code: Code, err: &BkError, reason: &str, message: Option<&str>) -> Status {
    let details = ErrorDetails::with_error_info(reason, BK_DOMAIN, bk_metadata(err, message));
    Status::with_error_details(code, err.to_string(), details)
}

fn bk_status(err: &BkError) -> Status {
    match err {
        BkError::Invalid { field, reason, .. } => {
            let message = format!("invalid request: `{field}` {reason}");
            let mut details = ErrorDetails::with_bad_request_violation(*field, reason.clone());
            details.set_error_info("INVALID_ARGUMENT", GATEWAY_DOMAIN, HashMap::new());
            Status::with_error_details(Code::InvalidArgument, message, details)
        }
        BkError::Business(b) => business_status(err, b),
        BkError::RateLimited { retry_after, .. } => {
            let mut details =
                ErrorDetails::with_retry_info(Some(retry_after.unwrap_or(DEFAULT_RETRY_DELAY)));
            details.set_error_info("BK_RATE_LIMITED", BK_DOMAIN, bk_metadata(err, None));
            Status::with_error_details(Code::ResourceExhausted, err.to_string(), details)
        }
        BkError::Unavailable { message, .. } => {
            with_info(Code::Unavailable, err, "BK_UNAVAILABLE", Some(message))
        }
        BkError::NotDelivered { .. } | BkError::Transport { .. } => {
            with_info(Code::Unavailable, err, "BK_UNREACHABLE", None)
        }
        BkError::Timeout { .. } => with_info(Code::DeadlineExceeded, err, "BK_TIMEOUT", None),
        BkError::Auth { who, message, .. } => match who {
            AuthSubject::User => with_info(
                Code::PermissionDenied,
                err,
                "BK_USER_REJECTED",
                Some(message),
            ),
            AuthSubject::App => with_info(Code::Internal, err, "BK_APP_AUTH_FAILED", Some(message)),
        },
        BkError::Undecodable { api, .. } => {
            // The decode detail may quote the body; the client gets a fixed message.
            let details =
                ErrorDetails::with_error_info("BK_UNDECODABLE", BK_DOMAIN, bk_metadata(err, None));
            let message = format!("undecodable answer from blueking `{api}`");
            Status::with_error_details(Code::Internal, message, details)
        }
        BkError::Request { .. } => with_info(Code::Internal, err, "BK_INTERNAL", None),
    }
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
