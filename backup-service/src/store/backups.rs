//! SQL for backups as callers see them: create (idempotent on the client's request id), read
//! with hosts, list newest first, totals, and cancel requests.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

pub use super::backup_list::{BackupFilter, list};
use super::{StoreError, events};
use crate::domain::{BackupState, FailureReason, Phase};
use crate::events::{Counts, Event, HostSummary};
use crate::selector::HostSelector;

/// A backup to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBackup {
    /// New id.
    pub id: Uuid,
    /// Client idempotency key.
    pub request_id: Option<String>,
    /// Business.
    pub bk_biz_id: i64,
    /// Hosts, in request order, without duplicates.
    pub bk_host_ids: Vec<i64>,
    /// Directory to back up.
    pub bk_file_dir: String,
    /// Suffix.
    pub bk_file_suffix: String,
    /// Caller's BlueKing username.
    pub operator: String,
    /// JOB timeout for the backup step.
    pub job_timeout_secs: i32,
    /// `backup_YYYYmmdd_HHMMSS_<short id>`.
    pub backup_name: String,
    /// JOB task name carrying the backup id.
    pub job_name: String,
    /// Hard bound on the backup's total time.
    pub deadline_at: DateTime<Utc>,
    /// The backup whose failed hosts this one retries.
    pub retry_of: Option<Uuid>,
    /// The selector `bk_host_ids` was resolved from; `None` when the caller named the hosts.
    pub host_selector: Option<HostSelector>,
}

/// A stored backup.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BackupRow {
    /// Id.
    pub id: Uuid,
    /// Client idempotency key.
    pub request_id: Option<String>,
    /// Business.
    pub bk_biz_id: i64,
    /// Directory.
    pub bk_file_dir: String,
    /// Suffix.
    pub bk_file_suffix: String,
    /// Hosts asked for (or resolved from `host_selector`).
    pub bk_host_ids: Vec<i64>,
    /// The selector the hosts were resolved from, if any.
    pub host_selector: Option<Json<HostSelector>>,
    /// Operator.
    pub operator: String,
    /// State.
    pub state: BackupState,
    /// Phase of a running backup.
    pub phase: Option<Phase>,
    /// Why it FAILED.
    pub failure_reason: Option<FailureReason>,
    /// Explanation.
    pub status_message: String,
    /// JOB timeout.
    pub job_timeout_secs: i32,
    /// Retried backup.
    pub retry_of: Option<Uuid>,
    /// The schedule whose fire made this backup.
    pub schedule_id: Option<Uuid>,
    /// Backup directory name.
    pub backup_name: String,
    /// JOB task name.
    pub job_name: String,
    /// JOB instance.
    pub job_instance_id: Option<i64>,
    /// JOB step instance.
    pub step_instance_id: Option<i64>,
    /// JOB page.
    pub job_url: Option<String>,
    /// Claim counter (fencing token).
    pub attempt: i32,
    /// When cancel was asked.
    pub cancel_requested_at: Option<DateTime<Utc>>,
    /// Who asked for the cancel (BlueKing username).
    pub cancel_requested_by: Option<String>,
    /// Time bound.
    pub deadline_at: DateTime<Utc>,
    /// Latest event sequence number.
    pub last_seq: i64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Claimed first.
    pub started_at: Option<DateTime<Utc>>,
    /// Ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl BackupRow {
    /// The state.
    pub fn state(&self) -> BackupState {
        self.state
    }

    /// The phase.
    pub fn phase(&self) -> Option<Phase> {
        self.phase
    }
}

/// The columns of [`BackupRow`].
pub const BACKUP_COLUMNS: &str = "id, request_id, bk_biz_id, bk_file_dir, bk_file_suffix, \
    bk_host_ids, host_selector, operator, state, phase, failure_reason, status_message, \
    job_timeout_secs, retry_of, schedule_id, backup_name, job_name, job_instance_id, step_instance_id, \
    job_url, attempt, \
    cancel_requested_at, cancel_requested_by, deadline_at, last_seq, created_at, started_at, finished_at, updated_at";

pub(super) const HOST_COLUMNS: &str = "h.bk_host_id, h.bk_cloud_id, h.host_ip, h.status, h.reason, \
    h.log_excerpt, h.exit_code, h.job_host_status_code, h.files_found, h.files_copied, \
    h.files_failed, h.files_unknown, h.bytes_copied, h.updated_at, h.pruned_at";

/// Whether [`create`] stored a new backup or found the one an earlier call with the same
/// request id stored.
#[derive(Debug)]
pub enum Created {
    /// Stored now.
    New(BackupRow),
    /// Stored before.
    Replayed(BackupRow),
}

/// Stores `new` (QUEUED, hosts pending, first event) unless its request id was used before.
pub async fn create(pool: &PgPool, new: &NewBackup) -> Result<Created, StoreError> {
    let mut tx = pool.begin().await?;
    let created = create_on(&mut tx, new, None).await?;
    match created {
        Created::New(_) => tx.commit().await?,
        Created::Replayed(_) => tx.rollback().await?,
    }
    Ok(created)
}

