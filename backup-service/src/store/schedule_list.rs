//! SQL for ListSchedules: filters (business, states, name substring), newest first, keyset
//! pages on `(created_at, id)` as ListBackups. Deleted schedules show only when asked for.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::schedules::{SCHEDULE_COLUMNS, ScheduleRow};
use super::{StoreError, Within};
use crate::domain::ScheduleState;

/// Filters of ListSchedules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScheduleFilter {
    /// Business.
    pub bk_biz_id: Option<i64>,
    /// Any of these states; empty for every state but deleted.
    pub states: Vec<ScheduleState>,
    /// Names containing this text, ignoring case.
    pub name_contains: Option<String>,
}

/// One page of schedules of the businesses `within` allows, newest first, after `(created_at, id)` when given; one row more
/// than `page_size` tells the caller another page exists.
pub async fn list(
    pool: &PgPool,
    filter: &ScheduleFilter,
    within: &Within,
    after: Option<(DateTime<Utc>, Uuid)>,
    page_size: u32,
) -> Result<(Vec<ScheduleRow>, bool), StoreError> {
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new(format!(
        "select {SCHEDULE_COLUMNS} from schedules where true"
    ));
    if let Some(biz) = filter.bk_biz_id {
        q.push(" and bk_biz_id = ").push_bind(biz);
    }
    within.push(&mut q);
    if filter.states.is_empty() {
        q.push(" and state <> 'deleted'");
    } else {
        let states: Vec<&str> = filter.states.iter().map(|s| s.as_str()).collect();
        q.push(" and state = any(").push_bind(states).push(")");
    }
    if let Some(text) = &filter.name_contains {
        q.push(" and strpos(lower(name), lower(")
            .push_bind(text)
            .push(")) > 0");
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
    let mut rows: Vec<ScheduleRow> = q.build_query_as().fetch_all(pool).await?;
    let more = rows.len() > page_size as usize;
    rows.truncate(page_size as usize);
    Ok((rows, more))
}
