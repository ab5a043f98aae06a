//! Runs a job: dispatch delay, steps in order, the hosts of a step concurrently (bounded by one global
//! semaphore), each host's script in its sandbox, then the callback.
//!
//! Decision: a host's outcome is written into the job state as soon as it is known and its output is
//! appended while it runs, so status and log calls show progress without waiting for the step.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tracing::{info, warn};

use crate::faults::HostFaultKind;
use crate::jobs::{JobInstance, StepKind, StepScript, host, now_ms, run};
use crate::sandbox::interpreter;
use crate::state::AppState;

/// How a host run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Exited(i32),
    TimedOut,
    Terminated,
    AgentLost,
    Unsupported,
    SandboxFailed,
}

/// Drives `job` to a finished status; spawned once per job by the launch APIs.
pub async fn run_job(state: Arc<AppState>, job: Arc<JobInstance>, start_now: bool) {
    if !start_now {
        tokio::select! {
            _ = job.start.notified() => {}
            _ = job.cancel.cancelled() => {}
        }
    }
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_millis(state.settings.dispatch_delay_ms)) => {}
        _ = job.cancel.cancelled() => {}
    }
    let cancelled = job.cancel.is_cancelled();
    job.with(|s| {
        s.start_time = Some(now_ms());
        if !cancelled {
            s.status = run::RUNNING;
            s.history.push(run::RUNNING);
        }
    });
    let step_count = job.with(|s| s.steps.len());
    let mut final_status = run::SUCCESS;
    for step in 0..step_count {
        if job.cancel.is_cancelled() {
            final_status = run::STOP_SUCCESS;
            break;
        }
        let status = run_step(&state, &job, step).await;
        if status == run::STOP_SUCCESS {
            final_status = run::STOP_SUCCESS;
            break;
        }
        if status == run::FAIL {
            final_status = run::FAIL;
            break;
        }
    }
    if job.cancel.is_cancelled() {
        final_status = run::STOP_SUCCESS;
    }
    job.with(|s| {
        s.end_time = Some(now_ms());
        s.status = final_status;
        s.history.push(final_status);
    });
    info!(
        job_instance_id = job.id,
        status = final_status,
        "job finished"
    );
    if let Some(url) = job.callback_url.clone() {
        crate::callback::send(&state, &job, &url).await;
    }
}

async fn run_step(state: &Arc<AppState>, job: &Arc<JobInstance>, step: usize) -> i32 {
    let (step_id, kind, hosts) = job.with(|s| {
        let st = &mut s.steps[step];
        st.status = run::RUNNING;
        st.start_time = Some(now_ms());
        (
            st.id,
            st.kind.clone(),
            st.hosts.iter().map(|h| h.host_id).collect::<Vec<_>>(),
        )
    });
    let mut tasks = tokio::task::JoinSet::new();
    match kind {
        StepKind::Script(script) => {
            let script_dir = state.state_dir.join("scripts").join(step_id.to_string());
            let prepared = std::fs::create_dir_all(&script_dir).and_then(|()| {
                std::fs::write(script_dir.join("script"), script.content.as_bytes())
            });
            if let Err(e) = prepared {
                warn!(step_instance_id = step_id, error = %e, "cannot write step script");
            }
            for (idx, host_id) in hosts.into_iter().enumerate() {
                let (state, job, script, dir) = (
                    state.clone(),
                    job.clone(),
                    script.clone(),
                    script_dir.clone(),
                );
                tasks.spawn(async move {
                    run_host(&state, &job, step, idx, host_id, &script, &dir).await
                });
            }
            while tasks.join_next().await.is_some() {}
            let _ = std::fs::remove_dir_all(&script_dir);
        }
        StepKind::File(transfer) => {
            for (idx, host_id) in hosts.into_iter().enumerate() {
                let (state, job, transfer) = (state.clone(), job.clone(), transfer.clone());
                tasks.spawn(async move {
                    crate::exec_file::run_target(&state, &job, step, idx, host_id, &transfer).await
                });
            }
            while tasks.join_next().await.is_some() {}
        }
    }
    job.with(|s| {
        let st = &mut s.steps[step];
        st.end_time = Some(now_ms());
        st.status = if job.cancel.is_cancelled() {
            run::STOP_SUCCESS
        } else if st.hosts.iter().all(|h| h.status == host::SUCCESS) {
            run::SUCCESS
        } else if st.ignore_error() {
            run::IGNORE_ERROR
        } else {
            run::FAIL
        };
        st.status
    })
}

fn set_host(job: &JobInstance, step: usize, idx: usize, f: impl FnOnce(&mut crate::jobs::HostRun)) {
    job.with(|s| f(&mut s.steps[step].hosts[idx]));
}

async fn run_host(
    state: &Arc<AppState>,
    job: &Arc<JobInstance>,
    step: usize,
    idx: usize,
    host_id: i64,
    script: &StepScript,
    dir: &std::path::Path,
) {
    if !state.agent_alive(host_id) {
        let now = now_ms();
        set_host(job, step, idx, |h| {
            h.status = host::AGENT_ERROR;
            h.start_time = Some(now);
            h.end_time = Some(now);
        });
        return;
    }
    let Ok(_permit) = state.runner.acquire().await else {
        return;
    };
    if job.cancel.is_cancelled() {
        finish(job, step, idx, Ending::Terminated);
        return;
    }
    set_host(job, step, idx, |h| {
        h.status = host::RUNNING;
        h.error_code = host::GSE_RUNNING;
        h.start_time = Some(now_ms());
    });
    let ending = execute(state, job, step, idx, host_id, script, dir).await;
    if ending == Ending::AgentLost {
        state.set_agent(host_id, false);
    }
    finish(job, step, idx, ending);
}

