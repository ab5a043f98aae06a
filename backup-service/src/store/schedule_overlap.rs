//! What a schedule's overlap policy looks at: whether a backup of the schedule has not ended,
//! and whether a fire of it waits buffered. Read by the engine before it decides, and again
//! under the schedule's lock by `schedule_fires::record_fire` and `schedule_runs::release`.

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::StoreError;

/// What an overlap policy looks at: the schedule's earlier runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Overlap {
    /// A backup of the schedule has not ended.
    pub running: bool,
    /// A fire of the schedule waits in BUFFERED.
    pub buffered: bool,
}

/// The states of a backup that has not ended, as SQL.
pub const NOT_ENDED: &str = "('queued', 'running', 'cancelling')";

/// What schedule `id`'s overlap policy sees now.
pub async fn overlap(pool: &PgPool, id: Uuid) -> Result<Overlap, StoreError> {
    let mut conn = pool.acquire().await?;
    overlap_on(&mut conn, id).await
}

/// [`overlap`] on `conn` (inside a transaction holding the schedule's lock).
pub(crate) async fn overlap_on(conn: &mut PgConnection, id: Uuid) -> Result<Overlap, StoreError> {
    let (running, buffered): (bool, bool) = sqlx::query_as(&format!(
        "select exists (select 1 from backups where schedule_id = $1 and state in {NOT_ENDED}), \
           exists (select 1 from schedule_runs where schedule_id = $1 and decision = 'buffered')"
    ))
    .bind(id)
    .fetch_one(conn)
    .await?;
    Ok(Overlap { running, buffered })
}

/// The backups of schedule `id` that have not ended (CANCEL_PREVIOUS cancels them).
pub async fn running_backups(pool: &PgPool, id: Uuid) -> Result<Vec<Uuid>, StoreError> {
    Ok(sqlx::query_scalar(&format!(
        "select id from backups where schedule_id = $1 and state in {NOT_ENDED} order by created_at"
    ))
    .bind(id)
    .fetch_all(pool)
    .await?)
}
