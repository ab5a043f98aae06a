//! Retention's SQL: claiming the prune a finished run owes, the rows the prune plan is computed
//! from, and recording its result.
//!
//! Decision: a replica claims a run's prune with a lease (`schedule_runs.retention_claimed_until`,
//! on the database's clock like every lease) and at most one run of a schedule is claimed at a
//! time, so two replicas never prune the same directories at once. Claims are made one
//! replica at a time (a transaction-scoped advisory lock), so a claim always sees the others'
//! committed claims. The lease is renewed before each job of the prune; `retention_attempts`
//! counts claims and fences a replica whose lease ran out: it stops, and its result is not
//! recorded. A run claimed [`MAX_ATTEMPTS`] times without a result is
//! given up (FAILED); the next run's prune covers the same directories.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::StoreError;
use crate::domain::{BackupState, HostState, RetentionState, ScheduleState};

/// Claims of one run's prune before it is given up.
pub const MAX_ATTEMPTS: i32 = 3;

/// Key of the advisory lock that makes claims one at a time (any constant of our own).
const CLAIM_LOCK: i64 = 0x626b_625f_7265_7431;

/// A claimed prune: the run, its backup and its schedule's policy.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Claim {
    /// The run.
    pub run_id: i64,
    /// Its schedule.
    pub schedule_id: Uuid,
    /// Its backup (terminal).
    pub backup_id: Uuid,
    /// Fencing token: the claim count when this claim was made.
    pub attempt: i32,
    /// Business.
    pub bk_biz_id: i64,
    /// The schedule's operator: the prune runs as this BlueKing user.
    pub operator: String,
    /// The schedule's state.
    pub schedule_state: ScheduleState,
    /// Keep the newest N.
    pub keep_last: Option<i32>,
    /// Keep those younger than this.
    pub keep_within_secs: Option<i64>,
}

/// One backup of the schedule on one host, not yet pruned there.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct HostBackup {
    /// Host.
    pub bk_host_id: i64,
    /// Backup.
    pub backup_id: Uuid,
    /// Its directory name under `<dir>/backup/`.
    pub backup_name: String,
    /// The directory it backed up.
    pub bk_file_dir: String,
    /// The backup's state.
    pub state: BackupState,
    /// The host's result.
    pub status: HostState,
    /// When its fire was decided (the age `keep_within` measures).
    pub made_at: DateTime<Utc>,
}

/// The outcome of one run's prune.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Backups whose directory is gone from a host (removed now, or found gone): `(backup,
    /// host)`.
    pub removed: Vec<(Uuid, i64)>,
    /// Directories this prune removed, over all hosts.
    pub pruned: i32,
    /// Removals that failed, over all hosts.
    pub failed: i32,
    /// Hosts and reasons; empty when nothing failed.
    pub message: String,
}

/// Gives up runs claimed [`MAX_ATTEMPTS`] times whose last claim ran out, then claims up to
/// `batch` pending prunes of runs whose backup ended (the oldest run of each schedule that
/// has no live claim), for `lease`.
pub async fn claim(
    pool: &PgPool,
    lease: Duration,
    batch: i64,
    now: DateTime<Utc>,
) -> Result<Vec<Claim>, StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query("select pg_advisory_xact_lock($1)")
        .bind(CLAIM_LOCK)
        .execute(&mut *tx)
        .await?;
    give_up(&mut tx, now).await?;
    let claims: Vec<Claim> = sqlx::query_as(
        "with due as ( \
           select distinct on (r.schedule_id) r.id \
           from schedule_runs r join backups b on b.id = r.backup_id \
           where r.retention_state = 'pending' \
             and b.state in ('succeeded', 'partial', 'failed', 'cancelled') \
             and not exists (select 1 from schedule_runs o \
               where o.schedule_id = r.schedule_id and o.retention_state = 'pending' \
                 and o.retention_claimed_until > now()) \
           order by r.schedule_id, r.decided_at, r.id \
         ), picked as (select id from due order by id limit $2) \
         update schedule_runs r \
           set retention_claimed_until = now() + make_interval(secs => $1), \
               retention_attempts = r.retention_attempts + 1 \
         from picked, schedules s, backups b \
         where r.id = picked.id and s.id = r.schedule_id and b.id = r.backup_id \
         returning r.id as run_id, r.schedule_id, r.backup_id, \
           r.retention_attempts as attempt, b.bk_biz_id, s.operator, \
           s.state as schedule_state, s.keep_last, s.keep_within_secs",
    )
    .bind(lease.as_secs_f64())
    .bind(batch)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(claims)
}

