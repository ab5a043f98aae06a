//! JOB log and variable conversions: per-host script and file logs in request order, and
//! plan-execution variable values.

use std::collections::HashMap;

use proto::jobgateway::v1 as pb;

use super::InstanceRef;
use crate::bk::{self, BkClient};

fn host_address(ip: Option<bk::IpInfo>) -> Option<pb::HostAddress> {
    ip.map(|i| pb::HostAddress {
        bk_host_id: i.bk_host_id.unwrap_or_default(),
        bk_cloud_id: i.bk_cloud_id.unwrap_or_default(),
        ip: i.ip.unwrap_or_default(),
    })
}

fn file_log(f: bk::FileLogInfo) -> pb::FileLog {
    let mode = match f.mode {
        None => pb::FileLogMode::Unspecified,
        Some(0) => pb::FileLogMode::Upload,
        Some(1) => pb::FileLogMode::Download,
        Some(_) => pb::FileLogMode::Unrecognized,
    };
    let status = match f.status {
        None => pb::FileTransferStatus::Unspecified,
        Some(c @ 0..=5) => {
            pb::FileTransferStatus::try_from(c + 1).unwrap_or(pb::FileTransferStatus::Unrecognized)
        }
        Some(_) => pb::FileTransferStatus::Unrecognized,
    };
    pb::FileLog {
        mode: mode as i32,
        src_host: host_address(f.src_ip),
        src_path: f.src_path.unwrap_or_default(),
        dest_host: host_address(f.dest_ip),
        dest_path: f.dest_path.unwrap_or_default(),
        status: status as i32,
        status_code: f.status.unwrap_or(-1),
        log_content: f.log_content.unwrap_or_default(),
        size: f.size.unwrap_or_default(),
        speed: f.speed.unwrap_or_default(),
        progress: f.process.unwrap_or_default(),
    }
}

/// Logs in request order, one entry per requested host (`found` false when JOB had none).
pub(crate) fn logs(
    bk: &BkClient,
    at: &InstanceRef,
    step_instance_id: i64,
    hosts: &bk::LogHosts,
    l: bk::BatchIpLogs,
) -> pb::GetJobInstanceLogsResponse {
    // Each host's log keyed both by id and by `cloud:ip`, so either request form finds it.
    let mut found: HashMap<String, pb::HostLog> = HashMap::new();
    let mut add = |log: pb::HostLog| {
        found.insert(format!("{}:{}", log.bk_cloud_id, log.ip), log.clone());
        found.insert(format!("id:{}", log.bk_host_id), log);
    };
    for s in l.script_task_logs.unwrap_or_default() {
        add(pb::HostLog {
            bk_host_id: s.host_id().unwrap_or_default(),
            bk_cloud_id: s.bk_cloud_id.unwrap_or_default(),
            ip: s.ip.unwrap_or_default(),
            found: true,
            log_content: s.log_content.unwrap_or_default(),
            file_logs: Vec::new(),
        });
    }
    for f in l.file_task_logs.unwrap_or_default() {
        add(pb::HostLog {
            bk_host_id: f.bk_host_id.unwrap_or_default(),
            bk_cloud_id: f.bk_cloud_id.unwrap_or_default(),
            ip: f.ip.unwrap_or_default(),
            found: true,
            log_content: String::new(),
            file_logs: f
                .file_logs
                .unwrap_or_default()
                .into_iter()
                .map(file_log)
                .collect(),
        });
    }
    let host_logs = match hosts {
        bk::LogHosts::Ids(ids) => ids
            .iter()
            .map(|id| {
                found
                    .get(&format!("id:{id}"))
                    .cloned()
                    .unwrap_or(pb::HostLog {
                        bk_host_id: *id,
                        ..Default::default()
                    })
            })
            .collect(),
        bk::LogHosts::Ips(ips) => ips
            .iter()
            .map(|h| {
                found.get(&bk::v1_key(h)).cloned().unwrap_or(pb::HostLog {
                    bk_cloud_id: h.bk_cloud_id,
                    ip: h.ip.clone(),
                    ..Default::default()
                })
            })
            .collect(),
    };
    let log_type = match l.log_type {
        None => pb::LogType::Unspecified,
        Some(1) => pb::LogType::Script,
        Some(2) => pb::LogType::File,
        Some(_) => pb::LogType::Unrecognized,
    };
    pb::GetJobInstanceLogsResponse {
        job_instance_id: at.job_instance_id,
        step_instance_id,
        log_type: log_type as i32,
        host_logs,
        job_url: bk.job_url(at.job_instance_id),
    }
}

/// Variable values after each step.
pub(crate) fn global_vars(
    bk: &BkClient,
    at: &InstanceRef,
    v: bk::InstanceGlobalVars,
) -> pb::GetJobInstanceGlobalVarsResponse {
    let steps = v
        .step_instance_var_list
        .unwrap_or_default()
        .into_iter()
        .map(|s| pb::StepVariableValues {
            step_instance_id: s.step_instance_id.unwrap_or_default(),
            variables: s
                .global_var_list
                .unwrap_or_default()
                .into_iter()
                .map(|var| pb::VariableValue {
                    name: var.name.unwrap_or_default(),
                    value: var.value.unwrap_or_default(),
                    r#type: super::var_type(var.var_type) as i32,
                })
                .collect(),
        })
        .collect();
    pb::GetJobInstanceGlobalVarsResponse {
        job_instance_id: at.job_instance_id,
        steps,
        job_url: bk.job_url(at.job_instance_id),
    }
}
