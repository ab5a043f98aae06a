//! JOB v3 plans: get_job_plan_list and get_job_plan_detail, in the server's field names.

use base64::Engine;
use serde_json::{Value, json};

use super::job_common::{bad, missing_or_illegal, scope};
use super::{ApiResult, Ctx};
use crate::params::Params;
use crate::world::{Business, Plan};

fn page(p: &Params) -> (usize, usize) {
    let start = p.i64("start").ok().flatten().unwrap_or(0).max(0) as usize;
    let length = match p.i64("length").ok().flatten() {
        Some(l) if l > 0 => l.min(1000) as usize,
        _ => 20,
    };
    (start, length)
}

fn summary(biz: &Business, plan: &Plan) -> Value {
    let d = &plan.def;
    json!({
        "bk_scope_type": "biz",
        "bk_scope_id": biz.id.to_string(),
        "bk_biz_id": biz.id,
        "id": d.id,
        "job_template_id": d.template_id,
        "name": d.name,
        "creator": d.creator,
        "create_time": d.create_time,
        "last_modify_user": d.creator,
        "last_modify_time": d.last_modify_time,
        "need_update": false,
    })
}

fn in_range(v: i64, p: &Params, start: &str, end: &str) -> bool {
    let s = p.i64(start).ok().flatten();
    let e = p.i64(end).ok().flatten();
    s.is_none_or(|s| v >= s) && e.is_none_or(|e| v <= e)
}

/// `get_job_plan_list`.
pub fn get_job_plan_list(ctx: &Ctx<'_>, p: &Params) -> ApiResult {
    let biz = scope(ctx, p, ("access_business", "Business access"))?;
    let (start, length) = page(p);
    let name = p.str("name");
    let matches: Vec<Value> = ctx
        .state
        .world
        .plans
        .values()
        .filter(|plan| plan.def.biz == biz.id)
        .filter(|plan| {
            p.i64("job_template_id")
                .ok()
                .flatten()
                .is_none_or(|t| plan.def.template_id == t)
        })
        .filter(|plan| p.str("creator").is_none_or(|c| plan.def.creator == c))
        .filter(|plan| {
            p.str("last_modify_user")
                .is_none_or(|c| plan.def.creator == c)
        })
        .filter(|plan| name.as_deref().is_none_or(|n| plan.def.name.contains(n)))
        .filter(|plan| {
            in_range(
                plan.def.create_time,
                p,
                "create_time_start",
                "create_time_end",
            )
        })
        .filter(|plan| {
            in_range(
                plan.def.last_modify_time,
                p,
                "last_modify_time_start",
                "last_modify_time_end",
            )
        })
        .map(|plan| summary(biz, plan))
        .collect();
    let total = matches.len();
    let data: Vec<Value> = matches.into_iter().skip(start).take(length).collect();
    Ok(json!({"data": data, "start": start, "length": length, "total": total}))
}

fn server_json(ctx: &Ctx<'_>, hosts: &[i64], variable: Option<&str>) -> Value {
    let ip_list: Vec<Value> = hosts
        .iter()
        .filter_map(|id| ctx.state.world.host(*id))
        .map(|h| json!({"bk_host_id": h.id, "bk_cloud_id": h.cloud_id, "ip": h.ip}))
        .collect();
    let mut v = json!({"ip_list": ip_list, "topo_node_list": null, "dynamic_group_list": null});
    if let Some(var) = variable {
        v["variable"] = json!(var);
    }
    v
}

/// `get_job_plan_detail`.
pub fn get_job_plan_detail(ctx: &Ctx<'_>, p: &Params) -> ApiResult {
    let biz = scope(ctx, p, ("access_business", "Business access"))?;
    let plan_id = match p.i64("job_plan_id") {
        Ok(Some(id)) if id > 0 => id,
        _ => return Err(missing_or_illegal("job_plan_id")),
    };
    let plan = match ctx.state.world.plans.get(&plan_id) {
        Some(plan) if plan.def.biz == biz.id => plan,
        _ => return Err(bad(1_243_009, "Job plan does not exist")),
    };
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    let vars: Vec<Value> = plan
        .vars
        .iter()
        .map(|v| {
            let used = plan.steps.iter().any(|s| s.target_variable.as_deref() == Some(v.name.as_str()) || s.script.contains(&v.name));
            json!({
                "id": v.id,
                "name": v.name,
                "type": v.var_type,
                "value": if v.var_type == 3 { Value::Null } else { json!(v.value) },
                "server": if v.var_type == 3 { server_json(ctx, &v.hosts, None) } else { Value::Null },
                "description": v.description,
                "required": i32::from(v.required),
                "used": used,
            })
        })
        .collect();
    let steps: Vec<Value> = plan
        .steps
        .iter()
        .map(|s| {
            let hosts: Vec<i64> = match &s.target_variable {
                Some(var) => plan
                    .vars
                    .iter()
                    .find(|v| &v.name == var)
                    .map(|v| v.hosts.clone())
                    .unwrap_or_default(),
                None => s.hosts.clone(),
            };
            let alias = ctx.state.world.accounts.get(&s.account_id).cloned();
            json!({
                "id": s.id,
                "name": s.name,
                "type": 1,
                "script_info": {
                    "script_type": 1,
                    "script_id": null,
                    "script_version_id": null,
                    "script_content": b64(&s.script),
                    "script_language": 1,
                    "script_param": b64(&s.param),
                    "script_timeout": s.timeout,
                    "windows_interpreter": null,
                    "account": {"id": s.account_id, "name": alias, "alias": alias},
                    "server": server_json(ctx, &hosts, s.target_variable.as_deref()),
                    "is_param_sensitive": 0,
                    "is_ignore_error": i32::from(s.ignore_error),
                },
                "file_info": null,
                "approval_info": null,
            })
        })
        .collect();
    let mut out = summary(biz, plan);
    if let Value::Object(m) = &mut out {
        m.remove("need_update");
        m.insert("global_var_list".into(), Value::Array(vars));
        m.insert("step_list".into(), Value::Array(steps));
    }
    Ok(out)
}
