//! JOB v3 response types, field for field as the server emits them (docs/blueking.md).
//!
//! Every field is an `Option`: JOB serialises absent DTO fields as `null` and a few as missing.
//! Status codes stay raw `i32`s; [`JobStatus`] and [`HostStatus`] decode them with an
//! `Unknown` variant, because a newer JOB may add codes. Where the docs and the server spell a
//! field differently, both are accepted and a helper returns whichever came.

use serde::Deserialize;
use serde_json::Value;

use super::job_status::{HostStatus, JobStatus};

/// `data` of the three launch APIs and of operate_job_instance.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct JobLaunch {
    /// New (or operated) job instance.
    pub job_instance_id: Option<i64>,
    /// Its name (a string, although the docs say long).
    pub job_instance_name: Option<String>,
    /// The single step of a fast task; `null` for plans.
    pub step_instance_id: Option<i64>,
}

/// `data` of get_job_instance_status.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct JobInstanceStatus {
    /// JOB's own "finished" verdict.
    pub finished: Option<bool>,
    /// The instance.
    pub job_instance: Option<JobInstanceInfo>,
    /// Its steps.
    pub step_instance_list: Option<Vec<StepInstanceInfo>>,
}

/// `job_instance` of get_job_instance_status.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct JobInstanceInfo {
    /// Instance id.
    pub job_instance_id: Option<i64>,
    /// Scope type (`biz` / `biz_set`).
    pub bk_scope_type: Option<String>,
    /// Scope id (a string).
    pub bk_scope_id: Option<String>,
    /// Deprecated business id; `null` unless JOB's compatibility toggle is on.
    pub bk_biz_id: Option<i64>,
    /// Name.
    pub name: Option<String>,
    /// Raw run status (docs/blueking.md, "Status codes"); see [`JobStatus::from_code`].
    pub status: Option<i32>,
    /// Creation time, ms.
    pub create_time: Option<i64>,
    /// Start time, ms.
    pub start_time: Option<i64>,
    /// End time, ms.
    pub end_time: Option<i64>,
    /// Run time, ms.
    pub total_time: Option<i64>,
}

impl JobInstanceInfo {
    /// The decoded run status.
    pub fn run_status(&self) -> Option<JobStatus> {
        self.status.map(JobStatus::from_code)
    }
}

/// `step_instance_list[]` of get_job_instance_status.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct StepInstanceInfo {
    /// Step instance id.
    pub step_instance_id: Option<i64>,
    /// Name.
    pub name: Option<String>,
    /// Raw run status (docs/blueking.md, "Status codes").
    pub status: Option<i32>,
    /// Raw step type (docs/blueking.md, "Status codes"): 1 script, 2 file, 3 confirmation, 4 SQL.
    #[serde(rename = "type")]
    pub step_type: Option<i32>,
    /// Creation time, ms.
    pub create_time: Option<i64>,
    /// Start time, ms.
    pub start_time: Option<i64>,
    /// End time, ms.
    pub end_time: Option<i64>,
    /// Run time, ms.
    pub total_time: Option<i64>,
    /// Retry count; 0 for the first run.
    pub execute_count: Option<i32>,
    /// Per-host results; `null` unless `return_ip_result` was asked.
    pub step_ip_result_list: Option<Vec<HostResultInfo>>,
}

impl StepInstanceInfo {
    /// The decoded run status.
    pub fn run_status(&self) -> Option<JobStatus> {
        self.status.map(JobStatus::from_code)
    }
}

/// `step_ip_result_list[]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct HostResultInfo {
    /// CMDB host id.
    pub bk_host_id: Option<i64>,
    /// IPv4.
    pub ip: Option<String>,
    /// Control area.
    pub bk_cloud_id: Option<i64>,
    /// Raw host status (docs/blueking.md, "Status codes"); see [`HostStatus::from_code`].
    pub status: Option<i32>,
    /// Script result tag; `""` when none.
    pub tag: Option<String>,
    /// Script exit code.
    pub exit_code: Option<i32>,
    /// Opaque GSE error code.
    pub error_code: Option<i32>,
    /// Start time, ms.
    pub start_time: Option<i64>,
    /// End time, ms.
    pub end_time: Option<i64>,
    /// Run time, ms.
    pub total_time: Option<i64>,
}

impl HostResultInfo {
    /// The decoded host status.
    pub fn host_status(&self) -> Option<HostStatus> {
        self.status.map(HostStatus::from_code)
    }
}

/// An `ip` object in responses (`EsbIpDTO` plus response-only fields).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct IpInfo {
    /// CMDB host id.
    pub bk_host_id: Option<i64>,
    /// Control area.
    pub bk_cloud_id: Option<i64>,
    /// IPv4.
    pub ip: Option<String>,
    /// Control area name.
    pub bk_cloud_name: Option<String>,
    /// IPv6.
    pub ipv6: Option<String>,
    /// GSE 2.0 agent id.
    pub bk_agent_id: Option<String>,
    /// Agent liveness as JOB reports it (type unspecified; kept raw).
    pub alive: Option<Value>,
}

/// `data` of get_job_instance_ip_log.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct IpLog {
    /// 1 script, 2 file.
    pub log_type: Option<i32>,
    /// Resolved host.
    pub bk_host_id: Option<i64>,
    /// Control area (echoed; may be `null`).
    pub bk_cloud_id: Option<i64>,
    /// IPv4 (echoed; may be `null`).
    pub ip: Option<String>,
    /// Script output, plain text.
    pub log_content: Option<String>,
    /// File logs.
    pub file_logs: Option<Vec<FileLogInfo>>,
}

