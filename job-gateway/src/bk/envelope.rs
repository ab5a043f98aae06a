//! Decoding of BlueKing answers: the envelope `{result, code, message, data, request_id |
//! job_request_id, permission}` as JOB, CMDB and GSE send it through either front door, and the
//! classification of every failure into a [`BkError`].
//!
//! The decision a reader must know: the HTTP status is judged first (gateway-generated errors
//! use real statuses; 429 and 5xx mean the same whatever the body says), then the code. The
//! happy path parses the body once, straight into `Envelope<T>`; only a failure re-reads it.

use std::time::Duration;

use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};

use super::error::{AuthSubject, BkError, BusinessError, Permission};

/// How a system says "success".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Success {
    /// `result == true && code == 0` (JOB, CMDB, GSE v1).
    ResultAndCode,
    /// `code == 0` alone; `1011003` (none of the ids found) is an empty success (GSE v2).
    GseV2,
}

/// A decoded success: `data` (absent or `null` is `None`) and the request id.
#[derive(Debug)]
pub(crate) struct Decoded<T> {
    pub(crate) data: Option<T>,
    pub(crate) request_id: Option<String>,
}

/// GSE v2: none of the `agent_id_list` entries were found.
pub(crate) const GSE_NONE_FOUND: i64 = 1_011_003;
const RAW_BODY_LOG_LIMIT: usize = 2048;

#[derive(Deserialize)]
struct Envelope<T> {
    result: Option<bool>,
    code: Option<i64>,
    bk_error_code: Option<i64>,
    message: Option<String>,
    bk_error_msg: Option<String>,
    #[serde(default = "Option::default")]
    data: Option<T>,
    request_id: Option<String>,
    job_request_id: Option<String>,
    permission: Option<serde_json::Value>,
}

