//! SQL behind health and the operator metrics: a reachability ping, counts read on each
//! scrape, and the figures of one ended backup.

use sqlx::PgPool;
use uuid::Uuid;

use super::StoreError;

/// `SELECT 1`: the database answers.
pub async fn ping(pool: &PgPool) -> Result<(), StoreError> {
    sqlx::query("select 1").execute(pool).await?;
    Ok(())
}

/// Counts read for the metrics endpoint.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counts {
    /// Backups by state (database spelling), every state present.
    pub by_state: Vec<(String, i64)>,
    /// Backups waiting for a worker: queued, or unfinished with no live lease.
    pub queue_depth: i64,
    /// Hosts that did not fully succeed, by reason, among backups created in the last 24 hours.
    pub hosts_by_reason: Vec<(String, i64)>,
}

/// Reads [`Counts`].
pub async fn counts(pool: &PgPool) -> Result<Counts, StoreError> {
    let by_state: Vec<(String, i64)> =
        sqlx::query_as("select state, count(*) from backups group by state order by state")
            .fetch_all(pool)
            .await?;
    let queue_depth: i64 = sqlx::query_scalar(
        "select count(*) from backups where state in ('queued', 'running', 'cancelling') \
           and (state = 'queued' or lease_expires_at is null or lease_expires_at < now())",
    )
    .fetch_one(pool)
    .await?;
    let hosts_by_reason: Vec<(String, i64)> = sqlx::query_as(
        "select coalesce(h.reason, 'none'), count(*) from backup_hosts h \
           join backups b on b.id = h.backup_id \
         where b.created_at > now() - interval '24 hours' \
           and h.status in ('skipped', 'partial', 'failed', 'cancelled') \
         group by 1 order by 1",
    )
    .fetch_all(pool)
    .await?;
    Ok(Counts {
        by_state,
        queue_depth,
        hosts_by_reason,
    })
}

/// What an ended backup did.
#[derive(Debug, Clone, PartialEq)]
pub struct Ended {
    /// Final state (database spelling).
    pub state: String,
    /// From creation to the end.
    pub seconds: f64,
    /// Files copied, all hosts.
    pub files_copied: i64,
    /// Bytes copied, all hosts.
    pub bytes_copied: i64,
}

/// The figures of backup `id` if it has ended, else `None`.
pub async fn ended(pool: &PgPool, id: Uuid) -> Result<Option<Ended>, StoreError> {
    let row: Option<(String, f64, i64, i64)> = sqlx::query_as(
        "select b.state, \
           extract(epoch from (b.finished_at - b.created_at))::float8, \
           coalesce((select sum(files_copied) from backup_hosts where backup_id = b.id), 0)::int8, \
           coalesce((select sum(bytes_copied) from backup_hosts where backup_id = b.id), 0)::int8 \
         from backups b where b.id = $1 and b.finished_at is not null",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(
        row.map(|(state, seconds, files_copied, bytes_copied)| Ended {
            state,
            seconds,
            files_copied,
            bytes_copied,
        }),
    )
}
