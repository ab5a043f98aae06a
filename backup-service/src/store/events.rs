//! SQL for progress events: append (inside the caller's transaction, with the next sequence
//! number taken from the backup row, which also serialises appends per backup) and read after
//! a sequence number. Every append NOTIFYs `backup_events` with the backup id, so the progress
//! feed of that backup on every replica wakes up and reads the table, which stays the truth.
//! A backup's first event (`queued`, sequence 1) is written with the backup itself, in the one
//! statement of `backups::create_on`; every later one comes through here.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::StoreError;
use crate::events::Event;

/// The NOTIFY channel.
pub const CHANNEL: &str = "backup_events";

/// An event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Sequence number within the backup, from 1, without gaps.
    pub seq: i64,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// What happened.
    pub event: Event,
}

/// Appends `event` to `backup_id`'s log on `conn`; returns its sequence number. The caller's
/// transaction makes the event visible together with the change it describes.
pub async fn append(
    conn: &mut PgConnection,
    backup_id: Uuid,
    event: &Event,
) -> Result<i64, StoreError> {
    append_all(conn, backup_id, std::slice::from_ref(event)).await
}

/// Appends `events` to `backup_id`'s log on `conn`, in order, with three statements however
/// many there are (a poll of 1,000 hosts writes 1,000 events), and one notification. The
/// sequence number comes from the backup row, whose lock serialises appends per backup.
/// Returns the last sequence number (the current one when `events` is empty).
pub async fn append_all(
    conn: &mut PgConnection,
    backup_id: Uuid,
    events: &[Event],
) -> Result<i64, StoreError> {
    if events.is_empty() {
        return Ok(
            sqlx::query_scalar("select last_seq from backups where id = $1")
                .bind(backup_id)
                .fetch_one(&mut *conn)
                .await?,
        );
    }
    let n = i64::try_from(events.len()).expect("fewer than 2^63 events");
    let last: i64 = sqlx::query_scalar(
        "update backups set last_seq = last_seq + $2, updated_at = now() where id = $1 \
         returning last_seq",
    )
    .bind(backup_id)
    .bind(n)
    .fetch_one(&mut *conn)
    .await?;
    let kinds: Vec<&str> = events.iter().map(Event::kind).collect();
    let payloads: Vec<Json<&Event>> = events.iter().map(Json).collect();
    sqlx::query(
        "insert into backup_events (backup_id, seq, kind, payload) \
         select $1, $2 + e.n, e.kind, e.payload \
         from unnest($3::text[], $4::jsonb[]) with ordinality as e(kind, payload, n)",
    )
    .bind(backup_id)
    .bind(last - n)
    .bind(kinds)
    .bind(payloads)
    .execute(&mut *conn)
    .await?;
    sqlx::query("select pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(backup_id.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(last)
}

/// Up to `limit` events of `backup_id` with `seq > after`, in order.
pub async fn after(
    pool: &PgPool,
    backup_id: Uuid,
    after: i64,
    limit: i64,
) -> Result<Vec<StoredEvent>, StoreError> {
    let rows: Vec<(i64, DateTime<Utc>, Json<Event>)> = sqlx::query_as(
        "select seq, created_at, payload from backup_events \
         where backup_id = $1 and seq > $2 order by seq limit $3",
    )
    .bind(backup_id)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(seq, created_at, Json(event))| StoredEvent {
            seq,
            created_at,
            event,
        })
        .collect())
}
