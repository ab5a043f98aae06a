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
            log_excerpt: crate::worker::outcome::excerpt(note),
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
    // A cancel that arrived after the worker stopped watching for it (the job had already
    // finished copying) still ends the backup CANCELLED, as CancelBackup promised; the records
    // of everything copied stay.
    let (state, failure_reason, message) = if row.state() == BackupState::Cancelling {
        let copied = outcome.records.len();
        (
            BackupState::Cancelled,
            None,
            format!("{}; {copied} copied files recorded", row.status_message),
        )
    } else {
        (
            outcome.state,
            outcome.failure_reason,
            outcome.message.clone(),
        )
    };
    sqlx::query(
        "update backups set state = $2, failure_reason = $3, status_message = $4, phase = null, \
           finished_at = now(), lease_owner = null, lease_expires_at = null where id = $1",
    )
    .bind(fence.id)
    .bind(state.as_str())
    .bind(failure_reason.map(FailureReason::as_str))
    .bind(&message)
    .execute(&mut *tx)
    .await?;
    let event = Event::StateChanged {
        state,
        phase: None,
        failure_reason,
        message,
        job_instance_id: row.job_instance_id,
        job_url: row.job_url.clone(),
    };
    events::append(&mut tx, fence.id, &event).await?;
    tx.commit().await?;
    Ok(inserted)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::Utc;
    use uuid::Uuid;

    use super::*;
    use crate::domain::Phase;
    use crate::store::backups::{self, Created, NewBackup};
    use crate::store::cancel::{self, CancelOutcome};
    use crate::store::work;

    fn new_backup() -> NewBackup {
        NewBackup {
            id: Uuid::new_v4(),
            request_id: None,
            bk_biz_id: 3,
            bk_host_ids: vec![1001],
            bk_file_dir: "/data/logs".into(),
            bk_file_suffix: "log".into(),
            operator: "alice".into(),
            job_timeout_secs: 600,
            backup_name: "backup_20261121_120000_abcd1234".into(),
            job_name: "bk-log-backup test".into(),
            deadline_at: Utc::now() + chrono::Duration::hours(1),
            retry_of: None,
        }
    }

    #[sqlx::test(migrations = "../migrations")]
    async fn a_cancel_after_the_job_finished_copying_still_ends_cancelled_with_its_records(
        pool: PgPool,
    ) {
        let Created::New(row) = backups::create(&pool, &new_backup()).await.unwrap() else {
            panic!("new backup");
        };
        let claimed = work::claim(&pool, "test", Duration::from_secs(30))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(claimed.id, row.id);
        let fence = Fence {
            id: row.id,
            attempt: claimed.attempt,
        };
        work::set_job(&pool, fence, 88, Some(89), "http://job/api_execute/88")
            .await
            .unwrap();
        work::set_phase(&pool, fence, Phase::CollectingResults, "collecting results")
            .await
            .unwrap();

        let (outcome, _) = cancel::request(&pool, row.id).await.unwrap().unwrap();
        assert_eq!(outcome, CancelOutcome::JobAlreadyFinished);

        // The worker, not watching for cancels any more, finishes as the job ended.
        let record = NewRecord {
            backup_id: row.id,
            bk_biz_id: 3,
            bk_host_id: 1001,
            bk_cloud_id: 0,
            host_ip: "10.0.1.11".into(),
            bk_file_dir: "/data/logs".into(),
            bk_file_suffix: "log".into(),
            source_path_bytes: b"/data/logs/a.log".to_vec(),
            bk_backup_name: "backup_20261121_120000_abcd1234".into(),
            backup_path_bytes: b"/data/logs/backup/backup_20261121_120000_abcd1234/a.log".to_vec(),
            size_bytes: 5,
            sha256: "0".repeat(64),
            source_mtime: None,
            bk_file_create_time: Utc::now(),
            bk_file_operator: "alice".into(),
            job_instance_id: 88,
            bk_job_link: "http://job/api_execute/88".into(),
        };
        let outcome = Outcome {
            hosts: vec![HostOutcome::bare(1001, HostState::Succeeded, None, "")],
            records: vec![record],
            state: BackupState::Succeeded,
            failure_reason: None,
            message: "1 files backed up".into(),
        };
        assert_eq!(finish(&pool, fence, &outcome).await.unwrap(), 1);
        let done = backups::get(&pool, row.id).await.unwrap().unwrap();
        assert_eq!(done.state(), BackupState::Cancelled);
        assert!(
            done.status_message
                .contains("after the job had finished copying"),
            "{}",
            done.status_message
        );
        let recorded: i64 =
            sqlx::query_scalar("select count(*) from backup_records where backup_id = $1")
                .bind(row.id)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(recorded, 1);
    }
}
