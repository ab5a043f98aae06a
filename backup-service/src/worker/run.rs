//! One claimed backup, driven to a terminal state by a [`BackupRun`] whose methods are the
//! phases, read top to bottom in [`BackupRun::steps`]: check agents and launch the JOB instance
//! exactly once (`launch.rs`), follow it to its end (`follow.rs`), read every host's results
//! back, manifest pages included (`collect.rs`), then decide the outcome (`outcome::decide`)
//! and write it in one fenced transaction.

use sqlx::PgPool;
use tonic::Status;

use super::WorkerSettings;
use super::lease::Lease;
use crate::convert::backup_selection;
use crate::domain::{BackupState, FailureReason, HostReason, HostState, Phase};
use crate::events::HostSummary;
use crate::gateway::{Failure, Gateway};
use crate::hostscript::{BackupDirName, FileSelection, RunId, ScheduleTag};
use crate::outcome::{HostOutcome, Outcome};
use crate::store::StoreError;
use crate::store::backups::{self, BackupRow};
use crate::store::finish::finish;
use crate::store::work::{self, Fence};

/// Why a run stopped before the backup was terminal.
#[derive(Debug, thiserror::Error)]
pub(super) enum Halt {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("job-gateway: {0}")]
    Gateway(Status),
    /// Too little of the lease is left (or none: the process was stopped) to send a launch.
    #[error("lease too close to running out to launch")]
    LeaseStale,
}

/// The validated arguments of a backup, rebuilt from its row by the same code that validated
/// the request.
#[derive(Debug, Clone)]
pub(super) struct RunArgs {
    pub(super) selection: FileSelection,
    pub(super) name: BackupDirName,
    pub(super) run: RunId,
    /// The schedule whose fire made the backup: its directory's mark names it, and only its
    /// retention may ever remove the directory.
    pub(super) schedule: Option<ScheduleTag>,
    /// Who asked for the backup (for the log).
    pub(super) operator: String,
}

impl RunArgs {
    fn from_row(row: &BackupRow) -> Option<Self> {
        Some(Self {
            selection: backup_selection(&row.bk_file_dir, &row.bk_file_suffix).ok()?,
            name: BackupDirName::parse(&row.backup_name).ok()?,
            run: RunId::new(&row.id.simple().to_string()).ok()?,
            schedule: row.schedule_id.map(ScheduleTag::from_uuid),
            operator: row.operator.clone(),
        })
    }
}

/// One claimed backup: what every phase needs.
pub(super) struct BackupRun<'a> {
    pub(super) pool: &'a PgPool,
    pub(super) gw: &'a Gateway,
    pub(super) settings: &'a WorkerSettings,
    pub(super) lease: &'a Lease,
    pub(super) fence: Fence,
    pub(super) args: RunArgs,
}

pub(super) async fn drive(
    pool: &PgPool,
    gw: &Gateway,
    settings: &WorkerSettings,
    lease: &Lease,
    row: BackupRow,
) {
    let fence = Fence {
        id: row.id,
        attempt: row.attempt,
    };
    let operator = row.operator.clone();
    let result = match RunArgs::from_row(&row) {
        Some(args) => {
            let run = BackupRun {
                pool,
                gw,
                settings,
                lease,
                fence,
                args,
            };
            run.steps(row).await
        }
        None => {
            let end = Unrun::failed(
                FailureReason::Internal,
                "stored backup arguments are invalid",
            );
            end_unrun(pool, fence, &operator, end).await
        }
    };
    match result {
        Ok(()) => {}
        Err(Halt::Store(StoreError::Fenced(_))) => {
            tracing::info!(
                backup_id = %fence.id,
                attempt = fence.attempt,
                operator = %operator,
                "backup taken over, cancelled or lease run out: worker stops"
            );
        }
        Err(Halt::Gateway(e)) if !Failure::of(&e).retryable() => {
            // A permanent refusal: the next claim would only get the same answer, after every
            // lease, until the deadline. End here, with BlueKing's own words.
            let launched = work::current(pool, fence)
                .await
                .map_or(true, |r| r.job_instance_id.is_some());
            let reason = permanent_reason(Failure::of(&e), launched);
            let msg = format!("job-gateway refused: {}", e.message());
            let end = Unrun::failed(reason, &msg);
            if let Err(err) = end_unrun(pool, fence, &operator, end).await {
                tracing::warn!(backup_id = %fence.id, error = %err, "cannot end the backup after a permanent refusal");
            }
        }
        Err(e) => {
            tracing::warn!(
                backup_id = %fence.id,
                attempt = fence.attempt,
                operator = %operator,
                error = %e,
                "backup run interrupted; will resume after the lease"
            );
        }
    }
}

