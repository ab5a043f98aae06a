//! JOB v3 launch and control: fast_execute_script, execute_job_plan, operate_job_instance.
//!
//! Decision: validation follows the server (bk-job 3.12) and its codes, not the docs, where they differ.

use base64::Engine;
use serde_json::{Value, json};

use super::job_common::{bad, illegal, missing, resolve_server, scope};
use super::{ApiError, ApiResult, Ctx};
use crate::jobs::{NewJob, NewStep, StepKind, StepScript, run};
use crate::params::Params;
use crate::world::Host;

fn decode_b64(p: &Params, key: &str) -> Option<String> {
    let raw = p.str(key)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(raw.trim())
        .ok()?;
    String::from_utf8(bytes).ok()
}

pub(crate) fn account(ctx: &Ctx<'_>, p: &Params) -> Result<(), ApiError> {
    let accounts = &ctx.state.world.accounts;
    if let Ok(Some(id)) = p.i64("account_id") {
        return accounts
            .contains_key(&id)
            .then_some(())
            .ok_or_else(|| ApiError::new(1_244_003, format!("Account [{id}] does not exist")));
    }
    match p.str("account_alias") {
        Some(alias) if accounts.values().any(|a| *a == alias) => Ok(()),
        Some(alias) => Err(ApiError::new(
            1_244_003,
            format!("Account [{alias}] does not exist"),
        )),
        None => Err(missing("account_id|account_alias")),
    }
}

pub(crate) fn default_name(ctx: &Ctx<'_>, en: &str, zh: &str) -> String {
    let stamp = chrono::Local::now().format("%Y%m%d%H%M%S%3f");
    format!("{}_{stamp}", if ctx.lang_en { en } else { zh })
}

pub(crate) fn targets_of(hosts: &[&Host]) -> Vec<(i64, String, i64)> {
    hosts
        .iter()
        .map(|h| (h.id, h.ip.clone(), h.cloud_id))
        .collect()
}

/// `fast_execute_script`.
pub fn fast_execute_script(ctx: &Ctx<'_>, p: &Params) -> ApiResult {
    let biz = scope(ctx, p, ("quick_execute_script", "Quick script execution"))?;
    if let Some(v) = p.get("script_version_id") {
        return Err(match crate::params::as_i64(v) {
            Some(n) if n >= 1 => bad(1_243_047, "Script version does not exist"),
            _ => illegal("script_version_id"),
        });
    }
    if p.has("script_id") {
        return Err(bad(1_243_047, "Script version does not exist"));
    }
    let Some(content) = decode_b64(p, "script_content") else {
        return Err(missing("script_version_id|script_id|script_content"));
    };
    let language = match p.i64("script_language") {
        Ok(Some(l)) if (1..=6).contains(&l) => l as i32,
        _ => return Err(illegal("script_language")),
    };
    if content.len() > 16_777_215 {
        return Err(bad(1_240_003, "script_content is too long"));
    }
    account(ctx, p)?;
    let Some(server) = p.get("target_server") else {
        return Err(missing("target_server"));
    };
    if let Some(w) = p.str("windows_interpreter")
        && (!w.ends_with(".exe") || w.chars().count() > 260)
    {
        return Err(bad(
            1_240_003,
            "windows_interpreter must end with .exe and be at most 260 characters",
        ));
    }
    let timeout = match p.i64("timeout") {
        Ok(None) => 7200,
        Ok(Some(t)) if (1..=259_200).contains(&t) => t,
        _ => return Err(bad(1_240_003, "timeout must be between 1 and 259200")),
    };
    let sensitive = p.i64("is_param_sensitive").ok().flatten() == Some(1);
    let param = decode_b64(p, "script_param")
        .unwrap_or_default()
        .replace('\n', " ");
    if param.len() > if sensitive { 48_128 } else { 65_535 } {
        return Err(bad(1_240_003, "script_param is too long"));
    }
    let hosts = resolve_server(ctx, biz, server)?;
    let limit = ctx.state.settings.max_script_targets;
    if hosts.len() > limit {
        return Err(ApiError::new(
            1_244_022,
            format!("The number of script task target servers exceeds the limit: {limit}"),
        ));
    }
    let name = p
        .str("task_name")
        .unwrap_or_else(|| default_name(ctx, "Script Execution", "快速执行脚本"));
    let start_task = p.bool("start_task").ok().flatten().unwrap_or(true);
    let script = StepScript {
        content,
        param,
        timeout_secs: timeout as u64,
        language,
        ignore_error: false,
    };
    let job = launch(
        ctx,
        p,
        NewJob {
            name: name.clone(),
            biz: biz.id,
            job_type: 1,
            plan_id: -1,
            template_id: -1,
            operator: ctx.caller.username.clone().unwrap_or_default(),
            app_code: ctx.caller.app_code.clone(),
            callback_url: None,
            vars: Vec::new(),
            steps: vec![NewStep {
                name: name.clone(),
                kind: StepKind::Script(std::sync::Arc::new(script)),
                targets: targets_of(&hosts),
            }],
        },
        start_task,
    );
    Ok(json!({"job_instance_id": job.0, "job_instance_name": name, "step_instance_id": job.1}))
}

