//! JOB v3 job-plan response types (get_job_plan_list, get_job_plan_detail), as the server
//! emits them, also accepting the spellings of JOB's docs (docs/blueking.md, "Where the docs
//! and the servers disagree").
//!
//! Plan times are seconds on the server and milliseconds in the docs' examples; the
//! conversion to a Timestamp accepts both (docs/blueking.md, "Times"). `script_content` and
//! `script_param` come Base64-encoded; [`ScriptInfo::decoded_content`] and
//! [`ScriptInfo::decoded_param`] undo it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::Value;

/// A get_job_plan_list item.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct JobPlanSummary {
    /// Scope type.
    pub bk_scope_type: Option<String>,
    /// Scope id.
    pub bk_scope_id: Option<String>,
    /// Deprecated business id.
    pub bk_biz_id: Option<i64>,
    /// Plan id.
    pub id: Option<i64>,
    /// Template id.
    pub job_template_id: Option<i64>,
    /// Name.
    pub name: Option<String>,
    /// Creator.
    pub creator: Option<String>,
    /// Creation time: seconds, or milliseconds as in JOB's docs.
    pub create_time: Option<i64>,
    /// Last modifier.
    pub last_modify_user: Option<String>,
    /// Last modification: seconds, or milliseconds as in JOB's docs.
    pub last_modify_time: Option<i64>,
    /// The template changed since; omitted when null.
    pub need_update: Option<bool>,
}

/// `data` of get_job_plan_detail.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct JobPlanDetail {
    /// Scope type.
    pub bk_scope_type: Option<String>,
    /// Scope id.
    pub bk_scope_id: Option<String>,
    /// Deprecated business id.
    pub bk_biz_id: Option<i64>,
    /// Plan id (server key).
    pub id: Option<i64>,
    /// Plan id (doc key).
    pub job_plan_id: Option<i64>,
    /// Template id (server only).
    pub job_template_id: Option<i64>,
    /// Name.
    pub name: Option<String>,
    /// Creator.
    pub creator: Option<String>,
    /// Creation time: seconds, or milliseconds as in JOB's docs.
    pub create_time: Option<i64>,
    /// Last modifier.
    pub last_modify_user: Option<String>,
    /// Last modification: seconds, or milliseconds as in JOB's docs.
    pub last_modify_time: Option<i64>,
    /// Global variables with defaults.
    pub global_var_list: Option<Vec<GlobalVar>>,
    /// Steps in order.
    pub step_list: Option<Vec<PlanStepInfo>>,
}

impl JobPlanDetail {
    /// The plan id from either spelling.
    pub fn plan_id(&self) -> Option<i64> {
        self.id.or(self.job_plan_id)
    }
}

/// A global variable of a plan.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct GlobalVar {
    /// Id.
    pub id: Option<i64>,
    /// Name.
    pub name: Option<String>,
    /// Raw type (docs/blueking.md, "Status codes"): 1 string … 3 host list … 6 index array.
    #[serde(rename = "type")]
    pub var_type: Option<i32>,
    /// Default value (non-host types).
    pub value: Option<String>,
    /// Default hosts (host lists).
    pub server: Option<ServerInfo>,
    /// Description.
    pub description: Option<String>,
    /// 1 when a value is required.
    pub required: Option<i32>,
    /// Used by a step; omitted when null.
    pub used: Option<bool>,
}

/// A `server` object in responses.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ServerInfo {
    /// Host-list variable this target refers to.
    pub variable: Option<String>,
    /// Host ids (omitted when empty).
    pub host_id_list: Option<Vec<i64>>,
    /// Hosts by address.
    pub ip_list: Option<Vec<super::job_types::IpInfo>>,
    /// Topology nodes.
    pub topo_node_list: Option<Vec<TopoNodeInfo>>,
    /// Dynamic groups.
    pub dynamic_group_list: Option<Vec<DynamicGroupInfo>>,
}

/// A `topo_node`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct TopoNodeInfo {
    /// CMDB `bk_inst_id`.
    pub id: Option<i64>,
    /// CMDB `bk_obj_id`.
    pub node_type: Option<String>,
}

/// A `dynamic_group`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct DynamicGroupInfo {
    /// Group id.
    pub id: Option<String>,
}

/// An `account`: the server's `{id, name, alias}` object or the docs' bare name.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum AccountInfo {
    /// Server form.
    Object {
        /// Account id.
        id: Option<i64>,
        /// Name on the host.
        name: Option<String>,
        /// Alias in JOB.
        alias: Option<String>,
    },
    /// Doc form, e.g. `"root"`.
    Name(String),
}

