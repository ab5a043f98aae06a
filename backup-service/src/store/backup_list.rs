//! SQL for ListBackups: filters, newest first, keyset pages on `(created_at, id)`. A listing by
//! business, operator or schedule reads that column's `(…, created_at desc, id desc)` index.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::backups::{BACKUP_COLUMNS, BackupRow};
use super::{StoreError, Within};
use crate::domain::BackupState;

/// Filters of ListBackups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackupFilter {
    /// Business.
    pub bk_biz_id: Option<i64>,
    /// Any of these states.
    pub states: Vec<BackupState>,
    /// Operator.
    pub operator: Option<String>,
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created before.
    pub created_before: Option<DateTime<Utc>>,
    /// Backups that include this host.
    pub bk_host_id: Option<i64>,
    /// Backups started by this schedule's fires.
    pub schedule_id: Option<Uuid>,
}

/// One page of backups of the businesses `within` allows, newest first, after
/// `(created_at, id)` when given; one row more than `page_size` tells the caller another page
/// exists.
pub async fn list(
    pool: &PgPool,
    filter: &BackupFilter,
    within: &Within,
    after: Option<(DateTime<Utc>, Uuid)>,
    page_size: u32,
) -> Result<(Vec<BackupRow>, bool), StoreError> {
    let mut rows: Vec<BackupRow> = statement("", filter, within, after, page_size)
        .build_query_as()
        .fetch_all(pool)
        .await?;
    let more = rows.len() > page_size as usize;
    rows.truncate(page_size as usize);
    Ok((rows, more))
}

/// The listing statement after `prefix` (`explain ` in tests).
fn statement<'a>(
    prefix: &str,
    filter: &'a BackupFilter,
    within: &Within,
    after: Option<(DateTime<Utc>, Uuid)>,
    page_size: u32,
) -> QueryBuilder<'a, Postgres> {
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new(format!(
        "{prefix}select {BACKUP_COLUMNS} from backups where true"
    ));
    if let Some(biz) = filter.bk_biz_id {
        q.push(" and bk_biz_id = ").push_bind(biz);
    }
    within.push(&mut q);
    if !filter.states.is_empty() {
        let states: Vec<&str> = filter.states.iter().map(|s| s.as_str()).collect();
        q.push(" and state = any(").push_bind(states).push(")");
    }
    if let Some(op) = &filter.operator {
        q.push(" and operator = ").push_bind(op);
    }
    if let Some(from) = filter.created_from {
        q.push(" and created_at >= ").push_bind(from);
    }
    if let Some(before) = filter.created_before {
        q.push(" and created_at < ").push_bind(before);
    }
    if let Some(host) = filter.bk_host_id {
        q.push(" and bk_host_ids @> array[")
            .push_bind(host)
            .push("]::int8[]");
    }
    if let Some(schedule) = filter.schedule_id {
        q.push(" and schedule_id = ").push_bind(schedule);
    }
    if let Some((at, id)) = after {
        q.push(" and (created_at, id) < (")
            .push_bind(at)
            .push(", ")
            .push_bind(id)
            .push(")");
    }
    q.push(" order by created_at desc, id desc limit ")
        .push_bind(i64::from(page_size) + 1);
    q
}

#[cfg(test)]
#[path = "backup_list_tests.rs"]
mod tests;
