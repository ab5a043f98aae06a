//! DeleteSchedule, PauseSchedule, ResumeSchedule and TriggerSchedule: the calls that change
//! whether a schedule fires, or make it fire now. A change takes an optional etag (stale:
//! ABORTED; malformed: INVALID_ARGUMENT `etag`); a deleted schedule cannot be changed or
//! triggered (FAILED_PRECONDITION).

use proto::backup::v1 as pb;
use uuid::Uuid;

use super::write::stale;
use super::{ScheduleApi, deleted};
use crate::convert::schedules::{
    etag, next_fire, pause_note, run_message, schedule_id, schedule_message, stored_spec,
};
use crate::domain::ScheduleState;
use crate::error::{BackupError, Result};
use crate::store::StoreError;
use crate::store::backups;
use crate::store::schedules::{self, ScheduleRow, StateChange};

/// Tries of a change without an etag that loses a race with another change.
const CHANGE_TRIES: usize = 3;

impl ScheduleApi {
    /// Applies the change `make` computes from the schedule as read to schedule `id`, as
    /// `operator`, under the caller's etag `wanted` (or, without one, the version read, tried
    /// again on a race so a resume never computes its next fire from an older spec).
    async fn change(
        &self,
        id: Uuid,
        wanted: Option<i64>,
        operator: &str,
        make: impl Fn(&ScheduleApi, &ScheduleRow) -> Result<StateChange>,
    ) -> Result<ScheduleRow> {
        let mut tries = 0;
        loop {
            tries += 1;
            let row = self.load(id).await?;
            if row.state == ScheduleState::Deleted {
                return Err(deleted(id));
            }
            if let Some(e) = wanted
                && e != row.version
            {
                return Err(stale(id, e, row.version));
            }
            let change = make(self, &row)?;
            let done = schedules::change_state(
                &self.pool,
                id,
                Some(row.version),
                &change,
                operator,
                self.now(),
            )
            .await;
            match done {
                Ok(Some(row)) => return Ok(row),
                Ok(None) => return Err(deleted(id)),
                Err(StoreError::StaleEtag { .. }) if wanted.is_none() && tries < CHANGE_TRIES => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    pub(super) async fn delete(
        &self,
        req: pb::DeleteScheduleRequest,
        operator: &str,
    ) -> Result<pb::DeleteScheduleResponse> {
        let id = schedule_id("schedule_id", &req.schedule_id)?;
        let wanted = etag("etag", &req.etag)?;
        let row = self
            .change(id, wanted, operator, |_, _| Ok(StateChange::Delete))
            .await?;
        tracing::info!(schedule_id = %id, operator, version = row.version, "schedule deleted");
        Ok(pb::DeleteScheduleResponse {
            schedule: Some(schedule_message(&row)),
        })
    }

    pub(super) async fn pause(
        &self,
        req: pb::PauseScheduleRequest,
        operator: &str,
    ) -> Result<pb::PauseScheduleResponse> {
        let id = schedule_id("schedule_id", &req.schedule_id)?;
        let note = pause_note(req.note)?;
        let wanted = etag("etag", &req.etag)?;
        let row = self
            .change(id, wanted, operator, |_, _| {
                Ok(StateChange::Pause { note: note.clone() })
            })
            .await?;
        tracing::info!(schedule_id = %id, operator, version = row.version, note = %row.pause_note, "schedule paused");
        Ok(pb::PauseScheduleResponse {
            schedule: Some(schedule_message(&row)),
        })
    }

    pub(super) async fn resume(
        &self,
        req: pb::ResumeScheduleRequest,
        operator: &str,
    ) -> Result<pb::ResumeScheduleResponse> {
        let id = schedule_id("schedule_id", &req.schedule_id)?;
        let wanted = etag("etag", &req.etag)?;
        let row = self
            .change(id, wanted, operator, |api, row| {
                let spec = stored_spec(&row.fields).map_err(|e| {
                    BackupError::FailedPrecondition(format!(
                        "schedule `{id}` holds a spec that no longer validates ({e})"
                    ))
                })?;
                Ok(StateChange::Resume {
                    next: next_fire(&spec, id, api.now()),
                })
            })
            .await?;
        tracing::info!(schedule_id = %id, operator, version = row.version, next_fire = ?row.next_fire_at, "schedule resumed");
        Ok(pb::ResumeScheduleResponse {
            schedule: Some(schedule_message(&row)),
        })
    }

    pub(super) async fn trigger(
        &self,
        req: pb::TriggerScheduleRequest,
        operator: &str,
    ) -> Result<pb::TriggerScheduleResponse> {
        let id = schedule_id("schedule_id", &req.schedule_id)?;
        let row = self.load(id).await?;
        if row.state == ScheduleState::Deleted {
            return Err(deleted(id));
        }
        let run = self.engine.trigger(&row, operator).await?;
        let backup_state = match run.backup_id {
            Some(b) => backups::get(&self.pool, b).await?.map(|b| b.state()),
            None => None,
        };
        tracing::info!(schedule_id = %id, operator, decision = run.decision.as_str(), backup_id = ?run.backup_id, "schedule triggered");
        Ok(pb::TriggerScheduleResponse {
            run: Some(run_message(&run, backup_state)),
        })
    }
}