/// A plan step.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct PlanStepInfo {
    /// Step id.
    pub id: Option<i64>,
    /// Name.
    pub name: Option<String>,
    /// Raw type: 1 script, 2 file, 3 approval.
    #[serde(rename = "type")]
    pub step_type: Option<i32>,
    /// Script details.
    pub script_info: Option<ScriptInfo>,
    /// File details.
    pub file_info: Option<FileInfo>,
    /// Approval details.
    pub approval_info: Option<ApprovalInfo>,
}

/// `script_info` of a plan step.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ScriptInfo {
    /// 1 inline, 2 business script, 3 public script.
    pub script_type: Option<i32>,
    /// Referenced script.
    pub script_id: Option<String>,
    /// Referenced version.
    pub script_version_id: Option<i64>,
    /// Base64 script text.
    pub script_content: Option<String>,
    /// Base64 parameters.
    pub script_param: Option<String>,
    /// Raw language (docs/blueking.md, "Status codes").
    pub script_language: Option<i32>,
    /// Windows interpreter.
    pub windows_interpreter: Option<String>,
    /// Timeout, seconds.
    pub script_timeout: Option<i64>,
    /// Execution account.
    pub account: Option<AccountInfo>,
    /// Target hosts.
    pub server: Option<ServerInfo>,
    /// 1 when parameters are sensitive.
    pub is_param_sensitive: Option<i32>,
    /// 1 when a failure does not stop the plan.
    pub is_ignore_error: Option<i32>,
}

impl ScriptInfo {
    /// The script text decoded from Base64; `None` when absent or not valid Base64 / UTF-8.
    pub fn decoded_content(&self) -> Option<String> {
        self.script_content.as_deref().and_then(decode_base64)
    }
    /// The parameters decoded from Base64.
    pub fn decoded_param(&self) -> Option<String> {
        self.script_param.as_deref().and_then(decode_base64)
    }
}

fn decode_base64(s: &str) -> Option<String> {
    STANDARD
        .decode(s)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
}

/// `file_info` of a plan step.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct FileInfo {
    /// Sources (server key).
    pub file_source_list: Option<Vec<FileSourceInfo>>,
    /// Sources (doc key).
    pub file_source: Option<Vec<FileSourceInfo>>,
    /// Target.
    pub file_destination: Option<FileDestination>,
    /// Timeout, seconds.
    pub timeout: Option<i64>,
    /// Upload limit, MB/s (server key).
    pub source_speed_limit: Option<i32>,
    /// Download limit, MB/s (server key).
    pub destination_speed_limit: Option<i32>,
    /// Upload limit (doc key).
    pub upload_speed_limit: Option<i32>,
    /// Download limit (doc key).
    pub download_speed_limit: Option<i32>,
    /// Raw transfer mode.
    pub transfer_mode: Option<i32>,
    /// 1 when a failure does not stop the plan.
    pub is_ignore_error: Option<i32>,
}

impl FileInfo {
    /// The sources from either spelling.
    pub fn sources(&self) -> &[FileSourceInfo] {
        self.file_source_list
            .as_deref()
            .or(self.file_source.as_deref())
            .unwrap_or_default()
    }
    /// The upload limit from either spelling.
    pub fn source_limit(&self) -> Option<i32> {
        self.source_speed_limit.or(self.upload_speed_limit)
    }
    /// The download limit from either spelling.
    pub fn destination_limit(&self) -> Option<i32> {
        self.destination_speed_limit.or(self.download_speed_limit)
    }
}

/// A `file_source`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct FileSourceInfo {
    /// Paths.
    pub file_list: Option<Vec<String>>,
    /// Account on the source hosts.
    pub account: Option<AccountInfo>,
    /// Source hosts.
    pub server: Option<ServerInfo>,
    /// 1 server, 2 local, 3 third-party.
    pub file_type: Option<i32>,
    /// Third-party source id.
    pub file_source_id: Option<i64>,
    /// Third-party source code.
    pub file_source_code: Option<String>,
}

/// `file_destination`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct FileDestination {
    /// Target directory.
    pub path: Option<String>,
    /// Target account.
    pub account: Option<AccountInfo>,
    /// Target hosts.
    pub server: Option<ServerInfo>,
}

/// `approval_info`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ApprovalInfo {
    /// Raw approval type.
    pub approval_type: Option<i32>,
    /// Approvers, kept raw.
    pub approval_user: Option<Value>,
    /// Message to approvers.
    pub approval_message: Option<String>,
    /// Channels.
    pub notify_channel: Option<Vec<String>>,
}
