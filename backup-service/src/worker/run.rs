//! Drives one claimed backup to a terminal state: check agents, launch the JOB instance
//! exactly once (storing its id before anything else, and looking for an instance launched
//! by a crashed predecessor before launching), follow it, honour cancel and the deadline,
//! then collect logs and write the outcome in one transaction.

use chrono::Utc;
use sqlx::PgPool;
use tonic::{Code, Status};

use super::WorkerSettings;
use super::follow::follow;
use crate::domain::{BackupState, FailureReason, HostReason, HostState, Phase};
use crate::events::HostSummary;
use crate::gateway::{Gateway, Launch, Launched, Which};
use crate::hostscript::{
    BACKUP_SH, BackupDirName, FileSelection, RunId, backup_script_param, encode_script_param,
};
use crate::store::StoreError;
use crate::store::backups::{self, BackupRow};
use crate::store::finish::{HostOutcome, Outcome, finish};
use crate::store::work::{self, Fence, HostAddress};

/// Why a run stopped before the backup was terminal.
#[derive(Debug, thiserror::Error)]
pub(super) enum Halt {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("job-gateway: {0}")]
    Gateway(Status),
}

/// Files per host the backup script copies at most.
const MAX_FILES_PER_HOST: u32 = 100_000;

pub(super) async fn drive(pool: &PgPool, gw: &Gateway, s: &WorkerSettings, row: BackupRow) {
    let fence = Fence {
        id: row.id,
        attempt: row.attempt,
    };
    match steps(pool, gw, s, fence, row).await {
        Ok(()) => {}
        Err(Halt::Store(StoreError::Fenced(_))) => {
            tracing::info!(backup_id = %fence.id, "backup taken over or cancelled: worker stops");
        }
        Err(e) => {
            tracing::warn!(backup_id = %fence.id, error = %e, "backup run interrupted; will resume after the lease")
        }
    }
}

async fn steps(
    pool: &PgPool,
    gw: &Gateway,
    s: &WorkerSettings,
    fence: Fence,
    row: BackupRow,
) -> Result<(), Halt> {
    let selection =
        FileSelection::new(&row.bk_file_dir, &[&row.bk_file_suffix], MAX_FILES_PER_HOST);
    let (Ok(selection), Ok(name), Ok(run)) = (
        selection,
        BackupDirName::parse(&row.backup_name),
        RunId::new(&row.id.simple().to_string()),
    ) else {
        return fail(
            pool,
            fence,
            FailureReason::Internal,
            "stored backup arguments are invalid",
        )
        .await;
    };
    let mut row = row;
    if row.job_instance_id.is_none() {
        if row.state() == BackupState::Cancelling {
            // Cancelled while launching: follow a job that made it to JOB, else end here.
            match find_launched(gw, &row, &run).await? {
                Some(job) => {
                    work::set_job(pool, fence, job.job_instance_id, None, &job.job_url).await?
                }
                None => return end_cancelled_before_launch(pool, fence).await,
            }
        } else {
            if Utc::now() > row.deadline_at {
                return fail(
                    pool,
                    fence,
                    FailureReason::DeadlineExceeded,
                    "deadline passed before launch",
                )
                .await;
            }
            if !check_agents(pool, gw, fence, &row).await? {
                return Ok(());
            }
            // Before launch nothing runs: the unfinished hosts are the pending, online ones.
            let hosts: Vec<i64> = unfinished_hosts(pool, fence)
                .await?
                .iter()
                .map(|h| h.bk_host_id)
                .collect();
            if hosts.is_empty() {
                return finish_skipped(pool, fence).await;
            }
            work::set_phase(pool, fence, Phase::Launching, "launching the backup job").await?;
            let param = backup_script_param(&selection, &name, &run);
            if !launch(pool, gw, s, fence, &row, &hosts, &param, &run).await? {
                return Ok(());
            }
        }
        row = work::current(pool, fence).await?;
    }
    follow(pool, gw, s, fence, row, &selection, &name, &run).await
}

/// Stores agent addresses and skips offline hosts; false when the backup already ended.
async fn check_agents(
    pool: &PgPool,
    gw: &Gateway,
    fence: Fence,
    row: &BackupRow,
) -> Result<bool, Halt> {
    work::set_phase(pool, fence, Phase::CheckingAgents, "checking agents").await?;
    let statuses = match gw
        .agent_status(row.bk_biz_id, &row.bk_host_ids, &row.operator)
        .await
    {
        Ok(s) => s,
        Err(e) if e.code() == Code::PermissionDenied => {
            fail(pool, fence, FailureReason::PermissionDenied, e.message()).await?;
            return Ok(false);
        }
        Err(e) => return Err(Halt::Gateway(e)),
    };
    let addresses: Vec<HostAddress> = statuses
        .iter()
        .map(|a| HostAddress {
            bk_host_id: a.bk_host_id,
            bk_cloud_id: a.bk_cloud_id,
            ip: a.ip.clone(),
        })
        .collect();
    let offline: Vec<i64> = row
        .bk_host_ids
        .iter()
        .copied()
        .filter(|h| !statuses.iter().any(|a| a.bk_host_id == *h && a.alive))
        .collect();
    work::set_agents(pool, fence, &addresses, &offline).await?;
    Ok(true)
}

