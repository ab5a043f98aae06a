//! SQL of the scheduler's tick: claim the due schedules, record each fire exactly once, read
//! the runs back. Tables are described in `schedules`.
//!
//! Exactly once rests on three things, from weakest to strongest:
//! 1. [`claim_due`] is one statement: it reads the due, active schedules from the partial
//!    index on `next_due_at` (so its cost follows the number due, not the number of schedules),
//!    skips rows another replica holds (`FOR UPDATE SKIP LOCKED`) or has claimed
//!    (`claimed_until` in the future), and claims them for a lease. Two replicas therefore do
//!    not normally work on one fire; this only saves work.
//! 2. [`record_fire`] runs in one transaction that first locks the schedule row, then checks
//!    that the fire is still the schedule's next one (`next_fire_at` = the fire, version as
//!    claimed, still active). It writes the run, the backup (for a fire that starts one) and
//!    the next fire together, or nothing. A replica whose lease ran out and whose fire another
//!    replica already recorded finds the schedule moved on and records nothing.
//! 3. `schedule_runs` is unique on `(schedule_id, scheduled_at)`, and the backup's request id
//!    is derived from the same pair ([`fire_request_id`]), so even a bug in the checks above
//!    could not store a second run or a second backup for one fire.
//!
//! The backup and its run commit together, so no crash leaves a backup without its run or a
//! run without its backup.

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::StoreError;
use super::backups::{self, Created, NewBackup};
use super::schedule_overlap::overlap_on;
pub use super::schedule_overlap::{NOT_ENDED, Overlap, overlap};
use super::schedules::{NextFire, SCHEDULE_COLUMNS, ScheduleRow};
use crate::domain::{RetentionState, RunDecision, RunTrigger, ScheduleState};

/// The client request id of the backup a fire starts: one per (schedule, nominal time).
pub fn fire_request_id(schedule_id: Uuid, scheduled_at: DateTime<Utc>) -> String {
    format!(
        "schedule:{schedule_id}:{}",
        scheduled_at.to_rfc3339_opts(SecondsFormat::Micros, true)
    )
}

/// Claims up to `limit` schedules due at `now` (active, `next_due_at <= now`, not claimed by
/// a live lease) until `now + lease`, earliest due first. One statement.
pub async fn claim_due(
    pool: &PgPool,
    now: DateTime<Utc>,
    lease: TimeDelta,
    limit: u32,
) -> Result<Vec<ScheduleRow>, StoreError> {
    Ok(sqlx::query_as(&claim_statement(""))
        .bind(now)
        .bind(now + lease)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?)
}

/// The claim after `prefix` (`explain ` in tests).
fn claim_statement(prefix: &str) -> String {
    format!(
        "{prefix}with due as (select id from schedules \
           where state = 'active' and next_due_at <= $1 \
             and (claimed_until is null or claimed_until <= $1) \
           order by next_due_at limit $3 for update skip locked) \
         update schedules s set claimed_until = $2 from due where s.id = due.id \
         returning {}",
        SCHEDULE_COLUMNS
            .split(", ")
            .map(|c| format!("s.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// What the scheduler decided for one fire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Start this backup. Its request id is replaced by [`fire_request_id`].
    Fire(Box<NewBackup>),
    /// The previous backup still runs (overlap policy).
    SkipOverlap,
    /// Too late to make (outside the catch-up window); why.
    Missed(String),
    /// Could not start; why.
    FailedToStart(String),
    /// Wait for the previous backup to end, then start (overlap policy BUFFER_ONE).
    Buffer,
}

impl Decision {
    /// The decision's database spelling.
    pub fn kind(&self) -> RunDecision {
        match self {
            Decision::Fire(_) => RunDecision::Fired,
            Decision::SkipOverlap => RunDecision::SkippedOverlap,
            Decision::Missed(_) => RunDecision::Missed,
            Decision::FailedToStart(_) => RunDecision::FailedToStart,
            Decision::Buffer => RunDecision::Buffered,
        }
    }
}

/// One fire to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fire {
    /// Schedule.
    pub schedule_id: Uuid,
    /// The schedule's version the decision was made from; a changed schedule refuses it.
    pub version: i64,
    /// Nominal time: for a cron fire, the schedule's `next_fire_at`, or a later fire when the
    /// earlier ones are recorded in [`Fire::missed`].
    pub scheduled_at: DateTime<Utc>,
    /// Cron fires advance the schedule to `next`; manual ones leave it alone.
    pub trigger: RunTrigger,
    /// What was decided.
    pub decision: Decision,
    /// The hosts the selector resolved to.
    pub resolved_host_ids: Vec<i64>,
    /// The schedule's fire after this one (cron fires); `None` when it has no more.
    pub next: Option<NextFire>,
    /// Decision time.
    pub now: DateTime<Utc>,
    /// Who called TriggerSchedule (manual runs); empty for cron fires.
    pub triggered_by: String,
    /// Earlier fires of the schedule recorded MISSED with this one (catch-up), oldest first;
    /// a cron fire with missed ones is live when the first of them is the schedule's next.
    pub missed: Vec<MissedFire>,
    /// What the decision saw of the schedule's earlier runs; when given and no longer true
    /// under the schedule's lock, nothing is stored ([`Recorded::Changed`]).
    pub seen: Option<Overlap>,
}

/// An earlier fire recorded MISSED together with a later one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissedFire {
    /// Nominal time.
    pub scheduled_at: DateTime<Utc>,
    /// Why (past the catch-up window, a later fire made instead, how many more).
    pub reason: String,
}

/// A stored run.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RunRow {
    /// Id.
    pub id: i64,
    /// Schedule.
    pub schedule_id: Uuid,
    /// Nominal time.
    pub scheduled_at: DateTime<Utc>,
    /// What made it.
    pub trigger: RunTrigger,
    /// What was decided.
    pub decision: RunDecision,
    /// The backup a fired run started.
    pub backup_id: Option<Uuid>,
    /// Why it failed to start.
    pub reason: String,
    /// Hosts resolved.
    pub resolved_host_ids: Vec<i64>,
    /// When it was decided.
    pub decided_at: DateTime<Utc>,
    /// Who called TriggerSchedule; empty for cron runs.
    pub triggered_by: String,
    /// Retention after the run.
    pub retention_state: RetentionState,
    /// Backup directories retention removed, over all hosts.
    pub retention_pruned: i32,
    /// Removals that failed, over all hosts.
    pub retention_failed: i32,
    /// Why retention failed (hosts and reasons).
    pub retention_message: String,
    /// When the prune finished.
    pub retention_finished_at: Option<DateTime<Utc>>,
}

