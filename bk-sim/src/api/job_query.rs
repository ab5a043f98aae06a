//! JOB v3 reads of one instance: get_job_instance_status, get_job_instance_ip_log and
//! batch_get_job_instance_ip_log.
//!
//! Decision: every read is one lookup by job instance id; `null` is emitted for absent DTO fields.

use std::sync::Arc;

use serde_json::{Value, json};

use super::job_common::{bad, missing_or_illegal, scope};
use super::{ApiError, ApiResult, Ctx};
use crate::jobs::{HostRun, JobInstance, JobState, run};
use crate::params::Params;
use crate::transfer::FileLog;

pub(crate) fn job_of(ctx: &Ctx<'_>, p: &Params, biz: i64) -> Result<Arc<JobInstance>, ApiError> {
    let id = match p.i64("job_instance_id") {
        Ok(Some(id)) if id >= 1 => id,
        _ => return Err(missing_or_illegal("job_instance_id")),
    };
    match ctx.state.jobs.get(id) {
        Some(j) if j.biz == biz => Ok(j),
        _ => Err(bad(1_244_006, "Task instance does not exist")),
    }
}

pub(crate) fn total(start: Option<i64>, end: Option<i64>) -> Value {
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
                "type": st.step_type(),
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
    let host_id = match (by_id, &ip, cloud) {
        (Some(id), _, _) => Some(id),
        (None, Some(ip), Some(cloud)) => ctx.state.world.host_by_ip(cloud, ip).map(|h| h.id),
        _ => return Err(missing_or_illegal("host_id/(bk_cloud_id+ip)")),
    };
    let host = host_id
        .and_then(|id| step.host_index.get(&id))
        .map(|i| &step.hosts[*i]);
    if step.step_type() == 2 {
        let mut logs: Vec<Value> = host
            .map(|h| h.file_logs.iter().map(FileLog::to_json).collect())
            .unwrap_or_default();
        logs.extend(step.upload_logs.values().flatten().map(FileLog::to_json));
        return Ok(
            json!({"log_type": 2, "bk_host_id": host_id, "bk_cloud_id": cloud, "ip": ip,
            "log_content": null, "file_logs": logs}),
        );
    }
    Ok(json!({
        "log_type": 1,
        "bk_host_id": host_id,
        "bk_cloud_id": cloud,
        "ip": ip,
        "log_content": host.map(log_text).unwrap_or(Value::Null),
        "file_logs": null,
    }))
}

/// Host ids named by `host_id_list` (preferred) or `ip_list`, 1–500 of them; unknown IPs are skipped.
fn requested_hosts(ctx: &Ctx<'_>, p: &Params) -> Result<Vec<i64>, ApiError> {
    let by_id = p.array("host_id_list").filter(|a| !a.is_empty());
    let list = by_id
        .or_else(|| p.array("ip_list"))
        .cloned()
        .unwrap_or_default();
    if list.is_empty() || list.len() > 500 {
        return Err(missing_or_illegal("host_id_list/ip_list"));
    }
    if by_id.is_some() {
        return Ok(list.iter().filter_map(crate::params::as_i64).collect());
    }
    let world = &ctx.state.world;
    Ok(list
        .iter()
        .filter_map(|ip| {
            let cloud = ip
                .get("bk_cloud_id")
                .and_then(crate::params::as_i64)
                .unwrap_or(0);
            let addr = ip.get("ip").and_then(Value::as_str).unwrap_or_default();
            world.host_by_ip(cloud, addr).map(|h| h.id)
        })
        .collect())
}

/// `batch_get_job_instance_ip_log`.
pub fn batch_get_job_instance_ip_log(ctx: &Ctx<'_>, p: &Params) -> ApiResult {
    let biz = scope(ctx, p, ("access_business", "Business access"))?;
    let job = job_of(ctx, p, biz.id)?;
    let guard = crate::faults::lock(&job.state);
    let step = &guard.steps[step_index(&guard, p, 1_244_006)?];
    let ids = requested_hosts(ctx, p)?;
    let targets = || {
        ids.iter()
            .filter_map(|id| step.host_index.get(id).map(|i| &step.hosts[*i]))
    };
    let (script_logs, file_logs) = if step.step_type() == 2 {
        let mut out = Vec::new();
        for id in &ids {
            let mut logs: Vec<Value> = Vec::new();
            if let Some(h) = step.host_index.get(id).map(|i| &step.hosts[*i]) {
                logs.extend(h.file_logs.iter().map(FileLog::to_json));
            }
            logs.extend(
                step.upload_logs
                    .get(id)
                    .into_iter()
                    .flatten()
                    .map(FileLog::to_json),
            );
            let known = step.host_index.contains_key(id) || step.upload_logs.contains_key(id);
            if let (true, Some(h)) = (known, ctx.state.world.host(*id)) {
                out.push(json!({"bk_host_id": h.id, "bk_cloud_id": h.cloud_id, "ip": h.ip, "file_logs": logs}));
            }
        }
        (Value::Null, Value::Array(out))
    } else {
        let logs: Vec<Value> = targets()
            .map(|h: &HostRun| {
                json!({"bk_host_id": h.host_id, "host_id": h.host_id, "bk_cloud_id": h.cloud_id, "ip": h.ip,
                    "ipv6": null, "log_content": log_text(h)})
            })
            .collect();
        (Value::Array(logs), Value::Null)
    };
    Ok(json!({
        "job_instance_id": job.id,
        "step_instance_id": step.id,
        "log_type": step.step_type(),
        "script_task_logs": script_logs,
        "file_task_logs": file_logs,
    }))
}