/// A `file_log`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct FileLogInfo {
    /// 0 upload (source), 1 download (target).
    pub mode: Option<i32>,
    /// Source host.
    pub src_ip: Option<IpInfo>,
    /// Source path.
    pub src_path: Option<String>,
    /// Target host (downloads).
    pub dest_ip: Option<IpInfo>,
    /// Target path (downloads).
    pub dest_path: Option<String>,
    /// Raw file status (docs/blueking.md, "Status codes").
    pub status: Option<i32>,
    /// Log text.
    pub log_content: Option<String>,
    /// Size as JOB formats it.
    pub size: Option<String>,
    /// Speed as JOB formats it.
    pub speed: Option<String>,
    /// Progress as JOB formats it.
    pub process: Option<String>,
}

/// `data` of batch_get_job_instance_ip_log (merged across batches by the client).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct BatchIpLogs {
    /// Instance.
    pub job_instance_id: Option<i64>,
    /// Step.
    pub step_instance_id: Option<i64>,
    /// 1 script, 2 file.
    pub log_type: Option<i32>,
    /// Script step logs; `null` for file steps.
    pub script_task_logs: Option<Vec<ScriptTaskLog>>,
    /// File step logs; `null` for script steps.
    pub file_task_logs: Option<Vec<FileTaskLog>>,
}

/// One host's script log.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ScriptTaskLog {
    /// CMDB host id.
    pub bk_host_id: Option<i64>,
    /// Duplicate of `bk_host_id` (source only).
    pub host_id: Option<i64>,
    /// Control area.
    pub bk_cloud_id: Option<i64>,
    /// IPv4.
    pub ip: Option<String>,
    /// IPv6.
    pub ipv6: Option<String>,
    /// Output, plain text.
    pub log_content: Option<String>,
}

impl ScriptTaskLog {
    /// The host id from either spelling.
    pub fn host_id(&self) -> Option<i64> {
        self.bk_host_id.or(self.host_id)
    }
}

/// One host's file logs.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct FileTaskLog {
    /// CMDB host id.
    pub bk_host_id: Option<i64>,
    /// Control area.
    pub bk_cloud_id: Option<i64>,
    /// IPv4.
    pub ip: Option<String>,
    /// Its transfers.
    pub file_logs: Option<Vec<FileLogInfo>>,
}

/// A JOB page: `start`, `length`, `total`, `data[]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct JobPage<T> {
    /// Offset.
    pub start: Option<i64>,
    /// Page length.
    pub length: Option<i64>,
    /// Total matches, across pages.
    pub total: Option<i64>,
    /// The items.
    pub data: Option<Vec<T>>,
}

/// A get_job_instance_list item; both the server's and the docs' keys are accepted.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct JobInstanceSummary {
    /// Scope type.
    pub bk_scope_type: Option<String>,
    /// Scope id.
    pub bk_scope_id: Option<String>,
    /// Deprecated business id.
    pub bk_biz_id: Option<i64>,
    /// Instance id (server key).
    pub job_instance_id: Option<i64>,
    /// Instance id (doc key).
    pub id: Option<i64>,
    /// Plan id; -1 for fast tasks.
    pub job_plan_id: Option<i64>,
    /// Template id; -1 for fast tasks.
    pub job_template_id: Option<i64>,
    /// Name.
    pub name: Option<String>,
    /// Who started it.
    pub operator: Option<String>,
    /// 1 web, 2 API, 3 cron.
    pub launch_mode: Option<i32>,
    /// Raw run status (server key).
    pub status: Option<i32>,
    /// Raw run status (doc key).
    pub task_status: Option<i32>,
    /// 0 plan, 1 fast script, 2 fast file (server key).
    #[serde(rename = "type")]
    pub instance_type: Option<i32>,
    /// Same (doc key).
    pub task_type: Option<i32>,
    /// Creation time, ms.
    pub create_time: Option<i64>,
    /// Start time, ms.
    pub start_time: Option<i64>,
    /// End time, ms.
    pub end_time: Option<i64>,
    /// Run time, ms.
    pub total_time: Option<i64>,
}

impl JobInstanceSummary {
    /// The instance id from either spelling.
    pub fn instance_id(&self) -> Option<i64> {
        self.job_instance_id.or(self.id)
    }
    /// The raw status from either spelling.
    pub fn status_code(&self) -> Option<i32> {
        self.status.or(self.task_status)
    }
    /// The raw instance type from either spelling.
    pub fn type_code(&self) -> Option<i32> {
        self.instance_type.or(self.task_type)
    }
}

/// `data` of get_job_instance_global_var_value.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct InstanceGlobalVars {
    /// Instance.
    pub job_instance_id: Option<i64>,
    /// Values after each step.
    pub step_instance_var_list: Option<Vec<StepVars>>,
}

/// Variables after one step.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct StepVars {
    /// The step.
    pub step_instance_id: Option<i64>,
    /// The variables (JOB returns string ones only).
    pub global_var_list: Option<Vec<VarValue>>,
}

/// A variable's value.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct VarValue {
    /// Name.
    pub name: Option<String>,
    /// Value.
    pub value: Option<String>,
    /// Raw variable type (docs/blueking.md, "Status codes").
    #[serde(rename = "type")]
    pub var_type: Option<i32>,
}
