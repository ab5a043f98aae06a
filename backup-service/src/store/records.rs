//! SQL for backup records: the bulk insert the worker runs in its final transaction, and the
//! filtered, keyset-paged listing behind ListBackupRecords.
//!
//! Inserts stream binary `COPY` data (see `copy.rs`), so 100k records cost one statement.

use chrono::DateTime;
use std::collections::HashSet;

use sqlx::postgres::PgCopyIn;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};

use super::StoreError;
use super::copy::BinaryCopy;
pub use crate::records::NewRecord;
use crate::records::{Cursor, Record, RecordFilter, RecordQuery, display_path};

/// Bytes of COPY data sent per message.
const SEND_BYTES: usize = 1 << 20;

/// Inserts `records` on `conn` inside the worker's final transaction; returns how many rows
/// were written. A file listed twice for one host is written once.
///
/// The rows go in with binary `COPY`. That transaction is the only writer of a backup's records
/// and runs once: it is fenced by the backup's row lock and attempt, and the backup leaves its
/// running state in the same commit. So a replay is refused before it gets here. The unique
/// index on (backup, host, source path) backs that up: a duplicate fails the whole transaction
/// and is never silently dropped.
pub async fn insert(conn: &mut PgConnection, records: &[NewRecord]) -> Result<u64, StoreError> {
    let mut seen = HashSet::with_capacity(records.len());
    let rows = records
        .iter()
        .filter(|r| seen.insert((r.backup_id, r.bk_host_id, r.source_path_bytes.as_slice())));
    let mut copy = conn
        .copy_in_raw(&format!(
            "copy backup_records ({INSERT_COLUMNS}) from stdin with (format binary)"
        ))
        .await?;
    let mut data = BinaryCopy::with_capacity(SEND_BYTES + 4096);
    for r in rows {
        data.row(19)
            .uuid(r.backup_id)
            .int8(r.bk_biz_id)
            .int8(r.bk_host_id)
            .int8(r.bk_cloud_id)
            .text(&r.host_ip)
            .text(&r.bk_file_dir)
            .text(&r.bk_file_suffix)
            .text(&display_path(&r.source_path_bytes))
            .bytea(&r.source_path_bytes)
            .text(&r.bk_backup_name)
            .text(&display_path(&r.backup_path_bytes))
            .bytea(&r.backup_path_bytes)
            .int8(r.size_bytes)
            .text(&r.sha256)
            .timestamptz(r.source_mtime)
            .timestamptz(Some(r.bk_file_create_time))
            .text(&r.bk_file_operator)
            .int8(r.job_instance_id)
            .text(&r.bk_job_link);
        if data.len() >= SEND_BYTES
            && let Err(e) = copy.send(data.take()).await
        {
            return Err(abort(copy, e).await);
        }
    }
    if let Err(e) = copy.send(data.finish()).await {
        return Err(abort(copy, e).await);
    }
    Ok(copy.finish().await?)
}

/// Ends a COPY that failed on our side so the connection is usable again; keeps the first error.
async fn abort(copy: PgCopyIn<&mut PgConnection>, error: sqlx::Error) -> StoreError {
    // The connection is in a failed COPY either way; the original error is the one to report.
    let _ = copy.abort("the record insert failed").await;
    StoreError::Database(error)
}

/// Columns the bulk insert writes, in the order of each COPY tuple.
const INSERT_COLUMNS: &str = "backup_id, bk_biz_id, bk_host_id, bk_cloud_id, host_ip, \
    bk_file_dir, bk_file_suffix, source_path, source_path_bytes, bk_backup_name, backup_path, \
    backup_path_bytes, size_bytes, sha256, source_mtime, bk_file_create_time, bk_file_operator, \
    job_instance_id, bk_job_link";

const COLUMNS: &str = "id, backup_id, bk_biz_id, bk_host_id, bk_cloud_id, host_ip, bk_file_dir, \
    bk_file_suffix, source_path_bytes, bk_backup_name, backup_path_bytes, size_bytes, sha256, \
    source_mtime, bk_file_create_time, bk_file_operator, job_instance_id, bk_job_link, pruned_at";

/// The listing statement for `query`: filters, keyset position, newest first, one row more
/// than the page so the caller knows whether another page exists.
fn statement<'a>(prefix: &str, query: &'a RecordQuery) -> QueryBuilder<'a, Postgres> {
    let mut q = QueryBuilder::new(prefix);
    push_statement(&mut q, query, COLUMNS, i64::from(query.page_size) + 1);
    q
}

/// Appends the select of `columns` for `query`'s filters and position, newest first, at most
/// `limit` rows.
fn push_statement<'a>(
    q: &mut QueryBuilder<'a, Postgres>,
    query: &'a RecordQuery,
    columns: &str,
    limit: i64,
) {
    let order = " order by bk_file_create_time desc, id desc limit ";
    if query.filter.bk_host_ids.len() > 1 {
        // The host index returns one host's rows in time order, not several hosts' together:
        // read one ordered index range per host (each at most `limit`) and merge them, instead
        // of walking the time index and discarding other hosts' rows.
        q.push("select r.* from unnest(")
            .push_bind(&query.filter.bk_host_ids)
            .push(format!(
                "::int8[]) as h(host) cross join lateral (select {columns} from backup_records \
                 where bk_host_id = h.host"
            ));
        push_filters(q, query);
        q.push(order).push_bind(limit);
        q.push(") r order by r.bk_file_create_time desc, r.id desc limit ")
            .push_bind(limit);
        return;
    }
    q.push(format!("select {columns} from backup_records where true"));
    if let [one] = query.filter.bk_host_ids.as_slice() {
        q.push(" and bk_host_id = ").push_bind(*one);
    }
    if !has_indexed_filter(&query.filter) {
        // Only this listing may use the time index, whose predicate this is (migration
        // 20261122000002): a filtered one must read its filter's own index.
        q.push(" and id > 0");
    }
    push_filters(q, query);
    q.push(order).push_bind(limit);
}

