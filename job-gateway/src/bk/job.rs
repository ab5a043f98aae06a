//! JOB v3 calls of [`BkClient`]: launch, observe, terminate and look up job instances and plans.
//!
//! Each method describes one JOB API (gateway method and path, parameters, effect) and leaves
//! transport, limits and retries to the client. Launch and operate calls are
//! [`Effect::Write`]: never repeated unless the failure proves JOB never saw them. JOB's limits
//! (≤500 hosts per batch log call, ≤30-day history windows, page length ≤1000) are enforced
//! here; the batch log call is split and merged transparently.

use super::operator::Operator;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::client::BkClient;
use super::envelope::Decoded;
use super::error::{BkError, BkResult};
use super::job_plan_types::{JobPlanDetail, JobPlanSummary};
use super::job_queries::{
    JobInstanceQuery, JobOperation, JobPlanQuery, LogHost, LogHosts, MAX_LOG_HOSTS_PER_CALL,
    merge_logs,
};
use super::job_requests::{ExecuteJobPlan, FastExecuteScript};
use super::job_target::{HostIp, Scope};
use super::job_types::{
    BatchIpLogs, InstanceGlobalVars, IpLog, JobInstanceStatus, JobInstanceSummary, JobLaunch,
    JobPage,
};
use super::transport::{ApiCall, Effect, System};
fn job_call(
    api: &'static str,
    effect: Effect,
    scope: &Scope,
    params: Map<String, Value>,
) -> ApiCall {
    ApiCall::new(System::Job, api, effect, format!("/api/v3/{api}"), params)
        .biz(scope.rate_limit_biz())
}

/// The `data` of a success, which these APIs always send.
pub(crate) fn required<T>(api: &'static str, d: Decoded<T>) -> BkResult<T> {
    d.data.ok_or_else(|| BkError::Undecodable {
        api,
        http_status: 200,
        detail: "success without `data`".to_owned(),
        raw_body: String::new(),
        request_id: d.request_id,
    })
}

impl BkClient {
    async fn job<T: DeserializeOwned>(&self, call: ApiCall, operator: &Operator) -> BkResult<T> {
        let api = call.api;
        required(api, self.call(call, operator).await?)
    }

    /// Runs a script on hosts (`fast_execute_script`). Sent once; see [`Effect::Write`].
    pub async fn fast_execute_script(
        &self,
        operator: &Operator,
        req: &FastExecuteScript,
    ) -> BkResult<JobLaunch> {
        let call = job_call(
            "fast_execute_script",
            Effect::Write,
            &req.scope,
            req.params()?,
        );
        self.job(call, operator).await
    }

    /// Starts a job plan with variable overrides (`execute_job_plan`). Sent once.
    pub async fn execute_job_plan(
        &self,
        operator: &Operator,
        req: &ExecuteJobPlan,
    ) -> BkResult<JobLaunch> {
        let call = job_call("execute_job_plan", Effect::Write, &req.scope, req.params()?);
        self.job(call, operator).await
    }

    /// Status of an instance and its steps; per-host results when `return_ip_result`.
    pub async fn get_job_instance_status(
        &self,
        operator: &Operator,
        scope: &Scope,
        job_instance_id: i64,
        return_ip_result: bool,
    ) -> BkResult<JobInstanceStatus> {
        let mut m = scope.params();
        m.insert("job_instance_id".to_owned(), json!(job_instance_id));
        m.insert("return_ip_result".to_owned(), json!(return_ip_result));
        let call = job_call("get_job_instance_status", Effect::Read, scope, m).gateway_get();
        self.job(call, operator).await
    }

    /// The log of one host in one step (`get_job_instance_ip_log`).
    pub async fn get_job_instance_ip_log(
        &self,
        operator: &Operator,
        scope: &Scope,
        job_instance_id: i64,
        step_instance_id: i64,
        host: &LogHost,
    ) -> BkResult<IpLog> {
        let mut m = scope.params();
        m.insert("job_instance_id".to_owned(), json!(job_instance_id));
        m.insert("step_instance_id".to_owned(), json!(step_instance_id));
        match host {
            LogHost::Id(id) => m.insert("bk_host_id".to_owned(), json!(id)),
            LogHost::Ip(h) => {
                m.insert("bk_cloud_id".to_owned(), json!(h.bk_cloud_id));
                m.insert("ip".to_owned(), json!(h.ip))
            }
        };
        let call = job_call("get_job_instance_ip_log", Effect::Read, scope, m).gateway_get();
        self.job(call, operator).await
    }

