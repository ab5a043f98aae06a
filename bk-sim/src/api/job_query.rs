//! JOB v3 reads: get_job_instance_status, get_job_instance_ip_log, batch_get_job_instance_ip_log and
//! get_job_instance_list.
//!
//! Decision: every read is one lookup by job instance id; `null` is emitted for absent DTO fields.

use std::sync::Arc;

use serde_json::{Value, json};

use super::job_common::{bad, missing_or_illegal, scope};
use super::{ApiError, ApiResult, Ctx};
use crate::jobs::{HostRun, JobInstance, JobState, run};
use crate::params::Params;

fn job_of(ctx: &Ctx<'_>, p: &Params, biz: i64) -> Result<Arc<JobInstance>, ApiError> {
    let id = match p.i64("job_instance_id") {
        Ok(Some(id)) if id >= 1 => id,
        _ => return Err(missing_or_illegal("job_instance_id")),
    };
    match ctx.state.jobs.get(id) {
        Some(j) if j.biz == biz => Ok(j),
        _ => Err(bad(1_244_006, "Task instance does not exist")),
    }
}

fn total(start: Option<i64>, end: Option<i64>) -> Value {
    match (start, end) {
        (Some(s), Some(e)) => json!(e - s),
        _ => Value::Null,
    }
}

fn host_result(h: &HostRun) -> Value {
    json!({
        "bk_host_id": h.host_id,
        "ip": h.ip,
        "bk_cloud_id": h.cloud_id,
        "status": h.status,
        "tag": "",
        "exit_code": h.exit_code,
        "error_code": h.error_code,
        "start_time": h.start_time,
        "end_time": h.end_time,
        "total_time": total(h.start_time, h.end_time),
    })
}

/// `get_job_instance_status`.
pub fn get_job_instance_status(ctx: &Ctx<'_>, p: &Params) -> ApiResult {
    let biz = scope(ctx, p, ("access_business", "Business access"))?;
    let job = job_of(ctx, p, biz.id)?;
    let with_hosts = p.bool("return_ip_result").ok().flatten().unwrap_or(false);
    // Render under the job's lock: cloning the state would copy every host's log.
    let guard = crate::faults::lock(&job.state);
    let s: &JobState = &guard;
    let steps: Vec<Value> = s
        .steps
        .iter()
        .map(|st| {
            json!({
                "step_instance_id": st.id,
                "name": st.name,
                "status": st.status,
                "type": 1,
                "create_time": st.create_time,
                "start_time": st.start_time,
                "end_time": st.end_time,
                "total_time": total(st.start_time, st.end_time),
                "execute_count": 0,
                "step_ip_result_list": if with_hosts { Value::Array(st.hosts.iter().map(host_result).collect()) } else { Value::Null },
            })
        })
        .collect();
    Ok(json!({
        "finished": run::is_finished(s.status),
        "job_instance": {
            "job_instance_id": job.id,
            "bk_scope_type": "biz",
            "bk_scope_id": job.biz.to_string(),
            "bk_biz_id": job.biz,
            "name": job.name,
            "create_time": job.create_time,
            "status": s.status,
            "start_time": s.start_time,
            "end_time": s.end_time,
            "total_time": total(s.start_time, s.end_time),
        },
        "step_instance_list": steps,
    }))
}

fn step_index(s: &JobState, p: &Params, unknown_code: i64) -> Result<usize, ApiError> {
    let id = match p.i64("step_instance_id") {
        Ok(Some(id)) if id >= 1 => id,
        _ => return Err(missing_or_illegal("step_instance_id")),
    };
    s.steps.iter().position(|st| st.id == id).ok_or_else(|| {
        if unknown_code == 1_244_007 {
            bad(1_244_007, "Task step instance does not exist")
        } else {
            bad(1_244_006, "Task instance does not exist")
        }
    })
}

/// The host's log; `null` when the script never ran there (waiting, or agent abnormal).
fn log_text(h: &HostRun) -> Value {
    if h.log.is_empty()
        && matches!(
            h.status,
            crate::jobs::host::WAITING | crate::jobs::host::AGENT_ERROR
        )
    {
        Value::Null
    } else {
        json!(String::from_utf8_lossy(&h.log))
    }
}

/// `get_job_instance_ip_log`.
pub fn get_job_instance_ip_log(ctx: &Ctx<'_>, p: &Params) -> ApiResult {
    let biz = scope(ctx, p, ("access_business", "Business access"))?;
    let job = job_of(ctx, p, biz.id)?;
    let guard = crate::faults::lock(&job.state);
    let step = &guard.steps[step_index(&guard, p, 1_244_007)?];
    let by_id = p.i64("bk_host_id").ok().flatten();
    let ip = p.str("ip");
    let cloud = p.i64("bk_cloud_id").ok().flatten();
    let host = match (by_id, &ip, cloud) {
        (Some(id), _, _) => step.host_index.get(&id).map(|i| &step.hosts[*i]),
        (None, Some(ip), Some(cloud)) => step
            .hosts
            .iter()
            .find(|h| &h.ip == ip && h.cloud_id == cloud),
        _ => return Err(missing_or_illegal("host_id/(bk_cloud_id+ip)")),
    };
    let host_id = host.map(|h| h.host_id).or(by_id);
    Ok(json!({
        "log_type": 1,
        "bk_host_id": host_id,
        "bk_cloud_id": cloud,
        "ip": ip,
        "log_content": host.map(log_text).unwrap_or(Value::Null),
        "file_logs": null,
    }))
}

/// `batch_get_job_instance_ip_log`.
pub fn batch_get_job_instance_ip_log(ctx: &Ctx<'_>, p: &Params) -> ApiResult {
    let biz = scope(ctx, p, ("access_business", "Business access"))?;
    let job = job_of(ctx, p, biz.id)?;
    let guard = crate::faults::lock(&job.state);
    let step = &guard.steps[step_index(&guard, p, 1_244_006)?];
    let ids: Vec<i64> = p
        .array("host_id_list")
        .map(|a| a.iter().filter_map(crate::params::as_i64).collect())
        .unwrap_or_default();
    let hosts: Vec<&HostRun> = if !ids.is_empty() {
        if ids.len() > 500 {
            return Err(missing_or_illegal("host_id_list/ip_list"));
        }
        ids.iter()
            .filter_map(|id| step.host_index.get(id).map(|i| &step.hosts[*i]))
            .collect()
    } else {
        let ips = p.array("ip_list").cloned().unwrap_or_default();
        if ips.is_empty() || ips.len() > 500 {
            return Err(missing_or_illegal("host_id_list/ip_list"));
        }
        ips.iter()
            .filter_map(|ip| {
                let cloud = ip
                    .get("bk_cloud_id")
                    .and_then(crate::params::as_i64)
                    .unwrap_or(0);
                let addr = ip.get("ip").and_then(Value::as_str).unwrap_or_default();
                step.hosts
                    .iter()
                    .find(|h| h.ip == addr && h.cloud_id == cloud)
            })
            .collect()
    };
    let logs: Vec<Value> = hosts
        .iter()
        .map(|h| {
            json!({
                "bk_host_id": h.host_id,
                "host_id": h.host_id,
                "bk_cloud_id": h.cloud_id,
                "ip": h.ip,
                "ipv6": null,
                "log_content": log_text(h),
            })
        })
        .collect();
    Ok(json!({
        "job_instance_id": job.id,
        "step_instance_id": step.id,
        "log_type": 1,
        "script_task_logs": logs,
        "file_task_logs": null,
    }))
}

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
