//! `backup.v1.ScheduleService`: the trait impl and the adapter's state. The RPCs are grouped in
//! `write.rs` (CreateSchedule, UpdateSchedule), `state.rs` (DeleteSchedule, PauseSchedule,
//! ResumeSchedule, TriggerSchedule) and `read.rs` (GetSchedule, ListSchedules,
//! PreviewSchedule, ListScheduleRuns). Requests are validated in `convert::schedules`; SQL is
//! in `store::schedules`, `store::schedule_list` and `store::schedule_run_list`.
//!
//! Each mutating RPC (create, update, delete, pause, resume, trigger) writes one audit event
//! once decided, refusals included (`crate::audit`).
//!
//! Every "now" of these handlers is the engine's clock, the one the scheduler fires by, so a
//! test that sets a manual clock sees creation, resume and preview agree with the fires.

mod read;
mod state;
mod write;

use chrono::{DateTime, Utc};
use proto::backup::v1 as pb;
use proto::backup::v1::schedule_service_server::ScheduleService;
use sqlx::PgPool;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::Limits;
use super::audited::{Subject, audited};
use super::guard::Guard;
use crate::audit::Audit;
use crate::error::{BackupError, Result};
use crate::gateway::Gateway;
use crate::schedule::Engine;
use crate::store::schedules::{self, ScheduleRow};

/// The schedule service adapter.
#[derive(Clone)]
pub struct ScheduleApi {
    pool: PgPool,
    gateway: Gateway,
    engine: Engine,
    limits: Limits,
    audit: Audit,
    guard: Guard,
}

impl ScheduleApi {
    /// The adapter; `limits` are BackupService's (host limit, default timeout), `guard`
    /// BackupService's too.
    pub fn new(
        pool: PgPool,
        gateway: Gateway,
        engine: Engine,
        limits: Limits,
        audit: Audit,
        guard: Guard,
    ) -> Self {
        Self {
            pool,
            gateway,
            engine,
            limits,
            audit,
            guard,
        }
    }

    /// The verified caller of `req`, once they may act on the business of the schedule
    /// `raw_id` names (an id that is malformed or names no schedule is left to the handler).
    async fn caller_of_schedule<T>(
        &self,
        req: &Request<T>,
        raw_id: &str,
    ) -> std::result::Result<String, Status> {
        let user = self.guard.who(req).await?.bk_username;
        if let Some(biz) = self.business_of(raw_id).await {
            self.guard.may(&user, biz).await?;
        }
        Ok(user)
    }

    /// The business of schedule `raw_id`, when it names one.
    async fn business_of(&self, raw_id: &str) -> Option<i64> {
        let id = Uuid::parse_str(raw_id).ok()?;
        schedules::get(&self.pool, id)
            .await
            .ok()
            .flatten()
            .map(|s| s.bk_biz_id)
    }

    /// What time it is, by the scheduler's clock.
    fn now(&self) -> DateTime<Utc> {
        self.engine.clock().now()
    }

    /// Schedule `id`, deleted or not; NOT_FOUND when there is none.
    async fn load(&self, id: Uuid) -> Result<ScheduleRow> {
        schedules::get(&self.pool, id)
            .await?
            .ok_or_else(|| BackupError::NotFound(format!("schedule `{id}`")))
    }
}

/// FAILED_PRECONDITION for a change of a deleted schedule.
fn deleted(id: Uuid) -> BackupError {
    BackupError::FailedPrecondition(format!("schedule `{id}` is deleted"))
}

#[tonic::async_trait]
impl ScheduleService for ScheduleApi {
    async fn create_schedule(
        &self,
        request: Request<pb::CreateScheduleRequest>,
    ) -> Result<Response<pb::CreateScheduleResponse>, Status> {
        let subject = Subject {
            action: "CreateSchedule",
            target: String::new(),
            bk_biz_id: request
                .get_ref()
                .schedule
                .as_ref()
                .map(|s| s.bk_biz_id)
                .filter(|b| *b > 0),
        };
        audited(
            &self.audit,
            &self.guard,
            request,
            subject,
            |req, operator| async move { self.create(req, &operator).await },
            |r| schedule_done(r.schedule.as_ref()),
            |id| async move { self.business_of(&id).await },
        )
        .await
    }

    async fn get_schedule(
        &self,
        request: Request<pb::GetScheduleRequest>,
    ) -> Result<Response<pb::GetScheduleResponse>, Status> {
        self.caller_of_schedule(&request, &request.get_ref().schedule_id)
            .await?;
        Ok(Response::new(self.get(request.into_inner()).await?))
    }

    async fn list_schedules(
        &self,
        request: Request<pb::ListSchedulesRequest>,
    ) -> Result<Response<pb::ListSchedulesResponse>, Status> {
        let user = self.guard.who(&request).await?.bk_username;
        Ok(Response::new(self.list(request.into_inner(), &user).await?))
    }

