//! Progress events: what WatchBackup streams after its snapshot. Each is stored in
//! `backup_events` with the backup's next sequence number, in the same transaction as the
//! change it describes, so the table is the truth and a watcher that resumes from a sequence
//! number sees every event exactly once.

use serde::{Deserialize, Serialize};

use crate::domain::{BackupState, FailureReason, HostReason, HostState, Phase};

/// One progress event, stored as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// The backup's state, phase or job changed.
    StateChanged {
        /// New state.
        state: BackupState,
        /// New phase, while running.
        phase: Option<Phase>,
        /// Why it failed, when FAILED.
        failure_reason: Option<FailureReason>,
        /// Human explanation.
        message: String,
        /// The JOB instance, once launched.
        job_instance_id: Option<i64>,
        /// Its web page.
        job_url: Option<String>,
    },
    /// A host's live status changed while the job runs.
    HostProgress {
        /// Host.
        bk_host_id: i64,
        /// New status.
        status: HostState,
        /// JOB's raw per-host status code.
        job_host_status_code: Option<i32>,
        /// Files the script has copied and recorded in its manifest so far, when it said.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        files_done: Option<i64>,
    },
    /// A host reached its final result.
    HostFinished(HostSummary),
    /// The backup's totals changed.
    CountsChanged(Counts),
}

impl Event {
    /// The `kind` column.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::StateChanged { .. } => "state_changed",
            Self::HostProgress { .. } => "host_progress",
            Self::HostFinished(_) => "host_finished",
            Self::CountsChanged(_) => "counts_changed",
        }
    }

    /// Whether a watcher's stream ends after this event.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::StateChanged { state, .. } if state.is_terminal())
    }
}

/// A host's result without its per-file detail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct HostSummary {
    /// Host.
    pub bk_host_id: i64,
    /// Control area.
    pub bk_cloud_id: i64,
    /// IP.
    pub host_ip: String,
    /// Status.
    pub status: HostState,
    /// Why it did not fully succeed.
    pub reason: Option<HostReason>,
    /// Last lines of the host's log when it failed.
    pub log_excerpt: String,
    /// Script exit code.
    pub exit_code: Option<i32>,
    /// JOB's per-host status code.
    pub job_host_status_code: Option<i32>,
    /// Files found.
    pub files_found: i32,
    /// Files copied.
    pub files_copied: i32,
    /// Files not copied.
    pub files_failed: i32,
    /// Files whose outcome is unknown.
    pub files_unknown: i32,
    /// Bytes copied.
    pub bytes_copied: i64,
    /// When the host's result last changed (absent from events stored before it was kept).
    #[serde(default)]
    pub updated_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When retention removed this backup's directory from the host (schedules' backups);
    /// statements that do not read it (the worker's) leave it unset.
    #[serde(default)]
    #[sqlx(default)]
    pub pruned_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Totals of a backup, computed from its hosts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Counts {
    /// Hosts asked for.
    pub hosts_total: i32,
    /// Hosts per status.
    pub hosts_pending: i32,
    /// Running.
    pub hosts_running: i32,
    /// Succeeded.
    pub hosts_succeeded: i32,
    /// Partial.
    pub hosts_partial: i32,
    /// Failed.
    pub hosts_failed: i32,
    /// Skipped.
    pub hosts_skipped: i32,
    /// Cancelled.
    pub hosts_cancelled: i32,
    /// Files found.
    pub files_found: i64,
    /// Files copied.
    pub files_copied: i64,
    /// Files not copied.
    pub files_failed: i64,
    /// Files whose outcome is unknown.
    pub files_unknown: i64,
    /// Bytes copied.
    pub bytes_copied: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_through_json_with_a_kind_tag() {
        let e = Event::HostProgress {
            bk_host_id: 7,
            status: HostState::Running,
            job_host_status_code: Some(7),
            files_done: None,
        };
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["kind"], "host_progress");
        assert_eq!(serde_json::from_value::<Event>(json).unwrap(), e);
    }

    #[test]
    fn only_a_terminal_state_change_ends_a_stream() {
        let change = |state| Event::StateChanged {
            state,
            phase: None,
            failure_reason: None,
            message: String::new(),
            job_instance_id: None,
            job_url: None,
        };
        assert!(change(BackupState::Partial).is_terminal());
        assert!(!change(BackupState::Cancelling).is_terminal());
        assert!(!Event::CountsChanged(Counts::default()).is_terminal());
    }
}
