//! BlueKing APIs, one file per system, behind one dispatch function shared by both front doors.
//!
//! Decision: handlers see only typed parameters and the authenticated caller; they return `data` or an
//! [`ApiError`] and never know which front door rendered their answer.

pub mod cmdb;
pub mod cmdb_hosts;
pub mod cmdb_topo;
pub mod gse;
pub mod job;
pub mod job_common;
pub mod job_file;
pub mod job_history;
pub mod job_plan;
pub mod job_query;
pub mod login;
pub mod querybuilder;

use std::sync::Arc;

use serde_json::{Value, json};

use crate::params::Params;
use crate::state::AppState;

/// The BlueKing system an API belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum System {
    Job,
    Cmdb,
    Gse,
    /// BlueKing login (`bk_login` on ESB, `bk-login` gateway).
    Login,
}

impl System {
    /// Name used in logs and the request log.
    pub fn as_str(self) -> &'static str {
        match self {
            System::Job => "job",
            System::Cmdb => "cmdb",
            System::Gse => "gse",
            System::Login => "login",
        }
    }
}

/// The authenticated caller.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub app_code: String,
    /// Verified user, when the front door established one.
    pub username: Option<String>,
}

/// A business error answered inside the system's envelope with HTTP 200.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: i64,
    pub message: String,
    pub permission: Option<Value>,
}

impl ApiError {
    /// An error without a permission object.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            permission: None,
        }
    }
}

/// What a handler returns.
pub type ApiResult = Result<Value, ApiError>;

/// Per-call context.
pub struct Ctx<'a> {
    pub state: &'a Arc<AppState>,
    pub caller: &'a Caller,
    /// `Blueking-Language: en`.
    pub lang_en: bool,
}

/// JOB APIs known to the simulator.
pub const JOB_APIS: &[&str] = &[
    "fast_execute_script",
    "fast_transfer_file",
    "execute_job_plan",
    "get_job_instance_status",
    "get_job_instance_ip_log",
    "batch_get_job_instance_ip_log",
    "operate_job_instance",
    "get_job_plan_list",
    "get_job_plan_detail",
    "get_job_instance_list",
    "get_job_instance_global_var_value",
];

/// JOB APIs the gateway publishes as GET.
pub const JOB_GET_APIS: &[&str] = &[
    "get_job_instance_status",
    "get_job_instance_ip_log",
    "get_job_plan_list",
    "get_job_plan_detail",
    "get_job_instance_list",
    "get_job_instance_global_var_value",
];

/// CMDB APIs known to the simulator.
pub const CMDB_APIS: &[&str] = &[
    "search_business",
    "search_biz_inst_topo",
    "list_biz_hosts",
    "list_biz_hosts_topo",
    "find_host_by_topo",
    "get_host_base_info",
    "search_set",
    "search_module",
    "list_hosts_without_biz",
    "find_host_topo_relation",
];

/// Runs one API.
pub async fn dispatch(system: System, api: &str, ctx: &Ctx<'_>, p: &Params) -> ApiResult {
    match (system, api) {
        (System::Job, "fast_execute_script") => job::fast_execute_script(ctx, p),
        (System::Job, "execute_job_plan") => job::execute_job_plan(ctx, p),
        (System::Job, "fast_transfer_file") => job_file::fast_transfer_file(ctx, p),
        (System::Job, "operate_job_instance") => job::operate_job_instance(ctx, p),
        (System::Job, "get_job_plan_list") => job_plan::get_job_plan_list(ctx, p),
        (System::Job, "get_job_plan_detail") => job_plan::get_job_plan_detail(ctx, p),
        (System::Job, "get_job_instance_status") => job_query::get_job_instance_status(ctx, p),
        (System::Job, "get_job_instance_ip_log") => job_query::get_job_instance_ip_log(ctx, p),
        (System::Job, "batch_get_job_instance_ip_log") => {
            job_query::batch_get_job_instance_ip_log(ctx, p)
        }
        (System::Job, "get_job_instance_list") => job_history::get_job_instance_list(ctx, p),
        (System::Job, "get_job_instance_global_var_value") => {
            job_history::get_job_instance_global_var_value(ctx, p)
        }
        (System::Cmdb, "search_business") => cmdb::search_business(ctx, p),
        (System::Cmdb, "search_biz_inst_topo") => cmdb::search_biz_inst_topo(ctx, p),
        (System::Cmdb, "get_host_base_info") => cmdb::get_host_base_info(ctx, p),
        (System::Cmdb, "list_biz_hosts") => cmdb_hosts::list_biz_hosts(ctx, p),
        (System::Cmdb, "list_biz_hosts_topo") => cmdb_hosts::list_biz_hosts_topo(ctx, p),
        (System::Cmdb, "find_host_by_topo") => cmdb_hosts::find_host_by_topo(ctx, p),
        (System::Cmdb, "search_set") => cmdb_topo::search_set(ctx, p),
        (System::Cmdb, "search_module") => cmdb_topo::search_module(ctx, p),
        (System::Cmdb, "list_hosts_without_biz") => cmdb_topo::list_hosts_without_biz(ctx, p),
        (System::Cmdb, "find_host_topo_relation") => cmdb_topo::find_host_topo_relation(ctx, p),
        (System::Gse, "get_agent_status") => gse::get_agent_status(ctx, p),
        (System::Gse, "list_agent_state") => gse::list_agent_state(ctx, p),
        _ => Err(ApiError::new(1_240_003, "Bad Request")),
    }
}

/// The IAM `permission` object of a 9900403 answer for one business.
pub fn permission(
    system: System,
    action_id: &str,
    action_name: &str,
    biz_id: i64,
    biz_name: &str,
) -> Value {
    let (system_id, system_name) = match system {
        System::Job => ("bk_job", "Job"),
        _ => ("bk_cmdb", "CMDB"),
    };
    json!({
        "system_id": system_id,
        "system_name": system_name,
        "actions": [{
            "id": action_id,
            "name": action_name,
            "related_resource_types": [{
                "system_id": "bk_cmdb",
                "system_name": "CMDB",
                "type": "biz",
                "type_name": "Business",
                "instances": [[{"id": biz_id.to_string(), "type": "biz", "type_name": "Business", "name": biz_name}]]
            }]
        }]
    })
}
