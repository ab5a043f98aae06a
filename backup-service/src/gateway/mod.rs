//! backup-service's client of job-gateway: typed calls carrying our bearer token and the
//! operator's BlueKing username (`x-bk-username`), so BlueKing checks permissions for the
//! person who asked for the backup, not for this service.
//!
//! A call made while serving a caller (SearchFiles, StartBackup's checks) carries a
//! `grpc-timeout` no longer than what is left of that caller's deadline ([`call_timeout`]),
//! so job-gateway and BlueKing stop when the caller has given up; a worker's calls carry
//! [`CALL_TIMEOUT`]. Messages are gzip-compressed both ways; the channel itself (keepalive,
//! honest timeouts) is in `wire.rs`.

use std::time::Duration;

use proto::jobgateway::v1 as pb;
use proto::jobgateway::v1::cmdb_service_client::CmdbServiceClient;
use proto::jobgateway::v1::job_service_client::JobServiceClient;
use proto::jobgateway::v1::login_service_client::LoginServiceClient;
use secrecy::{ExposeSecret, SecretString};
use tonic::codec::CompressionEncoding;
use tonic::{Request, Status};

use crate::config::JobGatewaySettings;

mod access;
mod browse;
mod cmdb;
mod failure;
mod finished;
mod login;
mod runner;
mod wire;

pub use cmdb::TopologyIds;
pub use failure::{Failure, retry_delay, wait_after};
pub use finished::Polling;
pub use runner::{Launched, PlanIds, Runner, Which};
pub use wire::call_timeout;

use wire::Wire;

/// Logs of a thousand hosts exceed tonic's 4 MiB default.
const MAX_MESSAGE_BYTES: usize = 256 * 1024 * 1024;
/// Bound on any one call to job-gateway (its own upstream retries included).
const CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// A cheap-to-clone handle on job-gateway.
#[derive(Clone)]
pub struct Gateway {
    job: JobServiceClient<Wire>,
    cmdb: CmdbServiceClient<Wire>,
    login: LoginServiceClient<Wire>,
    token: Option<SecretString>,
    runner: Runner,
    call_timeout: Duration,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway").finish_non_exhaustive()
    }
}

fn biz(bk_biz_id: i64) -> Option<pb::Scope> {
    Some(pb::Scope {
        bk_scope_type: pb::ScopeType::Biz as i32,
        bk_scope_id: bk_biz_id,
    })
}

/// Whether CMDB resolved the host of an agent status in the business asked about: job-gateway
/// queries GSE by the resolved IP or agent id, so a status with neither is a host CMDB did not
/// list there (unknown, or in another business).
pub fn in_business(status: &pb::AgentStatus) -> bool {
    !(status.ip.is_empty() && status.bk_agent_id.is_empty())
}