fn finish(job: &JobInstance, step: usize, idx: usize, ending: Ending) {
    let (status, exit_code, error_code) = match ending {
        Ending::Exited(0) => (host::SUCCESS, 0, host::GSE_DONE),
        Ending::Exited(n) => (host::SCRIPT_NOT_ZERO_EXIT_CODE, n, host::GSE_DONE),
        Ending::TimedOut => (host::SCRIPT_TIMEOUT, 0, host::GSE_OTHER),
        Ending::Terminated => (host::SCRIPT_TERMINATE, 0, host::GSE_TERMINATED),
        Ending::AgentLost => (host::AGENT_ERROR, 0, host::GSE_OTHER),
        Ending::Unsupported | Ending::SandboxFailed => (host::SCRIPT_FAILED, 0, host::GSE_OTHER),
    };
    let now = now_ms();
    set_host(job, step, idx, |h| {
        h.status = status;
        h.exit_code = exit_code;
        h.error_code = error_code;
        h.start_time.get_or_insert(now);
        h.end_time = Some(now);
    });
}

async fn execute(
    state: &Arc<AppState>,
    job: &Arc<JobInstance>,
    step: usize,
    idx: usize,
    host_id: i64,
    script: &StepScript,
    dir: &std::path::Path,
) -> Ending {
    let timeout = Duration::from_secs(script.timeout_secs);
    let fault = state.faults.host(host_id);
    let kind = fault.as_ref().map(|f| f.kind);
    if kind == Some(HostFaultKind::Hang) {
        return tokio::select! {
            _ = tokio::time::sleep(timeout) => Ending::TimedOut,
            _ = job.cancel.cancelled() => Ending::Terminated,
        };
    }
    let Some(interp) = interpreter(script.language) else {
        append_log(
            state,
            job,
            step,
            idx,
            format!(
                "script_language {} is not supported by bk-sim\n",
                script.language
            )
            .as_bytes(),
        );
        return Ending::Unsupported;
    };
    let Some(host) = state.world.host(host_id) else {
        return Ending::SandboxFailed;
    };
    let root = match state.host_root(host_id).await {
        Ok(r) => r,
        Err(e) => {
            append_log(
                state,
                job,
                step,
                idx,
                format!("bk-sim: cannot prepare host tree: {e}\n").as_bytes(),
            );
            return Ending::SandboxFailed;
        }
    };
    let (reader, writer) = match std::io::pipe() {
        Ok(p) => p,
        Err(_) => return Ending::SandboxFailed,
    };
    let small_disk = fault
        .filter(|f| f.kind == HostFaultKind::DiskFull)
        .map(|f| {
            let path = f.path.unwrap_or_else(|| "/project/backup".to_string());
            (path, f.size_bytes.unwrap_or(4096))
        });
    let mut cmd = state.sandbox.command(
        &root,
        &host.name,
        dir,
        interp,
        &script.param,
        small_disk.as_ref().map(|(p, n)| (p.as_str(), *n)),
    );
    let Ok(writer2) = writer.try_clone() else {
        return Ending::SandboxFailed;
    };
    cmd.stdout(writer).stderr(writer2);
    let spawned = cmd.spawn();
    drop(cmd);
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            append_log(
                state,
                job,
                step,
                idx,
                format!("bk-sim: cannot start sandbox: {e}\n").as_bytes(),
            );
            return Ending::SandboxFailed;
        }
    };
    let reader_task = {
        let (state, job) = (state.clone(), job.clone());
        tokio::spawn(async move {
            let Ok(mut rx) =
                tokio::net::unix::pipe::Receiver::from_owned_fd(std::os::fd::OwnedFd::from(reader))
            else {
                return;
            };
            let mut buf = vec![0u8; 16 * 1024];
            while let Ok(n) = rx.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                append_log(&state, &job, step, idx, &buf[..n]);
            }
        })
    };
    let lose_agent = kind == Some(HostFaultKind::OfflineMidJob);
    let agent_drop = async {
        if lose_agent {
            tokio::time::sleep(Duration::from_millis(50)).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    let ending = tokio::select! {
        status = child.wait() => match status {
            Ok(s) => Ending::Exited(s.code().unwrap_or(128 + signal_of(&s))),
            Err(_) => Ending::SandboxFailed,
        },
        _ = tokio::time::sleep(timeout) => Ending::TimedOut,
        _ = job.cancel.cancelled() => Ending::Terminated,
        _ = agent_drop => Ending::AgentLost,
    };
    // A dropped agent loses the run whatever the script did in the meantime.
    let ending = if lose_agent && ending != Ending::Terminated {
        Ending::AgentLost
    } else {
        ending
    };
    if !matches!(ending, Ending::Exited(_)) {
        let _ = child.kill().await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), reader_task).await;
    ending
}

fn signal_of(s: &std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    s.signal().unwrap_or(0)
}

fn append_log(state: &AppState, job: &JobInstance, step: usize, idx: usize, bytes: &[u8]) {
    let cap = state.settings.log_cap_bytes;
    set_host(job, step, idx, |h| {
        let room = cap.saturating_sub(h.log.len());
        if bytes.len() > room {
            h.log_truncated = true;
        }
        h.log.extend_from_slice(&bytes[..bytes.len().min(room)]);
    });
}