impl BackupRun<'_> {
    /// The phases, in order. A stored job instance is followed, never launched again.
    async fn steps(&self, mut row: BackupRow) -> Result<(), Halt> {
        if row.job_instance_id.is_none() {
            if !self.launch(&row).await? {
                return Ok(());
            }
            row = work::current(self.pool, self.fence).await?;
        }
        let Some(watched) = self.follow(&row).await? else {
            return Ok(());
        };
        let collected = self.collect(&row, &watched).await?;
        self.end(&row, watched.ending, collected).await
    }

    /// The hosts of the backup that have no final result yet (pending or running), in
    /// request order.
    pub(super) async fn unfinished_hosts(&self) -> Result<Vec<HostSummary>, Halt> {
        unfinished_hosts(self.pool, self.fence).await
    }

    /// Moves to `phase` (with its event) and says so in the log.
    pub(super) async fn set_phase(&self, phase: Phase, message: &str) -> Result<(), Halt> {
        work::set_phase(self.pool, self.fence, phase, message).await?;
        tracing::info!(
            backup_id = %self.fence.id,
            operator = %self.args.operator,
            phase = phase.as_str(),
            status_message = message,
            "backup phase"
        );
        Ok(())
    }

    /// Ends the backup FAILED for `reason` without a job result to collect.
    pub(super) async fn fail(&self, reason: FailureReason, message: &str) -> Result<(), Halt> {
        let end = Unrun::failed(reason, message);
        end_unrun(self.pool, self.fence, &self.args.operator, end).await
    }

    /// Ends the backup without a job result to collect.
    pub(super) async fn end_unrun(&self, end: Unrun<'_>) -> Result<(), Halt> {
        end_unrun(self.pool, self.fence, &self.args.operator, end).await
    }
}

/// The backup's failure reason for a permanent refusal (`failure` is never retryable).
fn permanent_reason(failure: Failure, launched: bool) -> FailureReason {
    match failure {
        Failure::Denied => FailureReason::PermissionDenied,
        _ if !launched => FailureReason::LaunchRejected,
        Failure::NotFound => FailureReason::JobLost,
        _ => FailureReason::Internal,
    }
}

/// How a backup ends without a job result: every unfinished host gets `host` and `reason`.
pub(super) struct Unrun<'m> {
    pub(super) host: HostState,
    pub(super) reason: Option<HostReason>,
    pub(super) state: BackupState,
    pub(super) failure_reason: Option<FailureReason>,
    pub(super) message: &'m str,
}

impl<'m> Unrun<'m> {
    /// FAILED for `reason`; the unfinished hosts fail with the message as their note.
    pub(super) fn failed(reason: FailureReason, message: &'m str) -> Self {
        Self {
            host: HostState::Failed,
            reason: None,
            state: BackupState::Failed,
            failure_reason: Some(reason),
            message,
        }
    }

    /// CANCELLED before anything ran.
    pub(super) fn cancelled(message: &'m str) -> Self {
        Self {
            host: HostState::Cancelled,
            reason: Some(HostReason::Cancelled),
            state: BackupState::Cancelled,
            failure_reason: None,
            message,
        }
    }
}

/// Runs CPU-bound work (parsing and judging big results) off the async runtime.
pub(super) async fn off_runtime<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(work).await {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

async fn unfinished_hosts(pool: &PgPool, fence: Fence) -> Result<Vec<HostSummary>, Halt> {
    Ok(backups::hosts(pool, fence.id)
        .await?
        .into_iter()
        .filter(|h| matches!(h.status, HostState::Pending | HostState::Running))
        .collect())
}

async fn end_unrun(
    pool: &PgPool,
    fence: Fence,
    operator: &str,
    end: Unrun<'_>,
) -> Result<(), Halt> {
    let note = if end.state == BackupState::Failed {
        end.message
    } else {
        ""
    };
    let outcome = Outcome {
        hosts: unfinished_hosts(pool, fence)
            .await?
            .iter()
            .map(|h| HostOutcome::bare(h.bk_host_id, end.host, end.reason, note))
            .collect(),
        records: vec![],
        state: end.state,
        failure_reason: end.failure_reason,
        message: end.message.to_owned(),
    };
    finish(pool, fence, &outcome).await?;
    let reason = end.failure_reason.map(FailureReason::as_str);
    if end.state == BackupState::Failed {
        tracing::warn!(
            backup_id = %fence.id,
            operator = %operator,
            state = end.state.as_str(),
            failure_reason = reason,
            status_message = end.message,
            "backup ended without running"
        );
    } else {
        tracing::info!(
            backup_id = %fence.id,
            operator = %operator,
            state = end.state.as_str(),
            status_message = end.message,
            "backup ended without running"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_permanent_refusal_is_a_denial_a_rejected_launch_or_a_lost_job() {
        let r = permanent_reason;
        assert_eq!(r(Failure::Denied, true), FailureReason::PermissionDenied);
        assert_eq!(r(Failure::NotFound, false), FailureReason::LaunchRejected);
        assert_eq!(r(Failure::Refused, false), FailureReason::LaunchRejected);
        assert_eq!(r(Failure::NotFound, true), FailureReason::JobLost);
        assert_eq!(r(Failure::Refused, true), FailureReason::Internal);
    }
}
