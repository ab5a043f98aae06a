//! JOB status conversions: instances, steps and per-host results.
//! Every status keeps its raw code next to the decoded enum.

use proto::jobgateway::v1 as pb;

use super::{InstanceRef, duration_ms, echoed_scope, ts_ms};
use crate::bk::{self, BkClient, HostStatus, JobStatus};

/// Decodes a run status: (enum, raw code, finished).
pub(crate) fn run_status(raw: Option<i32>) -> (pb::RunStatus, i32, bool) {
    let Some(code) = raw else {
        return (pb::RunStatus::Unspecified, 0, false);
    };
    let status = JobStatus::from_code(code);
    let decoded = match status {
        JobStatus::Unknown(_) => pb::RunStatus::Unrecognized,
        // The proto numbers equal JOB's codes 1-15 for every known status.
        known => pb::RunStatus::try_from(known.code()).unwrap_or(pb::RunStatus::Unrecognized),
    };
    (decoded, code, status.is_finished())
}

fn host_status(code: i32) -> pb::HostStatus {
    use HostStatus as H;
    use pb::HostStatus as P;
    match HostStatus::from_code(code) {
        H::UnknownError => P::UnknownError,
        H::AgentError => P::AgentError,
        H::InvalidTarget => P::InvalidTarget,
        H::LastSuccess => P::LastSuccess,
        H::Waiting => P::Waiting,
        H::Running => P::Running,
        H::Success => P::Success,
        H::Failed => P::Failed,
        H::SubmitFailed => P::SubmitFailed,
        H::TaskTimeout => P::TaskTimeout,
        H::LogError => P::LogError,
        H::GseScriptTimeout => P::GseScriptTimeout,
        H::GseFileTimeout => P::GseFileTimeout,
        H::AgentNotInstalled => P::AgentNotInstalled,
        H::ScriptFailed => P::ScriptFailed,
        H::ScriptTimeout => P::ScriptTimeout,
        H::ScriptTerminated => P::ScriptTerminated,
        H::ScriptNonZeroExit => P::ScriptNonZeroExit,
        H::CopyFileFailed => P::CopyFileFailed,
        H::SourceFileMissing => P::SourceFileMissing,
        H::FileError => P::FileError,
        H::GseTimeout => P::GseTimeout,
        H::GseAgentError => P::GseAgentError,
        H::GseUserError => P::GseUserError,
        H::GseUserPasswordError => P::GseUserPasswordError,
        H::GseFileError => P::GseFileError,
        H::GseFileSizeExceeded => P::GseFileSizeExceeded,
        H::GseFileTaskError => P::GseFileTaskError,
        H::GseTaskError => P::GseTaskError,
        H::GseTerminateSucceeded => P::GseTerminateSucceeded,
        H::GseTerminateFailed => P::GseTerminateFailed,
        H::Unknown500 => P::Unknown,
        H::Unknown(_) => P::Unrecognized,
    }
}

fn host_result(h: bk::HostResultInfo) -> pb::HostResult {
    let code = h.status.unwrap_or(-1);
    let decoded = h.host_status();
    pb::HostResult {
        bk_host_id: h.bk_host_id.unwrap_or_default(),
        bk_cloud_id: h.bk_cloud_id.unwrap_or_default(),
        ip: h.ip.unwrap_or_default(),
        status: h.status.map_or(pb::HostStatus::Unspecified, host_status) as i32,
        status_code: code,
        finished: decoded.is_some_and(HostStatus::is_finished),
        succeeded: decoded.is_some_and(HostStatus::is_success),
        tag: h.tag.unwrap_or_default(),
        exit_code: h.exit_code.unwrap_or_default(),
        gse_error_code: h.error_code.unwrap_or_default(),
        start_time: ts_ms(h.start_time),
        end_time: ts_ms(h.end_time),
        total_time: h.end_time.and(duration_ms(h.total_time)),
    }
}

fn step_type(code: Option<i32>) -> pb::StepType {
    match code {
        None => pb::StepType::Unspecified,
        Some(1) => pb::StepType::Script,
        Some(2) => pb::StepType::File,
        Some(3) => pb::StepType::ManualConfirmation,
        Some(4) => pb::StepType::Sql,
        Some(_) => pb::StepType::Unrecognized,
    }
}

