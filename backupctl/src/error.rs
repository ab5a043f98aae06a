//! `CliError`, everything that ends a command early, its exit code, and its rendering: one
//! readable line (the gRPC code, the field violations of a `BadRequest`, the BlueKing permission
//! apply URL of an `ErrorInfo`, all decoded from the status details); `-v` adds the details.
//!
//! | exit | when |
//! |---|---|
//! | 0 | done (or whoever read the output stopped reading: nothing more is said) |
//! | 1 | failed: the server refused or failed, a backup ended FAILED or CANCELLED |
//! | 2 | usage: bad options, no server, a bad config file |
//! | 3 | partial: a backup ended PARTIAL |
//! | 4 | not found |
//! | 5 | permission denied (or not authenticated) |

use tonic::Code;
use tonic_types::StatusExt;

/// What ended a command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad command-line input.
    #[error("{0}")]
    Usage(String),
    /// A bad or unreadable config or token file.
    #[error("{0}")]
    Config(String),
    /// The server could not be reached.
    #[error("cannot connect to {server}: {cause}")]
    Connect { server: String, cause: String },
    /// The server answered with an error.
    #[error("{}", render_status(.0))]
    Status(tonic::Status),
    /// A backup ended PARTIAL (its summary was printed).
    #[error("{0}")]
    Partial(String),
    /// Anything else that failed (a backup that failed, a local write).
    #[error("{0}")]
    Failed(String),
    /// Whoever read our output stopped (`backupctl … | head`): stop quietly.
    #[error("output closed")]
    Closed,
}

impl From<tonic::Status> for CliError {
    fn from(s: tonic::Status) -> Self {
        Self::Status(s)
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Self::Closed;
        }
        Self::Failed(e.to_string())
    }
}

impl CliError {
    /// The process exit code.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Closed => 0,
            Self::Usage(_) | Self::Config(_) => 2,
            Self::Partial(_) => 3,
            Self::Status(s) => match s.code() {
                Code::NotFound => 4,
                Code::PermissionDenied | Code::Unauthenticated => 5,
                _ => 1,
            },
            Self::Connect { .. } | Self::Failed(_) => 1,
        }
    }

    /// The lines printed on stderr: one, and with `verbose` the status details after it;
    /// nothing when the output was closed.
    pub fn render(&self, verbose: u8) -> String {
        if let Self::Closed = self {
            return String::new();
        }
        let mut out = format!("backupctl: {self}");
        if let (Self::Status(s), 1..) = (self, verbose) {
            out.push_str(&status_details(s));
        }
        out
    }
}

/// A gRPC code the way people read it: `NOT_FOUND` → `not found`.
pub fn code_words(code: Code) -> String {
    let name = match code {
        Code::Ok => "ok",
        Code::Cancelled => "cancelled",
        Code::Unknown => "unknown error",
        Code::InvalidArgument => "invalid argument",
        Code::DeadlineExceeded => "deadline exceeded",
        Code::NotFound => "not found",
        Code::AlreadyExists => "already exists",
        Code::PermissionDenied => "permission denied",
        Code::ResourceExhausted => "resource exhausted",
        Code::FailedPrecondition => "failed precondition",
        Code::Aborted => "aborted",
        Code::OutOfRange => "out of range",
        Code::Unimplemented => "unimplemented",
        Code::Internal => "internal error",
        Code::Unavailable => "unavailable",
        Code::DataLoss => "data loss",
        Code::Unauthenticated => "not authenticated",
    };
    name.to_owned()
}

/// `<code>: <message>`, the field violations instead of the message when there are any, and
/// the permission apply URL.
pub fn render_status(s: &tonic::Status) -> String {
    let details = s.get_error_details();
    let mut line = code_words(s.code());
    let violations: Vec<String> = details
        .bad_request()
        .map(|b| {
            b.field_violations
                .iter()
                .map(|v| format!("`{}`: {}", v.field, v.description))
                .collect()
        })
        .unwrap_or_default();
    if violations.is_empty() {
        line.push_str(": ");
        line.push_str(s.message());
    } else {
        line.push_str(": ");
        line.push_str(&violations.join("; "));
    }
    if let Some(url) = details
        .error_info()
        .and_then(|i| i.metadata.get("permission_apply_url"))
        .filter(|u| !u.is_empty())
    {
        line.push_str(&format!(" (apply for permission: {url})"));
    }
    line
}

fn status_details(s: &tonic::Status) -> String {
    let d = s.get_error_details();
    let mut out = format!("\n  code: {:?}\n  message: {}", s.code(), s.message());
    if let Some(info) = d.error_info() {
        out.push_str(&format!("\n  reason: {} ({})", info.reason, info.domain));
        for (k, v) in &info.metadata {
            out.push_str(&format!("\n  {k}: {v}"));
        }
    }
    if let Some(retry) = d.retry_info().and_then(|r| r.retry_delay) {
        out.push_str(&format!("\n  retry after: {retry:?}"));
    }
    if let Some(help) = d.help() {
        for l in &help.links {
            out.push_str(&format!("\n  help: {} {}", l.description, l.url));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use tonic_types::{ErrorDetails, FieldViolation};

    use super::*;

    #[test]
    fn a_bad_request_shows_its_field_violations_on_one_line() {
        let details = ErrorDetails::with_bad_request(vec![
            FieldViolation::new("bk_file_dir", "must be absolute"),
            FieldViolation::new("bk_file_suffix", "too long"),
        ]);
        let s = tonic::Status::with_error_details(Code::InvalidArgument, "invalid", details);
        let e = CliError::from(s);
        assert_eq!(
            e.render(0),
            "backupctl: invalid argument: `bk_file_dir`: must be absolute; `bk_file_suffix`: too long"
        );
        assert_eq!(e.exit_code(), 1);
    }

    #[test]
    fn a_permission_refusal_shows_the_apply_url_and_exits_5() {
        let meta = HashMap::from([(
            "permission_apply_url".to_owned(),
            "https://iam.example/apply?x=1".to_owned(),
        )]);
        let details = ErrorDetails::with_error_info("BK_PERMISSION_DENIED", "bk", meta);
        let s = tonic::Status::with_error_details(Code::PermissionDenied, "no access", details);
        let e = CliError::from(s);
        assert_eq!(
            e.render(0),
            "backupctl: permission denied: no access (apply for permission: https://iam.example/apply?x=1)"
        );
        assert_eq!(e.exit_code(), 5);
        assert!(e.render(1).contains("reason: BK_PERMISSION_DENIED (bk)"));
    }

    #[test]
    fn each_kind_of_failure_has_its_exit_code() {
        assert_eq!(CliError::Usage("x".into()).exit_code(), 2);
        assert_eq!(CliError::Partial("x".into()).exit_code(), 3);
        assert_eq!(CliError::from(tonic::Status::not_found("b")).exit_code(), 4);
        let unauth = tonic::Status::unauthenticated("no token");
        assert_eq!(CliError::from(unauth).exit_code(), 5);
        assert_eq!(CliError::Failed("x".into()).exit_code(), 1);
        let closed = CliError::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert_eq!((closed.exit_code(), closed.render(2)), (0, String::new()));
    }
}
