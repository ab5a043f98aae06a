//! JOB's status codes decoded: run status of jobs and steps (`RunStatusEnum`) and per-host
//! status (`ExecuteObjectTaskStatusEnum`).
//!
//! Unknown codes are kept in an `Unknown(code)` variant, never an error: a newer JOB may add
//! statuses. An unknown run status is not finished (docs/blueking.md, "Status codes"); an
//! unknown host status is final for the host, as the proto documents.

/// Run status of a job instance or step (docs/blueking.md, "Status codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobStatus {
    /// 1 BLANK: not started.
    Pending,
    /// 2 RUNNING.
    Running,
    /// 3 SUCCESS.
    Succeeded,
    /// 4 FAIL.
    Failed,
    /// 5 SKIPPED.
    Skipped,
    /// 6 IGNORE_ERROR.
    IgnoredError,
    /// 7 WAITING_USER.
    WaitingUser,
    /// 8 TERMINATED.
    Terminated,
    /// 9 ABNORMAL_STATE.
    Abnormal,
    /// 10 STOPPING.
    Stopping,
    /// 11 STOP_SUCCESS.
    Stopped,
    /// 12: force-terminate failed (step docs only).
    StopFailed,
    /// 13 CONFIRM_TERMINATED.
    ConfirmTerminated,
    /// 14 ABANDONED.
    Abandoned,
    /// 15 ROLLING_WAITING.
    RollingWaiting,
    /// A code this client does not know.
    Unknown(i32),
}

impl JobStatus {
    /// Decodes JOB's code.
    pub fn from_code(code: i32) -> Self {
        use JobStatus::*;
        match code {
            1 => Pending,
            2 => Running,
            3 => Succeeded,
            4 => Failed,
            5 => Skipped,
            6 => IgnoredError,
            7 => WaitingUser,
            8 => Terminated,
            9 => Abnormal,
            10 => Stopping,
            11 => Stopped,
            12 => StopFailed,
            13 => ConfirmTerminated,
            14 => Abandoned,
            15 => RollingWaiting,
            other => Unknown(other),
        }
    }

    /// JOB's code.
    pub fn code(self) -> i32 {
        use JobStatus::*;
        match self {
            Pending => 1,
            Running => 2,
            Succeeded => 3,
            Failed => 4,
            Skipped => 5,
            IgnoredError => 6,
            WaitingUser => 7,
            Terminated => 8,
            Abnormal => 9,
            Stopping => 10,
            Stopped => 11,
            StopFailed => 12,
            ConfirmTerminated => 13,
            Abandoned => 14,
            RollingWaiting => 15,
            Unknown(c) => c,
        }
    }

    /// JOB's `FINISHED_STATUS_SET`: {3, 4, 5, 6, 8, 9, 11, 13, 14}. Unknown codes (and 12,
    /// which the server enum lacks) are not finished.
    pub fn is_finished(self) -> bool {
        use JobStatus::*;
        matches!(
            self,
            Succeeded
                | Failed
                | Skipped
                | IgnoredError
                | Terminated
                | Abnormal
                | Stopped
                | ConfirmTerminated
                | Abandoned
        )
    }

    /// Whether JOB accepts a terminate (operation 1) in this status: RUNNING or WAITING_USER.
    pub fn is_terminable(self) -> bool {
        matches!(self, JobStatus::Running | JobStatus::WaitingUser)
    }
}

/// Status of one host in a step (docs/blueking.md, "Status codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostStatus {
    /// 0 UNKNOWN_ERROR.
    UnknownError,
    /// 1 AGENT_ERROR.
    AgentError,
    /// 2 INVALID_EXECUTE_OBJECT.
    InvalidTarget,
    /// 3 LAST_SUCCESS.
    LastSuccess,
    /// 5 WAITING.
    Waiting,
    /// 7 RUNNING.
    Running,
    /// 9 SUCCESS.
    Success,
    /// 11 FAILED.
    Failed,
    /// 12 SUBMIT_FAILED.
    SubmitFailed,
    /// 13 TASK_TIMEOUT.
    TaskTimeout,
    /// 15 LOG_ERROR.
    LogError,
    /// 16 GSE_SCRIPT_TIMEOUT.
    GseScriptTimeout,
    /// 17 GSE_FILE_TIMEOUT.
    GseFileTimeout,
    /// 18 AGENT_NOT_INSTALLED.
    AgentNotInstalled,
    /// 101 SCRIPT_FAILED.
    ScriptFailed,
    /// 102 SCRIPT_TIMEOUT.
    ScriptTimeout,
    /// 103 SCRIPT_TERMINATE.
    ScriptTerminated,
    /// 104 SCRIPT_NOT_ZERO_EXIT_CODE.
    ScriptNonZeroExit,
    /// 202 COPYFILE_FAILED.
    CopyFileFailed,
    /// 203 COPYFILE_SOURCE_FILE_NOT_EXIST.
    SourceFileMissing,
    /// 301 FILE_ERROR_UNCLASSIFIED.
    FileError,
    /// 303 GSE_TIMEOUT.
    GseTimeout,
    /// 310 GSE_AGENT_ERROR.
    GseAgentError,
    /// 311 GSE_USER_ERROR.
    GseUserError,
    /// 312 GSE_USER_PWD_ERROR.
    GseUserPasswordError,
    /// 320 GSE_FILE_ERROR.
    GseFileError,
    /// 321 GSE_FILE_SIZE_EXCEED.
    GseFileSizeExceeded,
    /// 329 GSE_FILE_TASK_ERROR.
    GseFileTaskError,
    /// 399 GSE_TASK_ERROR.
    GseTaskError,
    /// 403 GSE_TASK_TERMINATE_SUCCESS.
    GseTerminateSucceeded,
    /// 404 GSE_TASK_TERMINATE_FAILED.
    GseTerminateFailed,
    /// 500 UNKNOWN (JOB's own "unknown state").
    Unknown500,
    /// A code this client does not know.
    Unknown(i32),
}

