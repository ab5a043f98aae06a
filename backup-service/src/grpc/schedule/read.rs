//! GetSchedule, ListSchedules, PreviewSchedule and ListScheduleRuns. Listings are keyset pages
//! with the same opaque tokens as ListBackups (`convert::page_token`), bound to their filters.

use chrono::SecondsFormat;
use proto::backup::v1 as pb;

use super::ScheduleApi;
use crate::convert::schedule_state_from;
use crate::convert::schedules::{run_message, schedule_id, schedule_message, spec_of};
use crate::convert::{from_timestamp, optional_text, page_size, page_token, timestamp};
use crate::error::{BackupError, Result};
use crate::store::schedule_run_list;
use crate::store::schedules::{self, ScheduleFilter};

/// Largest page of ListSchedules and ListScheduleRuns.
const MAX_PAGE: u32 = 500;
/// Page size when none is asked for.
const DEFAULT_PAGE: u32 = 50;
/// The kinds of the two listings' page tokens.
const SCHEDULES_TOKEN: &str = "s1";
const RUNS_TOKEN: &str = "r1";
/// PreviewSchedule's fire times when none is asked for, and at most.
const DEFAULT_PREVIEW: i32 = 5;
const MAX_PREVIEW: i32 = 100;
/// Longest `name_contains`.
const MAX_NAME_FILTER: usize = 128;

impl ScheduleApi {
    pub(super) async fn get(&self, req: pb::GetScheduleRequest) -> Result<pb::GetScheduleResponse> {
        let id = schedule_id("schedule_id", &req.schedule_id)?;
        let row = self.load(id).await?;
        Ok(pb::GetScheduleResponse {
            schedule: Some(schedule_message(&row)),
        })
    }

    /// ListSchedules for `user`: the business the filter names (if they may act on it), else
    /// every business BlueKing lists for them.
    pub(super) async fn list(
        &self,
        req: pb::ListSchedulesRequest,
        user: &str,
    ) -> Result<pb::ListSchedulesResponse> {
        let pb::ListSchedulesRequest {
            bk_biz_id,
            states,
            name_contains,
            page_size: size,
            page_token: token,
        } = req;
        if bk_biz_id < 0 {
            return Err(BackupError::invalid("bk_biz_id", "must not be negative"));
        }
        let states = states
            .iter()
            .enumerate()
            .map(|(i, s)| {
                schedule_state_from(*s)
                    .ok_or_else(|| BackupError::invalid(format!("states[{i}]"), "unknown state"))
            })
            .collect::<Result<Vec<_>>>()?;
        let filter = ScheduleFilter {
            bk_biz_id: (bk_biz_id > 0).then_some(bk_biz_id),
            states,
            name_contains: optional_text("name_contains", name_contains, MAX_NAME_FILTER)?,
        };
        let after = (!token.is_empty())
            .then(|| page_token::decode(SCHEDULES_TOKEN, &token, &filter))
            .transpose()?;
        let size = page_size(size, DEFAULT_PAGE, MAX_PAGE)?;
        let within = self.guard.within(user, filter.bk_biz_id).await?;
        let (rows, more) = schedules::list(&self.pool, &filter, &within, after, size).await?;
        let next_page_token = match rows.last() {
            Some(last) if more => {
                page_token::encode(SCHEDULES_TOKEN, last.created_at, last.id, &filter)
            }
            _ => String::new(),
        };
        Ok(pb::ListSchedulesResponse {
            schedules: rows.iter().map(schedule_message).collect(),
            next_page_token,
        })
    }

    pub(super) fn preview(
        &self,
        req: pb::PreviewScheduleRequest,
    ) -> Result<pb::PreviewScheduleResponse> {
        let pb::PreviewScheduleRequest { spec, count, after } = req;
        let spec = spec_of(
            spec.ok_or_else(|| BackupError::invalid("spec", "is required"))?,
            "spec",
        )?;
        let count = match count {
            0 => DEFAULT_PREVIEW,
            n if (1..=MAX_PREVIEW).contains(&n) => n,
            _ => {
                return Err(BackupError::invalid(
                    "count",
                    format!("must be from 0 (for {DEFAULT_PREVIEW}) to {MAX_PREVIEW}"),
                ));
            }
        };
        let after = match after {
            Some(t) => from_timestamp("after", t)?,
            None => self.now(),
        };
        let zone = spec.zone();
        let fires = spec
            .preview(after, count as usize)
            .into_iter()
            .map(|t| pb::PreviewFire {
                fire_time: Some(timestamp(t)),
                local_time: t
                    .with_timezone(&zone)
                    .to_rfc3339_opts(SecondsFormat::AutoSi, false),
            })
            .collect();
        Ok(pb::PreviewScheduleResponse { fires })
    }

    pub(super) async fn runs(
        &self,
        req: pb::ListScheduleRunsRequest,
    ) -> Result<pb::ListScheduleRunsResponse> {
        let pb::ListScheduleRunsRequest {
            schedule_id: raw,
            page_size: size,
            page_token: token,
        } = req;
        let id = schedule_id("schedule_id", &raw)?;
        let size = page_size(size, DEFAULT_PAGE, MAX_PAGE)?;
        let before = (!token.is_empty())
            .then(|| page_token::decode::<uuid::Uuid>(RUNS_TOKEN, &token, &id))
            .transpose()?
            .map(|(at, _)| at);
        // NOT_FOUND for an unknown schedule, rather than an empty page.
        self.load(id).await?;
        let (rows, more) = schedule_run_list::page(&self.pool, id, before, size).await?;
        let next_page_token = match rows.last() {
            Some(last) if more => page_token::encode(RUNS_TOKEN, last.run.scheduled_at, id, &id),
            _ => String::new(),
        };
        Ok(pb::ListScheduleRunsResponse {
            runs: rows
                .iter()
                .map(|r| run_message(&r.run, r.backup_state))
                .collect(),
            next_page_token,
        })
    }
}
