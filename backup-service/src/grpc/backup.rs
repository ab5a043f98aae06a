//! `backup.v1.BackupService`: search, backups, records, progress, cancel and retry.

use std::pin::Pin;

use proto::backup::v1 as pb;
use proto::backup::v1::backup_service_server::BackupService;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use super::not_built;

const SEARCH: &str = "the host search script run through job-gateway";
const ENGINE: &str = "the durable backup engine";
const RECORDS: &str = "the backup record store";

/// The backup service adapter.
#[derive(Debug, Default)]
pub struct BackupApi;

/// Stream of progress events for WatchBackup.
pub type WatchBackupStream =
    Pin<Box<dyn Stream<Item = Result<pb::WatchBackupResponse, Status>> + Send>>;

#[tonic::async_trait]
impl BackupService for BackupApi {
    type WatchBackupStream = WatchBackupStream;

    async fn search_files(
        &self,
        _request: Request<pb::SearchFilesRequest>,
    ) -> Result<Response<pb::SearchFilesResponse>, Status> {
        Err(not_built("SearchFiles", SEARCH))
    }

    async fn start_backup(
        &self,
        _request: Request<pb::StartBackupRequest>,
    ) -> Result<Response<pb::StartBackupResponse>, Status> {
        Err(not_built("StartBackup", ENGINE))
    }

    async fn get_backup(
        &self,
        _request: Request<pb::GetBackupRequest>,
    ) -> Result<Response<pb::GetBackupResponse>, Status> {
        Err(not_built("GetBackup", ENGINE))
    }

    async fn list_backups(
        &self,
        _request: Request<pb::ListBackupsRequest>,
    ) -> Result<Response<pb::ListBackupsResponse>, Status> {
        Err(not_built("ListBackups", ENGINE))
    }

    async fn watch_backup(
        &self,
        _request: Request<pb::WatchBackupRequest>,
    ) -> Result<Response<Self::WatchBackupStream>, Status> {
        Err(not_built("WatchBackup", "the backup event log"))
    }

    async fn cancel_backup(
        &self,
        _request: Request<pb::CancelBackupRequest>,
    ) -> Result<Response<pb::CancelBackupResponse>, Status> {
        Err(not_built("CancelBackup", ENGINE))
    }

    async fn retry_backup(
        &self,
        _request: Request<pb::RetryBackupRequest>,
    ) -> Result<Response<pb::RetryBackupResponse>, Status> {
        Err(not_built("RetryBackup", ENGINE))
    }

    async fn list_backup_records(
        &self,
        _request: Request<pb::ListBackupRecordsRequest>,
    ) -> Result<Response<pb::ListBackupRecordsResponse>, Status> {
        Err(not_built("ListBackupRecords", RECORDS))
    }
}
