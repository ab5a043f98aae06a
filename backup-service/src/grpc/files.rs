//! The FULL view's per-file results: copied files from the records, files that were found
//! but not copied from each host's stored failures.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use proto::backup::v1 as pb;
use sqlx::PgPool;
use uuid::Uuid;

use crate::convert::{raw_if_not_utf8, timestamp};
use crate::domain::FileFailure;
use crate::error::Result;
use crate::records::{RecordFilter, RecordQuery, display_path};
use crate::store::{backups, records};

/// Adds every file result of backup `id` to its `hosts`.
pub(super) async fn attach(
    pool: &PgPool,
    id: Uuid,
    hosts: &mut [pb::HostBackupResult],
) -> Result<()> {
    let mut query = RecordQuery {
        filter: RecordFilter {
            backup_id: Some(id),
            ..Default::default()
        },
        page_size: crate::records::MAX_PAGE_SIZE,
        after: None,
        within: crate::store::Within::Any,
    };
    loop {
        let page = records::list(pool, &query).await?;
        let rows = page.rows;
        for r in &rows {
            if let Some(h) = hosts.iter_mut().find(|h| h.bk_host_id == r.bk_host_id) {
                h.files.push(pb::FileBackupResult {
                    source_path: display_path(&r.source_path_bytes),
                    source_path_bytes: raw_if_not_utf8(&r.source_path_bytes),
                    backup_path: display_path(&r.backup_path_bytes),
                    backup_path_bytes: raw_if_not_utf8(&r.backup_path_bytes),
                    size_bytes: r.size_bytes,
                    sha256: r.sha256.clone(),
                    mtime: r.source_mtime.map(timestamp),
                    status: pb::FileBackupStatus::Copied as i32,
                    error_message: String::new(),
                });
            }
        }
        match page.next {
            Some(next) => query.after = Some(next),
            None => break,
        }
    }
    for (bk_host_id, failed) in backups::failed_files(pool, id).await? {
        let Some(h) = hosts.iter_mut().find(|h| h.bk_host_id == bk_host_id) else {
            continue;
        };
        for f in failed {
            let bytes = STANDARD.decode(&f.path_b64).unwrap_or_default();
            let status = match f.status {
                FileFailure::Vanished => pb::FileBackupStatus::Vanished,
                FileFailure::PermissionDenied => pb::FileBackupStatus::PermissionDenied,
                FileFailure::DiskFull => pb::FileBackupStatus::DiskFull,
                FileFailure::Failed => pb::FileBackupStatus::Failed,
            };
            h.files.push(pb::FileBackupResult {
                source_path: display_path(&bytes),
                source_path_bytes: raw_if_not_utf8(&bytes),
                status: status as i32,
                error_message: f.error,
                ..Default::default()
            });
        }
    }
    Ok(())
}
