//! Helpers for backup scenarios: start a backup, follow it to the end through WatchBackup,
//! and read what it recorded.

use std::time::Duration;

use proto::backup::v1 as pb;
use proto::backup::v1::backup_service_client::BackupServiceClient;
use tokio_stream::StreamExt;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::Authed;

/// The client type tests use.
pub type Client = BackupServiceClient<InterceptedService<Channel, Authed>>;

/// A StartBackup request for business 3 of the demo world.
pub fn start(hosts: &[i64], dir: &str, suffix: &str) -> pb::StartBackupRequest {
    pb::StartBackupRequest {
        bk_biz_id: 3,
        bk_host_ids: hosts.to_vec(),
        bk_file_dir: dir.to_owned(),
        bk_file_suffix: suffix.to_owned(),
        ..Default::default()
    }
}

/// Starts a backup; returns its id.
pub async fn start_backup(client: &mut Client, req: pb::StartBackupRequest) -> String {
    client
        .start_backup(req)
        .await
        .expect("start backup")
        .into_inner()
        .backup
        .expect("backup")
        .backup_id
}

/// Starts a backup, follows its progress stream to the end, and returns its id and the
/// backup in the FULL view.
pub async fn run_backup(client: &mut Client, req: pb::StartBackupRequest) -> (String, pb::Backup) {
    let id = start_backup(client, req).await;
    watch_to_end(client, &id).await;
    let done = full(client, &id).await;
    (id, done)
}

/// Watches backup `id` from the start until its stream ends (at most 90 s); returns every
/// message received.
pub async fn watch_to_end(client: &mut Client, id: &str) -> Vec<pb::WatchBackupResponse> {
    watch_from(client, id, 0).await
}

/// Like [`watch_to_end`], resuming after `after_seq`.
pub async fn watch_from(
    client: &mut Client,
    id: &str,
    after_seq: i64,
) -> Vec<pb::WatchBackupResponse> {
    watch_for(client, id, after_seq, Duration::from_secs(90)).await
}

/// Like [`watch_from`], for at most `limit`.
pub async fn watch_for(
    client: &mut Client,
    id: &str,
    after_seq: i64,
    limit: Duration,
) -> Vec<pb::WatchBackupResponse> {
    let mut stream = client
        .watch_backup(pb::WatchBackupRequest {
            backup_id: id.to_owned(),
            after_seq,
        })
        .await
        .expect("watch starts")
        .into_inner();
    let mut got = vec![];
    let collect = async {
        while let Some(msg) = stream.next().await {
            got.push(msg.expect("stream item"));
        }
    };
    tokio::time::timeout(limit, collect)
        .await
        .expect("backup reached a terminal state in time");
    got
}

/// The backup with hosts and files.
pub async fn full(client: &mut Client, id: &str) -> pb::Backup {
    get(client, id, pb::BackupView::Full).await
}

/// The backup in `view`.
pub async fn get(client: &mut Client, id: &str, view: pb::BackupView) -> pb::Backup {
    client
        .get_backup(pb::GetBackupRequest {
            backup_id: id.to_owned(),
            view: view as i32,
        })
        .await
        .expect("get backup")
        .into_inner()
        .backup
        .expect("backup")
}

/// Every record of backup `id`.
pub async fn records(client: &mut Client, id: &str) -> Vec<pb::BackupRecord> {
    let mut out = vec![];
    let mut token = String::new();
    loop {
        let page = client
            .list_backup_records(pb::ListBackupRecordsRequest {
                backup_id: id.to_owned(),
                page_size: 1000,
                page_token: token,
                ..Default::default()
            })
            .await
            .expect("list records")
            .into_inner();
        out.extend(page.records);
        if page.next_page_token.is_empty() {
            return out;
        }
        token = page.next_page_token;
    }
}

/// The host result of `host` in `backup`.
pub fn host(backup: &pb::Backup, host: i64) -> &pb::HostBackupResult {
    backup
        .host_results
        .iter()
        .find(|h| h.bk_host_id == host)
        .unwrap_or_else(|| panic!("host {host} in {backup:?}"))
}

/// Every host and the totals count found = copied + failed + unknown.
pub fn assert_counts_add_up(b: &pb::Backup) {
    for h in &b.host_results {
        assert_eq!(
            h.files_found,
            h.files_copied + h.files_failed + h.files_unknown,
            "host {}: {h:?}",
            h.bk_host_id
        );
    }
    let c = b.counts.as_ref().expect("counts");
    assert_eq!(
        c.files_found,
        c.files_copied + c.files_failed + c.files_unknown,
        "{c:?}"
    );
}

/// A request carrying the harness's token and operator `admin`, for clients without the
/// [`Authed`] interceptor.
pub fn authed<T>(message: T) -> tonic::Request<T> {
    let mut req = tonic::Request::new(message);
    let md = req.metadata_mut();
    md.insert(
        "authorization",
        format!("Bearer {}", crate::TOKEN).parse().expect("ascii"),
    );
    md.insert("x-bk-username", "admin".parse().expect("ascii"));
    req
}

/// Opens a WatchBackup stream and reads its snapshot, so the stream is surely open.
pub async fn open_watch(
    client: &mut Client,
    id: &str,
) -> Result<tonic::Streaming<pb::WatchBackupResponse>, tonic::Status> {
    let mut stream = client
        .watch_backup(pb::WatchBackupRequest {
            backup_id: id.to_owned(),
            after_seq: 0,
        })
        .await?
        .into_inner();
    stream.message().await?.expect("a snapshot");
    Ok(stream)
}
