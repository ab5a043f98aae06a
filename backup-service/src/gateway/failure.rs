//! What a failed call to job-gateway means for the caller, decided here once so the worker
//! never matches raw `tonic::Code`s.
//!
//! Decision: a launch is repeated only when the failure proves the request never reached JOB
//! ([`Failure::NotSent`]); a failure that leaves it open ([`Failure::Uncertain`]) makes the
//! caller look for the instance before anything else.

use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::StatusExt;

/// The meaning of a failed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// BlueKing denied the operator.
    Denied,
    /// The thing asked about does not exist (e.g. the job instance).
    NotFound,
    /// JOB refused the operation in the object's current state (e.g. terminating a job that
    /// is not running).
    NotNow,
    /// The request was refused before it could have had any effect (a rate limit, a bad
    /// request): safe to send again later, for a launch too.
    NotSent,
    /// The request may or may not have taken effect (a timeout, a lost connection).
    Uncertain,
    /// A permanent refusal: sending it again gives the same answer.
    Refused,
}

impl Failure {
    /// Classifies `status`.
    pub fn of(status: &Status) -> Self {
        match status.code() {
            Code::PermissionDenied | Code::Unauthenticated => Self::Denied,
            Code::NotFound => Self::NotFound,
            Code::FailedPrecondition => Self::NotNow,
            Code::ResourceExhausted => Self::NotSent,
            Code::Unavailable
            | Code::DeadlineExceeded
            | Code::Unknown
            | Code::Cancelled
            | Code::Aborted => Self::Uncertain,
            Code::Internal
            | Code::InvalidArgument
            | Code::OutOfRange
            | Code::AlreadyExists
            | Code::Unimplemented
            | Code::DataLoss
            | Code::Ok => Self::Refused,
        }
    }

    /// Whether a read that failed this way may be asked again.
    pub fn retryable(self) -> bool {
        matches!(self, Self::NotSent | Self::Uncertain)
    }
}

/// The wait the refusal asks for (`google.rpc.RetryInfo.retry_delay`, which job-gateway sets
/// from BlueKing's rate-limit answer), if it names one.
pub fn retry_delay(status: &Status) -> Option<Duration> {
    status.get_details_retry_info()?.retry_delay
}

/// The wait before trying again after `status`: the delay it asks for, else `backoff`.
pub fn wait_after(status: &Status, backoff: Duration) -> Duration {
    retry_delay(status).unwrap_or(backoff)
}

#[cfg(test)]
mod tests {
    use tonic_types::ErrorDetails;

    use super::*;

    #[test]
    fn a_refusal_naming_a_retry_delay_is_waited_for_and_one_naming_none_backs_off() {
        let limited = Status::with_error_details(
            Code::ResourceExhausted,
            "rate limited",
            ErrorDetails::with_retry_info(Some(Duration::from_millis(1500))),
        );
        let backoff = Duration::from_millis(50);
        assert_eq!(wait_after(&limited, backoff), Duration::from_millis(1500));
        let quota = Status::resource_exhausted("too many running jobs");
        assert_eq!(wait_after(&quota, backoff), backoff);
    }

    #[test]
    fn a_rate_limit_proves_the_request_was_not_sent_and_a_timeout_does_not() {
        assert_eq!(
            Failure::of(&Status::resource_exhausted("429")),
            Failure::NotSent
        );
        assert_eq!(
            Failure::of(&Status::deadline_exceeded("slow")),
            Failure::Uncertain
        );
        assert_eq!(Failure::of(&Status::unavailable("503")), Failure::Uncertain);
        assert_eq!(
            Failure::of(&Status::permission_denied("no")),
            Failure::Denied
        );
        assert_eq!(
            Failure::of(&Status::failed_precondition("queued")),
            Failure::NotNow
        );
        assert_eq!(
            Failure::of(&Status::invalid_argument("bad")),
            Failure::Refused
        );
        assert!(Failure::NotSent.retryable() && !Failure::Refused.retryable());
    }
}