pub(crate) fn launch(ctx: &Ctx<'_>, p: &Params, mut new: NewJob, start_task: bool) -> (i64, i64) {
    new.callback_url = p.str("callback_url").filter(|u| !u.is_empty());
    let hosts: usize = new.steps.iter().map(|s| s.targets.len()).sum();
    let job = ctx.state.jobs.create(new);
    tracing::info!(
        job_instance_id = job.id,
        biz = job.biz,
        hosts,
        "job created"
    );
    let first_step = job.with(|s| s.steps.first().map(|st| st.id).unwrap_or_default());
    tokio::spawn(crate::exec::run_job(
        ctx.state.clone(),
        job.clone(),
        start_task,
    ));
    (job.id, first_step)
}

/// Shell assignment that sets a JOB string variable, quoted so any value survives.
fn assign(name: &str, value: &str) -> String {
    format!("{name}='{}'\n", value.replace('\'', r"'\''"))
}

/// `execute_job_plan`.
pub fn execute_job_plan(ctx: &Ctx<'_>, p: &Params) -> ApiResult {
    let biz = scope(ctx, p, ("launch_job_plan", "Launch job plan"))?;
    let plan_id = match p.i64("job_plan_id") {
        Ok(Some(id)) if id > 0 => id,
        _ => return Err(illegal("job_plan_id")),
    };
    let plan = match ctx.state.world.plans.get(&plan_id) {
        Some(plan) if plan.def.biz == biz.id => plan,
        _ => return Err(bad(1_243_009, "Job plan does not exist")),
    };
    let mut strings: Vec<(String, String)> = plan
        .vars
        .iter()
        .filter(|v| v.var_type != 3)
        .map(|v| (v.name.clone(), v.value.clone()))
        .collect();
    let mut host_vars: Vec<(String, Vec<&Host>)> = Vec::new();
    for v in plan.vars.iter().filter(|v| v.var_type == 3) {
        host_vars.push((
            v.name.clone(),
            v.hosts
                .iter()
                .filter_map(|id| ctx.state.world.host(*id))
                .collect(),
        ));
    }
    for gv in p.array("global_var_list").into_iter().flatten() {
        let id = gv.get("id").and_then(crate::params::as_i64);
        let name = gv.get("name").and_then(Value::as_str);
        let Some(var) = plan
            .vars
            .iter()
            .find(|v| Some(v.id) == id || (id.is_none() && Some(v.name.as_str()) == name))
        else {
            if id.is_none() && name.is_none() {
                return Err(illegal("global_var.id|global_var.name"));
            }
            continue;
        };
        if var.var_type == 3 {
            if let Some(server) = gv.get("server") {
                let hosts = resolve_server(ctx, biz, server)?;
                if let Some(slot) = host_vars.iter_mut().find(|(n, _)| *n == var.name) {
                    slot.1 = hosts;
                }
            }
        } else if let Some(value) = gv.get("value").and_then(Value::as_str)
            && let Some(slot) = strings.iter_mut().find(|(n, _)| *n == var.name)
        {
            slot.1 = value.to_string();
        }
    }
    let preamble: String = strings.iter().map(|(n, v)| assign(n, v)).collect();
    let mut steps = Vec::new();
    for s in &plan.steps {
        let hosts: Vec<&Host> = match &s.target_variable {
            Some(var) => host_vars
                .iter()
                .find(|(n, _)| n == var)
                .map(|(_, h)| h.clone())
                .unwrap_or_default(),
            None => s
                .hosts
                .iter()
                .filter_map(|id| ctx.state.world.host(*id))
                .collect(),
        };
        if hosts.is_empty() {
            return Err(bad(1_244_001, "Host is empty"));
        }
        let content = match s.script.split_once('\n') {
            Some((first, rest)) if first.starts_with("#!") => format!("{first}\n{preamble}{rest}"),
            _ => format!("{preamble}{}", s.script),
        };
        let script = StepScript {
            content,
            param: s.param.replace('\n', " "),
            timeout_secs: s.timeout.max(1) as u64,
            language: 1,
            ignore_error: s.ignore_error,
        };
        steps.push(NewStep {
            name: s.name.clone(),
            kind: StepKind::Script(std::sync::Arc::new(script)),
            targets: targets_of(&hosts),
        });
    }
    let start_task = p.bool("start_task").ok().flatten().unwrap_or(true);
    let (job_id, _) = launch(
        ctx,
        p,
        NewJob {
            name: plan.def.name.clone(),
            biz: biz.id,
            job_type: 0,
            plan_id,
            template_id: plan.def.template_id,
            operator: ctx.caller.username.clone().unwrap_or_default(),
            app_code: ctx.caller.app_code.clone(),
            callback_url: None,
            vars: strings
                .iter()
                .filter(|(n, _)| plan.vars.iter().any(|v| &v.name == n && v.var_type == 1))
                .cloned()
                .collect(),
            steps,
        },
        start_task,
    );
    Ok(
        json!({"job_instance_id": job_id, "job_instance_name": plan.def.name, "step_instance_id": null}),
    )
}