/// Decodes one answer of `api` into its `data`, or classifies the failure.
pub(crate) fn decode<T: DeserializeOwned>(
    api: &'static str,
    success: Success,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Decoded<T>, BkError> {
    match serde_json::from_slice::<Envelope<T>>(body) {
        Ok(env) => classify(api, success, status, headers, body, env),
        Err(typed_err) => match serde_json::from_slice::<Envelope<IgnoredAny>>(body) {
            Ok(env) => match classify(api, success, status, headers, body, env) {
                // A success whose `data` does not have the documented shape.
                Ok(ok) => Err(undecodable(
                    api,
                    status,
                    format!("unexpected `data`: {typed_err}"),
                    body,
                    ok.request_id,
                )),
                Err(e) => Err(e),
            },
            Err(_) => Err(not_an_envelope(api, status, headers, body)),
        },
    }
}

fn classify<T>(
    api: &'static str,
    success: Success,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    env: Envelope<T>,
) -> Result<Decoded<T>, BkError> {
    let request_id = env
        .job_request_id
        .clone()
        .or_else(|| header(headers, "x-bk-job-request-id"))
        .or_else(|| env.request_id.clone())
        .or_else(|| header(headers, "x-bkapi-request-id"));
    let code = env
        .code
        .or(env.bk_error_code)
        .or_else(|| header(headers, "x-bkapi-error-code").and_then(|c| c.parse().ok()));
    let message = env
        .message
        .clone()
        .or(env.bk_error_msg.clone())
        .or_else(|| header(headers, "x-bkapi-error-message"))
        .unwrap_or_default();

    if status.is_success() {
        let ok = match success {
            Success::ResultAndCode => env.result == Some(true) && code.unwrap_or(0) == 0,
            Success::GseV2 => code == Some(0),
        };
        if ok {
            return Ok(Decoded {
                data: env.data,
                request_id,
            });
        }
        if success == Success::GseV2 && code == Some(GSE_NONE_FOUND) {
            return Ok(Decoded {
                data: None,
                request_id,
            });
        }
    }
    let Some(code) = code else {
        return Err(by_status_without_code(
            api, status, headers, body, request_id,
        ));
    };
    let permission = env
        .permission
        .and_then(|p| serde_json::from_value::<Permission>(p).ok());
    Err(classify_failure(
        api, status, headers, code, message, request_id, permission,
    ))
}

fn classify_failure(
    api: &'static str,
    status: StatusCode,
    headers: &HeaderMap,
    code: i64,
    message: String,
    request_id: Option<String>,
    permission: Option<Permission>,
) -> BkError {
    let http_status = status.as_u16();
    if status == StatusCode::TOO_MANY_REQUESTS || is_rate_limit_code(code) {
        return BkError::RateLimited {
            api,
            code,
            request_id,
            retry_after: retry_after(headers),
        };
    }
    if status.is_server_error() || is_unavailable_code(code, &message) {
        return BkError::Unavailable {
            api,
            http_status,
            code: Some(code),
            message,
            request_id,
        };
    }
    if let Some(who) = auth_subject(status, code, &message) {
        return BkError::Auth {
            api,
            who,
            http_status,
            code: Some(code),
            message,
            request_id,
        };
    }
    BkError::Business(Box::new(BusinessError {
        api,
        code,
        message,
        request_id,
        permission,
    }))
}

/// Gateway `1642901`–`1642904`, ESB `1306429`, CMDB `1199997` (too many requests).
fn is_rate_limit_code(code: i64) -> bool {
    matches!(code, 1_642_901..=1_642_904 | 1_306_429 | 1_199_997)
}

/// ESB backend failures, gateway 5xx codes, JOB/CMDB/GSE "unavailable".
fn is_unavailable_code(code: i64, message: &str) -> bool {
    match code {
        1_306_201 | 1_306_203 | 1_306_206 | 1_306_208 | 1_306_209 => true,
        1_650_000..=1_650_999 => true,
        1_240_001 | 1_210_001 | -1 => true,
        1_306_000 => message.to_ascii_lowercase().contains("not a json string"),
        _ => false,
    }
}

/// Which credentials an auth failure is about, if it is one.
fn auth_subject(status: StatusCode, code: i64, message: &str) -> Option<AuthSubject> {
    match code {
        1_640_102 | 1_247_001 | 1_247_002 | 1_306_401 => Some(AuthSubject::User),
        1_640_100 | 1_640_101 | 1_640_004 | 1_247_004 | 1_240_005 | 1_100_004 => {
            Some(AuthSubject::App)
        }
        1_306_000 => {
            let m = message.to_ascii_lowercase();
            if m.contains("user authentication failed") {
                Some(AuthSubject::User)
            } else if m.starts_with("app ")
                || m.contains("bk_app_")
                || m.contains("x-bkapi-authorization")
            {
                Some(AuthSubject::App)
            } else {
                None
            }
        }
        _ if status == StatusCode::UNAUTHORIZED => Some(AuthSubject::App),
        _ => None,
    }
}

/// A non-success status whose body carried no code.
fn by_status_without_code(
    api: &'static str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    request_id: Option<String>,
) -> BkError {
    if status == StatusCode::TOO_MANY_REQUESTS {
        return BkError::RateLimited {
            api,
            code: 1_642_901,
            request_id,
            retry_after: retry_after(headers),
        };
    }
    if status.is_server_error() {
        return BkError::Unavailable {
            api,
            http_status: status.as_u16(),
            code: None,
            message: format!("http {}", status.as_u16()),
            request_id,
        };
    }
    if status == StatusCode::UNAUTHORIZED {
        return BkError::Auth {
            api,
            who: AuthSubject::App,
            http_status: 401,
            code: None,
            message: "unauthorized".to_owned(),
            request_id,
        };
    }
    undecodable(
        api,
        status,
        "envelope without a code".to_owned(),
        body,
        request_id,
    )
}

/// The body is not JSON at all: judge by status (ESB's injected 5xx are plain text).
fn not_an_envelope(
    api: &'static str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> BkError {
    let request_id =
        header(headers, "x-bk-job-request-id").or_else(|| header(headers, "x-bkapi-request-id"));
    if status.is_success() {
        return undecodable(
            api,
            status,
            "not a json envelope".to_owned(),
            body,
            request_id,
        );
    }
    by_status_without_code(api, status, headers, body, request_id)
}

fn undecodable(
    api: &'static str,
    status: StatusCode,
    detail: String,
    body: &[u8],
    request_id: Option<String>,
) -> BkError {
    let end = body.len().min(RAW_BODY_LOG_LIMIT);
    BkError::Undecodable {
        api,
        http_status: status.as_u16(),
        detail,
        raw_body: String::from_utf8_lossy(&body[..end]).into_owned(),
        request_id,
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    header(headers, "retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

#[cfg(test)]
#[path = "envelope_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "decode_tests.rs"]
mod decode_tests;
