//! SQL for the end of a worker's run: live per-host progress while the job runs, and the one
//! transaction that writes records for copied files, per-host results, and the final state.
//! Both are fenced like every worker write (see `work.rs`).

use serde::Serialize;
use sqlx::PgPool;
use sqlx::types::Json;

use super::backups::counts;
use super::records::{self, NewRecord};
use super::work::{Fence, begin};
use super::{StoreError, events};
use crate::domain::{BackupState, FailureReason, HostReason, HostState};
use crate::events::{Event, HostSummary};

/// Live status of hosts while the job runs; writes and announces only real changes.
pub async fn host_progress(
    pool: &PgPool,
    fence: Fence,
    updates: &[(i64, HostState, Option<i32>)],
) -> Result<usize, StoreError> {
    let (mut tx, _) = begin(pool, fence).await?;
    let mut changed = 0;
    for (host, status, code) in updates {
        let done = sqlx::query(
            "update backup_hosts set status = $3, job_host_status_code = $4, updated_at = now() \
             where backup_id = $1 and bk_host_id = $2 and status in ('pending', 'running') \
               and (status <> $3 or job_host_status_code is distinct from $4)",
        )
        .bind(fence.id)
        .bind(host)
        .bind(status.as_str())
        .bind(code)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 1 {
            changed += 1;
            let event = Event::HostProgress {
                bk_host_id: *host,
                status: *status,
                job_host_status_code: *code,
            };
            events::append(&mut tx, fence.id, &event).await?;
        }
    }
    tx.commit().await?;
    Ok(changed)
}

/// A file found but not copied, kept for the FULL view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FailedFile {
    /// Source path bytes, base64.
    pub path_b64: String,
    /// Status word (vanished, permission_denied, disk_full, failed).
    pub status: String,
    /// Tool message.
    pub error: String,
}

/// One host's final result.
#[derive(Debug, Clone)]
pub struct HostOutcome {
    /// Host.
    pub bk_host_id: i64,
    /// Final status.
    pub status: HostState,
    /// Why not fully successful.
    pub reason: Option<HostReason>,
    /// Log tail for failures.
    pub log_excerpt: String,
    /// Script exit code.
    pub exit_code: Option<i32>,
    /// JOB per-host status code.
    pub job_host_status_code: Option<i32>,
    /// Files found.
    pub files_found: i32,
    /// Files copied.
    pub files_copied: i32,
    /// Files not copied.
    pub files_failed: i32,
    /// Bytes copied.
    pub bytes_copied: i64,
    /// Files not copied, with why.
    pub failed_files: Vec<FailedFile>,
}

impl HostOutcome {
    /// A host that ended without running (or without a usable result): no files.
    pub fn bare(
        bk_host_id: i64,
        status: HostState,
        reason: Option<HostReason>,
        note: &str,
    ) -> Self {
        Self {
            bk_host_id,
            status,
            reason,
            log_excerpt: note.chars().take(2000).collect(),
            exit_code: None,
            job_host_status_code: None,
            files_found: 0,
            files_copied: 0,
            files_failed: 0,
            bytes_copied: 0,
            failed_files: vec![],
        }
    }
}

/// How a backup ends.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Hosts that ran (skipped hosts were finished earlier).
    pub hosts: Vec<HostOutcome>,
    /// Records for the files really copied.
    pub records: Vec<NewRecord>,
    /// Final state.
    pub state: BackupState,
    /// Why FAILED.
    pub failure_reason: Option<FailureReason>,
    /// Explanation.
    pub message: String,
}

/// Writes `outcome` in one transaction: records, host results and their events, totals, the
/// final state and its event; releases the lease. Returns the number of new records.
pub async fn finish(pool: &PgPool, fence: Fence, outcome: &Outcome) -> Result<u64, StoreError> {
    let (mut tx, row) = begin(pool, fence).await?;
    let inserted = records::insert(&mut tx, &outcome.records).await?;
    for h in &outcome.hosts {
        let summary: Option<HostSummary> = sqlx::query_as(
            "update backup_hosts set status = $3, reason = $4, log_excerpt = $5, exit_code = $6, \
               job_host_status_code = coalesce($7, job_host_status_code), files_found = $8, \
               files_copied = $9, files_failed = $10, bytes_copied = $11, failed_files = $12, \
               updated_at = now() \
             where backup_id = $1 and bk_host_id = $2 and status in ('pending', 'running') \
             returning bk_host_id, bk_cloud_id, host_ip, status, reason, log_excerpt, exit_code, \
               job_host_status_code, files_found, files_copied, files_failed, bytes_copied",
        )
        .bind(fence.id)
        .bind(h.bk_host_id)
        .bind(h.status.as_str())
        .bind(h.reason.map(HostReason::as_str))
        .bind(&h.log_excerpt)
        .bind(h.exit_code)
        .bind(h.job_host_status_code)
        .bind(h.files_found)
        .bind(h.files_copied)
        .bind(h.files_failed)
        .bind(h.bytes_copied)
        .bind(Json(&h.failed_files))
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(summary) = summary {
            events::append(&mut tx, fence.id, &Event::HostFinished(summary)).await?;
        }
    }
    let c = counts(&mut tx, fence.id).await?;
    events::append(&mut tx, fence.id, &Event::CountsChanged(c)).await?;
    sqlx::query(
        "update backups set state = $2, failure_reason = $3, status_message = $4, phase = null, \
           finished_at = now(), lease_owner = null, lease_expires_at = null where id = $1",
    )
    .bind(fence.id)
    .bind(outcome.state.as_str())
    .bind(outcome.failure_reason.map(FailureReason::as_str))
    .bind(&outcome.message)
    .execute(&mut *tx)
    .await?;
    let event = Event::StateChanged {
        state: outcome.state,
        phase: None,
        failure_reason: outcome.failure_reason,
        message: outcome.message.clone(),
        job_instance_id: row.job_instance_id,
        job_url: row.job_url.clone(),
    };
    events::append(&mut tx, fence.id, &event).await?;
    tx.commit().await?;
    Ok(inserted)
}
