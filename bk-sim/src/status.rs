//! JOB's status codes: job/step run status and per-host status, named once.

/// Job and step run status (`RunStatusEnum`).
pub mod run {
    pub const BLANK: i32 = 1;
    pub const RUNNING: i32 = 2;
    pub const SUCCESS: i32 = 3;
    pub const FAIL: i32 = 4;
    pub const IGNORE_ERROR: i32 = 6;
    pub const STOPPING: i32 = 10;
    pub const STOP_SUCCESS: i32 = 11;

    /// `RunStatusEnum.FINISHED_STATUS_SET`.
    pub fn is_finished(status: i32) -> bool {
        matches!(status, 3 | 4 | 5 | 6 | 8 | 9 | 11 | 13 | 14)
    }
}

/// Per-host status (`ExecuteObjectTaskStatusEnum`) and GSE error codes.
pub mod host {
    pub const AGENT_ERROR: i32 = 1;
    pub const WAITING: i32 = 5;
    pub const RUNNING: i32 = 7;
    pub const SUCCESS: i32 = 9;
    pub const SCRIPT_FAILED: i32 = 101;
    pub const SCRIPT_TIMEOUT: i32 = 102;
    pub const SCRIPT_TERMINATE: i32 = 103;
    pub const SCRIPT_NOT_ZERO_EXIT_CODE: i32 = 104;

    pub const GSE_DONE: i32 = 0;
    pub const GSE_RUNNING: i32 = 115;
    pub const GSE_TERMINATED: i32 = 126;
    pub const GSE_OTHER: i32 = -1;
}
