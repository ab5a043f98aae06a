//! StartBackup, CancelBackup and RetryBackup: the calls that create or end backups. Each
//! validates first and stores before anything runs; workers do the running.

use chrono::{Duration, Utc};
use proto::backup::v1 as pb;
use tonic::Status;
use uuid::Uuid;

use super::BackupApi;
use super::read::view_of;
use crate::convert::{BackupRequest, backup_id, client_request_id, job_timeout_secs};
use crate::domain::HostState;
use crate::error::{BackupError, Result};
use crate::hostscript::BackupDirName;
use crate::store::backups::{self, BackupRow, Created, NewBackup};
use crate::store::cancel::{self, CancelOutcome};

impl BackupApi {
    fn new_backup(
        &self,
        req: &BackupRequest,
        operator: &str,
        retry_of: Option<Uuid>,
    ) -> Result<NewBackup> {
        let id = Uuid::new_v4();
        let now = Utc::now();
        let short = &id.simple().to_string()[..8];
        let name = BackupDirName::new_in(now, self.limits.name_zone, short)
            .map_err(|e| BackupError::invalid("bk_file_dir", e.to_string()))?;
        Ok(NewBackup {
            id,
            request_id: req.request_id.clone(),
            bk_biz_id: req.bk_biz_id,
            bk_host_ids: req.bk_host_ids.clone(),
            bk_file_dir: req.selection.directory().to_owned(),
            bk_file_suffix: req.suffix.clone(),
            operator: operator.to_owned(),
            job_timeout_secs: job_timeout_secs(req.timeout_secs, self.limits.deadline_slack_secs),
            backup_name: name.as_str().to_owned(),
            job_name: format!("bk-log-backup {id}"),
            deadline_at: now + Duration::seconds(i64::from(req.timeout_secs)),
            retry_of,
            host_selector: req.selector.clone(),
        })
    }

    /// The backup an earlier call with `new`'s request id created, if any: a replay returns
    /// it whatever CMDB says now. ALREADY_EXISTS when that call asked for something else.
    async fn replayed(&self, new: &NewBackup) -> Result<Option<BackupRow>> {
        let Some(key) = &new.request_id else {
            return Ok(None);
        };
        let Some(row) = backups::by_request_id(&self.pool, key).await? else {
            return Ok(None);
        };
        same_request(&row, new)?;
        Ok(Some(row))
    }

    async fn store_new(&self, new: &NewBackup) -> Result<(BackupRow, bool)> {
        match backups::create(&self.pool, new).await? {
            Created::New(row) => {
                tracing::info!(backup_id = %row.id, hosts = row.bk_host_ids.len(), operator = %row.operator, "backup queued");
                self.wakeup.wake();
                Ok((row, false))
            }
            // A concurrent call with the same key won the race.
            Created::Replayed(row) => {
                same_request(&row, new)?;
                Ok((row, true))
            }
        }
    }

    pub(super) async fn start(
        &self,
        req: pb::StartBackupRequest,
        operator: &str,
    ) -> Result<pb::StartBackupResponse> {
        let req = BackupRequest::new(req, self.limits.max_hosts, self.limits.default_timeout_secs)?;
        let mut new = self.new_backup(&req, operator, None)?;
        let (row, replayed) = match self.replayed(&new).await? {
            Some(row) => (row, true),
            None => {
                // Refused now rather than failed later: the business and every host are
                // checked (or the selector resolved, which proves the same) before anything
                // is stored.
                match &req.selector {
                    Some(sel) => {
                        new.bk_host_ids = self.resolve(req.bk_biz_id, sel, operator).await?
                    }
                    None => {
                        self.check_hosts(req.bk_biz_id, &req.bk_host_ids, operator)
                            .await?
                    }
                }
                self.store_new(&new).await?
            }
        };
        Ok(pb::StartBackupResponse {
            backup: Some(self.load(&row, pb::BackupView::Hosts).await?),
            replayed,
        })
    }

    pub(super) async fn cancel(
        &self,
        req: pb::CancelBackupRequest,
        operator: &str,
    ) -> Result<pb::CancelBackupResponse> {
        let id = backup_id("backup_id", &req.backup_id)?;
        let (outcome, row) = cancel::request(&self.pool, id, operator)
            .await?
            .ok_or_else(|| BackupError::NotFound(format!("backup `{id}`")))?;
        tracing::info!(backup_id = %id, operator, outcome = ?outcome, "cancel requested");
        let outcome = match outcome {
            CancelOutcome::Dequeued => pb::CancelOutcome::Dequeued,
            CancelOutcome::Terminating => pb::CancelOutcome::Terminating,
            CancelOutcome::JobAlreadyFinished => pb::CancelOutcome::JobAlreadyFinished,
            CancelOutcome::AlreadyCancelled => pb::CancelOutcome::AlreadyCancelled,
            CancelOutcome::AlreadyFinished => pb::CancelOutcome::AlreadyFinished,
        };
        Ok(pb::CancelBackupResponse {
            backup: Some(self.load(&row, pb::BackupView::Hosts).await?),
            outcome: outcome as i32,
        })
    }

