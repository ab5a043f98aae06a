//! SQL the workers run: claiming queued backups, lease heartbeats, and every write a worker
//! makes while running a backup — each fenced by the claim's attempt number.
//!
//! Claiming takes one claimable backup (queued, or running with an expired lease) with
//! `FOR UPDATE SKIP LOCKED` and bumps its `attempt`. Every later write runs in a transaction
//! that first locks the row `WHERE attempt = <mine>`: a worker whose lease expired and was
//! re-claimed finds no row and stops, so a stale worker can never write after a new one took
//! over.
//!
//! The fence guards writes, not what a worker sends to JOB. So the decision to launch is a
//! write too ([`intend_launch`]): committed, with the attempt that made it, before the launch
//! is sent, and only while the lease has not run out; a later attempt that finds it
//! ([`launch_intent`]) looks for that job before launching again.

use std::time::Duration;

use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::backups::{BACKUP_COLUMNS, BackupRow, counts, get_on};
use super::{StoreError, events};
use crate::domain::{BackupState, HostReason, Phase};
use crate::events::Event;

/// A claim: the backup and the attempt number that fences this worker's writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fence {
    /// Backup.
    pub id: Uuid,
    /// Claim number.
    pub attempt: i32,
}

/// Claims the oldest claimable backup for `owner` with a lease of `lease`.
pub async fn claim(
    pool: &PgPool,
    owner: &str,
    lease: Duration,
) -> Result<Option<BackupRow>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "update backups set attempt = attempt + 1, lease_owner = $1, \
           lease_expires_at = now() + make_interval(secs => $2), \
           state = case when state = 'queued' then 'running' else state end, \
           started_at = coalesce(started_at, now()), updated_at = now() \
         where id = (select id from backups \
           where state = 'queued' \
              or (state in ('running', 'cancelling') and lease_expires_at < now()) \
           order by created_at for update skip locked limit 1) \
         returning {BACKUP_COLUMNS}"
    ))
    .bind(owner)
    .bind(lease.as_secs_f64())
    .fetch_optional(pool)
    .await?)
}

/// Extends the lease; false when the claim was lost (another worker re-claimed it).
pub async fn heartbeat(pool: &PgPool, fence: Fence, lease: Duration) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "update backups set lease_expires_at = now() + make_interval(secs => $3) \
         where id = $1 and attempt = $2",
    )
    .bind(fence.id)
    .bind(fence.attempt)
    .bind(lease.as_secs_f64())
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Opens a transaction holding the backup row locked, if `fence` still owns it and it is
/// still running: a backup cancelled before launch (or re-claimed) fences its worker out.
pub async fn begin(
    pool: &PgPool,
    fence: Fence,
) -> Result<(Transaction<'static, Postgres>, BackupRow), StoreError> {
    let mut tx = pool.begin().await?;
    let row: Option<BackupRow> = sqlx::query_as(&format!(
        "select {BACKUP_COLUMNS} from backups \
         where id = $1 and attempt = $2 and state in ('running', 'cancelling') for update"
    ))
    .bind(fence.id)
    .bind(fence.attempt)
    .fetch_optional(&mut *tx)
    .await?;
    match row {
        Some(row) => Ok((tx, row)),
        None => Err(StoreError::Fenced(fence.id)),
    }
}

/// The current row, if `fence` still owns it (e.g. to see a cancel request).
pub async fn current(pool: &PgPool, fence: Fence) -> Result<BackupRow, StoreError> {
    let mut conn = pool.acquire().await?;
    match get_on(&mut conn, fence.id).await? {
        Some(row) if row.attempt == fence.attempt => Ok(row),
        _ => Err(StoreError::Fenced(fence.id)),
    }
}

/// Moves to `phase` (state unchanged) with a state event.
pub async fn set_phase(
    pool: &PgPool,
    fence: Fence,
    phase: Phase,
    message: &str,
) -> Result<(), StoreError> {
    let (mut tx, row) = begin(pool, fence).await?;
    sqlx::query("update backups set phase = $2, status_message = $3 where id = $1")
        .bind(fence.id)
        .bind(phase.as_str())
        .bind(message)
        .execute(&mut *tx)
        .await?;
    let event = Event::StateChanged {
        state: row.state(),
        phase: Some(phase),
        failure_reason: None,
        message: message.to_owned(),
        job_instance_id: row.job_instance_id,
        job_url: row.job_url.clone(),
    };
    events::append(&mut tx, fence.id, &event).await?;
    tx.commit().await?;
    Ok(())
}

/// Where a host is, as learned from GSE.
#[derive(Debug, Clone)]
pub struct HostAddress {
    /// Host.
    pub bk_host_id: i64,
    /// Control area.
    pub bk_cloud_id: i64,
    /// IP.
    pub ip: String,
}