/// The columns of [`RunRow`].
pub const RUN_COLUMNS: &str = "id, schedule_id, scheduled_at, trigger, decision, backup_id, \
    reason, resolved_host_ids, decided_at, triggered_by, retention_state, retention_pruned, \
    retention_failed, retention_message, retention_finished_at";

/// What [`record_fire`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// This call stored the run (and its backup, and the next fire).
    New(RunRow),
    /// The fire was recorded before (by another replica, or as a manual run at the same
    /// instant); nothing new was stored.
    Duplicate(RunRow),
    /// The schedule changed since the claim (updated, paused, deleted, or moved to another
    /// fire) and this fire has no run: nothing was stored; the fire is dropped.
    Superseded,
    /// The schedule's earlier runs are no longer as [`Fire::seen`] says (one ended, or one
    /// started); nothing was stored, the caller decides again from this.
    Changed(Overlap),
}

/// Records `fire` exactly once: the run, the backup it starts (with `backups.schedule_id`), and
/// for a cron fire the schedule's next fire and the end of its claim, in one transaction. See
/// the module header.
pub async fn record_fire(pool: &PgPool, fire: &Fire) -> Result<Recorded, StoreError> {
    let tx = pool.begin().await?;
    super::settle(tx, async |conn: &mut PgConnection| {
        record_on(conn, fire).await
    })
    .await
}

