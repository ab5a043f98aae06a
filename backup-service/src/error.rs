//! `BackupError`, the one error type of backup-service's gRPC surface, and its single mapping
//! to `tonic::Status`:
//!
//! | error | code | details |
//! |---|---|---|
//! | `InvalidArgument` | INVALID_ARGUMENT | `BadRequest` field violation naming the field |
//! | `NotFound` | NOT_FOUND | — |
//! | `AlreadyExists` | ALREADY_EXISTS | — (a request id reused for another backup) |
//! | `FailedPrecondition` | FAILED_PRECONDITION | — (e.g. retrying a backup with nothing failed) |
//! | `Upstream` | job-gateway's code | job-gateway's details, message prefixed |
//! | `Store(NameTaken)` | ALREADY_EXISTS (`` `name`: schedule name `x` is taken in business 3 ``) | — |
//! | `Store(StaleEtag)` | ABORTED (read the schedule again and retry) | — |
//! | `Store`, database unreachable | UNAVAILABLE (`database unavailable`) | cause logged, never sent |
//! | `Store`, anything else | INTERNAL (`internal error`) | cause logged, never sent |
//!
//! Internals (SQL, connection strings) never reach a client; the full cause goes to the log.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::store::StoreError;

/// Result alias of the service.
pub type Result<T, E = BackupError> = std::result::Result<T, E>;

/// What can go wrong serving a backup RPC.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The request names a bad value; nothing was done.
    #[error("invalid `{field}`: {reason}")]
    InvalidArgument {
        /// Request field, e.g. `bk_file_dir` or `bk_host_ids[2]`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The named object does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A request id was reused for something else.
    #[error("{0}")]
    AlreadyExists(String),
    /// The object is not in a state that allows the call.
    #[error("{0}")]
    FailedPrecondition(String),
    /// job-gateway (or BlueKing behind it) refused or failed; its status is passed on.
    #[error("job-gateway: {}", .0.message())]
    Upstream(tonic::Status),
    /// Postgres failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl BackupError {
    /// A bad value in `field`.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidArgument {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl From<BackupError> for Status {
    fn from(e: BackupError) -> Self {
        match e {
            BackupError::InvalidArgument { field, reason } => {
                let message = format!("invalid `{field}`: {reason}");
                Status::with_error_details(
                    Code::InvalidArgument,
                    message,
                    ErrorDetails::with_bad_request_violation(field, reason),
                )
            }
            BackupError::NotFound(what) => Status::not_found(format!("{what} not found")),
            BackupError::AlreadyExists(m) => Status::already_exists(m),
            BackupError::FailedPrecondition(m) => Status::failed_precondition(m),
            // Pass BlueKing's verdict on (permission denied stays permission denied), with
            // its details, but say where it came from.
            BackupError::Upstream(s) => Status::with_details(
                s.code(),
                format!("job-gateway: {}", s.message()),
                s.details().to_vec().into(),
            ),
            BackupError::Store(cause @ StoreError::NameTaken { .. }) => {
                Status::already_exists(format!("`name`: {cause}"))
            }
            BackupError::Store(cause @ StoreError::StaleEtag { .. }) => {
                Status::aborted(format!("{cause}; read it again and retry"))
            }
            BackupError::Store(cause) if cause.is_unavailable() => {
                tracing::warn!(error = %cause, "database unavailable");
                Status::unavailable("database unavailable; retry later")
            }
            BackupError::Store(cause) => {
                tracing::error!(error = %cause, "store failure");
                Status::internal("internal error")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_argument_carries_the_field_as_a_violation() {
        let status = Status::from(BackupError::invalid("bk_file_dir", "must be absolute"));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.message(), "invalid `bk_file_dir`: must be absolute");
        let details = status.get_error_details();
        let v = &details.bad_request().unwrap().field_violations[0];
        assert_eq!(
            (v.field.as_str(), v.description.as_str()),
            ("bk_file_dir", "must be absolute")
        );
    }

    #[test]
    fn a_store_failure_hides_its_cause_from_the_client() {
        let err = BackupError::Store(StoreError::Database(sqlx::Error::Protocol(
            "select secret from t".into(),
        )));
        let status = Status::from(err);
        assert_eq!(status.code(), Code::Internal);
        assert_eq!(status.message(), "internal error");
    }

    #[test]
    fn a_taken_schedule_name_is_already_exists_and_a_stale_etag_is_aborted() {
        let taken = Status::from(BackupError::Store(StoreError::NameTaken {
            bk_biz_id: 3,
            name: "nightly".into(),
        }));
        assert_eq!(taken.code(), Code::AlreadyExists);
        assert_eq!(
            taken.message(),
            "`name`: schedule name `nightly` is taken in business 3"
        );
        let id = uuid::Uuid::nil();
        let stale = Status::from(BackupError::Store(StoreError::StaleEtag {
            id,
            given: 2,
            current: 3,
        }));
        assert_eq!(stale.code(), Code::Aborted);
        assert_eq!(
            stale.message(),
            format!(
                "schedule `{id}` changed since it was read (etag 2, now 3); read it again and retry"
            )
        );
    }

    #[test]
    fn an_unreachable_database_is_unavailable_not_internal() {
        for cause in [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
        ] {
            let status = Status::from(BackupError::Store(StoreError::Database(cause)));
            assert_eq!(status.code(), Code::Unavailable);
            assert_eq!(status.message(), "database unavailable; retry later");
        }
    }
}
