//! SQL for schedules as callers see them: create, read, update under an etag, pause, resume,
//! soft delete; listing is in `schedule_list`, the fires in `schedule_fires`, the runs as
//! ListScheduleRuns reads them in `schedule_runs`.
//!
//! Tables (migration `20261205000011_schedules`):
//! - `schedules`: one row per schedule, with its spec (cron text, zone, bounds, jitter) kept as
//!   given and rebuilt into a `schedule::Spec` by the same code that validated it; `version` is
//!   the etag and grows on every change a caller makes, never on a fire; `next_fire_at` (the
//!   nominal time, the run's key) and `next_due_at` (plus jitter, indexed for active
//!   schedules) say what fires next. A name is unique per business among schedules not deleted.
//! - `schedule_runs`: one row per fire, unique on `(schedule_id, scheduled_at)`.
//! - `backups.schedule_id`: the schedule whose fire made a backup.
//!
//! The store writes what it is given: callers compute the next fire from the spec and pass
//! every time (`now`) in, so a test clock drives all of it. Deleting is a state: the row, its
//! runs and its backups stay readable.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::StoreError;
pub use super::schedule_list::{ScheduleFilter, list};
use crate::domain::{OverlapPolicy, ScheduleState};

/// What a caller sets on a schedule, at creation and on every update.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleFields {
    /// Unique per business among schedules not deleted.
    pub name: String,
    /// Which hosts, resolved at every fire; stored as given.
    pub selector: serde_json::Value,
    /// Directory to back up.
    pub bk_file_dir: String,
    /// Suffix; empty for every regular file.
    pub bk_file_suffix: String,
    /// Cron spec as given.
    pub cron: String,
    /// IANA zone name.
    pub time_zone: String,
    /// No fire before.
    pub start_time: Option<DateTime<Utc>>,
    /// No fire after.
    pub end_time: Option<DateTime<Utc>>,
    /// Most a fire is delayed past its nominal time.
    pub jitter_ms: i64,
    /// What a fire does while the previous backup runs.
    pub overlap_policy: OverlapPolicy,
    /// How late a missed fire may still be made; 0 for never.
    pub catch_up_window_secs: i64,
    /// Pause after this many failed runs in a row.
    pub pause_after_failures: Option<i32>,
    /// Bound on each run's backup.
    pub run_timeout_secs: i32,
    /// Keep the newest N backups.
    pub keep_last: Option<i32>,
    /// Keep backups younger than this.
    pub keep_within_secs: Option<i64>,
}

/// The next fire of a schedule, computed by the caller from its spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextFire {
    /// Nominal time: the run's key.
    pub fire_at: DateTime<Utc>,
    /// When to make it: `fire_at` plus the jitter.
    pub due_at: DateTime<Utc>,
}

/// A stored schedule.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ScheduleRow {
    /// Id.
    pub id: Uuid,
    /// Business.
    pub bk_biz_id: i64,
    /// Creator; runs act as this user.
    pub operator: String,
    /// Who changed it last.
    pub updated_by: String,
    /// What the caller set.
    #[sqlx(flatten)]
    pub fields: ScheduleFields,
    /// Failed runs in a row.
    pub consecutive_failures: i32,
    /// State.
    pub state: ScheduleState,
    /// Why it is paused.
    pub pause_note: String,
    /// The etag.
    pub version: i64,
    /// Nominal time of the next fire.
    pub next_fire_at: Option<DateTime<Utc>>,
    /// When the next fire is made.
    pub next_due_at: Option<DateTime<Utc>>,
    /// A replica holds the due fire until then.
    pub claimed_until: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Changed last by a caller.
    pub updated_at: DateTime<Utc>,
    /// Deleted.
    pub deleted_at: Option<DateTime<Utc>>,
}

impl<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> for ScheduleFields {
    fn from_row(row: &'r sqlx::postgres::PgRow) -> Result<Self, sqlx::Error> {
        use sqlx::Row;
        Ok(Self {
            name: row.try_get("name")?,
            selector: row.try_get("selector")?,
            bk_file_dir: row.try_get("bk_file_dir")?,
            bk_file_suffix: row.try_get("bk_file_suffix")?,
            cron: row.try_get("cron")?,
            time_zone: row.try_get("time_zone")?,
            start_time: row.try_get("start_time")?,
            end_time: row.try_get("end_time")?,
            jitter_ms: row.try_get("jitter_ms")?,
            overlap_policy: row.try_get("overlap_policy")?,
            catch_up_window_secs: row.try_get("catch_up_window_secs")?,
            pause_after_failures: row.try_get("pause_after_failures")?,
            run_timeout_secs: row.try_get("run_timeout_secs")?,
            keep_last: row.try_get("keep_last")?,
            keep_within_secs: row.try_get("keep_within_secs")?,
        })
    }
}

