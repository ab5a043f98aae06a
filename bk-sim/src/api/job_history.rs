//! JOB v3 history: get_job_instance_list (the reconcile-after-crash lookup) and
//! get_job_instance_global_var_value.

use serde_json::{Value, json};

use super::job_common::{bad, missing_or_illegal, scope};
use super::job_query::{job_of, total};
use super::{ApiResult, Ctx};
use crate::params::Params;

/// `get_job_instance_list`.
pub fn get_job_instance_list(ctx: &Ctx<'_>, p: &Params) -> ApiResult {
    let biz = scope(ctx, p, ("access_business", "Business access"))?;
    let start_t = match p.i64("create_time_start") {
        Ok(Some(t)) if t >= 1 => t,
        _ => return Err(missing_or_illegal("create_time_start")),
    };
    let end_t = match p.i64("create_time_end") {
        Ok(Some(t)) if t > start_t => t,
        _ => return Err(missing_or_illegal("create_time_end")),
    };
    if end_t - start_t > 30 * 86_400_000 {
        return Err(bad(1_244_020, "History range must be less than 30 days"));
    }
    let length = match p.i64("length") {
        Ok(None) => 20,
        Ok(Some(l)) if (1..=1000).contains(&l) => l as usize,
        _ => return Err(bad(1_240_003, "length must be between 1 and 1000")),
    };
    let start = p.i64("start").ok().flatten().unwrap_or(0).max(0) as usize;
    let job_type = p
        .i64("type")
        .map_err(|_| bad(1_241_002, "Invalid request parameters"))?;
    if job_type.is_some_and(|t| !(0..=2).contains(&t)) {
        return Err(bad(1_241_002, "Invalid request parameters"));
    }
    let only_id = p.i64("job_instance_id").ok().flatten();
    let status = p.i64("status").ok().flatten();
    let operator = p.str("operator");
    let name = p.str("name");
    let ip = p.str("ip");
    let launch_mode = p.i64("launch_mode").ok().flatten();
    let matches: Vec<Value> = ctx
        .state
        .jobs
        .of_biz(biz.id)
        .into_iter()
        .filter(|j| j.create_time >= start_t && j.create_time <= end_t)
        .filter(|j| {
            if let Some(id) = only_id {
                return j.id == id;
            }
            let s = j.with(|s| {
                (
                    s.status,
                    ip.as_ref().is_none_or(|ip| {
                        s.steps
                            .iter()
                            .any(|st| st.hosts.iter().any(|h| &h.ip == ip))
                    }),
                )
            });
            job_type.is_none_or(|t| i64::from(j.job_type) == t)
                && status.is_none_or(|st| i64::from(s.0) == st)
                && operator.as_ref().is_none_or(|o| &j.operator == o)
                && name.as_ref().is_none_or(|n| j.name.contains(n.as_str()))
                && launch_mode.is_none_or(|m| m == 2)
                && s.1
        })
        .map(|j| {
            let s = j.with(|s| (s.status, s.start_time, s.end_time));
            json!({
                "bk_scope_type": "biz",
                "bk_scope_id": j.biz.to_string(),
                "bk_biz_id": j.biz,
                "job_instance_id": j.id,
                "job_plan_id": j.plan_id,
                "job_template_id": j.template_id,
                "name": j.name,
                "operator": j.operator,
                "launch_mode": 2,
                "status": s.0,
                "type": j.job_type,
                "create_time": j.create_time,
                "start_time": s.1,
                "end_time": s.2,
                "total_time": total(s.1, s.2),
            })
        })
        .collect();
    let total = matches.len();
    let data: Vec<Value> = matches.into_iter().skip(start).take(length).collect();
    Ok(json!({"data": data, "start": start, "length": length, "total": total}))
}

/// `get_job_instance_global_var_value`: string variables only, as the server returns them.
pub fn get_job_instance_global_var_value(ctx: &Ctx<'_>, p: &Params) -> ApiResult {
    let biz = scope(ctx, p, ("access_business", "Business access"))?;
    let job = job_of(ctx, p, biz.id)?;
    let vars: Vec<Value> = job
        .vars
        .iter()
        .map(|(n, v)| json!({"name": n, "value": v, "type": 1}))
        .collect();
    let steps: Vec<Value> = job.with(|s| {
        s.steps
            .iter()
            .map(|st| json!({"step_instance_id": st.id, "global_var_list": vars}))
            .collect()
    });
    Ok(json!({"job_instance_id": job.id, "step_instance_var_list": steps}))
}
