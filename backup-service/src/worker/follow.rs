//! Follows a launched JOB instance to its end — polling status with a growing interval,
//! publishing per-host progress, terminating it on cancel or at the deadline — then reads the
//! hosts' logs (one batch call) and writes the outcome.

use std::time::Duration;

use chrono::Utc;
use proto::jobgateway::v1::{
    GetJobInstanceStatusResponse, HostResult, HostStatus as JobHostStatus,
};
use sqlx::PgPool;
use tonic::Code;

use super::WorkerSettings;
use super::outcome::{Context, HostRun, host_outcome};
use super::run::{Halt, unfinished_hosts};
use crate::domain::{BackupState, FailureReason, HostReason, HostState, Phase, final_state};
use crate::gateway::Gateway;
use crate::hostscript::{BackupDirName, FileSelection, RunId};
use crate::store::backups::{self, BackupRow};
use crate::store::finish::{HostOutcome, Outcome, finish, host_progress};
use crate::store::work::{self, Fence};

/// How long past its deadline a terminated job may take to report finished.
const TERMINATE_GRACE: Duration = Duration::from_secs(30);

#[allow(clippy::too_many_arguments)]
pub(super) async fn follow(
    pool: &PgPool,
    gw: &Gateway,
    s: &WorkerSettings,
    fence: Fence,
    row: BackupRow,
    selection: &FileSelection,
    name: &BackupDirName,
    run: &RunId,
) -> Result<(), Halt> {
    let job_id = row.job_instance_id.expect("follow runs after launch");
    let (biz, op) = (row.bk_biz_id, row.operator.as_str());
    let mut interval = s.poll_initial;
    let mut terminated = false;
    let mut deadline_hit = false;
    let mut cancelled = row.state() == BackupState::Cancelling;
    let last: Option<GetJobInstanceStatusResponse> = loop {
        // Re-read the row each tick: it carries cancel requests (and the deadline).
        let current = work::current(pool, fence).await?;
        cancelled |= current.state() == BackupState::Cancelling;
        let deadline = current.deadline_at;
        if Utc::now() > deadline && !deadline_hit {
            deadline_hit = true;
            tracing::warn!(backup_id = %fence.id, "deadline passed: terminating the job");
        }
        if (cancelled || deadline_hit) && !terminated {
            match gw.terminate(biz, job_id, op).await {
                Ok(()) => terminated = true,
                // Not running any more: nothing to stop.
                Err(e) if e.code() == Code::FailedPrecondition => terminated = true,
                Err(e) => {
                    tracing::warn!(backup_id = %fence.id, error = %e, "terminate failed; will retry")
                }
            }
        }
        match gw.status(biz, job_id, op).await {
            Ok(status) => {
                let finished = status.job_instance.as_ref().is_some_and(|j| j.finished);
                publish_progress(pool, fence, &status).await?;
                if finished {
                    break Some(status);
                }
            }
            Err(e) if e.code() == Code::NotFound => {
                return super::run::fail(
                    pool,
                    fence,
                    FailureReason::JobLost,
                    "the JOB instance no longer exists",
                )
                .await;
            }
            Err(e) => tracing::warn!(backup_id = %fence.id, error = %e, "status poll failed"),
        }
        if deadline_hit && Utc::now() > deadline + TERMINATE_GRACE {
            break None;
        }
        tokio::time::sleep(interval).await;
        interval = interval.mul_f64(1.5).min(s.poll_max);
    };
    work::set_phase(pool, fence, Phase::CollectingResults, "collecting results").await?;
    let status = last.unwrap_or_default();
    let step = status.steps.first();
    let step_id = row
        .step_instance_id
        .or(step.map(|st| st.step_instance_id))
        .unwrap_or(0);
    let ran = unfinished_hosts(pool, fence).await?;
    let host_ids: Vec<i64> = ran.iter().map(|h| h.bk_host_id).collect();
    let logs = if step_id > 0 && !host_ids.is_empty() {
        gw.logs(biz, job_id, step_id, &host_ids, op)
            .await
            .map_err(Halt::Gateway)?
    } else {
        vec![]
    };
    let job_url = row.job_url.clone().unwrap_or_default();
    let ctx = Context {
        backup_id: fence.id,
        bk_biz_id: biz,
        selection,
        suffix: &row.bk_file_suffix,
        name,
        run,
        operator: op,
        job_instance_id: job_id,
        job_url: &job_url,
        now: Utc::now(),
        cancelled,
    };
    let mut hosts = Vec::new();
    let mut records = Vec::new();
    for h in &ran {
        let result = step.and_then(|st| {
            st.host_results
                .iter()
                .find(|r| r.bk_host_id == h.bk_host_id)
        });
        let log = logs
            .iter()
            .find(|l| l.bk_host_id == h.bk_host_id && l.found)
            .map(|l| l.log_content.as_str());
        let (mut out, mut recs) = host_outcome(
            &ctx,
            HostRun {
                bk_host_id: h.bk_host_id,
                bk_cloud_id: h.bk_cloud_id,
                ip: &h.host_ip,
                result,
                log,
            },
        );
        if deadline_hit && out.status == HostState::Failed && out.reason.is_none() {
            out.reason = Some(HostReason::DeadlineExceeded);
        }
        hosts.push(out);
        records.append(&mut recs);
    }
    let outcome = conclude(pool, fence, hosts, records, cancelled, deadline_hit).await?;
    let written = finish(pool, fence, &outcome).await?;
    tracing::info!(backup_id = %fence.id, state = outcome.state.as_str(), records = written, "backup finished");
    Ok(())
}

