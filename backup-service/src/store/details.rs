//! SQL for what a backup's view shows beside its row, read for a whole page of backups at
//! once: totals from its hosts, the backups that retried it, and its per-host results. A
//! ListBackups page costs three statements however many backups it holds.

use std::collections::HashMap;

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::StoreError;
use super::backups::HOST_COLUMNS;
use crate::events::{Counts, HostSummary};

/// A backup's view data beside its row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Details {
    /// Totals from its hosts.
    pub counts: Counts,
    /// Backups that retried it, oldest first.
    pub retries: Vec<Uuid>,
    /// Per-host results in request order (empty unless asked for).
    pub hosts: Vec<HostSummary>,
}

/// The details of backups `ids`; with `with_hosts`, their per-host results too. A backup with
/// no hosts (or not stored) gets empty details.
pub async fn details(
    pool: &PgPool,
    ids: &[Uuid],
    with_hosts: bool,
) -> Result<HashMap<Uuid, Details>, StoreError> {
    let mut conn = pool.acquire().await?;
    let mut out: HashMap<Uuid, Details> = counts_of(&mut conn, ids)
        .await?
        .into_iter()
        .map(|(id, counts)| {
            let details = Details {
                counts,
                ..Details::default()
            };
            (id, details)
        })
        .collect();
    let retries: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "select retry_of, id from backups where retry_of = any($1) order by created_at, id",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    for (of, id) in retries {
        out.entry(of).or_default().retries.push(id);
    }
    if with_hosts {
        let hosts: Vec<HostOf> = sqlx::query_as(&format!(
            "select h.backup_id, {HOST_COLUMNS} from backup_hosts h \
             join backups b on b.id = h.backup_id where h.backup_id = any($1) \
             order by h.backup_id, array_position(b.bk_host_ids, h.bk_host_id)"
        ))
        .bind(ids)
        .fetch_all(&mut *conn)
        .await?;
        for h in hosts {
            out.entry(h.backup_id).or_default().hosts.push(h.host);
        }
    }
    Ok(out)
}

#[derive(sqlx::FromRow)]
struct HostOf {
    backup_id: Uuid,
    #[sqlx(flatten)]
    host: HostSummary,
}

/// Totals of backups `ids` from their hosts; a backup without hosts is absent.
pub(super) async fn counts_of(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Counts>, StoreError> {
    let rows: Vec<CountsOf> = sqlx::query_as(
        "select backup_id, count(*)::int4 as hosts_total, \
           (count(*) filter (where status = 'pending'))::int4 as hosts_pending, \
           (count(*) filter (where status = 'running'))::int4 as hosts_running, \
           (count(*) filter (where status = 'succeeded'))::int4 as hosts_succeeded, \
           (count(*) filter (where status = 'partial'))::int4 as hosts_partial, \
           (count(*) filter (where status = 'failed'))::int4 as hosts_failed, \
           (count(*) filter (where status = 'skipped'))::int4 as hosts_skipped, \
           (count(*) filter (where status = 'cancelled'))::int4 as hosts_cancelled, \
           coalesce(sum(files_found), 0)::int8 as files_found, \
           coalesce(sum(files_copied), 0)::int8 as files_copied, \
           coalesce(sum(files_failed), 0)::int8 as files_failed, \
           coalesce(sum(files_unknown), 0)::int8 as files_unknown, \
           coalesce(sum(bytes_copied), 0)::int8 as bytes_copied \
         from backup_hosts where backup_id = any($1) group by backup_id",
    )
    .bind(ids)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.backup_id, r.counts)).collect())
}

#[derive(sqlx::FromRow)]
struct CountsOf {
    backup_id: Uuid,
    #[sqlx(flatten)]
    counts: Counts,
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::domain::HostState;
    use crate::store::backups::{self, Created, NewBackup};

    async fn backup(pool: &PgPool, hosts: &[i64], retry_of: Option<Uuid>) -> Uuid {
        let id = Uuid::new_v4();
        let new = NewBackup {
            id,
            request_id: None,
            bk_biz_id: 3,
            bk_host_ids: hosts.to_vec(),
            bk_file_dir: "/data/logs".into(),
            bk_file_suffix: ".log".into(),
            operator: "alice".into(),
            job_timeout_secs: 600,
            backup_name: format!("backup_20261122_010000_{}", &id.to_string()[..8]),
            job_name: format!("bk-log-backup {id}"),
            deadline_at: Utc::now() + chrono::Duration::hours(1),
            retry_of,
            host_selector: None,
        };
        let Created::New(row) = backups::create(pool, &new).await.unwrap() else {
            panic!("new backup");
        };
        row.id
    }

    #[sqlx::test(migrations = "../migrations")]
    async fn a_page_gets_each_backups_own_counts_retries_and_hosts_in_request_order(pool: PgPool) {
        let a = backup(&pool, &[30, 10, 20], None).await;
        let b = backup(&pool, &[7], None).await;
        let a_retry_1 = backup(&pool, &[10], Some(a)).await;
        let a_retry_2 = backup(&pool, &[20], Some(a)).await;
        sqlx::query(
            "update backup_hosts set status = 'failed', files_found = 2 \
             where backup_id = $1 and bk_host_id = 10",
        )
        .bind(a)
        .execute(&pool)
        .await
        .unwrap();

        let page = details(&pool, &[a, b], true).await.unwrap();
        let (da, db) = (&page[&a], &page[&b]);
        assert_eq!(
            (
                da.counts.hosts_total,
                da.counts.hosts_pending,
                da.counts.hosts_failed
            ),
            (3, 2, 1)
        );
        assert_eq!(da.counts.files_found, 2);
        assert_eq!(da.retries, [a_retry_1, a_retry_2]);
        let order: Vec<i64> = da.hosts.iter().map(|h| h.bk_host_id).collect();
        assert_eq!(order, [30, 10, 20]);
        assert_eq!(da.hosts[1].status, HostState::Failed);
        assert_eq!(
            (db.counts.hosts_total, db.retries.len(), db.hosts.len()),
            (1, 0, 1)
        );

        let basic = details(&pool, &[a], false).await.unwrap();
        assert!(basic[&a].hosts.is_empty());
        assert_eq!(basic[&a].counts, da.counts);
    }
}
