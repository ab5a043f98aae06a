//! `jobgateway.v1.JobService`: run scripts and plans, follow and terminate job instances.

use std::pin::Pin;

use proto::jobgateway::v1 as pb;
use proto::jobgateway::v1::job_service_server::JobService;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use super::not_built;

const JOB_CLIENT: &str = "the BlueKing JOB v3 client";

/// The JOB service adapter.
#[derive(Debug, Default)]
pub struct JobApi;

/// Stream of status snapshots for WatchJobInstance.
pub type WatchJobInstanceStream =
    Pin<Box<dyn Stream<Item = Result<pb::WatchJobInstanceResponse, Status>> + Send>>;

#[tonic::async_trait]
impl JobService for JobApi {
    type WatchJobInstanceStream = WatchJobInstanceStream;

    async fn execute_script(
        &self,
        _request: Request<pb::ExecuteScriptRequest>,
    ) -> Result<Response<pb::ExecuteScriptResponse>, Status> {
        Err(not_built("ExecuteScript", JOB_CLIENT))
    }

    async fn execute_job_plan(
        &self,
        _request: Request<pb::ExecuteJobPlanRequest>,
    ) -> Result<Response<pb::ExecuteJobPlanResponse>, Status> {
        Err(not_built("ExecuteJobPlan", JOB_CLIENT))
    }

    async fn get_job_instance_status(
        &self,
        _request: Request<pb::GetJobInstanceStatusRequest>,
    ) -> Result<Response<pb::GetJobInstanceStatusResponse>, Status> {
        Err(not_built("GetJobInstanceStatus", JOB_CLIENT))
    }

    async fn watch_job_instance(
        &self,
        _request: Request<pb::WatchJobInstanceRequest>,
    ) -> Result<Response<Self::WatchJobInstanceStream>, Status> {
        Err(not_built(
            "WatchJobInstance",
            "the JOB v3 client and the shared status poller",
        ))
    }

    async fn get_job_instance_logs(
        &self,
        _request: Request<pb::GetJobInstanceLogsRequest>,
    ) -> Result<Response<pb::GetJobInstanceLogsResponse>, Status> {
        Err(not_built("GetJobInstanceLogs", JOB_CLIENT))
    }

    async fn terminate_job_instance(
        &self,
        _request: Request<pb::TerminateJobInstanceRequest>,
    ) -> Result<Response<pb::TerminateJobInstanceResponse>, Status> {
        Err(not_built("TerminateJobInstance", JOB_CLIENT))
    }

    async fn list_job_plans(
        &self,
        _request: Request<pb::ListJobPlansRequest>,
    ) -> Result<Response<pb::ListJobPlansResponse>, Status> {
        Err(not_built("ListJobPlans", JOB_CLIENT))
    }

    async fn get_job_plan(
        &self,
        _request: Request<pb::GetJobPlanRequest>,
    ) -> Result<Response<pb::GetJobPlanResponse>, Status> {
        Err(not_built("GetJobPlan", JOB_CLIENT))
    }

    async fn list_job_instances(
        &self,
        _request: Request<pb::ListJobInstancesRequest>,
    ) -> Result<Response<pb::ListJobInstancesResponse>, Status> {
        Err(not_built("ListJobInstances", JOB_CLIENT))
    }

    async fn get_job_instance_global_vars(
        &self,
        _request: Request<pb::GetJobInstanceGlobalVarsRequest>,
    ) -> Result<Response<pb::GetJobInstanceGlobalVarsResponse>, Status> {
        Err(not_built("GetJobInstanceGlobalVars", JOB_CLIENT))
    }
}
