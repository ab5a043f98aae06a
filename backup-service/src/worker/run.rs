//! One claimed backup, driven to a terminal state by a [`BackupRun`] whose methods are the
//! phases, read top to bottom in [`BackupRun::steps`]: check agents and launch the JOB instance
//! exactly once (`launch.rs`), follow it to its end (`follow.rs`), read every host's results
//! back, manifest pages included (`collect.rs`), then decide the outcome (`outcome::decide`)
//! and write it in one fenced transaction.

use chrono::Utc;
use sqlx::PgPool;
use tonic::Status;

use super::WorkerSettings;
use crate::convert::backup_selection;
use crate::domain::{BackupState, FailureReason, HostReason, HostState};
use crate::events::HostSummary;
use crate::gateway::Gateway;
use crate::hostscript::{BackupDirName, FileSelection, RunId};
use crate::outcome::{self, Context, Ending, HostOutcome, HostRun, Outcome, host_outcome};
use crate::records::NewRecord;
use crate::store::StoreError;
use crate::store::backups::{self, BackupRow};
use crate::store::finish::finish;
use crate::store::work::{self, Fence};

use super::collect::Collected;

/// Why a run stopped before the backup was terminal.
#[derive(Debug, thiserror::Error)]
pub(super) enum Halt {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("job-gateway: {0}")]
    Gateway(Status),
}

/// The validated arguments of a backup, rebuilt from its row by the same code that validated
/// the request.
#[derive(Debug, Clone)]
pub(super) struct RunArgs {
    pub(super) selection: FileSelection,
    pub(super) name: BackupDirName,
    pub(super) run: RunId,
}

impl RunArgs {
    fn from_row(row: &BackupRow) -> Option<Self> {
        Some(Self {
            selection: backup_selection(&row.bk_file_dir, &row.bk_file_suffix).ok()?,
            name: BackupDirName::parse(&row.backup_name).ok()?,
            run: RunId::new(&row.id.simple().to_string()).ok()?,
        })
    }
}

/// One claimed backup: what every phase needs.
pub(super) struct BackupRun<'a> {
    pub(super) pool: &'a PgPool,
    pub(super) gw: &'a Gateway,
    pub(super) settings: &'a WorkerSettings,
    pub(super) fence: Fence,
    pub(super) args: RunArgs,
}

pub(super) async fn drive(pool: &PgPool, gw: &Gateway, settings: &WorkerSettings, row: BackupRow) {
    let fence = Fence {
        id: row.id,
        attempt: row.attempt,
    };
    let result = match RunArgs::from_row(&row) {
        Some(args) => {
            let run = BackupRun {
                pool,
                gw,
                settings,
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
            end_unrun(pool, fence, end).await
        }
    };
    match result {
        Ok(()) => {}
        Err(Halt::Store(StoreError::Fenced(_))) => {
            tracing::info!(backup_id = %fence.id, "backup taken over or cancelled: worker stops");
        }
        Err(e) => {
            tracing::warn!(backup_id = %fence.id, error = %e, "backup run interrupted; will resume after the lease")
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

    /// Decides the outcome from every host's evidence and writes it.
    async fn end(&self, row: &BackupRow, ending: Ending, collected: Collected) -> Result<(), Halt> {
        let (args, row_owned) = (self.args.clone(), row.clone());
        // Hundreds of thousands of files take a while: off the runtime, so the lease's
        // heartbeat keeps beating.
        let (hosts, records) =
            off_runtime(move || judge(&args, &row_owned, ending, &collected)).await;
        let ran: Vec<i64> = hosts.iter().map(|h| h.bk_host_id).collect();
        let earlier: Vec<HostState> = backups::hosts(self.pool, self.fence.id)
            .await?
            .iter()
            .filter(|h| !ran.contains(&h.bk_host_id))
            .map(|h| h.status)
            .collect();
        let outcome = outcome::decide(&earlier, hosts, records, ending);
        let written = finish(self.pool, self.fence, &outcome).await?;
        tracing::info!(backup_id = %self.fence.id, state = outcome.state.as_str(), records = written, "backup finished");
        Ok(())
    }

    /// The hosts of the backup that have no final result yet (pending or running), in
    /// request order.
    pub(super) async fn unfinished_hosts(&self) -> Result<Vec<HostSummary>, Halt> {
        unfinished_hosts(self.pool, self.fence).await
    }

    /// Ends the backup FAILED for `reason` without a job result to collect.
    pub(super) async fn fail(&self, reason: FailureReason, message: &str) -> Result<(), Halt> {
        end_unrun(self.pool, self.fence, Unrun::failed(reason, message)).await
    }

    /// Ends the backup without a job result to collect.
    pub(super) async fn end_unrun(&self, end: Unrun<'_>) -> Result<(), Halt> {
        end_unrun(self.pool, self.fence, end).await
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

/// Every host's result and records from what was collected.
fn judge(
    args: &RunArgs,
    row: &BackupRow,
    ending: Ending,
    collected: &Collected,
) -> (Vec<HostOutcome>, Vec<NewRecord>) {
    let job_url = row.job_url.clone().unwrap_or_default();
    let ctx = Context {
        backup_id: row.id,
        bk_biz_id: row.bk_biz_id,
        selection: &args.selection,
        suffix: &row.bk_file_suffix,
        name: &args.name,
        run: &args.run,
        operator: &row.operator,
        job_instance_id: row.job_instance_id.unwrap_or(0),
        job_url: &job_url,
        now: Utc::now(),
        cancelled: ending == Ending::Cancelled,
    };
    let mut hosts = Vec::new();
    let mut records = Vec::new();
    for h in &collected.hosts {
        let (mut out, mut recs) = host_outcome(
            &ctx,
            HostRun {
                bk_host_id: h.host.bk_host_id,
                bk_cloud_id: h.host.bk_cloud_id,
                ip: &h.host.host_ip,
                result: h.result.as_ref(),
                log: &h.log,
                evidence: &h.evidence,
            },
        );
        if ending == Ending::DeadlinePassed && out.status != HostState::Succeeded {
            out.reason = Some(HostReason::DeadlineExceeded);
        }
        hosts.push(out);
        records.append(&mut recs);
    }
    (hosts, records)
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

async fn end_unrun(pool: &PgPool, fence: Fence, end: Unrun<'_>) -> Result<(), Halt> {
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
    Ok(())
}
