//! `backup.v1.BackupService`: the trait impl, the adapter's state, and who the caller is.

use std::pin::Pin;

use proto::backup::v1 as pb;
use proto::backup::v1::backup_service_server::BackupService;
use sqlx::PgPool;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::audited::{Subject, audited};
use super::guard::Guard;
use crate::audit::Audit;
use crate::convert::backup_id;
use crate::error::BackupError;
use crate::gateway::Gateway;
use crate::progress::Progress;
use crate::records::RecordQuery;
use crate::store;
use crate::worker::Wakeup;

/// Request limits, from settings.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Hosts per search or backup.
    pub max_hosts: usize,
    /// Bound on a backup's total time when none is given.
    pub default_timeout_secs: i32,
    /// Of a backup's total time, what is kept for launching and reading results (at most
    /// half); the JOB step timeout is the rest.
    pub deadline_slack_secs: i64,
    /// SearchFiles default per-host limit.
    pub max_files_per_host: u32,
    /// Time zone of the time in backup directory names.
    pub name_zone: chrono_tz::Tz,
}

/// The backup service adapter.
#[derive(Clone)]
pub struct BackupApi {
    pub(super) pool: PgPool,
    pub(super) gateway: Gateway,
    pub(super) progress: Progress,
    pub(super) wakeup: Wakeup,
    pub(super) limits: Limits,
    pub(super) audit: Audit,
    pub(super) guard: Guard,
}

impl BackupApi {
    /// The adapter.
    pub fn new(
        pool: PgPool,
        gateway: Gateway,
        progress: Progress,
        wakeup: Wakeup,
        limits: Limits,
        audit: Audit,
        guard: Guard,
    ) -> Self {
        Self {
            pool,
            gateway,
            progress,
            wakeup,
            limits,
            audit,
            guard,
        }
    }

    /// The business of backup `raw_id`, for the audit event of a call refused about it; `None`
    /// when the id is malformed or unknown (or the database cannot tell).
    async fn business_of(&self, raw_id: &str) -> Option<i64> {
        let id = backup_id("backup_id", raw_id).ok()?;
        store::backups::get(&self.pool, id)
            .await
            .ok()
            .flatten()
            .map(|b| b.bk_biz_id)
    }

    /// The verified caller of `req`, once they may act on the business of the backup
    /// `raw_id` names (an id that is malformed or names no backup is left to the handler).
    async fn caller_of_backup<T>(&self, req: &Request<T>, raw_id: &str) -> Result<String, Status> {
        let user = self.guard.who(req).await?.bk_username;
        if let Some(biz) = self.business_of(raw_id).await {
            self.guard.may(&user, biz).await?;
        }
        Ok(user)
    }

    /// The verified caller of `req`, once they may act on business `bk_biz_id` (a business
    /// id that is not positive is left to the handler to refuse).
    async fn caller_in<T>(&self, req: &Request<T>, bk_biz_id: i64) -> Result<String, Status> {
        let user = self.guard.who(req).await?.bk_username;
        if bk_biz_id > 0 {
            self.guard.may(&user, bk_biz_id).await?;
        }
        Ok(user)
    }
}

/// Stream of progress events for WatchBackup.
pub type WatchBackupStream =
    Pin<Box<dyn Stream<Item = Result<pb::WatchBackupResponse, Status>> + Send>>;

#[tonic::async_trait]
impl BackupService for BackupApi {
    type WatchBackupStream = WatchBackupStream;

    async fn search_files(
        &self,
        request: Request<pb::SearchFilesRequest>,
    ) -> Result<Response<pb::SearchFilesResponse>, Status> {
        let operator = self
            .caller_in(&request, request.get_ref().bk_biz_id)
            .await?;
        Ok(Response::new(
            self.search(request.into_inner(), &operator).await?,
        ))
    }

    async fn start_backup(
        &self,
        request: Request<pb::StartBackupRequest>,
    ) -> Result<Response<pb::StartBackupResponse>, Status> {
        let biz = request.get_ref().bk_biz_id;
        let subject = Subject {
            action: "StartBackup",
            target: String::new(),
            bk_biz_id: (biz > 0).then_some(biz),
        };
        audited(
            &self.audit,
            &self.guard,
            request,
            subject,
            |req, operator| async move { self.start(req, &operator).await },
            |r| {
                let message = if r.replayed {
                    "replayed an earlier StartBackup".to_owned()
                } else {
                    format!("queued on {} hosts", hosts_of(r.backup.as_ref()))
                };
                (biz_of(r.backup.as_ref()), id_of(r.backup.as_ref()), message)
            },
            |id| async move { self.business_of(&id).await },
        )
        .await
    }

