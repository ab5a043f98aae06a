//! CreateSchedule and UpdateSchedule: validate the whole schedule (an update validates the
//! stored schedule with the masked fields merged in), check the selector in CMDB as the caller,
//! compute the next fire by the scheduler's clock, and store.
//!
//! The selector is resolved once, now, as the caller: a business the caller may not see, a
//! host, set or module id that is not in the business, or a selector over the host limit is
//! refused at creation (INVALID_ARGUMENT naming `schedule.selector...`, or BlueKing's own
//! verdict), not found out by a failed run at 04:00. A selector that resolves to no host *now*
//! (an empty module) is accepted: hosts may join it before the fire, which resolves again and
//! records FAILED_TO_START if it is still empty.

use proto::backup::v1 as pb;
use uuid::Uuid;

use super::{ScheduleApi, deleted};
use crate::convert::schedules::{
    ValidSchedule, check_mask, etag, merge, next_fire, schedule_id, schedule_message, under,
};
use crate::domain::ScheduleState;
use crate::error::{BackupError, Result};
use crate::selector;
use crate::store::StoreError;
use crate::store::schedules::{self, NewSchedule, NextFire, ScheduleFields, ScheduleRow};

/// Tries of an update without an etag that loses a race with another change: it is merged
/// again onto the newer schedule.
const UPDATE_TRIES: usize = 3;

impl ScheduleApi {
    /// Validates `given` as CreateSchedule does.
    fn validate(&self, given: pb::Schedule) -> Result<ValidSchedule> {
        ValidSchedule::new(
            given,
            self.limits.max_hosts,
            self.limits.default_timeout_secs,
        )
    }

    /// Resolves the selector of `s` now, as `operator` (see the module header).
    async fn check_selector(&self, s: &ValidSchedule, operator: &str) -> Result<()> {
        let resolved = selector::resolve(
            &self.gateway,
            s.bk_biz_id,
            &s.selector,
            self.limits.max_hosts,
            operator,
        )
        .await;
        match resolved {
            Ok(_) => Ok(()),
            // Selects no host now: it may by the time it fires.
            Err(BackupError::FailedPrecondition(_)) => Ok(()),
            Err(e) => Err(under("schedule")(e)),
        }
    }

    /// The first fire of `s` (schedule `id`) after now; INVALID_ARGUMENT when it has none.
    fn first_fire(&self, s: &ValidSchedule, id: Uuid) -> Result<NextFire> {
        next_fire(&s.spec, id, self.now()).ok_or_else(|| {
            BackupError::invalid(
                "schedule.spec.end_time",
                "the spec has no fire after now: it would never fire",
            )
        })
    }

    pub(super) async fn create(
        &self,
        req: pb::CreateScheduleRequest,
        operator: &str,
    ) -> Result<pb::CreateScheduleResponse> {
        let given = req
            .schedule
            .ok_or_else(|| BackupError::invalid("schedule", "is required"))?;
        let valid = self.validate(given)?;
        let id = Uuid::new_v4();
        let next = self.first_fire(&valid, id)?;
        self.check_selector(&valid, operator).await?;
        let new = NewSchedule {
            id,
            bk_biz_id: valid.bk_biz_id,
            operator: operator.to_owned(),
            fields: valid.fields,
            next: Some(next),
        };
        let row = schedules::create(&self.pool, &new, self.now()).await?;
        tracing::info!(
            schedule_id = %row.id,
            operator,
            version = row.version,
            bk_biz_id = row.bk_biz_id,
            name = %row.fields.name,
            next_fire = ?row.next_fire_at,
            "schedule created"
        );
        Ok(pb::CreateScheduleResponse {
            schedule: Some(schedule_message(&row)),
        })
    }

    pub(super) async fn update(
        &self,
        req: pb::UpdateScheduleRequest,
        operator: &str,
    ) -> Result<pb::UpdateScheduleResponse> {
        let pb::UpdateScheduleRequest {
            schedule,
            update_mask,
        } = req;
        let given = schedule.ok_or_else(|| BackupError::invalid("schedule", "is required"))?;
        let id = schedule_id("schedule.schedule_id", &given.schedule_id)?;
        let wanted = etag("schedule.etag", &given.etag)?;
        check_mask(update_mask.as_ref())?;
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
            let merged = merge(schedule_message(&row), given.clone(), update_mask.clone())?;
            let valid = self.validate(merged)?;
            let next = if same_spec(&valid.fields, &row.fields) {
                stored_next(&row)
            } else {
                Some(self.first_fire(&valid, id)?)
            };
            if valid.fields.selector != row.fields.selector {
                self.check_selector(&valid, operator).await?;
            }
            // The version read is the etag: a change made since the read is not overwritten.
            let changed = schedules::update(
                &self.pool,
                id,
                Some(row.version),
                &valid.fields,
                next,
                operator,
                self.now(),
            )
            .await;
            let row = match changed {
                Ok(Some(row)) => row,
                Ok(None) => return Err(deleted(id)),
                Err(StoreError::StaleEtag { .. }) if wanted.is_none() && tries < UPDATE_TRIES => {
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            tracing::info!(
                schedule_id = %row.id,
                operator,
                version = row.version,
                mask = ?update_mask.as_ref().map(|m| &m.paths),
                next_fire = ?row.next_fire_at,
                "schedule changed"
            );
            return Ok(pb::UpdateScheduleResponse {
                schedule: Some(schedule_message(&row)),
            });
        }
    }
}

/// ABORTED: `given` is not schedule `id`'s etag any more.
pub(super) fn stale(id: Uuid, given: i64, current: i64) -> BackupError {
    BackupError::Store(StoreError::StaleEtag { id, given, current })
}

/// Whether two schedules fire alike (same cron, zone, bounds and jitter).
fn same_spec(a: &ScheduleFields, b: &ScheduleFields) -> bool {
    (&a.cron, &a.time_zone, a.start_time, a.end_time, a.jitter_ms)
        == (&b.cron, &b.time_zone, b.start_time, b.end_time, b.jitter_ms)
}

/// The next fire `row` holds.
fn stored_next(row: &ScheduleRow) -> Option<NextFire> {
    row.next_fire_at
        .zip(row.next_due_at)
        .map(|(fire_at, due_at)| NextFire { fire_at, due_at })
}