/// Extends `claim`'s lease to `lease` from now, before each job of its prune; false when the
/// claim was taken over (the caller stops).
pub async fn renew(pool: &PgPool, claim: &Claim, lease: Duration) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "update schedule_runs \
           set retention_claimed_until = now() + make_interval(secs => $3) \
         where id = $1 and retention_attempts = $2 and retention_state = 'pending'",
    )
    .bind(claim.run_id)
    .bind(claim.attempt)
    .bind(lease.as_secs_f64())
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends (FAILED) the pending prunes claimed [`MAX_ATTEMPTS`] times whose last claim ran out.
async fn give_up(conn: &mut PgConnection, now: DateTime<Utc>) -> Result<(), StoreError> {
    let message = format!(
        "the prune was started {MAX_ATTEMPTS} times and never finished (the replica \
         running it stopped or lost its claim); the next run's prune covers the same directories"
    );
    sqlx::query(
        "update schedule_runs set retention_state = $1, retention_message = $2, \
           retention_finished_at = $3, retention_claimed_until = null \
         where retention_state = 'pending' and retention_attempts >= $4 \
           and retention_claimed_until <= now()",
    )
    .bind(RetentionState::Failed)
    .bind(message)
    .bind(now)
    .bind(MAX_ATTEMPTS)
    .execute(conn)
    .await?;
    Ok(())
}

/// The hosts of `backup_id` its JOB instance ran on (not skipped), in request order.
pub async fn run_hosts(pool: &PgPool, backup_id: Uuid) -> Result<Vec<i64>, StoreError> {
    Ok(sqlx::query_scalar(
        "select h.bk_host_id from backup_hosts h join backups b on b.id = h.backup_id \
         where h.backup_id = $1 and h.status not in ('skipped', 'pending') \
         order by array_position(b.bk_host_ids, h.bk_host_id)",
    )
    .bind(backup_id)
    .fetch_all(pool)
    .await?)
}

/// The backups `schedule_id` made on `hosts` whose directory retention has not removed there
/// (hosts a backup skipped are left out: nothing was made there), newest first.
pub async fn host_backups(
    pool: &PgPool,
    schedule_id: Uuid,
    hosts: &[i64],
) -> Result<Vec<HostBackup>, StoreError> {
    Ok(sqlx::query_as(
        "select h.bk_host_id, b.id as backup_id, b.backup_name, b.bk_file_dir, b.state, \
           h.status, coalesce(r.decided_at, b.created_at) as made_at \
         from backups b join backup_hosts h on h.backup_id = b.id \
           left join schedule_runs r on r.backup_id = b.id \
         where b.schedule_id = $1 and h.bk_host_id = any($2) and h.pruned_at is null \
           and h.status <> 'skipped' \
         order by made_at desc, b.created_at desc, b.id desc",
    )
    .bind(schedule_id)
    .bind(hosts)
    .fetch_all(pool)
    .await?)
}

/// Records `claim`'s result in one transaction: `pruned_at` on the removed backups' hosts and
/// records, and the run's retention state and counts. `Fenced` (nothing written) when the
/// claim was taken over.
pub async fn finish(
    pool: &PgPool,
    claim: &Claim,
    result: &Pruned,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let tx = pool.begin().await?;
    super::settle(tx, async |conn: &mut PgConnection| {
        let state = if result.message.is_empty() {
            RetentionState::Done
        } else {
            RetentionState::Failed
        };
        let done = sqlx::query(
            "update schedule_runs set retention_state = $3, retention_pruned = $4, \
               retention_failed = $5, retention_message = $6, retention_finished_at = $7, \
               retention_claimed_until = null \
             where id = $1 and retention_attempts = $2 and retention_state = 'pending'",
        )
        .bind(claim.run_id)
        .bind(claim.attempt)
        .bind(state)
        .bind(result.pruned)
        .bind(result.failed)
        .bind(&result.message)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Fenced(claim.backup_id));
        }
        let (backups, hosts): (Vec<Uuid>, Vec<i64>) = result.removed.iter().copied().unzip();
        for table in ["backup_hosts", "backup_records"] {
            sqlx::query(&format!(
                "update {table} t set pruned_at = $3 \
                 from unnest($1::uuid[], $2::int8[]) as g(backup_id, bk_host_id) \
                 where t.backup_id = g.backup_id and t.bk_host_id = g.bk_host_id \
                   and t.pruned_at is null"
            ))
            .bind(&backups)
            .bind(&hosts)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        }
        Ok(((), true))
    })
    .await
}

#[cfg(test)]
#[path = "retention_tests.rs"]
mod tests;