    async fn get_backup(
        &self,
        request: Request<pb::GetBackupRequest>,
    ) -> Result<Response<pb::GetBackupResponse>, Status> {
        self.caller_of_backup(&request, &request.get_ref().backup_id)
            .await?;
        Ok(Response::new(self.get(request.into_inner()).await?))
    }

    async fn list_backups(
        &self,
        request: Request<pb::ListBackupsRequest>,
    ) -> Result<Response<pb::ListBackupsResponse>, Status> {
        let user = self.guard.who(&request).await?.bk_username;
        Ok(Response::new(self.list(request.into_inner(), &user).await?))
    }

    async fn watch_backup(
        &self,
        request: Request<pb::WatchBackupRequest>,
    ) -> Result<Response<Self::WatchBackupStream>, Status> {
        self.caller_of_backup(&request, &request.get_ref().backup_id)
            .await?;
        let slot = self.progress.admit(&request)?;
        let pb::WatchBackupRequest {
            backup_id: raw,
            after_seq,
        } = request.into_inner();
        let id = backup_id("backup_id", &raw)?;
        let rx = self.progress.watch(id, after_seq).await?;
        Ok(Response::new(Box::pin(slot.hold(ReceiverStream::new(rx)))))
    }

    async fn cancel_backup(
        &self,
        request: Request<pb::CancelBackupRequest>,
    ) -> Result<Response<pb::CancelBackupResponse>, Status> {
        let subject = Subject {
            action: "CancelBackup",
            target: request.get_ref().backup_id.clone(),
            bk_biz_id: None,
        };
        audited(
            &self.audit,
            &self.guard,
            request,
            subject,
            |req, operator| async move { self.cancel(req, &operator).await },
            |r| {
                let outcome = pb::CancelOutcome::try_from(r.outcome).unwrap_or_default();
                let b = r.backup.as_ref();
                (biz_of(b), id_of(b), format!("{outcome:?}"))
            },
            |id| async move { self.business_of(&id).await },
        )
        .await
    }

    async fn retry_backup(
        &self,
        request: Request<pb::RetryBackupRequest>,
    ) -> Result<Response<pb::RetryBackupResponse>, Status> {
        let original = request.get_ref().backup_id.clone();
        let subject = Subject {
            action: "RetryBackup",
            target: original.clone(),
            bk_biz_id: None,
        };
        audited(
            &self.audit,
            &self.guard,
            request,
            subject,
            |req, operator| async move { self.retry(req, &operator).await },
            |r| {
                let b = r.backup.as_ref();
                (biz_of(b), id_of(b), format!("retry of {original}"))
            },
            |id| async move { self.business_of(&id).await },
        )
        .await
    }

    async fn list_backup_records(
        &self,
        request: Request<pb::ListBackupRecordsRequest>,
    ) -> Result<Response<pb::ListBackupRecordsResponse>, Status> {
        let user = self.guard.who(&request).await?.bk_username;
        let mut query = RecordQuery::try_from(request.into_inner())?;
        query.within = self.guard.within(&user, query.filter.bk_biz_id).await?;
        let page = store::records::list(&self.pool, &query)
            .await
            .map_err(BackupError::from)?;
        let next_page_token = page
            .next
            .map(|c| c.encode(&query.filter))
            .unwrap_or_default();
        let rows = page.rows;
        Ok(Response::new(pb::ListBackupRecordsResponse {
            records: rows.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }
}

fn id_of(b: Option<&pb::Backup>) -> String {
    b.map(|b| b.backup_id.clone()).unwrap_or_default()
}

fn hosts_of(b: Option<&pb::Backup>) -> usize {
    b.map_or(0, |b| b.bk_host_ids.len())
}

fn biz_of(b: Option<&pb::Backup>) -> Option<i64> {
    b.map(|b| b.bk_biz_id)
}