/// [`record_fire`]'s work in its transaction; true to commit.
async fn record_on(conn: &mut PgConnection, fire: &Fire) -> Result<(Recorded, bool), StoreError> {
    let current: Option<(ScheduleState, i64, Option<DateTime<Utc>>)> = sqlx::query_as(
        "select state, version, next_fire_at from schedules where id = $1 for update",
    )
    .bind(fire.schedule_id)
    .fetch_optional(&mut *conn)
    .await?;
    let existing = run_at(conn, fire.schedule_id, fire.scheduled_at).await?;
    // The schedule's next fire: this one, or (catch-up) the first of those recorded missed.
    let first = fire
        .missed
        .first()
        .map_or(fire.scheduled_at, |m| m.scheduled_at);
    let is_next = |c: &(ScheduleState, i64, Option<DateTime<Utc>>)| {
        c.0 == ScheduleState::Active && c.1 == fire.version && c.2 == Some(first)
    };
    let live = match (&current, fire.trigger) {
        (None, _) => false,
        (Some(c), RunTrigger::Cron) => is_next(c),
        (Some(c), RunTrigger::Manual) => c.0 != ScheduleState::Deleted && c.1 == fire.version,
    };
    if let Some(run) = existing {
        // A manual run at the very instant of a cron fire stands for it: move past it so the
        // schedule cannot stick on a fire it can never record.
        let stuck = live && fire.trigger == RunTrigger::Cron;
        if stuck {
            advance(conn, fire).await?;
        }
        return Ok((Recorded::Duplicate(run), stuck));
    }
    if !live {
        return Ok((Recorded::Superseded, false));
    }
    if let Some(seen) = fire.seen {
        let now = overlap_on(conn, fire.schedule_id).await?;
        if now != seen {
            return Ok((Recorded::Changed(now), false));
        }
    }
    for m in &fire.missed {
        // A manual run at that very instant already stands for it.
        sqlx::query(
            "insert into schedule_runs (schedule_id, scheduled_at, trigger, decision, reason, \
               decided_at) values ($1, $2, 'cron', 'missed', $3, $4) \
             on conflict (schedule_id, scheduled_at) do nothing",
        )
        .bind(fire.schedule_id)
        .bind(m.scheduled_at)
        .bind(&m.reason)
        .bind(fire.now)
        .execute(&mut *conn)
        .await?;
    }
    let (backup_id, reason) = match &fire.decision {
        Decision::Fire(new) => {
            let row = store_backup(conn, fire.schedule_id, fire.scheduled_at, new).await?;
            (Some(row.id), String::new())
        }
        Decision::FailedToStart(reason) | Decision::Missed(reason) => (None, reason.clone()),
        Decision::SkipOverlap | Decision::Buffer => (None, String::new()),
    };
    // A fired run of a schedule with retention owes a prune once its backup ends; a fired run
    // or one that failed to start owes its result to the failure count.
    let run: RunRow = sqlx::query_as(&format!(
        "insert into schedule_runs (schedule_id, scheduled_at, trigger, decision, backup_id, \
           reason, resolved_host_ids, decided_at, triggered_by, retention_state, result_pending) \
         select $1, $2, $3, $4, $5, $6, $7, $8, $9, \
           case when $5::uuid is not null \
             and (s.keep_last is not null or s.keep_within_secs is not null) \
             then 'pending' else 'none' end, \
           $4 in ('fired', 'failed_to_start') \
         from schedules s where s.id = $1 returning {RUN_COLUMNS}"
    ))
    .bind(fire.schedule_id)
    .bind(fire.scheduled_at)
    .bind(fire.trigger)
    .bind(fire.decision.kind())
    .bind(backup_id)
    .bind(reason)
    .bind(&fire.resolved_host_ids)
    .bind(fire.now)
    .bind(&fire.triggered_by)
    .fetch_one(&mut *conn)
    .await?;
    if fire.trigger == RunTrigger::Cron {
        advance(conn, fire).await?;
    }
    Ok((Recorded::New(run), true))
}

/// Stores `new` as the backup of `schedule_id`'s fire at `scheduled_at`: its request id is the
/// fire's ([`fire_request_id`]) and `backups.schedule_id` names the schedule. A backup that
/// already holds that request id is [`StoreError::RequestIdTaken`]: the fire starts nothing.
pub(super) async fn store_backup(
    conn: &mut PgConnection,
    schedule_id: Uuid,
    scheduled_at: DateTime<Utc>,
    new: &NewBackup,
) -> Result<backups::BackupRow, StoreError> {
    let new = NewBackup {
        request_id: Some(fire_request_id(schedule_id, scheduled_at)),
        ..new.clone()
    };
    match backups::create_on(conn, &new, Some(schedule_id)).await? {
        Created::New(row) => Ok(row),
        Created::Replayed(_) => Err(StoreError::RequestIdTaken(
            new.request_id.unwrap_or_default(),
        )),
    }
}

async fn advance(conn: &mut PgConnection, fire: &Fire) -> Result<(), StoreError> {
    sqlx::query(
        "update schedules set next_fire_at = $2, next_due_at = $3, claimed_until = null \
         where id = $1",
    )
    .bind(fire.schedule_id)
    .bind(fire.next.map(|n| n.fire_at))
    .bind(fire.next.map(|n| n.due_at))
    .execute(conn)
    .await?;
    Ok(())
}

async fn run_at(
    conn: &mut PgConnection,
    schedule_id: Uuid,
    scheduled_at: DateTime<Utc>,
) -> Result<Option<RunRow>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "select {RUN_COLUMNS} from schedule_runs where schedule_id = $1 and scheduled_at = $2"
    ))
    .bind(schedule_id)
    .bind(scheduled_at)
    .fetch_optional(conn)
    .await?)
}

/// One page of schedule `id`'s runs, newest (nominal time) first, before `before` when given,
/// as [`super::schedule_run_list::page`] reads them, without their backups' states; `true`
/// when another page exists.
pub async fn runs(
    pool: &PgPool,
    schedule_id: Uuid,
    before: Option<DateTime<Utc>>,
    page_size: u32,
) -> Result<(Vec<RunRow>, bool), StoreError> {
    let (rows, more) = super::schedule_run_list::page(pool, schedule_id, before, page_size).await?;
    Ok((rows.into_iter().map(|r| r.run).collect(), more))
}

#[cfg(test)]
#[path = "schedule_fires_tests.rs"]
mod tests;
