//! `jobgateway.v1.JobService`: run scripts and plans, follow and terminate job instances.
//! The trait impl only opens each RPC's span; launch, status, logs and terminate live here,
//! plan and history lookups in `job_lookup.rs`, the watch stream in `watch.rs`.

use std::pin::Pin;
use std::sync::Arc;

use proto::jobgateway::v1 as pb;
use proto::jobgateway::v1::job_service_server::JobService;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use super::convert::{self, LogsQuery};
use super::{Shared, operator, rpc_span, status};
use crate::bk;

/// The JOB service adapter.
#[derive(Clone)]
pub struct JobApi {
    pub(super) shared: Arc<Shared>,
}

/// Stream of status snapshots for WatchJobInstance.
pub type WatchJobInstanceStream =
    Pin<Box<dyn Stream<Item = Result<pb::WatchJobInstanceResponse, Status>> + Send>>;

impl JobApi {
    pub(super) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    async fn script(
        &self,
        request: Request<pb::ExecuteScriptRequest>,
    ) -> Result<pb::ExecuteScriptResponse, Status> {
        let bk = &self.shared.bk;
        let op = operator(&self.shared, &request).await?;
        let req = bk::FastExecuteScript::try_from(request.into_inner()).map_err(status)?;
        let launch = bk.fast_execute_script(&op, &req).await.map_err(status)?;
        let id = launch.job_instance_id.unwrap_or_default();
        tracing::info!(job_instance_id = id, "script launched");
        Ok(pb::ExecuteScriptResponse {
            job_instance_id: id,
            job_instance_name: launch.job_instance_name.unwrap_or_default(),
            step_instance_id: launch.step_instance_id.unwrap_or_default(),
            job_url: bk.job_url(id),
        })
    }

    async fn plan(
        &self,
        request: Request<pb::ExecuteJobPlanRequest>,
    ) -> Result<pb::ExecuteJobPlanResponse, Status> {
        let bk = &self.shared.bk;
        let op = operator(&self.shared, &request).await?;
        let req = bk::ExecuteJobPlan::try_from(request.into_inner()).map_err(status)?;
        let launch = bk.execute_job_plan(&op, &req).await.map_err(status)?;
        let id = launch.job_instance_id.unwrap_or_default();
        tracing::info!(
            job_instance_id = id,
            job_plan_id = req.job_plan_id,
            "plan launched"
        );
        Ok(pb::ExecuteJobPlanResponse {
            job_instance_id: id,
            job_instance_name: launch.job_instance_name.unwrap_or_default(),
            job_url: bk.job_url(id),
        })
    }

    async fn status(
        &self,
        request: Request<pb::GetJobInstanceStatusRequest>,
    ) -> Result<pb::GetJobInstanceStatusResponse, Status> {
        let bk = &self.shared.bk;
        let op = operator(&self.shared, &request).await?;
        let (at, with_hosts) = convert::status_query(request.into_inner()).map_err(status)?;
        let s = bk
            .get_job_instance_status(&op, &at.scope, at.job_instance_id, with_hosts)
            .await
            .map_err(status)?;
        Ok(convert::job_status(bk, &at, s, with_hosts))
    }

    async fn logs(
        &self,
        request: Request<pb::GetJobInstanceLogsRequest>,
    ) -> Result<pb::GetJobInstanceLogsResponse, Status> {
        let bk = &self.shared.bk;
        let op = operator(&self.shared, &request).await?;
        let q = LogsQuery::try_from(request.into_inner()).map_err(status)?;
        let at = q.instance;
        let logs = bk
            .batch_get_job_instance_ip_log(
                &op,
                &at.scope,
                at.job_instance_id,
                q.step_instance_id,
                &q.hosts,
            )
            .await
            .map_err(status)?;
        Ok(convert::logs(bk, &at, q.step_instance_id, &q.hosts, logs))
    }