/// The columns of [`ScheduleRow`].
pub const SCHEDULE_COLUMNS: &str = "id, bk_biz_id, operator, updated_by, name, selector, \
    bk_file_dir, bk_file_suffix, cron, time_zone, start_time, end_time, jitter_ms, \
    overlap_policy, catch_up_window_secs, pause_after_failures, run_timeout_secs, keep_last, \
    keep_within_secs, consecutive_failures, state, pause_note, version, next_fire_at, \
    next_due_at, claimed_until, created_at, updated_at, deleted_at";

/// A schedule to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSchedule {
    /// New id.
    pub id: Uuid,
    /// Business.
    pub bk_biz_id: i64,
    /// Creator (BlueKing username).
    pub operator: String,
    /// What the caller set.
    pub fields: ScheduleFields,
    /// The first fire; `None` when the spec never fires after now.
    pub next: Option<NextFire>,
}

/// The unique index that keeps names apart within a business.
const NAME_KEY: &str = "schedules_biz_name_key";

fn name_taken(e: sqlx::Error, bk_biz_id: i64, name: &str) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.constraint() == Some(NAME_KEY) => StoreError::NameTaken {
            bk_biz_id,
            name: name.to_owned(),
        },
        _ => StoreError::Database(e),
    }
}

/// Stores `new`, active, at `now`; [`StoreError::NameTaken`] when the business already has a
/// schedule (not deleted) of that name.
pub async fn create(
    pool: &PgPool,
    new: &NewSchedule,
    now: DateTime<Utc>,
) -> Result<ScheduleRow, StoreError> {
    let f = &new.fields;
    let sql = format!(
        "insert into schedules (id, bk_biz_id, operator, updated_by, name, selector, \
           bk_file_dir, bk_file_suffix, cron, time_zone, start_time, end_time, jitter_ms, \
           overlap_policy, catch_up_window_secs, pause_after_failures, run_timeout_secs, \
           keep_last, keep_within_secs, next_fire_at, next_due_at, created_at, updated_at) \
         values ($1, $2, $3, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
           $17, $18, $19, $20, $21, $21) \
         returning {SCHEDULE_COLUMNS}"
    );
    let q = sqlx::query_as(&sql)
        .bind(new.id)
        .bind(new.bk_biz_id)
        .bind(&new.operator);
    bind_fields(q, f)
        .bind(new.next.map(|n| n.fire_at))
        .bind(new.next.map(|n| n.due_at))
        .bind(now)
        .fetch_one(pool)
        .await
        .map_err(|e| name_taken(e, new.bk_biz_id, &f.name))
}

/// The schedule `id`, deleted or not.
pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<ScheduleRow>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "select {SCHEDULE_COLUMNS} from schedules where id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

/// Replaces what the caller sets on schedule `id` (not deleted) and its next fire, if
/// `etag` (when given) is still its version; bumps the version and drops any replica's claim,
/// so a fire computed from the old spec is refused. `None` when there is no such schedule;
/// [`StoreError::StaleEtag`] or [`StoreError::NameTaken`] otherwise.
pub async fn update(
    pool: &PgPool,
    id: Uuid,
    etag: Option<i64>,
    fields: &ScheduleFields,
    next: Option<NextFire>,
    updated_by: &str,
    now: DateTime<Utc>,
) -> Result<Option<ScheduleRow>, StoreError> {
    let tx = pool.begin().await?;
    super::settle(tx, async |conn: &mut sqlx::PgConnection| {
        let Some((bk_biz_id, version)) = lock_for_change(conn, id, etag).await? else {
            return Ok((None, false));
        };
        let f = fields;
        let sql = format!(
            "update schedules set name = $2, selector = $3, bk_file_dir = $4, \
               bk_file_suffix = $5, cron = $6, time_zone = $7, start_time = $8, end_time = $9, \
               jitter_ms = $10, overlap_policy = $11, catch_up_window_secs = $12, \
               pause_after_failures = $13, run_timeout_secs = $14, keep_last = $15, \
               keep_within_secs = $16, next_fire_at = $17, next_due_at = $18, \
               claimed_until = null, updated_by = $19, updated_at = $20, version = $21 + 1 \
             where id = $1 returning {SCHEDULE_COLUMNS}"
        );
        let row: ScheduleRow = bind_fields(sqlx::query_as(&sql).bind(id), f)
            .bind(next.map(|n| n.fire_at))
            .bind(next.map(|n| n.due_at))
            .bind(updated_by)
            .bind(now)
            .bind(version)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| name_taken(e, bk_biz_id, &f.name))?;
        Ok((Some(row), true))
    })
    .await
}