/// The hosts of the backup that have no final result yet (pending or running), in request
/// order.
pub(super) async fn unfinished_hosts(
    pool: &PgPool,
    fence: Fence,
) -> Result<Vec<HostSummary>, Halt> {
    Ok(backups::hosts(pool, fence.id)
        .await?
        .into_iter()
        .filter(|h| {
            h.status == HostState::Pending.as_str() || h.status == HostState::Running.as_str()
        })
        .collect())
}

/// The instance this backup launched earlier (by a crashed worker, or a launch whose answer
/// was lost), if any.
async fn find_launched(
    gw: &Gateway,
    row: &BackupRow,
    run: &RunId,
) -> Result<Option<Launched>, Halt> {
    let token = encode_script_param(&[run.as_str().as_bytes()]);
    gw.find_run(
        Which::Backup,
        row.bk_biz_id,
        &row.job_name,
        token.trim(),
        row.created_at,
        &row.operator,
    )
    .await
    .map_err(Halt::Gateway)
}

/// Launches once: looks for an instance already launched under this backup first, and
/// retries only failures that leave the launch uncertain, after looking for the instance for
/// the whole settle period. False when the backup ended (launch refused).
#[allow(clippy::too_many_arguments)]
async fn launch(
    pool: &PgPool,
    gw: &Gateway,
    s: &WorkerSettings,
    fence: Fence,
    row: &BackupRow,
    hosts: &[i64],
    param: &str,
    run: &RunId,
) -> Result<bool, Halt> {
    let adopt = |job: Launched, how: &'static str| async move {
        tracing::info!(backup_id = %fence.id, job_instance_id = job.job_instance_id, how, "backup job stored");
        work::set_job(
            pool,
            fence,
            job.job_instance_id,
            job.step_instance_id,
            &job.job_url,
        )
        .await
    };
    let mut wait = s.poll_initial;
    loop {
        if let Some(job) = find_launched(gw, row, run).await? {
            adopt(job, "found the job launched earlier").await?;
            return Ok(true);
        }
        let launch = Launch {
            bk_biz_id: row.bk_biz_id,
            script: BACKUP_SH,
            param,
            hosts,
            timeout_secs: row.job_timeout_secs,
            task_name: &row.job_name,
            operator: &row.operator,
        };
        match gw.run(Which::Backup, launch).await {
            Ok(job) => {
                adopt(job, "launched").await?;
                return Ok(true);
            }
            Err(e) if uncertain(&e) && Utc::now() < row.deadline_at => {
                tracing::warn!(backup_id = %fence.id, error = %e, "launch uncertain: looking for the job before retrying");
                // The request may still be on its way to JOB: look for the instance for the
                // whole settle period before concluding it never arrived.
                let settle = tokio::time::Instant::now() + s.launch_settle;
                while tokio::time::Instant::now() < settle {
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(s.poll_max);
                    if let Some(job) = find_launched(gw, row, run).await? {
                        adopt(job, "the uncertain launch did arrive").await?;
                        return Ok(true);
                    }
                }
            }
            Err(e) => {
                let reason = if e.code() == Code::PermissionDenied {
                    FailureReason::PermissionDenied
                } else {
                    FailureReason::LaunchRejected
                };
                fail(
                    pool,
                    fence,
                    reason,
                    &format!("JOB refused the launch: {}", e.message()),
                )
                .await?;
                return Ok(false);
            }
        }
    }
}

/// Failures after which the launch may or may not have happened.
fn uncertain(e: &Status) -> bool {
    matches!(
        e.code(),
        Code::Unavailable
            | Code::DeadlineExceeded
            | Code::Unknown
            | Code::Cancelled
            | Code::Aborted
            | Code::ResourceExhausted
    )
}

pub(super) async fn fail(
    pool: &PgPool,
    fence: Fence,
    reason: FailureReason,
    message: &str,
) -> Result<(), Halt> {
    let failed = (HostState::Failed, None);
    end_unrun(
        pool,
        fence,
        failed,
        BackupState::Failed,
        Some(reason),
        message,
    )
    .await
}

async fn finish_skipped(pool: &PgPool, fence: Fence) -> Result<(), Halt> {
    let message = "every host's agent is offline: nothing was sent";
    let failed = (HostState::Failed, None);
    let reason = Some(FailureReason::AllHostsFailed);
    end_unrun(pool, fence, failed, BackupState::Failed, reason, message).await
}

async fn end_cancelled_before_launch(pool: &PgPool, fence: Fence) -> Result<(), Halt> {
    let cancelled = (HostState::Cancelled, Some(HostReason::Cancelled));
    let message = "cancelled before launch: nothing ran";
    end_unrun(
        pool,
        fence,
        cancelled,
        BackupState::Cancelled,
        None,
        message,
    )
    .await
}

/// Ends a backup without a job result to collect: every unfinished host gets `host`, and no
/// record is written.
async fn end_unrun(
    pool: &PgPool,
    fence: Fence,
    host: (HostState, Option<HostReason>),
    state: BackupState,
    failure_reason: Option<FailureReason>,
    message: &str,
) -> Result<(), Halt> {
    let note = if state == BackupState::Failed {
        message
    } else {
        ""
    };
    let outcome = Outcome {
        hosts: unfinished_hosts(pool, fence)
            .await?
            .iter()
            .map(|h| HostOutcome::bare(h.bk_host_id, host.0, host.1, note))
            .collect(),
        records: vec![],
        state,
        failure_reason,
        message: message.to_owned(),
    };
    finish(pool, fence, &outcome).await?;
    Ok(())
}