/// Whether a column with an index of its own is filtered (business, host, directory, suffix,
/// operator or backup), rather than only time or path, which the time index serves.
fn has_indexed_filter(f: &RecordFilter) -> bool {
    f.bk_biz_id.is_some()
        || !f.bk_host_ids.is_empty()
        || f.bk_file_dir.is_some()
        || f.bk_file_suffix.is_some()
        || f.operator.is_some()
        || f.backup_id.is_some()
}

/// Every condition but the hosts' and the path's (see [`list`]), and the keyset position.
fn push_filters<'a>(q: &mut QueryBuilder<'a, Postgres>, query: &'a RecordQuery) {
    let f = &query.filter;
    if let Some(biz) = f.bk_biz_id {
        q.push(" and bk_biz_id = ").push_bind(biz);
    }
    query.within.push(q);
    if let Some(dir) = &f.bk_file_dir {
        q.push(" and bk_file_dir = ").push_bind(dir);
    }
    if let Some(suffix) = &f.bk_file_suffix {
        q.push(" and bk_file_suffix = ").push_bind(suffix);
    }
    if let Some(op) = &f.operator {
        q.push(" and bk_file_operator = ").push_bind(op);
    }
    if let Some(from) = f.created_from {
        q.push(" and bk_file_create_time >= ").push_bind(from);
    }
    if let Some(before) = f.created_before {
        q.push(" and bk_file_create_time < ").push_bind(before);
    }
    if let Some(id) = f.backup_id {
        q.push(" and backup_id = ").push_bind(id);
    }
    if let Some(after) = query.after {
        let created = DateTime::from_timestamp_micros(after.created_micros).unwrap_or_default();
        q.push(" and (bk_file_create_time, id) < (")
            .push_bind(created)
            .push(", ")
            .push_bind(after.id)
            .push(")");
    }
}

/// Rows a path search examines per call. A substring has no index order, so instead of
/// collecting every match and sorting (unbounded work for a common needle), a call walks at
/// most this many rows of the ordered index from its cursor and returns the matches among
/// them — possibly a short or empty page with a token to continue (AIP-158 allows both).
pub const PATH_SCAN_ROWS: i64 = 2_500;

/// One page of records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The records, newest first.
    pub rows: Vec<Record>,
    /// Where the next page starts, when there may be more.
    pub next: Option<Cursor>,
}

/// One page of records for `query`.
pub async fn list(pool: &PgPool, query: &RecordQuery) -> Result<Page, StoreError> {
    if query.filter.path_contains.is_some() {
        return list_by_path(pool, query).await;
    }
    let mut rows: Vec<Record> = statement("", query)
        .build_query_as()
        .fetch_all(pool)
        .await?;
    let more = rows.len() > query.page_size as usize;
    rows.truncate(query.page_size as usize);
    let next = if more {
        rows.last().map(Record::cursor)
    } else {
        None
    };
    Ok(Page { rows, next })
}

/// A path search: the first matches within the next [`PATH_SCAN_ROWS`] rows of the filter's
/// ordered index. Postgres pulls the inner, limited scan lazily, so a common needle stops as
/// soon as the page is full; only a short page pays for locating the window's end.
async fn list_by_path(pool: &PgPool, query: &RecordQuery) -> Result<Page, StoreError> {
    let needle = query.filter.path_contains.as_deref().unwrap_or_default();
    let mut window = query.clone();
    window.filter.path_contains = None;
    let mut q = QueryBuilder::new(format!("select {COLUMNS} from ("));
    push_statement(
        &mut q,
        &window,
        &format!("{COLUMNS}, source_path"),
        PATH_SCAN_ROWS,
    );
    q.push(") s where s.source_path like ")
        .push_bind(format!("%{}%", escape_like(needle)))
        .push(" order by bk_file_create_time desc, id desc limit ")
        .push_bind(i64::from(query.page_size) + 1);
    let mut rows: Vec<Record> = q.build_query_as().fetch_all(pool).await?;
    if rows.len() > query.page_size as usize {
        rows.truncate(query.page_size as usize);
        let next = rows.last().map(Record::cursor);
        return Ok(Page { rows, next });
    }
    // A short page: more may follow past the window if the window was full; then the next
    // call starts after the window's last (oldest) row.
    let mut end = QueryBuilder::new("select bk_file_create_time, id, count(*) over () from (");
    push_statement(&mut end, &window, "bk_file_create_time, id", PATH_SCAN_ROWS);
    end.push(") w order by bk_file_create_time, id limit 1");
    let oldest: Option<(DateTime<chrono::Utc>, i64, i64)> =
        end.build_query_as().fetch_optional(pool).await?;
    let next = match oldest {
        Some((t, id, scanned)) if scanned == PATH_SCAN_ROWS => Some(key_cursor(t, id)),
        _ => None,
    };
    Ok(Page { rows, next })
}

fn key_cursor(created: DateTime<chrono::Utc>, id: i64) -> Cursor {
    Cursor {
        created_micros: created.timestamp_micros(),
        id,
    }
}

/// Escapes LIKE wildcards so user text matches literally.
fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
#[path = "records_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "records_plan_tests.rs"]
mod plan_tests;