    async fn update_schedule(
        &self,
        request: Request<pb::UpdateScheduleRequest>,
    ) -> Result<Response<pb::UpdateScheduleResponse>, Status> {
        let subject = Subject {
            action: "UpdateSchedule",
            target: request
                .get_ref()
                .schedule
                .as_ref()
                .map(|s| s.schedule_id.clone())
                .unwrap_or_default(),
            bk_biz_id: None,
        };
        audited(
            &self.audit,
            &self.guard,
            request,
            subject,
            |req, operator| async move { self.update(req, &operator).await },
            |r| schedule_done(r.schedule.as_ref()),
            |id| async move { self.business_of(&id).await },
        )
        .await
    }

    async fn delete_schedule(
        &self,
        request: Request<pb::DeleteScheduleRequest>,
    ) -> Result<Response<pb::DeleteScheduleResponse>, Status> {
        let subject = Subject {
            action: "DeleteSchedule",
            target: request.get_ref().schedule_id.clone(),
            bk_biz_id: None,
        };
        audited(
            &self.audit,
            &self.guard,
            request,
            subject,
            |req, operator| async move { self.delete(req, &operator).await },
            |r| schedule_done(r.schedule.as_ref()),
            |id| async move { self.business_of(&id).await },
        )
        .await
    }

    async fn pause_schedule(
        &self,
        request: Request<pb::PauseScheduleRequest>,
    ) -> Result<Response<pb::PauseScheduleResponse>, Status> {
        let subject = Subject {
            action: "PauseSchedule",
            target: request.get_ref().schedule_id.clone(),
            bk_biz_id: None,
        };
        audited(
            &self.audit,
            &self.guard,
            request,
            subject,
            |req, operator| async move { self.pause(req, &operator).await },
            |r| schedule_done(r.schedule.as_ref()),
            |id| async move { self.business_of(&id).await },
        )
        .await
    }

    async fn resume_schedule(
        &self,
        request: Request<pb::ResumeScheduleRequest>,
    ) -> Result<Response<pb::ResumeScheduleResponse>, Status> {
        let subject = Subject {
            action: "ResumeSchedule",
            target: request.get_ref().schedule_id.clone(),
            bk_biz_id: None,
        };
        audited(
            &self.audit,
            &self.guard,
            request,
            subject,
            |req, operator| async move { self.resume(req, &operator).await },
            |r| schedule_done(r.schedule.as_ref()),
            |id| async move { self.business_of(&id).await },
        )
        .await
    }

    async fn trigger_schedule(
        &self,
        request: Request<pb::TriggerScheduleRequest>,
    ) -> Result<Response<pb::TriggerScheduleResponse>, Status> {
        let subject = Subject {
            action: "TriggerSchedule",
            target: request.get_ref().schedule_id.clone(),
            bk_biz_id: None,
        };
        audited(
            &self.audit,
            &self.guard,
            request,
            subject,
            |req, operator| async move { self.trigger(req, &operator).await },
            |r| run_done(r.run.as_ref()),
            |id| async move { self.business_of(&id).await },
        )
        .await
    }

    async fn preview_schedule(
        &self,
        request: Request<pb::PreviewScheduleRequest>,
    ) -> Result<Response<pb::PreviewScheduleResponse>, Status> {
        self.guard.who(&request).await?;
        Ok(Response::new(self.preview(request.into_inner())?))
    }

    async fn list_schedule_runs(
        &self,
        request: Request<pb::ListScheduleRunsRequest>,
    ) -> Result<Response<pb::ListScheduleRunsResponse>, Status> {
        self.caller_of_schedule(&request, &request.get_ref().schedule_id)
            .await?;
        Ok(Response::new(self.runs(request.into_inner()).await?))
    }
}

/// The audit facts of an answer carrying a schedule: its business, id and state.
fn schedule_done(s: Option<&pb::Schedule>) -> (Option<i64>, String, String) {
    match s {
        Some(s) => (
            Some(s.bk_biz_id),
            s.schedule_id.clone(),
            format!(
                "{:?}, etag {}",
                pb::ScheduleState::try_from(s.state).unwrap_or_default(),
                s.etag
            ),
        ),
        None => (None, String::new(), String::new()),
    }
}

/// The audit facts of a triggered run: its schedule (whose business is looked up) and what
/// was decided.
fn run_done(r: Option<&pb::ScheduleRun>) -> (Option<i64>, String, String) {
    match r {
        Some(r) => (
            None,
            r.schedule_id.clone(),
            format!(
                "{:?} {}",
                pb::ScheduleRunDecision::try_from(r.decision).unwrap_or_default(),
                r.backup_id
            )
            .trim_end()
            .to_owned(),
        ),
        None => (None, String::new(), String::new()),
    }
}
