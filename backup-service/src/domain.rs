//! The backup state machine's vocabulary: backup states and phases, per-host statuses and the
//! reasons a host or a backup did not succeed, and the states, overlap policies and run
//! decisions of schedules, with their database spellings. The rule that turns per-host outcomes
//! into a backup's final state is `outcome::decide`.
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

        // Stored as its spelling in a `text` column; a spelling the enum does not know is a
        // decode error, never a silent fallback.
        impl sqlx::Type<sqlx::Postgres> for $name {
            fn type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::Type<sqlx::Postgres>>::type_info()
            }

            fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <&str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
            }
        }

        impl sqlx::postgres::PgHasArrayType for $name {
            fn array_type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::postgres::PgHasArrayType>::array_type_info()
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Postgres> for $name {
            fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
                Self::parse(text)
                    .ok_or_else(|| format!("unknown {} `{text}`", stringify!($name)).into())
            }
        }

        impl sqlx::Encode<'_, sqlx::Postgres> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut sqlx::postgres::PgArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<sqlx::Postgres>>::encode_by_ref(&self.as_str(), buf)
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
        /// Some matched files have no known outcome (the run or the reading of its results
        /// was cut short).
        ResultsIncomplete => "results_incomplete",
        /// CMDB no longer lists the host in the backup's business (it was checked when the
        /// backup was accepted): not sent.
        NotInBusiness => "not_in_business",
    }
}

db_enum! {
    /// Why one file was not copied, as kept for the FULL view.
    FileFailure {
        /// The file disappeared between listing and copying.
        Vanished => "vanished",
        /// The source could not be read or the copy could not be written.
        PermissionDenied => "permission_denied",
        /// No space left for the copy.
        DiskFull => "disk_full",
        /// Any other failure; see the message.
        Failed => "failed",
    }
}

db_enum! {
    /// Where a schedule is in its life.
    ScheduleState {
        /// Fires on its spec.
        Active => "active",
        /// Does not fire until resumed; the note says why.
        Paused => "paused",
        /// Stopped for good; its runs and backups stay readable and its name is free again.
        Deleted => "deleted",
    }
}

db_enum! {
    /// What a schedule does when a fire comes while its previous backup still runs.
    OverlapPolicy {
        /// Record the fire as skipped.
        Skip => "skip",
        /// Keep one fire waiting and make it when the running backup ends.
        BufferOne => "buffer_one",
        /// Start another backup alongside.
        AllowAll => "allow_all",
        /// Cancel the running backup, then start.
        CancelPrevious => "cancel_previous",
    }
}

db_enum! {
    /// What became of one fire of a schedule.
    RunDecision {
        /// A backup was started (the run holds its id).
        Fired => "fired",
        /// Not started: the previous backup still ran (overlap policy).
        SkippedOverlap => "skipped_overlap",
        /// Not started: no replica ran at the time and the catch-up window had passed.
        Missed => "missed",
        /// Starting failed; the run holds the reason.
        FailedToStart => "failed_to_start",
        /// Waiting for the previous backup to end (overlap policy BUFFER_ONE); becomes
        /// `Fired` when it starts its backup.
        Buffered => "buffered",
    }
}

db_enum! {
    /// Where retention stands after a run.
    RetentionState {
        /// Nothing to do: the schedule keeps everything, or the run started no backup.
        None => "none",
        /// Waiting for the run's backup to end, or for the prune to finish.
        Pending => "pending",
        /// Pruned on every host of the run.
        Done => "done",
        /// The prune failed on at least one host; the run's message says where and why.
        Failed => "failed",
    }
}

db_enum! {
    /// What made a run.
    RunTrigger {
        /// The schedule's spec.
        Cron => "cron",
        /// TriggerSchedule (run now).
        Manual => "manual",
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
        for p in OverlapPolicy::ALL {
            assert_eq!(OverlapPolicy::parse(p.as_str()), Some(*p));
        }
        for d in RunDecision::ALL {
            assert_eq!(RunDecision::parse(d.as_str()), Some(*d));
        }
        assert_eq!(BackupState::parse("done"), None);
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