const HOST_CODES: [(i32, HostStatus); 32] = [
    (0, HostStatus::UnknownError),
    (1, HostStatus::AgentError),
    (2, HostStatus::InvalidTarget),
    (3, HostStatus::LastSuccess),
    (5, HostStatus::Waiting),
    (7, HostStatus::Running),
    (9, HostStatus::Success),
    (11, HostStatus::Failed),
    (12, HostStatus::SubmitFailed),
    (13, HostStatus::TaskTimeout),
    (15, HostStatus::LogError),
    (16, HostStatus::GseScriptTimeout),
    (17, HostStatus::GseFileTimeout),
    (18, HostStatus::AgentNotInstalled),
    (101, HostStatus::ScriptFailed),
    (102, HostStatus::ScriptTimeout),
    (103, HostStatus::ScriptTerminated),
    (104, HostStatus::ScriptNonZeroExit),
    (202, HostStatus::CopyFileFailed),
    (203, HostStatus::SourceFileMissing),
    (301, HostStatus::FileError),
    (303, HostStatus::GseTimeout),
    (310, HostStatus::GseAgentError),
    (311, HostStatus::GseUserError),
    (312, HostStatus::GseUserPasswordError),
    (320, HostStatus::GseFileError),
    (321, HostStatus::GseFileSizeExceeded),
    (329, HostStatus::GseFileTaskError),
    (399, HostStatus::GseTaskError),
    (403, HostStatus::GseTerminateSucceeded),
    (404, HostStatus::GseTerminateFailed),
    (500, HostStatus::Unknown500),
];

impl HostStatus {
    /// Decodes JOB's code.
    pub fn from_code(code: i32) -> Self {
        HOST_CODES
            .iter()
            .find(|(c, _)| *c == code)
            .map_or(HostStatus::Unknown(code), |(_, s)| *s)
    }

    /// JOB's code.
    pub fn code(self) -> i32 {
        match self {
            HostStatus::Unknown(c) => c,
            known => HOST_CODES
                .iter()
                .find(|(_, s)| *s == known)
                .map_or(-1, |(c, _)| *c),
        }
    }

    /// Final for the host: every status except WAITING (5) and RUNNING (7).
    pub fn is_finished(self) -> bool {
        !matches!(self, HostStatus::Waiting | HostStatus::Running)
    }

    /// The host succeeded now (9) or in an earlier run (3).
    pub fn is_success(self) -> bool {
        matches!(self, HostStatus::Success | HostStatus::LastSuccess)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_run_status_round_trips_and_unknown_codes_are_kept() {
        for code in 1..=15 {
            assert_eq!(JobStatus::from_code(code).code(), code);
            assert!(!matches!(JobStatus::from_code(code), JobStatus::Unknown(_)));
        }
        assert_eq!(JobStatus::from_code(42), JobStatus::Unknown(42));
        assert_eq!(JobStatus::from_code(42).code(), 42);
    }

    #[test]
    fn finished_is_exactly_jobs_finished_status_set() {
        let finished: Vec<i32> = (0..=20)
            .filter(|c| JobStatus::from_code(*c).is_finished())
            .collect();
        assert_eq!(finished, [3, 4, 5, 6, 8, 9, 11, 13, 14]);
    }

    #[test]
    fn only_running_and_waiting_user_are_terminable() {
        let terminable: Vec<i32> = (0..=20)
            .filter(|c| JobStatus::from_code(*c).is_terminable())
            .collect();
        assert_eq!(terminable, [2, 7]);
    }

    #[test]
    fn host_statuses_round_trip_and_only_waiting_and_running_are_unfinished() {
        for (code, status) in HOST_CODES {
            assert_eq!(HostStatus::from_code(code), status);
            assert_eq!(status.code(), code);
            assert_eq!(status.is_finished(), !matches!(code, 5 | 7), "{code}");
        }
        assert_eq!(HostStatus::from_code(777), HostStatus::Unknown(777));
        assert!(HostStatus::from_code(777).is_finished());
        assert!(HostStatus::from_code(9).is_success());
        assert!(HostStatus::from_code(3).is_success());
        assert!(!HostStatus::from_code(104).is_success());
    }
}
