//! GetBackup, ListBackups and WatchBackup, and the views a backup is shown in.

use proto::backup::v1 as pb;
use sqlx::PgPool;
use uuid::Uuid;

use super::BackupApi;
use crate::convert::{
    backup_id, backup_message, from_timestamp, host_message, page_size, page_token, state_from,
};
use crate::error::{BackupError, Result};
use crate::store::backups::{self, BackupFilter, BackupRow};
use crate::store::details;

/// Largest ListBackups page.
const MAX_BACKUP_PAGE: u32 = 500;
/// The kind of ListBackups' page tokens.
const TOKEN_KIND: &str = "b1";

/// `row` as a message in `view` (BASIC: counts only; HOSTS: per-host results; FULL: plus
/// per-file results).
pub(super) async fn view_of(
    pool: &PgPool,
    row: &BackupRow,
    view: pb::BackupView,
) -> Result<pb::Backup> {
    let mut all = views_of(pool, std::slice::from_ref(row), view).await?;
    Ok(all.pop().expect("one view per row"))
}

/// `rows` as messages in `view`, in order. The counts, retries and hosts of the whole page are
/// read together; only FULL adds a per-backup read of its files.
pub(super) async fn views_of(
    pool: &PgPool,
    rows: &[BackupRow],
    view: pb::BackupView,
) -> Result<Vec<pb::Backup>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let with_hosts = matches!(view, pb::BackupView::Hosts | pb::BackupView::Full);
    let mut details = details::details(pool, &ids, with_hosts).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let d = details.remove(&row.id).unwrap_or_default();
        let mut hosts: Vec<pb::HostBackupResult> = d.hosts.iter().map(host_message).collect();
        if view == pb::BackupView::Full {
            super::files::attach(pool, row.id, &mut hosts).await?;
        }
        out.push(backup_message(row, &d.counts, hosts, &d.retries));
    }
    Ok(out)
}

/// The view a request asks for; unspecified means the RPC's `default` (FULL for GetBackup,
/// HOSTS for ListBackups).
fn view(value: i32, default: pb::BackupView) -> Result<pb::BackupView> {
    match pb::BackupView::try_from(value) {
        Ok(pb::BackupView::Unspecified) => Ok(default),
        Ok(v) => Ok(v),
        Err(_) => Err(BackupError::invalid("view", "unknown view")),
    }
}

impl BackupApi {
    pub(super) async fn get(&self, req: pb::GetBackupRequest) -> Result<pb::GetBackupResponse> {
        let id = backup_id("backup_id", &req.backup_id)?;
        let view = view(req.view, pb::BackupView::Full)?;
        let row = backups::get(&self.pool, id)
            .await?
            .ok_or_else(|| BackupError::NotFound(format!("backup `{id}`")))?;
        Ok(pb::GetBackupResponse {
            backup: Some(view_of(&self.pool, &row, view).await?),
        })
    }

    /// ListBackups for `user`: the business the filter names (if they may act on it), else
    /// every business BlueKing lists for them.
    pub(super) async fn list(
        &self,
        req: pb::ListBackupsRequest,
        user: &str,
    ) -> Result<pb::ListBackupsResponse> {
        let pb::ListBackupsRequest {
            bk_biz_id,
            states,
            operator,
            create_time_start,
            create_time_end,
            bk_host_id,
            view: raw_view,
            page_size: size,
            page_token,
            schedule_id,
        } = req;
        if bk_biz_id < 0 || bk_host_id < 0 {
            let field = if bk_biz_id < 0 {
                "bk_biz_id"
            } else {
                "bk_host_id"
            };
            return Err(BackupError::invalid(field, "must be positive"));
        }
        let states = states
            .iter()
            .enumerate()
            .map(|(i, s)| {
                state_from(*s)
                    .ok_or_else(|| BackupError::invalid(format!("states[{i}]"), "unknown state"))
            })
            .collect::<Result<Vec<_>>>()?;
        let filter = BackupFilter {
            bk_biz_id: (bk_biz_id > 0).then_some(bk_biz_id),
            states,
            operator: crate::convert::optional_text("operator", operator, 64)?,
            created_from: create_time_start
                .map(|t| from_timestamp("create_time_start", t))
                .transpose()?,
            created_before: create_time_end
                .map(|t| from_timestamp("create_time_end", t))
                .transpose()?,
            bk_host_id: (bk_host_id > 0).then_some(bk_host_id),
            schedule_id: (!schedule_id.is_empty())
                .then(|| {
                    Uuid::parse_str(&schedule_id).map_err(|_| {
                        BackupError::invalid("schedule_id", "not a schedule id (a UUID)")
                    })
                })
                .transpose()?,
        };
        let view = view(raw_view, pb::BackupView::Hosts)?;
        let after = (!page_token.is_empty())
            .then(|| page_token::decode(TOKEN_KIND, &page_token, &filter))
            .transpose()?;
        let size = page_size(size, 50, MAX_BACKUP_PAGE)?;
        let within = self.guard.within(user, filter.bk_biz_id).await?;
        let (rows, more) = backups::list(&self.pool, &filter, &within, after, size).await?;
        let out = views_of(&self.pool, &rows, view).await?;
        let next_page_token = match rows.last() {
            Some(last) if more => page_token::encode(TOKEN_KIND, last.created_at, last.id, &filter),
            _ => String::new(),
        };
        Ok(pb::ListBackupsResponse {
            backups: out,
            next_page_token,
        })
    }
}