    pub(super) async fn retry(
        &self,
        req: pb::RetryBackupRequest,
        operator: &str,
    ) -> Result<pb::RetryBackupResponse> {
        let pb::RetryBackupRequest {
            backup_id: raw_id,
            request_id,
        } = req;
        let id = backup_id("backup_id", &raw_id)?;
        client_request_id(&request_id)?;
        let original = backups::get(&self.pool, id)
            .await?
            .ok_or_else(|| BackupError::NotFound(format!("backup `{id}`")))?;
        if !original.state().is_terminal() {
            return Err(BackupError::FailedPrecondition(format!(
                "backup `{id}` is still {}: retry it once it has ended",
                original.state().as_str()
            )));
        }
        let failed: Vec<i64> = backups::hosts(&self.pool, id)
            .await?
            .into_iter()
            .filter(|h| {
                matches!(
                    h.status,
                    HostState::Failed | HostState::Partial | HostState::Skipped
                )
            })
            .map(|h| h.bk_host_id)
            .collect();
        if failed.is_empty() {
            return Err(BackupError::FailedPrecondition(format!(
                "backup `{id}` has no failed, partial or skipped host to retry"
            )));
        }
        let start = pb::StartBackupRequest {
            request_id,
            bk_biz_id: original.bk_biz_id,
            bk_host_ids: failed.clone(),
            bk_file_dir: original.bk_file_dir.clone(),
            bk_file_suffix: original.bk_file_suffix.clone(),
            // The same bound on total time as the original's.
            timeout: Some(prost_types::Duration {
                seconds: (original.deadline_at - original.created_at)
                    .num_seconds()
                    .max(1),
                nanos: 0,
            }),
            // The failed hosts by id, not the original's selector: a retry is of those hosts.
            selector: None,
        };
        let req = BackupRequest::new(start, usize::MAX, self.limits.default_timeout_secs)?;
        let mut new = self.new_backup(&req, operator, Some(id))?;
        let (row, replayed) = match self.replayed(&new).await? {
            Some(row) => (row, true),
            None => {
                // Hosts that left the business since are not retried; a caller who may not
                // see the business is refused now.
                let known = self
                    .gateway
                    .hosts_in_business(original.bk_biz_id, &failed, operator)
                    .await?;
                let (kept, gone): (Vec<i64>, Vec<i64>) =
                    failed.iter().partition(|h| known.contains(h));
                if kept.is_empty() {
                    return Err(BackupError::FailedPrecondition(format!(
                        "none of the hosts to retry is in business {} any more: {}",
                        original.bk_biz_id,
                        ids(&gone)
                    )));
                }
                if !gone.is_empty() {
                    tracing::info!(backup_id = %id, gone = %ids(&gone), "hosts no longer in the business are not retried");
                }
                new.bk_host_ids = kept;
                self.store_new(&new).await?
            }
        };
        Ok(pb::RetryBackupResponse {
            backup: Some(self.load(&row, pb::BackupView::Hosts).await?),
            retried_bk_host_ids: row.bk_host_ids.clone(),
            replayed,
        })
    }

    /// The message for `row` in `view`.
    pub(super) async fn load(&self, row: &BackupRow, view: pb::BackupView) -> Result<pb::Backup> {
        view_of(&self.pool, row, view).await
    }
}

/// Refuses a replayed request id whose first call asked for another backup. A retry's hosts
/// follow from the original backup (and CMDB when it was first asked), and a selector's from
/// CMDB when it was resolved, so they are not compared; the selector itself is.
fn same_request(row: &BackupRow, new: &NewBackup) -> Result<()> {
    let stored_selector = row.host_selector.as_ref().map(|s| &s.0);
    let same = row.bk_biz_id == new.bk_biz_id
        && stored_selector == new.host_selector.as_ref()
        && (new.retry_of.is_some()
            || new.host_selector.is_some()
            || row.bk_host_ids == new.bk_host_ids)
        && row.bk_file_dir == new.bk_file_dir
        && row.bk_file_suffix == new.bk_file_suffix
        && row.retry_of == new.retry_of
        && row.job_timeout_secs == new.job_timeout_secs;
    if same {
        return Ok(());
    }
    Err(BackupError::AlreadyExists(format!(
        "request_id `{}` was used for a different backup `{}`",
        new.request_id.as_deref().unwrap_or_default(),
        row.id
    )))
}

fn ids(hosts: &[i64]) -> String {
    hosts
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl From<Status> for BackupError {
    fn from(s: Status) -> Self {
        BackupError::Upstream(s)
    }
}