/// Locks schedule `id` (not deleted) for a change and checks `etag`; its business and version.
async fn lock_for_change(
    conn: &mut sqlx::PgConnection,
    id: Uuid,
    etag: Option<i64>,
) -> Result<Option<(i64, i64)>, StoreError> {
    let found: Option<(i64, i64)> = sqlx::query_as(
        "select bk_biz_id, version from schedules where id = $1 and state <> 'deleted' \
         for update",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?;
    match (found, etag) {
        (Some((_, current)), Some(given)) if given != current => {
            Err(StoreError::StaleEtag { id, given, current })
        }
        (found, _) => Ok(found),
    }
}

/// A change of state a caller asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateChange {
    /// Stop firing, with a note saying why.
    Pause {
        /// Why.
        note: String,
    },
    /// Fire again from `next` (fires missed while paused are not made up).
    Resume {
        /// The first fire after now; `None` when the spec has no more.
        next: Option<NextFire>,
    },
    /// Stop for good; the name is free again, the runs and backups stay.
    Delete,
}

/// Applies `change` to schedule `id` (not deleted) if `etag` (when given) is still its version,
/// by `by` at `now`; bumps the version and drops any replica's claim. Resuming resets the
/// failure count. `None` when there is no such schedule. Pausing a paused schedule replaces
/// its note; resuming an active one recomputes its next fire.
pub async fn change_state(
    pool: &PgPool,
    id: Uuid,
    etag: Option<i64>,
    change: &StateChange,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Option<ScheduleRow>, StoreError> {
    let tx = pool.begin().await?;
    super::settle(tx, async |conn: &mut sqlx::PgConnection| {
        if lock_for_change(conn, id, etag).await?.is_none() {
            return Ok((None, false));
        }
        let mut q: QueryBuilder<Postgres> = QueryBuilder::new(
            "update schedules set version = version + 1, claimed_until = null, updated_by = ",
        );
        q.push_bind(by).push(", updated_at = ").push_bind(now);
        match change {
            StateChange::Pause { note } => {
                q.push(", state = 'paused', pause_note = ").push_bind(note);
            }
            StateChange::Resume { next } => {
                q.push(", state = 'active', pause_note = '', consecutive_failures = 0")
                    .push(", next_fire_at = ")
                    .push_bind(next.map(|n| n.fire_at))
                    .push(", next_due_at = ")
                    .push_bind(next.map(|n| n.due_at));
            }
            StateChange::Delete => {
                q.push(", state = 'deleted', deleted_at = ")
                    .push_bind(now)
                    .push(", next_fire_at = null, next_due_at = null");
            }
        }
        q.push(" where id = ")
            .push_bind(id)
            .push(format!(" returning {SCHEDULE_COLUMNS}"));
        let row: ScheduleRow = q.build_query_as().fetch_one(&mut *conn).await?;
        Ok((Some(row), true))
    })
    .await
}

/// Counts the end of one of schedule `id`'s runs (not deleted): a failure adds one to its
/// failures in a row, a success sets them back to zero. Not a caller's change, so the version
/// stays. The caller decides from the returned row whether to pause (`schedule::pauses`), and
/// pauses with that version as the etag, so two runs ending together pause it once.
pub async fn count_run_result(
    pool: &PgPool,
    id: Uuid,
    failed: bool,
) -> Result<Option<ScheduleRow>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "update schedules set consecutive_failures = \
           case when $2 then consecutive_failures + 1 else 0 end \
         where id = $1 and state <> 'deleted' returning {SCHEDULE_COLUMNS}"
    ))
    .bind(id)
    .bind(failed)
    .fetch_optional(pool)
    .await?)
}

#[cfg(test)]
#[path = "schedules_tests.rs"]
pub(crate) mod tests;

type RowQuery<'q> =
    sqlx::query::QueryAs<'q, sqlx::Postgres, ScheduleRow, sqlx::postgres::PgArguments>;

/// Binds what the caller sets on a schedule, in the column order of [`create`] and [`update`].
fn bind_fields<'q>(q: RowQuery<'q>, f: &'q ScheduleFields) -> RowQuery<'q> {
    q.bind(&f.name)
        .bind(&f.selector)
        .bind(&f.bk_file_dir)
        .bind(&f.bk_file_suffix)
        .bind(&f.cron)
        .bind(&f.time_zone)
        .bind(f.start_time)
        .bind(f.end_time)
        .bind(f.jitter_ms)
        .bind(f.overlap_policy)
        .bind(f.catch_up_window_secs)
        .bind(f.pause_after_failures)
        .bind(f.run_timeout_secs)
        .bind(f.keep_last)
        .bind(f.keep_within_secs)
}
