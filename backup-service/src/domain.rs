//! The backup state machine's vocabulary: backup states and phases, per-host statuses and the
//! reasons a host or a backup did not succeed, with their database spellings, and the rule
//! that turns per-host outcomes into a backup's final state.
//!
//! A backup moves QUEUED → RUNNING → (CANCELLING →) one of SUCCEEDED, PARTIAL, FAILED,
//! CANCELLED, and never leaves a terminal state. A record exists only for a copied file, so
//! "success" is judged from what hosts really copied, not from JOB's own verdict.

macro_rules! db_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The database spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            /// Parses the database spelling.
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

db_enum! {
    /// Where a backup is in its life.
    BackupState {
        /// Stored, waiting for a worker.
        Queued => "queued",
        /// A worker owns it.
        Running => "running",
        /// Cancel requested; the worker is terminating the job.
        Cancelling => "cancelling",
        /// Every host copied every file it found.
        Succeeded => "succeeded",
        /// Some hosts or files succeeded, others did not.
        Partial => "partial",
        /// Nothing was backed up.
        Failed => "failed",
        /// Cancelled; records exist for what was copied before.
        Cancelled => "cancelled",
    }
}

impl BackupState {
    /// Whether the backup can no longer change.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Succeeded | Self::Partial | Self::Failed | Self::Cancelled
        )
    }
}

db_enum! {
    /// What a running backup is doing.
    Phase {
        /// Asking GSE which agents are alive.
        CheckingAgents => "checking_agents",
        /// Launching (or finding the already launched) JOB instance.
        Launching => "launching",
        /// Waiting for the JOB instance.
        RunningJob => "running_job",
        /// Reading and parsing the hosts' logs.
        CollectingResults => "collecting_results",
        /// Writing records.
        Recording => "recording",
    }
}

db_enum! {
    /// Why a backup ended FAILED.
    FailureReason {
        /// Every host failed or was skipped.
        AllHostsFailed => "all_hosts_failed",
        /// BlueKing denied the operator.
        PermissionDenied => "permission_denied",
        /// JOB refused the launch.
        LaunchRejected => "launch_rejected",
        /// The backup's time bound passed.
        DeadlineExceeded => "deadline_exceeded",
        /// The JOB instance ended abnormally.
        JobAborted => "job_aborted",
        /// The JOB instance could no longer be found.
        JobLost => "job_lost",
        /// An internal error.
        Internal => "internal",
    }
}

db_enum! {
    /// One host's status within a backup.
    HostState {
        /// Not started.
        Pending => "pending",
        /// The job runs on it.
        Running => "running",
        /// Every file found was copied.
        Succeeded => "succeeded",
        /// Some files were copied, some not.
        Partial => "partial",
        /// Nothing was copied.
        Failed => "failed",
        /// Not sent to JOB (agent offline).
        Skipped => "skipped",
        /// The backup was cancelled before the host finished.
        Cancelled => "cancelled",
    }
}

db_enum! {
    /// Why a host did not fully succeed.
    HostReason {
        /// GSE agent offline: not sent.
        AgentOffline => "agent_offline",
        /// JOB reported an agent problem.
        AgentError => "agent_error",
        /// The directory does not exist (or is not a directory).
        DirectoryMissing => "directory_missing",
        /// Permission denied on the directory or the backup root.
        PermissionDenied => "permission_denied",
        /// The disk filled up.
        DiskFull => "disk_full",
        /// The script ran past JOB's timeout.
        Timeout => "timeout",
        /// The script failed; see the log excerpt.
        ScriptError => "script_error",
        /// The log could not be trusted (truncated, mixed, malformed).
        OutputInvalid => "output_invalid",
        /// Cancelled.
        Cancelled => "cancelled",
        /// The backup's time bound passed.
        DeadlineExceeded => "deadline_exceeded",
        /// JOB failed the host for another reason.
        JobError => "job_error",
    }
}

/// The final state of a backup whose hosts ended in `hosts`.
///
/// Cancelled wins; otherwise all succeeded → SUCCEEDED, none with a copy → FAILED (all hosts
/// failed), anything in between → PARTIAL.
pub fn final_state(hosts: &[HostState], cancelled: bool) -> (BackupState, Option<FailureReason>) {
    if cancelled {
        return (BackupState::Cancelled, None);
    }
    let ok = hosts.iter().filter(|h| **h == HostState::Succeeded).count();
    let some = hosts
        .iter()
        .filter(|h| matches!(h, HostState::Succeeded | HostState::Partial))
        .count();
    if !hosts.is_empty() && ok == hosts.len() {
        (BackupState::Succeeded, None)
    } else if some == 0 {
        (BackupState::Failed, Some(FailureReason::AllHostsFailed))
    } else {
        (BackupState::Partial, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_round_trips() {
        for s in BackupState::ALL {
            assert_eq!(BackupState::parse(s.as_str()), Some(*s));
        }
        for s in HostReason::ALL {
            assert_eq!(HostReason::parse(s.as_str()), Some(*s));
        }
        assert_eq!(BackupState::parse("done"), None);
    }

    #[test]
    fn all_hosts_succeeding_is_success_and_none_is_failure() {
        use HostState::*;
        assert_eq!(
            final_state(&[Succeeded, Succeeded], false),
            (BackupState::Succeeded, None)
        );
        assert_eq!(
            final_state(&[Failed, Skipped], false),
            (BackupState::Failed, Some(FailureReason::AllHostsFailed))
        );
        assert_eq!(
            final_state(&[Succeeded, Skipped], false),
            (BackupState::Partial, None)
        );
        assert_eq!(final_state(&[Partial], false), (BackupState::Partial, None));
        assert_eq!(
            final_state(&[Succeeded], true),
            (BackupState::Cancelled, None)
        );
    }

    #[test]
    fn only_the_four_end_states_are_terminal() {
        let terminal: Vec<_> = BackupState::ALL
            .iter()
            .filter(|s| s.is_terminal())
            .collect();
        assert_eq!(
            terminal,
            [
                &BackupState::Succeeded,
                &BackupState::Partial,
                &BackupState::Failed,
                &BackupState::Cancelled
            ]
        );
    }
}
