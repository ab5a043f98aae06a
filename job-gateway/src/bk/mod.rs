//! The BlueKing HTTP client: JOB v3, CMDB, GSE and login through ESB or the API gateway.
//!
//! [`BkClient`] is the only way job-gateway talks to BlueKing. The files split by concern:
//! `transport` builds requests per front door, `envelope` decodes answers and classifies
//! failures into [`BkError`], `resilience` holds limits and retries, and `job*`, `cmdb*`,
//! `gse` and `login` describe each system's APIs with serde types that match BlueKing's answers field for
//! field (docs/blueking.md). The decision a reader must know: a call that launches or
//! terminates a job is sent again only when the failure proves BlueKing never received it.

mod client;
mod cmdb;
mod cmdb_topo;
mod cmdb_types;
mod envelope;
mod error;
mod gse;
mod job;
mod job_plan_types;
mod job_queries;
mod job_requests;
mod job_status;
mod job_target;
mod job_types;
mod login;
mod metrics;
mod operator;
mod resilience;
mod transport;

pub use client::BkClient;
pub use cmdb::{CmdbPage, ListBizHosts, ListBizHostsTopo, MAX_CMDB_PAGE, SearchBusiness};
pub use cmdb_types::{
    Business, Host, HostProperty, HostWithTopo, Listing, ModuleRef, SetTopo, TopoNode, split_list,
};
pub use error::{
    AuthSubject, BkError, BkResult, BusinessError, CODE_PERMISSION_DENIED, Permission,
    PermissionAction, PermissionInstance, RelatedResourceType,
};
pub use gse::{AgentStateV2, AgentStatusV1, GSE_BATCH, v1_key};
pub use job_plan_types::{
    AccountInfo, ApprovalInfo, DynamicGroupInfo, FileDestination, FileInfo, FileSourceInfo,
    GlobalVar, JobPlanDetail, JobPlanSummary, PlanStepInfo, ScriptInfo, ServerInfo, TopoNodeInfo,
};
pub use job_queries::{
    JobInstanceQuery, JobOperation, JobPlanQuery, LogHost, LogHosts, MAX_HISTORY_WINDOW_MS,
    MAX_LOG_HOSTS_PER_CALL, MAX_PAGE_LENGTH,
};
pub use job_requests::{
    AccountRef, ExecuteJobPlan, FastExecuteScript, GlobalVarValue, ScriptSource, VarContent,
    VarSelector,
};
pub use job_status::{HostStatus, JobStatus};
pub use job_target::{HostIp, MAX_SCRIPT_TARGETS, Scope, ScopeType, TargetServer};
pub use job_types::{
    BatchIpLogs, FileLogInfo, FileTaskLog, HostResultInfo, InstanceGlobalVars, IpInfo, IpLog,
    JobInstanceInfo, JobInstanceStatus, JobInstanceSummary, JobLaunch, JobPage, ScriptTaskLog,
    StepInstanceInfo, StepVars, VarValue,
};
pub use login::LoginUser;
pub use metrics::BkMetrics;
pub use operator::{Credential, Operator};
pub use resilience::RetryPolicy;
pub use transport::Effect;

#[cfg(test)]
mod http_tests;
