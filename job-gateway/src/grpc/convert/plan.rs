//! Job plan conversions: the plan list filter, plan references, and plans with their global
//! variables and steps (script content and parameters decoded from JOB's Base64).

use proto::jobgateway::v1 as pb;

use super::{MAX_DURATION_SECONDS, Page, echoed_scope, non_blank, positive, scope, ts_plan};
use crate::bk::{self, BkClient};
use crate::error::{GatewayError, GatewayResult};

/// A validated ListJobPlans: the scope, the query for this page, and the page.
pub(crate) fn plan_list_query(
    r: pb::ListJobPlansRequest,
) -> GatewayResult<(bk::Scope, bk::JobPlanQuery, Page)> {
    let pb::ListJobPlansRequest {
        scope: s,
        name_contains,
        creator,
        job_template_id,
        last_modify_user,
        page_size,
        page_token,
    } = r;
    let scope = scope("scope", s)?;
    if job_template_id < 0 {
        return Err(GatewayError::invalid(
            "job_template_id",
            "must not be negative",
        ));
    }
    let (name, creator, modifier) = (
        non_blank(name_contains),
        non_blank(creator),
        non_blank(last_modify_user),
    );
    let filters = format!("{scope:?}/{name:?}/{creator:?}/{job_template_id}/{modifier:?}");
    let page = Page::parse(page_size, &page_token, bk::MAX_PAGE_LENGTH, &filters)?;
    let query = bk::JobPlanQuery {
        job_template_id: (job_template_id > 0).then_some(job_template_id),
        creator,
        name,
        last_modify_user: modifier,
        start: page.offset,
        length: page.size,
    };
    Ok((scope, query, page))
}

/// A validated GetJobPlan: (scope, plan id).
pub(crate) fn plan_ref(r: pb::GetJobPlanRequest) -> GatewayResult<(bk::Scope, i64)> {
    let pb::GetJobPlanRequest {
        scope: s,
        job_plan_id,
    } = r;
    Ok((scope("scope", s)?, positive("job_plan_id", job_plan_id)?))
}

/// Decodes a global variable type.
pub(crate) fn var_type(code: Option<i32>) -> pb::GlobalVariableType {
    match code {
        None => pb::GlobalVariableType::Unspecified,
        Some(c @ 1..=6) => {
            pb::GlobalVariableType::try_from(c).unwrap_or(pb::GlobalVariableType::Unrecognized)
        }
        Some(_) => pb::GlobalVariableType::Unrecognized,
    }
}

/// A plan list item (no variables or steps).
pub(crate) fn plan_summary(bk: &BkClient, scope: &bk::Scope, p: bk::JobPlanSummary) -> pb::JobPlan {
    let id = p.id.unwrap_or_default();
    pb::JobPlan {
        job_plan_id: id,
        job_template_id: p.job_template_id.unwrap_or_default(),
        name: p.name.unwrap_or_default(),
        scope: Some(echoed_scope(
            p.bk_scope_type.as_deref(),
            p.bk_scope_id.as_deref(),
            scope,
        )),
        creator: p.creator.unwrap_or_default(),
        create_time: ts_plan(p.create_time),
        last_modify_user: p.last_modify_user.unwrap_or_default(),
        last_modify_time: ts_plan(p.last_modify_time),
        need_update: p.need_update.unwrap_or_default(),
        plan_url: bk.plan_url(id),
        global_vars: Vec::new(),
        steps: Vec::new(),
    }
}

/// A plan with its variables and steps.
pub(crate) fn plan_detail(bk: &BkClient, scope: &bk::Scope, p: bk::JobPlanDetail) -> pb::JobPlan {
    let id = p.plan_id().unwrap_or_default();
    let global_vars = p
        .global_var_list
        .unwrap_or_default()
        .into_iter()
        .map(|v| pb::GlobalVariable {
            id: v.id.unwrap_or_default(),
            name: v.name.unwrap_or_default(),
            r#type: var_type(v.var_type) as i32,
            value: v.value.unwrap_or_default(),
            hosts: v.server.map(execute_target),
            description: v.description.unwrap_or_default(),
            required: v.required == Some(1),
            used: v.used.unwrap_or_default(),
        })
        .collect();
    let steps = p
        .step_list
        .unwrap_or_default()
        .into_iter()
        .map(plan_step)
        .collect();
    pb::JobPlan {
        job_plan_id: id,
        job_template_id: p.job_template_id.unwrap_or_default(),
        name: p.name.unwrap_or_default(),
        scope: Some(echoed_scope(
            p.bk_scope_type.as_deref(),
            p.bk_scope_id.as_deref(),
            scope,
        )),
        creator: p.creator.unwrap_or_default(),
        create_time: ts_plan(p.create_time),
        last_modify_user: p.last_modify_user.unwrap_or_default(),
        last_modify_time: ts_plan(p.last_modify_time),
        need_update: false,
        plan_url: bk.plan_url(id),
        global_vars,
        steps,
    }
}