/// `operate_job_instance`: 1 terminate, 2 start.
pub fn operate_job_instance(ctx: &Ctx<'_>, p: &Params) -> ApiResult {
    let biz = scope(ctx, p, ("access_business", "Business access"))?;
    let (Ok(Some(id)), Ok(Some(code))) = (p.i64("job_instance_id"), p.i64("operation_code")) else {
        return Err(bad(1_241_002, "Invalid request parameters"));
    };
    if id <= 0 || !(1..=2).contains(&code) {
        return Err(bad(1_241_002, "Invalid request parameters"));
    }
    let job = match ctx.state.jobs.get(id) {
        Some(j) if j.biz == biz.id => j,
        _ => return Err(bad(1_244_006, "Task instance does not exist")),
    };
    let status = job.with(|s| s.status);
    if code == 1 {
        match status {
            run::STOPPING => return Err(bad(1_244_015, "Task is being terminated")),
            run::RUNNING | 7 => {
                job.set_status(run::STOPPING);
                job.cancel.cancel();
                tracing::info!(job_instance_id = id, "job terminate requested");
            }
            _ => return Err(bad(1_241_003, "Unsupported operation")),
        }
    } else {
        if status != run::BLANK {
            return Err(bad(
                1_241_015,
                "Unsupported operation, job has already started",
            ));
        }
        job.start.notify_one();
    }
    Ok(json!({"job_instance_id": id, "job_instance_name": null, "step_instance_id": null}))
}
