//! Helpers of the contract tests (`tests/contract_*.rs`): requests derived from one another,
//! the field an INVALID_ARGUMENT names, what a host tree holds, and backups stored as if
//! accepted earlier.

use std::collections::BTreeSet;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use proto::backup::v1 as pb;
use sqlx::postgres::PgConnectOptions;
use tonic::Code;

use crate::flow::Client;

/// A `Duration` of whole seconds.
pub fn duration(seconds: i64) -> Option<prost_types::Duration> {
    Some(prost_types::Duration { seconds, nanos: 0 })
}

/// The SearchFiles request of the same business, hosts, directory and suffix.
pub fn search(req: &pb::StartBackupRequest) -> pb::SearchFilesRequest {
    pb::SearchFilesRequest {
        bk_biz_id: req.bk_biz_id,
        bk_host_ids: req.bk_host_ids.clone(),
        bk_file_dir: req.bk_file_dir.clone(),
        bk_file_suffix: req.bk_file_suffix.clone(),
        ..Default::default()
    }
}

/// The field of an INVALID_ARGUMENT's first BadRequest violation, and its description.
pub fn violation(err: &tonic::Status) -> (String, String) {
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    let details = tonic_types::StatusExt::get_error_details(err);
    let v = &details
        .bad_request()
        .expect("a BadRequest detail")
        .field_violations[0];
    (v.field.clone(), v.description.clone())
}

/// Every regular file under `dir` of a host tree (as the host sees the paths), skipping
/// `<dir>/backup`.
pub fn every_file(root: &Path, dir: &str) -> BTreeSet<String> {
    fn walk(root: &Path, at: &Path, skip: &Path, out: &mut BTreeSet<String>) {
        for e in std::fs::read_dir(at).unwrap().flatten() {
            let p = e.path();
            let ft = e.file_type().unwrap();
            if ft.is_dir() && p != skip {
                walk(root, &p, skip, out);
            } else if ft.is_file() {
                let rel = p.strip_prefix(root).unwrap().as_os_str().as_bytes();
                out.insert(format!("/{}", String::from_utf8_lossy(rel)));
            }
        }
    }
    let base = root.join(dir.trim_start_matches('/'));
    let mut out = BTreeSet::new();
    walk(root, &base, &base.join("backup"), &mut out);
    out
}

/// How many backups ListBackups returns (first page).
pub async fn backup_count(client: &mut Client) -> usize {
    client
        .list_backups(pb::ListBackupsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .backups
        .len()
}

/// Stores a backup of `/data/logs` (`log`) as StartBackup would have when its hosts were all
/// in business `biz`: how a test gets a backup whose hosts (or business) changed between
/// acceptance and launch. Returns its id.
pub async fn accepted_earlier(db: &PgConnectOptions, biz: i64, hosts: &[i64]) -> String {
    use backup_service::store::backups::{Created, NewBackup, create};
    let pool = sqlx::PgPool::connect_with(db.clone()).await.unwrap();
    let id = sqlx::types::Uuid::new_v4();
    let new = NewBackup {
        id,
        request_id: None,
        bk_biz_id: biz,
        bk_host_ids: hosts.to_vec(),
        bk_file_dir: "/data/logs".to_owned(),
        bk_file_suffix: "log".to_owned(),
        operator: "admin".to_owned(),
        job_timeout_secs: 300,
        backup_name: format!("backup_20261205_000000_{}", &id.simple().to_string()[..8]),
        job_name: format!("bk-log-backup {id}"),
        deadline_at: chrono::Utc::now() + chrono::Duration::seconds(900),
        retry_of: None,
        host_selector: None,
    };
    let Created::New(row) = create(&pool, &new).await.unwrap() else {
        panic!("a new backup")
    };
    pool.close().await;
    row.id.to_string()
}

/// How backup `id` ended, read from the database (for a backup no caller may read through
/// the API, e.g. of a business BlueKing no longer knows): state, failure reason and status
/// message, once it has ended (at most 30 s).
pub async fn stored_end(db: &PgConnectOptions, id: &str) -> (String, Option<String>, String) {
    let pool = sqlx::PgPool::connect_with(db.clone()).await.unwrap();
    let id: sqlx::types::Uuid = id.parse().expect("a backup id");
    crate::scheduler::ended(&pool, id).await;
    sqlx::query_as("select state, failure_reason, status_message from backups where id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .expect("the backup")
}
