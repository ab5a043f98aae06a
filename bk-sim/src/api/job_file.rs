//! JOB v3 `fast_transfer_file`: server files from source hosts to a directory on target hosts.
//!
//! Decision: only server files (`file_type` 1) are simulated; third-party sources answer
//! `1241005 [file_source.file_type]`. `REGEX:` patterns are not expanded.

use std::sync::Arc;

use serde_json::{Value, json};

use super::job::{account, default_name, launch, targets_of};
use super::job_common::{bad, illegal, missing, missing_or_illegal, resolve_server, scope};
use super::{ApiError, ApiResult, Ctx};
use crate::jobs::{NewJob, NewStep, StepKind};
use crate::params::Params;
use crate::transfer::{FileSource, FileTransfer};

fn source_account_ok(ctx: &Ctx<'_>, src: &Value) -> Result<(), ApiError> {
    let acc = src
        .get("account")
        .ok_or_else(|| missing("file_source.account"))?;
    let accounts = &ctx.state.world.accounts;
    let known = match (
        acc.get("id").and_then(crate::params::as_i64),
        acc.get("alias").and_then(Value::as_str),
    ) {
        (Some(id), _) => accounts.contains_key(&id),
        (None, Some(alias)) => accounts.values().any(|a| a == alias),
        (None, None) => return Err(missing("file_source.account")),
    };
    if known {
        Ok(())
    } else {
        Err(ApiError::new(
            1_244_003,
            "Account [file_source.account] does not exist",
        ))
    }
}

/// `fast_transfer_file`.
pub fn fast_transfer_file(ctx: &Ctx<'_>, p: &Params) -> ApiResult {
    let biz = scope(ctx, p, ("quick_transfer_file", "Quick file transfer"))?;
    let target_dir = p
        .str("file_target_path")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    if !target_dir.starts_with('/') || target_dir.split('/').any(|c| c == "..") {
        return Err(missing_or_illegal("file_target_path"));
    }
    let target_name = p.str("file_target_name").filter(|n| !n.is_empty());
    if target_name
        .as_deref()
        .is_some_and(|n| n.contains('/') || n == "..")
    {
        return Err(illegal("file_target_name"));
    }
    let list = p
        .array("file_source_list")
        .filter(|l| !l.is_empty())
        .ok_or_else(|| missing("file_source_list"))?;
    let mut sources = Vec::new();
    for src in list {
        if src
            .get("file_type")
            .and_then(crate::params::as_i64)
            .unwrap_or(1)
            != 1
        {
            return Err(illegal("file_source.file_type"));
        }
        let files: Vec<String> = src
            .get("file_list")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        if files.is_empty() || files.iter().any(|f| !f.starts_with('/')) {
            return Err(missing_or_illegal("file_source.file_list"));
        }
        source_account_ok(ctx, src)?;
        let server = src
            .get("server")
            .ok_or_else(|| missing("file_source.server"))?;
        for h in resolve_server(ctx, biz, server)? {
            sources.extend(files.iter().map(|f| FileSource {
                host_id: h.id,
                ip: h.ip.clone(),
                cloud_id: h.cloud_id,
                path: f.clone(),
            }));
        }
    }
    account(ctx, p)?;
    let server = p
        .get("target_server")
        .ok_or_else(|| missing("target_server"))?;
    let hosts = resolve_server(ctx, biz, server)?;
    if sources.len().saturating_mul(hosts.len()) > 100_000 {
        return Err(ApiError::new(
            1_244_021,
            "The number of file tasks exceeds the limit:100000",
        ));
    }
    let timeout = match p.i64("timeout") {
        Ok(None) => 7200,
        Ok(Some(t)) if (1..=259_200).contains(&t) => t,
        _ => return Err(bad(1_240_003, "timeout must be between 1 and 259200")),
    };
    let name = p
        .str("task_name")
        .unwrap_or_else(|| default_name(ctx, "File Transfer", "快速分发文件"));
    let transfer = FileTransfer {
        target_dir,
        target_name,
        sources,
        timeout_secs: timeout as u64,
    };
    let start_task = p.bool("start_task").ok().flatten().unwrap_or(true);
    let new = NewJob {
        name: name.clone(),
        biz: biz.id,
        job_type: 2,
        plan_id: -1,
        template_id: -1,
        operator: ctx.caller.username.clone().unwrap_or_default(),
        app_code: ctx.caller.app_code.clone(),
        callback_url: None,
        vars: Vec::new(),
        steps: vec![NewStep {
            name: name.clone(),
            kind: StepKind::File(Arc::new(transfer)),
            targets: targets_of(&hosts),
        }],
    };
    let (job_id, step_id) = launch(ctx, p, new, start_task);
    Ok(json!({"job_instance_id": job_id, "job_instance_name": name, "step_instance_id": step_id}))
}
