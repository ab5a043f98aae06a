//! SQL of what the scheduler does after a fire: release a buffered fire once no backup of its
//! schedule runs, and count each run's result towards its schedule's failures in a row
//! (pausing the schedule at its limit). Both read only the runs that still owe something,
//! through partial indexes (`schedule_runs_buffered_idx`, `schedule_runs_result_pending_idx`),
//! so an idle tick costs the same whatever the number of schedules or runs.
//!
//! Each release and each count is one transaction that first takes the schedule's row lock
//! (the lock [`super::schedule_fires::record_fire`] takes), then re-checks under it what the
//! scan saw: two replicas scanning together release a buffered fire once and count a result
//! once; a crash before the commit leaves the run as it was, to be done by the next scan.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::StoreError;
use super::backups::NewBackup;
use super::schedule_fires::{RUN_COLUMNS, RunRow, store_backup};
pub use super::schedule_overlap::running_backups;
use super::schedule_overlap::{NOT_ENDED, overlap_on};
use super::schedules::{SCHEDULE_COLUMNS, ScheduleRow};
use crate::domain::{BackupState, RunDecision, ScheduleState};

/// A buffered fire whose schedule has no backup running now.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Releasable {
    /// The run.
    pub id: i64,
    /// Its schedule.
    pub schedule_id: Uuid,
    /// Its nominal time.
    pub scheduled_at: DateTime<Utc>,
}

/// Up to `limit` buffered fires whose schedule has no backup that has not ended, oldest first.
/// One statement.
pub async fn releasable(pool: &PgPool, limit: u32) -> Result<Vec<Releasable>, StoreError> {
    Ok(sqlx::query_as(&releasable_statement(""))
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?)
}

/// [`releasable`]'s statement after `prefix` (`explain ` in tests).
fn releasable_statement(prefix: &str) -> String {
    format!(
        "{prefix}select r.id, r.schedule_id, r.scheduled_at from schedule_runs r \
         where r.decision = 'buffered' and not exists (select 1 from backups b \
           where b.schedule_id = r.schedule_id and b.state in {NOT_ENDED}) \
         order by r.id limit $1"
    )
}

/// What becomes of a released fire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Release {
    /// It starts this backup (request id replaced by the fire's) on these resolved hosts.
    Fire(Box<NewBackup>),
    /// It could not start; why.
    FailedToStart(String),
    /// It is not made (its schedule was deleted); why.
    Missed(String),
}