/// [`create`] inside the caller's transaction, the backup of `schedule_id`'s fire when given
/// (a fire stores its run with the backup). A replay writes nothing.
///
/// One statement stores the backup, its hosts and its first event (`queued`, sequence 1) and
/// wakes the watchers: a schedule's tick stores hundreds of backups at once, each in its own
/// transaction, and every round trip counts there.
pub(crate) async fn create_on(
    conn: &mut PgConnection,
    new: &NewBackup,
    schedule_id: Option<Uuid>,
) -> Result<Created, StoreError> {
    let queued = Event::StateChanged {
        state: BackupState::Queued,
        phase: None,
        failure_reason: None,
        message: "queued".to_owned(),
        job_instance_id: None,
        job_url: None,
    };
    let inserted: Option<BackupRow> = sqlx::query_as(&format!(
        "with b as ( \
           insert into backups (id, request_id, bk_biz_id, bk_file_dir, bk_file_suffix, \
             bk_host_ids, operator, job_timeout_secs, backup_name, job_name, deadline_at, \
             retry_of, host_selector, schedule_id, last_seq) \
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 1) \
           on conflict (request_id) where request_id is not null do nothing \
           returning {BACKUP_COLUMNS}), \
         h as (insert into backup_hosts (backup_id, bk_host_id) \
           select b.id, unnest($6::int8[]) from b), \
         e as (insert into backup_events (backup_id, seq, kind, payload) \
           select b.id, 1, $15, $16 from b) \
         select {BACKUP_COLUMNS} from b \
           cross join lateral (select pg_notify($17, b.id::text)) as n(notified)"
    ))
    .bind(new.id)
    .bind(&new.request_id)
    .bind(new.bk_biz_id)
    .bind(&new.bk_file_dir)
    .bind(&new.bk_file_suffix)
    .bind(&new.bk_host_ids)
    .bind(&new.operator)
    .bind(new.job_timeout_secs)
    .bind(&new.backup_name)
    .bind(&new.job_name)
    .bind(new.deadline_at)
    .bind(new.retry_of)
    .bind(new.host_selector.as_ref().map(Json))
    .bind(schedule_id)
    .bind(queued.kind())
    .bind(Json(&queued))
    .bind(events::CHANNEL)
    .fetch_optional(&mut *conn)
    .await?;
    match inserted {
        Some(row) => Ok(Created::New(row)),
        None => {
            // A new statement sees the row of the call that committed first with this key.
            let existing: BackupRow = sqlx::query_as(&format!(
                "select {BACKUP_COLUMNS} from backups where request_id = $1"
            ))
            .bind(&new.request_id)
            .fetch_one(&mut *conn)
            .await?;
            Ok(Created::Replayed(existing))
        }
    }
}

/// The backup an earlier StartBackup or RetryBackup stored under client request id `key`.
pub async fn by_request_id(pool: &PgPool, key: &str) -> Result<Option<BackupRow>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "select {BACKUP_COLUMNS} from backups where request_id = $1"
    ))
    .bind(key)
    .fetch_optional(pool)
    .await?)
}

/// The backup `id`, if it exists.
pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<BackupRow>, StoreError> {
    let mut conn = pool.acquire().await?;
    get_on(&mut conn, id).await
}

pub(crate) async fn get_on(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<BackupRow>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "select {BACKUP_COLUMNS} from backups where id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

/// The hosts of backup `id`, in request order.
pub async fn hosts(pool: &PgPool, id: Uuid) -> Result<Vec<HostSummary>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "select {HOST_COLUMNS} from backup_hosts h join backups b on b.id = h.backup_id \
         where h.backup_id = $1 order by array_position(b.bk_host_ids, h.bk_host_id)"
    ))
    .bind(id)
    .fetch_all(pool)
    .await?)
}

/// Backup `id` with its hosts and totals, read in one repeatable-read transaction so they
/// agree with each other and with `last_seq`.
pub async fn snapshot(
    pool: &PgPool,
    id: Uuid,
) -> Result<Option<(BackupRow, Vec<HostSummary>, Counts)>, StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query("set transaction isolation level repeatable read read only")
        .execute(&mut *tx)
        .await?;
    let Some(row) = get_on(&mut tx, id).await? else {
        return Ok(None);
    };
    let hosts: Vec<HostSummary> = sqlx::query_as(&format!(
        "select {HOST_COLUMNS} from backup_hosts h where h.backup_id = $1 \
         order by array_position($2::int8[], h.bk_host_id)"
    ))
    .bind(id)
    .bind(&row.bk_host_ids)
    .fetch_all(&mut *tx)
    .await?;
    let c = counts(&mut tx, id).await?;
    tx.commit().await?;
    Ok(Some((row, hosts, c)))
}

/// Per host of backup `id`, the files found but not copied.
pub async fn failed_files(
    pool: &PgPool,
    id: Uuid,
) -> Result<Vec<(i64, Vec<crate::outcome::FailedFile>)>, StoreError> {
    let rows: Vec<(i64, sqlx::types::Json<Vec<crate::outcome::FailedFile>>)> = sqlx::query_as(
        "select bk_host_id, failed_files from backup_hosts \
         where backup_id = $1 and jsonb_array_length(failed_files) > 0",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(h, f)| (h, f.0)).collect())
}

/// Ids of the backups that retried backup `id`.
pub async fn retries_of(pool: &PgPool, id: Uuid) -> Result<Vec<Uuid>, StoreError> {
    Ok(
        sqlx::query_scalar("select id from backups where retry_of = $1 order by created_at")
            .bind(id)
            .fetch_all(pool)
            .await?,
    )
}

/// Totals of backup `id` from its hosts.
pub async fn counts(conn: &mut PgConnection, id: Uuid) -> Result<Counts, StoreError> {
    let mut all = super::details::counts_of(conn, &[id]).await?;
    Ok(all.remove(&id).unwrap_or_default())
}
