//! What a failed call to job-gateway means for the caller, decided here once so the worker
//! never matches raw `tonic::Code`s.
//!
//! Decision: a launch is repeated only when the failure proves the request never reached JOB
//! ([`Failure::NotSent`]); a failure that leaves it open ([`Failure::Uncertain`]) makes the
//! caller look for the instance before anything else.

use tonic::{Code, Status};

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

#[cfg(test)]
mod tests {
    use super::*;

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