    /// Logs of any number of hosts in one step: split into calls of at most 500 hosts, answers
    /// merged in request order.
    pub async fn batch_get_job_instance_ip_log(
        &self,
        operator: &Operator,
        scope: &Scope,
        job_instance_id: i64,
        step_instance_id: i64,
        hosts: &LogHosts,
    ) -> BkResult<BatchIpLogs> {
        const API: &str = "batch_get_job_instance_ip_log";
        let batches: Vec<(&str, Value)> = match hosts {
            LogHosts::Ids(ids) => ids
                .chunks(MAX_LOG_HOSTS_PER_CALL)
                .map(|c| ("host_id_list", json!(c)))
                .collect(),
            LogHosts::Ips(ips) => ips
                .chunks(MAX_LOG_HOSTS_PER_CALL)
                .map(|c| {
                    (
                        "ip_list",
                        Value::Array(c.iter().map(HostIp::to_json).collect()),
                    )
                })
                .collect(),
        };
        if batches.is_empty() {
            return Err(BkError::Invalid {
                api: API,
                field: "hosts",
                reason: "names no host".to_owned(),
            });
        }
        let mut merged: Option<BatchIpLogs> = None;
        for (key, list) in batches {
            let mut m = scope.params();
            m.insert("job_instance_id".to_owned(), json!(job_instance_id));
            m.insert("step_instance_id".to_owned(), json!(step_instance_id));
            m.insert(key.to_owned(), list);
            let part: BatchIpLogs = self
                .job(job_call(API, Effect::Read, scope, m), operator)
                .await?;
            merged = Some(match merged {
                None => part,
                Some(acc) => merge_logs(acc, part),
            });
        }
        Ok(merged.unwrap_or_default())
    }

    /// Asks JOB to operate an instance (`operate_job_instance`). Sent once.
    pub async fn operate_job_instance(
        &self,
        operator: &Operator,
        scope: &Scope,
        job_instance_id: i64,
        operation: JobOperation,
    ) -> BkResult<JobLaunch> {
        let mut m = scope.params();
        m.insert("job_instance_id".to_owned(), json!(job_instance_id));
        m.insert("operation_code".to_owned(), json!(operation as i32));
        let call = job_call("operate_job_instance", Effect::Write, scope, m);
        self.job(call, operator).await
    }

    /// Terminates an instance: `operate_job_instance` with operation code 1.
    pub async fn terminate_job_instance(
        &self,
        operator: &Operator,
        scope: &Scope,
        job_instance_id: i64,
    ) -> BkResult<JobLaunch> {
        self.operate_job_instance(operator, scope, job_instance_id, JobOperation::Terminate)
            .await
    }

    /// Plans of a scope (`get_job_plan_list`).
    pub async fn get_job_plan_list(
        &self,
        operator: &Operator,
        scope: &Scope,
        query: &JobPlanQuery,
    ) -> BkResult<JobPage<JobPlanSummary>> {
        let m = query.params(scope)?;
        let call = job_call("get_job_plan_list", Effect::Read, scope, m).gateway_get();
        self.job(call, operator).await
    }

    /// One plan with variables and steps (`get_job_plan_detail`).
    pub async fn get_job_plan_detail(
        &self,
        operator: &Operator,
        scope: &Scope,
        job_plan_id: i64,
    ) -> BkResult<JobPlanDetail> {
        let mut m = scope.params();
        m.insert("job_plan_id".to_owned(), json!(job_plan_id));
        let call = job_call("get_job_plan_detail", Effect::Read, scope, m).gateway_get();
        self.job(call, operator).await
    }

    /// Instances created in a window of at most 30 days (`get_job_instance_list`).
    pub async fn get_job_instance_list(
        &self,
        operator: &Operator,
        scope: &Scope,
        query: &JobInstanceQuery,
    ) -> BkResult<JobPage<JobInstanceSummary>> {
        let m = query.params(scope)?;
        let call = job_call("get_job_instance_list", Effect::Read, scope, m).gateway_get();
        self.job(call, operator).await
    }

    /// String global variables after each step (`get_job_instance_global_var_value`).
    pub async fn get_job_instance_global_var_value(
        &self,
        operator: &Operator,
        scope: &Scope,
        job_instance_id: i64,
    ) -> BkResult<InstanceGlobalVars> {
        let mut m = scope.params();
        m.insert("job_instance_id".to_owned(), json!(job_instance_id));
        let call =
            job_call("get_job_instance_global_var_value", Effect::Read, scope, m).gateway_get();
        self.job(call, operator).await
    }
}
