//! `backup.v1.ScheduleService`: the trait impl and the adapter's state. The RPCs are grouped in
//! `write.rs` (CreateSchedule, UpdateSchedule), `state.rs` (DeleteSchedule, PauseSchedule,
//! ResumeSchedule, TriggerSchedule) and `read.rs` (GetSchedule, ListSchedules,
//! PreviewSchedule, ListScheduleRuns). Requests are validated in `convert::schedules`; SQL is
//! in `store::schedules`, `store::schedule_list` and `store::schedule_run_list`.
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
use super::backup::caller;
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
}

impl ScheduleApi {
    /// The adapter; `limits` are BackupService's (host limit, default timeout, operator).
    pub fn new(pool: PgPool, gateway: Gateway, engine: Engine, limits: Limits) -> Self {
        Self {
            pool,
            gateway,
            engine,
            limits,
        }
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
        let operator = caller(&request, &self.limits)?;
        Ok(Response::new(
            self.create(request.into_inner(), &operator).await?,
        ))
    }

    async fn get_schedule(
        &self,
        request: Request<pb::GetScheduleRequest>,
    ) -> Result<Response<pb::GetScheduleResponse>, Status> {
        Ok(Response::new(self.get(request.into_inner()).await?))
    }

    async fn list_schedules(
        &self,
        request: Request<pb::ListSchedulesRequest>,
    ) -> Result<Response<pb::ListSchedulesResponse>, Status> {
        Ok(Response::new(self.list(request.into_inner()).await?))
    }

    async fn update_schedule(
        &self,
        request: Request<pb::UpdateScheduleRequest>,
    ) -> Result<Response<pb::UpdateScheduleResponse>, Status> {
        let operator = caller(&request, &self.limits)?;
        Ok(Response::new(
            self.update(request.into_inner(), &operator).await?,
        ))
    }

    async fn delete_schedule(
        &self,
        request: Request<pb::DeleteScheduleRequest>,
    ) -> Result<Response<pb::DeleteScheduleResponse>, Status> {
        let operator = caller(&request, &self.limits)?;
        Ok(Response::new(
            self.delete(request.into_inner(), &operator).await?,
        ))
    }

    async fn pause_schedule(
        &self,
        request: Request<pb::PauseScheduleRequest>,
    ) -> Result<Response<pb::PauseScheduleResponse>, Status> {
        let operator = caller(&request, &self.limits)?;
        Ok(Response::new(
            self.pause(request.into_inner(), &operator).await?,
        ))
    }

    async fn resume_schedule(
        &self,
        request: Request<pb::ResumeScheduleRequest>,
    ) -> Result<Response<pb::ResumeScheduleResponse>, Status> {
        let operator = caller(&request, &self.limits)?;
        Ok(Response::new(
            self.resume(request.into_inner(), &operator).await?,
        ))
    }

    async fn trigger_schedule(
        &self,
        request: Request<pb::TriggerScheduleRequest>,
    ) -> Result<Response<pb::TriggerScheduleResponse>, Status> {
        let operator = caller(&request, &self.limits)?;
        Ok(Response::new(
            self.trigger(request.into_inner(), &operator).await?,
        ))
    }

    async fn preview_schedule(
        &self,
        request: Request<pb::PreviewScheduleRequest>,
    ) -> Result<Response<pb::PreviewScheduleResponse>, Status> {
        Ok(Response::new(self.preview(request.into_inner())?))
    }

    async fn list_schedule_runs(
        &self,
        request: Request<pb::ListScheduleRunsRequest>,
    ) -> Result<Response<pb::ListScheduleRunsResponse>, Status> {
        Ok(Response::new(self.runs(request.into_inner()).await?))
    }
}
