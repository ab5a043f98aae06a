//! JOB request conversions: launches, instance references, log hosts and the list filters.
//! JOB's own limits (script sizes, timeouts, target counts) are checked by the client; here
//! each proto field is checked for presence and shape.

use proto::jobgateway::v1 as pb;
use proto::jobgateway::v1::execute_script_request::{Account, Script};
use proto::jobgateway::v1::global_variable_value::{Content, Selector};

use super::{host_ip, non_blank, positive, scope};
use crate::bk;
use crate::error::{GatewayError, GatewayResult};

/// A proto target as JOB's `server` object.
pub(crate) fn target(field: &str, t: Option<pb::ExecuteTarget>) -> GatewayResult<bk::TargetServer> {
    let Some(pb::ExecuteTarget {
        bk_host_ids,
        hosts_by_ip,
        topo_nodes,
        dynamic_group_ids,
        variable: _,
    }) = t
    else {
        return Err(GatewayError::invalid(field, "is required"));
    };
    if bk_host_ids.iter().any(|id| *id < 1) {
        return Err(GatewayError::invalid(
            format!("{field}.bk_host_ids"),
            "must be positive",
        ));
    }
    let ips = hosts_by_ip
        .into_iter()
        .enumerate()
        .map(|(i, h)| host_ip(&format!("{field}.hosts_by_ip[{i}]"), h))
        .collect::<GatewayResult<_>>()?;
    let topo_nodes = topo_nodes
        .into_iter()
        .map(
            |pb::TopoNode {
                 bk_obj_id,
                 bk_inst_id,
             }| (bk_obj_id, bk_inst_id),
        )
        .collect();
    let server = bk::TargetServer {
        host_ids: bk_host_ids,
        ips,
        topo_nodes,
        dynamic_groups: dynamic_group_ids,
    };
    if server.is_empty() {
        return Err(GatewayError::invalid(field, "names no host"));
    }
    Ok(server)
}

impl TryFrom<pb::ExecuteScriptRequest> for bk::FastExecuteScript {
    type Error = GatewayError;

    fn try_from(r: pb::ExecuteScriptRequest) -> GatewayResult<Self> {
        let pb::ExecuteScriptRequest {
            scope: s,
            script,
            script_language,
            script_param,
            is_param_sensitive,
            timeout,
            account,
            target: t,
            task_name,
            windows_interpreter,
        } = r;
        let scope = scope("scope", s)?;
        let script = match script {
            Some(Script::ScriptContent(content)) => {
                let language = match pb::ScriptLanguage::try_from(script_language) {
                    Ok(l) if (1..=6).contains(&(l as i32)) => l as i32,
                    _ => {
                        return Err(GatewayError::invalid(
                            "script_language",
                            "is required with script_content",
                        ));
                    }
                };
                bk::ScriptSource::Content { content, language }
            }
            Some(Script::ScriptVersionId(id)) => {
                bk::ScriptSource::VersionId(positive("script_version_id", id)?)
            }
            Some(Script::ScriptId(id)) => bk::ScriptSource::ScriptId(
                non_blank(id).ok_or_else(|| GatewayError::invalid("script_id", "is empty"))?,
            ),
            None => return Err(GatewayError::invalid("script", "is required")),
        };
        let timeout_secs = match timeout {
            None => None,
            Some(d) if d.nanos != 0 || d.seconds < 1 || d.seconds > 86_400 => {
                return Err(GatewayError::invalid(
                    "timeout",
                    "must be whole seconds from 1 to 86,400",
                ));
            }
            Some(d) => Some(d.seconds as u64),
        };
        let account = match account {
            Some(Account::AccountId(id)) => bk::AccountRef::Id(positive("account_id", id)?),
            Some(Account::AccountAlias(a)) => bk::AccountRef::Alias(
                non_blank(a).ok_or_else(|| GatewayError::invalid("account_alias", "is empty"))?,
            ),
            None => return Err(GatewayError::invalid("account", "is required")),
        };
        Ok(Self {
            scope,
            script,
            script_param: non_blank(script_param),
            is_param_sensitive,
            timeout_secs,
            account,
            target: target("target", t)?,
            task_name: non_blank(task_name),
            windows_interpreter: non_blank(windows_interpreter),
            callback_url: None,
        })
    }
}