/// The final state from every host: those that ran now and those that ended earlier.
async fn conclude(
    pool: &PgPool,
    fence: Fence,
    hosts: Vec<HostOutcome>,
    records: Vec<crate::store::records::NewRecord>,
    cancelled: bool,
    deadline_hit: bool,
) -> Result<Outcome, Halt> {
    let earlier: Vec<HostState> = backups::hosts(pool, fence.id)
        .await?
        .iter()
        .filter(|h| !hosts.iter().any(|o| o.bk_host_id == h.bk_host_id))
        .filter_map(|h| HostState::parse(&h.status))
        .collect();
    let all: Vec<HostState> = earlier
        .into_iter()
        .chain(hosts.iter().map(|h| h.status))
        .collect();
    let copied: usize = records.len();
    let (state, failure_reason, message) = if deadline_hit && !cancelled {
        (
            BackupState::Failed,
            Some(FailureReason::DeadlineExceeded),
            format!("the backup ran past its deadline; {copied} files were copied and recorded"),
        )
    } else {
        let (state, reason) = final_state(&all, cancelled);
        let message = match state {
            BackupState::Cancelled => {
                format!("cancelled; {copied} files copied before the cancel are recorded")
            }
            BackupState::Succeeded => format!("{copied} files backed up"),
            BackupState::Partial => format!("{copied} files backed up; some hosts or files failed"),
            _ => "no file was backed up".to_owned(),
        };
        (state, reason, message)
    };
    Ok(Outcome {
        hosts,
        records,
        state,
        failure_reason,
        message,
    })
}

/// Records live per-host status from a status snapshot.
async fn publish_progress(
    pool: &PgPool,
    fence: Fence,
    status: &GetJobInstanceStatusResponse,
) -> Result<(), Halt> {
    let Some(step) = status.steps.first() else {
        return Ok(());
    };
    let updates: Vec<(i64, HostState, Option<i32>)> = step
        .host_results
        .iter()
        .filter(|r| !r.finished)
        .map(|r: &HostResult| {
            let state = match r.status() {
                JobHostStatus::Waiting | JobHostStatus::Unspecified => HostState::Pending,
                _ => HostState::Running,
            };
            (r.bk_host_id, state, Some(r.status_code))
        })
        .collect();
    if !updates.is_empty() {
        host_progress(pool, fence, &updates).await?;
    }
    Ok(())
}
