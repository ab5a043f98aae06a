//! SQL for CancelBackup: one transaction decides, from the locked row, what cancelling means
//! now, so concurrent cancels and the worker's own writes cannot race.

use sqlx::PgPool;
use uuid::Uuid;

use super::backups::{BackupRow, get_on};
use super::{StoreError, events};
use crate::domain::{BackupState, HostState, Phase};
use crate::events::Event;
use crate::outcome::cancelled_host_note;

/// What a cancel request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    /// Queued or not launched: ended CANCELLED at once, nothing ran.
    Dequeued,
    /// Running: the worker will terminate the job and record what was copied.
    Terminating,
    /// The job had already finished copying; the worker records everything and ends CANCELLED.
    JobAlreadyFinished,
    /// Already cancelling or cancelled.
    AlreadyCancelled,
    /// Already in another terminal state.
    AlreadyFinished,
}

/// Requests cancellation of backup `id` for caller `by` (a BlueKing username, kept for the
/// final message); `None` when it does not exist.
pub async fn request(
    pool: &PgPool,
    id: Uuid,
    by: &str,
) -> Result<Option<(CancelOutcome, BackupRow)>, StoreError> {
    let mut tx = pool.begin().await?;
    let row: Option<BackupRow> = sqlx::query_as(&format!(
        "select {} from backups where id = $1 for update",
        super::backups::BACKUP_COLUMNS
    ))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let state = row.state();
    let outcome = match state {
        BackupState::Cancelling | BackupState::Cancelled => CancelOutcome::AlreadyCancelled,
        s if s.is_terminal() => CancelOutcome::AlreadyFinished,
        _ if row.job_instance_id.is_none() && row.phase() != Some(Phase::Launching) => {
            CancelOutcome::Dequeued
        }
        _ if matches!(
            row.phase(),
            Some(Phase::CollectingResults | Phase::Recording)
        ) =>
        {
            CancelOutcome::JobAlreadyFinished
        }
        _ => CancelOutcome::Terminating,
    };
    let (new_state, message) = match outcome {
        CancelOutcome::Dequeued => (
            BackupState::Cancelled,
            format!("cancelled by {by} before launch: nothing ran"),
        ),
        CancelOutcome::Terminating => (
            BackupState::Cancelling,
            format!("cancel requested by {by}: terminating the job"),
        ),
        CancelOutcome::JobAlreadyFinished => (
            BackupState::Cancelling,
            format!(
                "cancel requested by {by} after the job had finished copying: every copied file will be recorded and kept"
            ),
        ),
        CancelOutcome::AlreadyCancelled | CancelOutcome::AlreadyFinished => {
            tx.rollback().await?;
            return Ok(Some((outcome, row)));
        }
    };
    sqlx::query(
        "update backups set state = $2, status_message = $3, cancel_requested_at = now(), \
           cancel_requested_by = $4, finished_at = case when $2 = 'cancelled' then now() end, \
           phase = case when $2 = 'cancelled' then null else phase end \
         where id = $1",
    )
    .bind(id)
    .bind(new_state.as_str())
    .bind(&message)
    .bind(by)
    .execute(&mut *tx)
    .await?;
    if new_state == BackupState::Cancelled {
        sqlx::query(
            "update backup_hosts set status = $2, reason = 'cancelled', log_excerpt = $3, \
               updated_at = now() \
             where backup_id = $1 and status in ('pending', 'running')",
        )
        .bind(id)
        .bind(HostState::Cancelled.as_str())
        .bind(cancelled_host_note(false))
        .execute(&mut *tx)
        .await?;
    }
    let event = Event::StateChanged {
        state: new_state,
        phase: if new_state == BackupState::Cancelled {
            None
        } else {
            row.phase()
        },
        failure_reason: None,
        message,
        job_instance_id: row.job_instance_id,
        job_url: row.job_url.clone(),
    };
    events::append(&mut tx, id, &event).await?;
    let row = get_on(&mut tx, id).await?.expect("locked row exists");
    tx.commit().await?;
    Ok(Some((outcome, row)))
}