    async fn terminate(
        &self,
        request: Request<pb::TerminateJobInstanceRequest>,
    ) -> Result<pb::TerminateJobInstanceResponse, Status> {
        let bk = &self.shared.bk;
        let op = operator(&self.shared, &request).await?;
        let at = convert::terminate_query(request.into_inner()).map_err(status)?;
        let done = bk
            .terminate_job_instance(&op, &at.scope, at.job_instance_id)
            .await
            .map_err(status)?;
        let id = done.job_instance_id.unwrap_or(at.job_instance_id);
        tracing::info!(job_instance_id = id, "termination requested");
        Ok(pb::TerminateJobInstanceResponse {
            job_instance_id: id,
            job_url: bk.job_url(id),
        })
    }
}

#[tonic::async_trait]
impl JobService for JobApi {
    type WatchJobInstanceStream = WatchJobInstanceStream;

    async fn execute_script(
        &self,
        request: Request<pb::ExecuteScriptRequest>,
    ) -> Result<Response<pb::ExecuteScriptResponse>, Status> {
        let span = rpc_span("ExecuteScript");
        self.script(request)
            .instrument(span)
            .await
            .map(Response::new)
    }

    async fn execute_job_plan(
        &self,
        request: Request<pb::ExecuteJobPlanRequest>,
    ) -> Result<Response<pb::ExecuteJobPlanResponse>, Status> {
        let span = rpc_span("ExecuteJobPlan");
        self.plan(request).instrument(span).await.map(Response::new)
    }

    async fn get_job_instance_status(
        &self,
        request: Request<pb::GetJobInstanceStatusRequest>,
    ) -> Result<Response<pb::GetJobInstanceStatusResponse>, Status> {
        let span = rpc_span("GetJobInstanceStatus");
        self.status(request)
            .instrument(span)
            .await
            .map(Response::new)
    }

    async fn watch_job_instance(
        &self,
        request: Request<pb::WatchJobInstanceRequest>,
    ) -> Result<Response<Self::WatchJobInstanceStream>, Status> {
        let span = rpc_span("WatchJobInstance");
        self.watch(request)
            .instrument(span)
            .await
            .map(Response::new)
    }

    async fn get_job_instance_logs(
        &self,
        request: Request<pb::GetJobInstanceLogsRequest>,
    ) -> Result<Response<pb::GetJobInstanceLogsResponse>, Status> {
        let span = rpc_span("GetJobInstanceLogs");
        self.logs(request).instrument(span).await.map(Response::new)
    }

    async fn terminate_job_instance(
        &self,
        request: Request<pb::TerminateJobInstanceRequest>,
    ) -> Result<Response<pb::TerminateJobInstanceResponse>, Status> {
        let span = rpc_span("TerminateJobInstance");
        self.terminate(request)
            .instrument(span)
            .await
            .map(Response::new)
    }

    async fn list_job_plans(
        &self,
        request: Request<pb::ListJobPlansRequest>,
    ) -> Result<Response<pb::ListJobPlansResponse>, Status> {
        let span = rpc_span("ListJobPlans");
        self.plans(request)
            .instrument(span)
            .await
            .map(Response::new)
    }

    async fn get_job_plan(
        &self,
        request: Request<pb::GetJobPlanRequest>,
    ) -> Result<Response<pb::GetJobPlanResponse>, Status> {
        let span = rpc_span("GetJobPlan");
        self.plan_detail(request)
            .instrument(span)
            .await
            .map(Response::new)
    }

    async fn list_job_instances(
        &self,
        request: Request<pb::ListJobInstancesRequest>,
    ) -> Result<Response<pb::ListJobInstancesResponse>, Status> {
        let span = rpc_span("ListJobInstances");
        self.instances(request)
            .instrument(span)
            .await
            .map(Response::new)
    }

    async fn get_job_instance_global_vars(
        &self,
        request: Request<pb::GetJobInstanceGlobalVarsRequest>,
    ) -> Result<Response<pb::GetJobInstanceGlobalVarsResponse>, Status> {
        let span = rpc_span("GetJobInstanceGlobalVars");
        self.global_vars(request)
            .instrument(span)
            .await
            .map(Response::new)
    }
}