/// The status answer as the proto shows it; host results only when `with_hosts`.
pub(crate) fn job_status(
    bk: &BkClient,
    at: &InstanceRef,
    s: bk::JobInstanceStatus,
    with_hosts: bool,
) -> pb::GetJobInstanceStatusResponse {
    let info = s.job_instance.unwrap_or_default();
    let id = info.job_instance_id.unwrap_or(at.job_instance_id);
    let (status, status_code, finished) = run_status(info.status);
    let job_instance = pb::JobInstance {
        job_instance_id: id,
        name: info.name.unwrap_or_default(),
        scope: Some(echoed_scope(
            info.bk_scope_type.as_deref(),
            info.bk_scope_id.as_deref(),
            &at.scope,
        )),
        status: status as i32,
        status_code,
        finished: s.finished.unwrap_or(finished),
        create_time: ts_ms(info.create_time),
        start_time: ts_ms(info.start_time),
        end_time: ts_ms(info.end_time),
        total_time: info.end_time.and(duration_ms(info.total_time)),
        job_url: bk.job_url(id),
        ..Default::default()
    };
    let steps = s
        .step_instance_list
        .unwrap_or_default()
        .into_iter()
        .map(|st| {
            let (status, status_code, _) = run_status(st.status);
            let step_id = st.step_instance_id.unwrap_or_default();
            let host_results = if with_hosts {
                st.step_ip_result_list
                    .unwrap_or_default()
                    .into_iter()
                    .map(host_result)
                    .collect()
            } else {
                Vec::new()
            };
            pb::StepInstance {
                step_instance_id: step_id,
                name: st.name.unwrap_or_default(),
                r#type: step_type(st.step_type) as i32,
                status: status as i32,
                status_code,
                create_time: ts_ms(st.create_time),
                start_time: ts_ms(st.start_time),
                end_time: ts_ms(st.end_time),
                total_time: st.end_time.and(duration_ms(st.total_time)),
                execute_count: st.execute_count.unwrap_or_default(),
                host_results,
                step_url: bk.step_url(id, step_id),
            }
        })
        .collect();
    pb::GetJobInstanceStatusResponse {
        job_instance: Some(job_instance),
        steps,
    }
}

/// A get_job_instance_list item as the proto shows it.
pub(crate) fn listed_instance(
    bk: &BkClient,
    scope: &bk::Scope,
    j: bk::JobInstanceSummary,
) -> pb::JobInstance {
    let id = j.instance_id().unwrap_or_default();
    let (status, status_code, finished) = run_status(j.status_code());
    let launch_mode = match j.launch_mode {
        None => pb::LaunchMode::Unspecified,
        Some(1) => pb::LaunchMode::Web,
        Some(2) => pb::LaunchMode::Api,
        Some(3) => pb::LaunchMode::Cron,
        Some(_) => pb::LaunchMode::Unrecognized,
    };
    let kind = match j.type_code() {
        None => pb::JobInstanceType::Unspecified,
        Some(0) => pb::JobInstanceType::Plan,
        Some(1) => pb::JobInstanceType::FastScript,
        Some(2) => pb::JobInstanceType::FastFile,
        Some(_) => pb::JobInstanceType::Unrecognized,
    };
    pb::JobInstance {
        job_instance_id: id,
        name: j.name.unwrap_or_default(),
        scope: Some(echoed_scope(
            j.bk_scope_type.as_deref(),
            j.bk_scope_id.as_deref(),
            scope,
        )),
        status: status as i32,
        status_code,
        finished,
        create_time: ts_ms(j.create_time),
        start_time: ts_ms(j.start_time),
        end_time: ts_ms(j.end_time),
        total_time: j.end_time.and(duration_ms(j.total_time)),
        job_url: bk.job_url(id),
        operator: j.operator.unwrap_or_default(),
        launch_mode: launch_mode as i32,
        r#type: kind as i32,
        job_plan_id: j.job_plan_id.filter(|p| *p > 0).unwrap_or_default(),
        job_template_id: j.job_template_id.filter(|t| *t > 0).unwrap_or_default(),
    }
}