fn execute_target(s: bk::ServerInfo) -> pb::ExecuteTarget {
    pb::ExecuteTarget {
        bk_host_ids: s.host_id_list.unwrap_or_default(),
        hosts_by_ip: s
            .ip_list
            .unwrap_or_default()
            .into_iter()
            .map(|i| pb::HostAddress {
                bk_host_id: i.bk_host_id.unwrap_or_default(),
                bk_cloud_id: i.bk_cloud_id.unwrap_or_default(),
                ip: i.ip.unwrap_or_default(),
            })
            .collect(),
        topo_nodes: s
            .topo_node_list
            .unwrap_or_default()
            .into_iter()
            .map(|n| pb::TopoNode {
                bk_obj_id: n.node_type.unwrap_or_default(),
                bk_inst_id: n.id.unwrap_or_default(),
            })
            .collect(),
        dynamic_group_ids: s
            .dynamic_group_list
            .unwrap_or_default()
            .into_iter()
            .filter_map(|g| g.id)
            .collect(),
        variable: s.variable.unwrap_or_default(),
    }
}

fn account(a: Option<bk::AccountInfo>) -> Option<pb::Account> {
    a.map(|a| match a {
        bk::AccountInfo::Object { id, name, alias } => pb::Account {
            id: id.unwrap_or_default(),
            name: name.unwrap_or_default(),
            alias: alias.unwrap_or_default(),
        },
        bk::AccountInfo::Name(name) => pb::Account {
            name,
            ..Default::default()
        },
    })
}

/// A timeout in seconds; unset when not positive or longer than a Duration may be.
fn secs(s: Option<i64>) -> Option<prost_types::Duration> {
    s.filter(|s| (1..=MAX_DURATION_SECONDS).contains(s))
        .map(|seconds| prost_types::Duration { seconds, nanos: 0 })
}

fn enum_code<T: TryFrom<i32>>(
    code: Option<i32>,
    unspecified: T,
    unrecognized: T,
    known: std::ops::RangeInclusive<i32>,
    offset: i32,
) -> T {
    match code {
        None => unspecified,
        Some(c) if known.contains(&c) => T::try_from(c + offset).unwrap_or(unrecognized),
        Some(_) => unrecognized,
    }
}

fn plan_step(s: bk::PlanStepInfo) -> pb::PlanStep {
    use pb::plan_step::Detail;
    let step_type = match s.step_type {
        None => pb::StepType::Unspecified,
        Some(1) => pb::StepType::Script,
        Some(2) => pb::StepType::File,
        Some(3) => pb::StepType::ManualConfirmation,
        Some(_) => pb::StepType::Unrecognized,
    };
    let detail = match step_type {
        pb::StepType::Script => s.script_info.map(|i| {
            Detail::Script(pb::ScriptStep {
                script_source: enum_code(
                    i.script_type,
                    pb::ScriptSource::Unspecified,
                    pb::ScriptSource::Unrecognized,
                    1..=3,
                    0,
                ) as i32,
                script_id: i.script_id.clone().unwrap_or_default(),
                script_version_id: i.script_version_id.unwrap_or_default(),
                script_content: i.decoded_content().unwrap_or_default(),
                script_param: i.decoded_param().unwrap_or_default(),
                script_language: enum_code(
                    i.script_language,
                    pb::ScriptLanguage::Unspecified,
                    pb::ScriptLanguage::Unrecognized,
                    1..=6,
                    0,
                ) as i32,
                timeout: secs(i.script_timeout),
                account: account(i.account),
                target: i.server.map(execute_target),
                is_param_sensitive: i.is_param_sensitive == Some(1),
                is_ignore_error: i.is_ignore_error == Some(1),
                windows_interpreter: i.windows_interpreter.unwrap_or_default(),
            })
        }),
        pb::StepType::File => s.file_info.map(|f| {
            let file_sources = f
                .sources()
                .iter()
                .cloned()
                .map(|src| pb::FileSource {
                    file_type: enum_code(
                        src.file_type,
                        pb::FileSourceType::Unspecified,
                        pb::FileSourceType::Unrecognized,
                        1..=3,
                        0,
                    ) as i32,
                    files: src.file_list.unwrap_or_default(),
                    account: account(src.account),
                    source_target: src.server.map(execute_target),
                    file_source_id: src.file_source_id.unwrap_or_default(),
                    file_source_code: src.file_source_code.unwrap_or_default(),
                })
                .collect();
            let (source_limit, destination_limit) = (f.source_limit(), f.destination_limit());
            let dest = f.file_destination.unwrap_or_default();
            Detail::File(pb::FileStep {
                file_sources,
                destination_path: dest.path.unwrap_or_default(),
                destination_account: account(dest.account),
                destination_target: dest.server.map(execute_target),
                timeout: secs(f.timeout),
                source_speed_limit_mb: source_limit.unwrap_or_default(),
                destination_speed_limit_mb: destination_limit.unwrap_or_default(),
                transfer_mode: enum_code(
                    f.transfer_mode,
                    pb::TransferMode::Unspecified,
                    pb::TransferMode::Unrecognized,
                    1..=4,
                    0,
                ) as i32,
                is_ignore_error: f.is_ignore_error == Some(1),
            })
        }),
        pb::StepType::ManualConfirmation => s.approval_info.map(|a| {
            Detail::Approval(pb::ApprovalStep {
                approval_message: a.approval_message.unwrap_or_default(),
                notify_channels: a.notify_channel.unwrap_or_default(),
            })
        }),
        _ => None,
    };
    pb::PlanStep {
        id: s.id.unwrap_or_default(),
        name: s.name.unwrap_or_default(),
        r#type: step_type as i32,
        detail,
    }
}