/// Stores the hosts' addresses and marks the `skipped` ones SKIPPED, each with its reason
/// (agent offline, not in the business).
pub async fn set_agents(
    pool: &PgPool,
    fence: Fence,
    addresses: &[HostAddress],
    skipped: &[(i64, HostReason)],
) -> Result<(), StoreError> {
    let (mut tx, _) = begin(pool, fence).await?;
    sqlx::query(
        "update backup_hosts h set bk_cloud_id = a.cloud, host_ip = a.ip, updated_at = now() \
         from unnest($2::int8[], $3::int8[], $4::text[]) as a(host, cloud, ip) \
         where h.backup_id = $1 and h.bk_host_id = a.host",
    )
    .bind(fence.id)
    .bind(addresses.iter().map(|a| a.bk_host_id).collect::<Vec<_>>())
    .bind(addresses.iter().map(|a| a.bk_cloud_id).collect::<Vec<_>>())
    .bind(addresses.iter().map(|a| a.ip.as_str()).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?;
    if !skipped.is_empty() {
        let mut skipped: Vec<super::finish::Numbered> = sqlx::query_as(
            "update backup_hosts h set status = 'skipped', reason = o.reason, updated_at = now() \
             from unnest($2::int8[], $3::text[]) with ordinality as o(host, reason, n) \
             where h.backup_id = $1 and h.bk_host_id = o.host and h.status = 'pending' \
             returning o.n, h.bk_host_id, h.bk_cloud_id, h.host_ip, h.status, h.reason, \
               h.log_excerpt, h.exit_code, h.job_host_status_code, h.files_found, \
               h.files_copied, h.files_failed, h.files_unknown, h.bytes_copied, h.updated_at",
        )
        .bind(fence.id)
        .bind(skipped.iter().map(|s| s.0).collect::<Vec<_>>())
        .bind(skipped.iter().map(|s| s.1.as_str()).collect::<Vec<_>>())
        .fetch_all(&mut *tx)
        .await?;
        // In the order the skipped hosts were given.
        skipped.sort_unstable_by_key(|s| s.n);
        let mut announced: Vec<Event> = skipped
            .into_iter()
            .map(|s| Event::HostFinished(s.host))
            .collect();
        announced.push(Event::CountsChanged(counts(&mut tx, fence.id).await?));
        events::append_all(&mut tx, fence.id, &announced).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Stores the launched JOB instance — before anything else happens with it.
pub async fn set_job(
    pool: &PgPool,
    fence: Fence,
    job_instance_id: i64,
    step_instance_id: Option<i64>,
    job_url: &str,
) -> Result<(), StoreError> {
    let (mut tx, row) = begin(pool, fence).await?;
    sqlx::query(
        "update backups set job_instance_id = $2, step_instance_id = $3, job_url = $4, \
           job_launched_at = coalesce(job_launched_at, now()), phase = 'running_job' \
         where id = $1",
    )
    .bind(fence.id)
    .bind(job_instance_id)
    .bind(step_instance_id)
    .bind(job_url)
    .execute(&mut *tx)
    .await?;
    let event = Event::StateChanged {
        state: row.state(),
        phase: Some(Phase::RunningJob),
        failure_reason: None,
        message: format!("job {job_instance_id} running"),
        job_instance_id: Some(job_instance_id),
        job_url: Some(job_url.to_owned()),
    };
    events::append(&mut tx, fence.id, &event).await?;
    tx.commit().await?;
    Ok(())
}

/// What recording the decision to launch found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// Recorded and committed, the lease renewed: the launch may be sent.
    Recorded,
    /// The backup is being cancelled: nothing may be launched.
    Cancelling,
}

/// Records that attempt `fence.attempt` is about to launch the backup's job, renewing the
/// lease to `lease` in the same statement. Fenced like every write, and refused
/// ([`StoreError::Fenced`]) when the lease has already run out, even if nobody re-claimed
/// the backup yet: a worker that was stopped past its lease must not launch.
pub async fn intend_launch(
    pool: &PgPool,
    fence: Fence,
    lease: Duration,
) -> Result<Intent, StoreError> {
    let (mut tx, row) = begin(pool, fence).await?;
    // Every way out ends the transaction before returning: a dropped one keeps the row locked
    // until the pool gets round to rolling it back, and the cancel that follows would wait.
    if row.state() == BackupState::Cancelling {
        tx.rollback().await?;
        return Ok(Intent::Cancelling);
    }
    let done = sqlx::query(
        "update backups set launch_intent_attempt = $2, launch_intent_at = now(), \
           lease_expires_at = now() + make_interval(secs => $3) \
         where id = $1 and lease_expires_at > now()",
    )
    .bind(fence.id)
    .bind(fence.attempt)
    .bind(lease.as_secs_f64())
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        tx.rollback().await?;
        return Err(StoreError::Fenced(fence.id));
    }
    tx.commit().await?;
    Ok(Intent::Recorded)
}

/// The attempt that last recorded the decision to launch backup `id`, if any did.
pub async fn launch_intent(pool: &PgPool, id: Uuid) -> Result<Option<i32>, StoreError> {
    Ok(
        sqlx::query_scalar("select launch_intent_attempt from backups where id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?
            .flatten(),
    )
}

#[cfg(test)]
#[path = "work_tests.rs"]
mod tests;