/// Releases buffered run `run_id` as `release` at `now`, if it is still buffered and its
/// schedule still has no backup that has not ended; the run as stored then, `None` otherwise
/// (another replica released it, or a backup started meanwhile).
pub async fn release(
    pool: &PgPool,
    run_id: i64,
    release: &Release,
    now: DateTime<Utc>,
) -> Result<Option<RunRow>, StoreError> {
    let tx = pool.begin().await?;
    super::settle(tx, async |conn: &mut PgConnection| {
        let Some(schedule_id) = lock_schedule_of(conn, run_id).await? else {
            return Ok((None, false));
        };
        let run: Option<(DateTime<Utc>,)> = sqlx::query_as(
            "select scheduled_at from schedule_runs where id = $1 and decision = 'buffered' \
             for update",
        )
        .bind(run_id)
        .fetch_optional(&mut *conn)
        .await?;
        let Some((scheduled_at,)) = run else {
            return Ok((None, false));
        };
        if overlap_on(conn, schedule_id).await?.running {
            return Ok((None, false));
        }
        let (decision, backup_id, hosts, reason) = match release {
            Release::Fire(new) => {
                let row = store_backup(conn, schedule_id, scheduled_at, new).await?;
                (RunDecision::Fired, Some(row.id), row.bk_host_ids, "")
            }
            Release::FailedToStart(why) => (RunDecision::FailedToStart, None, Vec::new(), &**why),
            Release::Missed(why) => (RunDecision::Missed, None, Vec::new(), &**why),
        };
        let row: RunRow = sqlx::query_as(&format!(
            "update schedule_runs r set decision = $2, backup_id = $3, resolved_host_ids = $4, \
               reason = $5, decided_at = $6, \
               result_pending = $2 in ('fired', 'failed_to_start'), \
               retention_state = case when $3::uuid is not null \
                 and (s.keep_last is not null or s.keep_within_secs is not null) \
                 then 'pending' else 'none' end \
             from schedules s where r.id = $1 and s.id = r.schedule_id \
             returning {}",
            RUN_COLUMNS
                .split(", ")
                .map(|c| format!("r.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .bind(run_id)
        .bind(decision)
        .bind(backup_id)
        .bind(&hosts)
        .bind(reason)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?;
        Ok((Some(row), true))
    })
    .await
}

/// Locks the schedule of run `run_id`; its id.
async fn lock_schedule_of(
    conn: &mut PgConnection,
    run_id: i64,
) -> Result<Option<Uuid>, StoreError> {
    Ok(sqlx::query_scalar(
        "select s.id from schedules s join schedule_runs r on r.schedule_id = s.id \
         where r.id = $1 for update of s",
    )
    .bind(run_id)
    .fetch_optional(conn)
    .await?)
}

/// Up to `limit` runs whose result is still to count and known: their backup ended, or they
/// failed to start. One statement.
pub async fn results_due(pool: &PgPool, limit: u32) -> Result<Vec<i64>, StoreError> {
    Ok(sqlx::query_scalar(&results_due_statement(""))
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?)
}

/// [`results_due`]'s statement after `prefix` (`explain ` in tests).
fn results_due_statement(prefix: &str) -> String {
    format!(
        "{prefix}select r.id from schedule_runs r left join backups b on b.id = r.backup_id \
         where r.result_pending and (r.backup_id is null or b.state not in {NOT_ENDED}) \
         order by r.id limit $1"
    )
}

/// A run whose result is being counted, as read: schedule, decision, reason, and its
/// backup's state, canceller and message.
type EndedRow = (
    Uuid,
    RunDecision,
    String,
    Option<BackupState>,
    Option<String>,
    Option<String>,
);

/// A run whose result is being counted, as the scheduler classifies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndedRun {
    /// The run.
    pub run_id: i64,
    /// Its schedule.
    pub schedule_id: Uuid,
    /// Its decision (`fired` or `failed_to_start`).
    pub decision: RunDecision,
    /// Why it failed to start.
    pub reason: String,
    /// Its backup's final state, for a fired run.
    pub backup_state: Option<BackupState>,
    /// Who asked for its backup's cancel, if anyone.
    pub cancel_requested_by: Option<String>,
    /// Its backup's final message.
    pub status_message: String,
}

/// A run's result, as it counts towards failures in a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunResult {
    /// Sets the failures in a row back to zero.
    Succeeded,
    /// Adds one failure in a row; why it failed.
    Failed(String),
    /// Neither (a backup the schedule itself cancelled under CANCEL_PREVIOUS).
    Neither,
}

/// What [`count_result`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct Counted {
    /// The run as classified.
    pub run: EndedRun,
    /// Its result.
    pub result: RunResult,
    /// The schedule after counting; `None` when it is deleted (nothing counted on it).
    pub schedule: Option<ScheduleRow>,
    /// The note it was paused with, if this result paused it.
    pub paused: Option<String>,
}

/// Counts run `run_id`'s result once, in one transaction: clears its mark, classifies it with
/// `classify`, updates its schedule's failures in a row, and pauses the schedule (active, not
/// deleted) with the note `pause_note` gives for the counted schedule and the failure, if it
/// gives one. The version stays the one read under the lock, bumped by the pause, so a caller
/// holding an older etag is refused. `None` when the run was counted already.
pub async fn count_result(
    pool: &PgPool,
    run_id: i64,
    classify: impl FnOnce(&EndedRun) -> RunResult,
    pause_note: impl FnOnce(&ScheduleRow, &str) -> Option<String>,
) -> Result<Option<Counted>, StoreError> {
    let tx = pool.begin().await?;
    super::settle(tx, async |conn: &mut PgConnection| {
        if lock_schedule_of(conn, run_id).await?.is_none() {
            return Ok((None, false));
        }
        let run: Option<EndedRow> = sqlx::query_as(
            "update schedule_runs r set result_pending = false \
                 from schedule_runs o left join backups b on b.id = o.backup_id \
                 where r.id = $1 and o.id = r.id and r.result_pending \
                 returning r.schedule_id, r.decision, r.reason, b.state, \
                   b.cancel_requested_by, b.status_message",
        )
        .bind(run_id)
        .fetch_optional(&mut *conn)
        .await?;
        let Some((schedule_id, decision, reason, backup_state, cancel_by, message)) = run else {
            return Ok((None, false));
        };
        let run = EndedRun {
            run_id,
            schedule_id,
            decision,
            reason,
            backup_state,
            cancel_requested_by: cancel_by,
            status_message: message.unwrap_or_default(),
        };
        let result = classify(&run);
        let delta = match &result {
            RunResult::Succeeded => "0",
            RunResult::Failed(_) => "consecutive_failures + 1",
            RunResult::Neither => "consecutive_failures",
        };
        let schedule: Option<ScheduleRow> = sqlx::query_as(&format!(
            "update schedules set consecutive_failures = {delta} \
             where id = $1 and state <> 'deleted' returning {SCHEDULE_COLUMNS}"
        ))
        .bind(schedule_id)
        .fetch_optional(&mut *conn)
        .await?;
        let mut paused = None;
        let mut schedule = schedule;
        if let (Some(row), RunResult::Failed(why)) = (&schedule, &result)
            && row.state == ScheduleState::Active
            && let Some(note) = pause_note(row, why)
        {
            let row: ScheduleRow = sqlx::query_as(&format!(
                "update schedules set state = 'paused', pause_note = $3, version = version + 1, \
                   claimed_until = null \
                 where id = $1 and version = $2 returning {SCHEDULE_COLUMNS}"
            ))
            .bind(schedule_id)
            .bind(row.version)
            .bind(&note)
            .fetch_one(&mut *conn)
            .await?;
            schedule = Some(row);
            paused = Some(note);
        }
        Ok((
            Some(Counted {
                run,
                result,
                schedule,
                paused,
            }),
            true,
        ))
    })
    .await
}

/// Schedules by state (the `schedules` gauge); read on a metrics scrape, never by the tick.
pub async fn by_state(pool: &PgPool) -> Result<Vec<(ScheduleState, i64)>, StoreError> {
    Ok(
        sqlx::query_as("select state, count(*) from schedules group by state")
            .fetch_all(pool)
            .await?,
    )
}

#[cfg(test)]
#[path = "schedule_runs_tests.rs"]
mod tests;