impl Gateway {
    /// A client of `settings.url` (connections are made lazily, on the first call).
    pub fn new(
        settings: &JobGatewaySettings,
        runner: Runner,
    ) -> Result<Self, tonic::transport::Error> {
        let channel = Wire::connect_lazy(settings)?;
        Ok(Self {
            job: JobServiceClient::new(channel.clone())
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .send_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Gzip),
            cmdb: CmdbServiceClient::new(channel.clone())
                .send_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Gzip),
            login: LoginServiceClient::new(channel),
            token: settings.token.clone(),
            runner,
            call_timeout: CALL_TIMEOUT,
        })
    }

    /// The same client with calls bounded by `limit` (at most the usual bound): job-gateway
    /// drops a call past its deadline, so nothing of it is sent to BlueKing after that.
    pub fn bounded(&self, limit: Duration) -> Self {
        Self {
            call_timeout: limit.min(CALL_TIMEOUT),
            ..self.clone()
        }
    }

    /// A call as this service alone (our bearer token, no user).
    fn service_request<T>(&self, message: T) -> Result<Request<T>, Status> {
        let mut req = Request::new(message);
        req.set_timeout(call_timeout().min(self.call_timeout));
        if let Some(token) = &self.token {
            let value = format!("Bearer {}", token.expose_secret())
                .parse()
                .map_err(|_| Status::internal("job_gateway.token is not valid metadata"))?;
            req.metadata_mut().insert("authorization", value);
        }
        Ok(req)
    }

    /// A call acting as `operator`.
    fn request<T>(&self, message: T, operator: &str) -> Result<Request<T>, Status> {
        let mut req = self.service_request(message)?;
        let md = req.metadata_mut();
        let user = operator
            .parse()
            .map_err(|_| Status::invalid_argument("operator is not valid metadata"))?;
        md.insert(service_kit::auth::USERNAME_HEADER, user);
        Ok(req)
    }

    /// GSE agent status of `hosts`.
    pub async fn agent_status(
        &self,
        bk_biz_id: i64,
        hosts: &[i64],
        operator: &str,
    ) -> Result<Vec<pb::AgentStatus>, Status> {
        let req = pb::GetAgentStatusRequest {
            bk_biz_id,
            bk_host_ids: hosts.to_vec(),
            hosts_by_ip: vec![],
        };
        let resp = self
            .cmdb
            .clone()
            .get_agent_status(self.request(req, operator)?)
            .await?;
        Ok(resp.into_inner().statuses)
    }

    /// Launches `script` on `hosts` as one JOB task named `task_name`.
    pub async fn execute_script(
        &self,
        launch: Launch<'_>,
    ) -> Result<pb::ExecuteScriptResponse, Status> {
        let req = pb::ExecuteScriptRequest {
            scope: biz(launch.bk_biz_id),
            script: Some(pb::execute_script_request::Script::ScriptContent(
                launch.script.to_owned(),
            )),
            script_language: pb::ScriptLanguage::Shell as i32,
            script_param: launch.param.to_owned(),
            is_param_sensitive: false,
            timeout: Some(prost_types::Duration {
                seconds: i64::from(launch.timeout_secs),
                nanos: 0,
            }),
            account: Some(pb::execute_script_request::Account::AccountAlias(
                "root".to_owned(),
            )),
            target: Some(pb::ExecuteTarget {
                bk_host_ids: launch.hosts.to_vec(),
                ..Default::default()
            }),
            task_name: launch.task_name.to_owned(),
            windows_interpreter: String::new(),
        };
        let resp = self
            .job
            .clone()
            .execute_script(self.request(req, launch.operator)?)
            .await?;
        Ok(resp.into_inner())
    }

    /// The job instance named exactly `task_name` created since `since`, if any: how a worker
    /// finds a job it (or a crashed predecessor) launched but did not store.
    pub async fn find_job(
        &self,
        bk_biz_id: i64,
        task_name: &str,
        since: chrono::DateTime<chrono::Utc>,
        operator: &str,
    ) -> Result<Option<pb::JobInstance>, Status> {
        Ok(self
            .recent_jobs(bk_biz_id, task_name, since, operator)
            .await?
            .into_iter()
            .find(|j| j.name == task_name))
    }

    /// Instances created since a little before `since`, newest first, optionally by name.
    async fn recent_jobs(
        &self,
        bk_biz_id: i64,
        name_contains: &str,
        since: chrono::DateTime<chrono::Utc>,
        operator: &str,
    ) -> Result<Vec<pb::JobInstance>, Status> {
        let start = since - chrono::Duration::minutes(5);
        let end = chrono::Utc::now() + chrono::Duration::minutes(5);
        let ts = |t: chrono::DateTime<chrono::Utc>| prost_types::Timestamp {
            seconds: t.timestamp(),
            nanos: 0,
        };
        let req = pb::ListJobInstancesRequest {
            scope: biz(bk_biz_id),
            create_time_start: Some(ts(start)),
            create_time_end: Some(ts(end)),
            name_contains: name_contains.to_owned(),
            page_size: 100,
            ..Default::default()
        };
        let resp = self
            .job
            .clone()
            .list_job_instances(self.request(req, operator)?)
            .await?;
        Ok(resp.into_inner().job_instances)
    }

    /// Status of a job with per-host results.
    pub async fn status(
        &self,
        bk_biz_id: i64,
        job_instance_id: i64,
        operator: &str,
    ) -> Result<pb::GetJobInstanceStatusResponse, Status> {
        let req = pb::GetJobInstanceStatusRequest {
            scope: biz(bk_biz_id),
            job_instance_id,
            with_host_results: true,
        };
        let resp = self
            .job
            .clone()
            .get_job_instance_status(self.request(req, operator)?)
            .await?;
        Ok(resp.into_inner())
    }

    /// Script logs of `hosts` for one step (job-gateway batches upstream as JOB requires).
    pub async fn logs(
        &self,
        bk_biz_id: i64,
        job_instance_id: i64,
        step_instance_id: i64,
        hosts: &[i64],
        operator: &str,
    ) -> Result<Vec<pb::HostLog>, Status> {
        let req = pb::GetJobInstanceLogsRequest {
            scope: biz(bk_biz_id),
            job_instance_id,
            step_instance_id,
            bk_host_ids: hosts.to_vec(),
            hosts_by_ip: vec![],
        };
        let resp = self
            .job
            .clone()
            .get_job_instance_logs(self.request(req, operator)?)
            .await?;
        Ok(resp.into_inner().host_logs)
    }

    /// Asks JOB to terminate the instance.
    pub async fn terminate(
        &self,
        bk_biz_id: i64,
        job_instance_id: i64,
        operator: &str,
    ) -> Result<(), Status> {
        let req = pb::TerminateJobInstanceRequest {
            scope: biz(bk_biz_id),
            job_instance_id,
        };
        self.job
            .clone()
            .terminate_job_instance(self.request(req, operator)?)
            .await?;
        Ok(())
    }
}

/// What to launch.
#[derive(Debug, Clone, Copy)]
pub struct Launch<'a> {
    /// Business.
    pub bk_biz_id: i64,
    /// Script text (one of ours, never user input).
    pub script: &'a str,
    /// Encoded parameters.
    pub param: &'a str,
    /// Hosts.
    pub hosts: &'a [i64],
    /// JOB timeout.
    pub timeout_secs: i32,
    /// JOB task name.
    pub task_name: &'a str,
    /// BlueKing username.
    pub operator: &'a str,
}