impl TryFrom<pb::ExecuteJobPlanRequest> for bk::ExecuteJobPlan {
    type Error = GatewayError;

    fn try_from(r: pb::ExecuteJobPlanRequest) -> GatewayResult<Self> {
        let pb::ExecuteJobPlanRequest {
            scope: s,
            job_plan_id,
            global_vars,
        } = r;
        let mut vars = Vec::with_capacity(global_vars.len());
        for (i, pb::GlobalVariableValue { selector, content }) in
            global_vars.into_iter().enumerate()
        {
            let field = format!("global_vars[{i}]");
            let selector = match selector {
                Some(Selector::Id(id)) => {
                    bk::VarSelector::Id(positive(&format!("{field}.id"), id)?)
                }
                Some(Selector::Name(n)) => {
                    bk::VarSelector::Name(non_blank(n).ok_or_else(|| {
                        GatewayError::invalid(format!("{field}.name"), "is empty")
                    })?)
                }
                None => {
                    return Err(GatewayError::invalid(
                        format!("{field}.selector"),
                        "is required",
                    ));
                }
            };
            let content = match content {
                Some(Content::Value(v)) => bk::VarContent::Value(v),
                Some(Content::Hosts(h)) => {
                    bk::VarContent::Hosts(target(&format!("{field}.hosts"), Some(h))?)
                }
                None => {
                    return Err(GatewayError::invalid(
                        format!("{field}.content"),
                        "is required",
                    ));
                }
            };
            vars.push(bk::GlobalVarValue { selector, content });
        }
        Ok(Self {
            scope: scope("scope", s)?,
            job_plan_id: positive("job_plan_id", job_plan_id)?,
            global_vars: vars,
            callback_url: None,
        })
    }
}

/// A job instance of a scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct InstanceRef {
    pub scope: bk::Scope,
    pub job_instance_id: i64,
}

impl InstanceRef {
    pub(super) fn new(s: Option<pb::Scope>, job_instance_id: i64) -> GatewayResult<Self> {
        Ok(Self {
            scope: scope("scope", s)?,
            job_instance_id: positive("job_instance_id", job_instance_id)?,
        })
    }
}

/// A validated GetJobInstanceStatus or WatchJobInstance: the instance and whether host
/// results are wanted.
pub(crate) fn status_query(
    r: pb::GetJobInstanceStatusRequest,
) -> GatewayResult<(InstanceRef, bool)> {
    let pb::GetJobInstanceStatusRequest {
        scope,
        job_instance_id,
        with_host_results,
    } = r;
    Ok((InstanceRef::new(scope, job_instance_id)?, with_host_results))
}

/// See [`status_query`].
pub(crate) fn watch_query(r: pb::WatchJobInstanceRequest) -> GatewayResult<(InstanceRef, bool)> {
    let pb::WatchJobInstanceRequest {
        scope,
        job_instance_id,
        with_host_results,
    } = r;
    Ok((InstanceRef::new(scope, job_instance_id)?, with_host_results))
}

/// A validated TerminateJobInstance.
pub(crate) fn terminate_query(r: pb::TerminateJobInstanceRequest) -> GatewayResult<InstanceRef> {
    let pb::TerminateJobInstanceRequest {
        scope,
        job_instance_id,
    } = r;
    InstanceRef::new(scope, job_instance_id)
}

/// A validated GetJobInstanceGlobalVars.
pub(crate) fn global_vars_query(
    r: pb::GetJobInstanceGlobalVarsRequest,
) -> GatewayResult<InstanceRef> {
    let pb::GetJobInstanceGlobalVarsRequest {
        scope,
        job_instance_id,
    } = r;
    InstanceRef::new(scope, job_instance_id)
}
