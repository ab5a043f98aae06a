//! Runs one target host of a file step: each source file is copied from its source host's tree into the
//! target's tree by `cp` inside a sandbox that sees only the two trees (source read-only) and `/usr`.
//!
//! Decision: the copy itself is sandboxed like scripts, so a symlink planted in a host tree resolves
//! inside that tree and can never make bk-sim read or write the machine's files.

use std::sync::Arc;
use std::time::Duration;

use crate::jobs::{JobInstance, host, now_ms};
use crate::state::AppState;
use crate::transfer::{FileLog, FileTransfer, file_status};

/// Exit code of the copy script when the source does not exist.
const SOURCE_MISSING: i32 = 66;

const COPY: &str = r#"p="/src$1"
if [ ! -e "$p" ]; then
  d="$p"
  while [ "$d" != "/src" ] && [ "$d" != "/" ]; do
    d=$(dirname -- "$d")
    if [ -e "$d" ] && [ ! -x "$d" ]; then echo "permission denied: $1"; exit 1; fi
  done
  echo "source file not exist: $1"; exit 66
fi
mkdir -p -- "/dst$2" && cp -rf --preserve=mode,timestamps -- "$p" "/dst$2/$3" && du -sb -- "/dst$2/$3" | cut -f1"#;

fn file_name(path: &str) -> String {
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string()
}

fn stamp() -> String {
    chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Copies every source to the target host `idx` of step `step`; writes logs and the host status.
pub async fn run_target(
    state: &Arc<AppState>,
    job: &Arc<JobInstance>,
    step: usize,
    idx: usize,
    host_id: i64,
    t: &FileTransfer,
) {
    let set = |f: &mut dyn FnMut(&mut crate::jobs::HostRun)| {
        job.with(|s| f(&mut s.steps[step].hosts[idx]))
    };
    let now = now_ms();
    if !state.agent_alive(host_id) {
        set(&mut |h| {
            h.status = host::AGENT_ERROR;
            h.start_time = Some(now);
            h.end_time = Some(now);
        });
        return;
    }
    let Ok(_permit) = state.runner.acquire().await else {
        return;
    };
    set(&mut |h| {
        h.status = host::RUNNING;
        h.error_code = host::GSE_RUNNING;
        h.start_time = Some(now_ms());
    });
    let work = copy_all(state, job, step, idx, host_id, t);
    let status = tokio::select! {
        s = work => s,
        _ = tokio::time::sleep(Duration::from_secs(t.timeout_secs)) => GSE_TIMEOUT,
        _ = job.cancel.cancelled() => TERMINATED,
    };
    let error_code = match status {
        host::SUCCESS => host::GSE_DONE,
        TERMINATED => host::GSE_TERMINATED,
        _ => host::GSE_OTHER,
    };
    set(&mut |h| {
        h.status = status;
        h.error_code = error_code;
        h.end_time = Some(now_ms());
    });
}

const COPY_FAILED: i32 = 202;
const SOURCE_NOT_EXIST: i32 = 203;
const GSE_TIMEOUT: i32 = 303;
const TERMINATED: i32 = 403;

async fn copy_all(
    state: &Arc<AppState>,
    job: &Arc<JobInstance>,
    step: usize,
    idx: usize,
    host_id: i64,
    t: &FileTransfer,
) -> i32 {
    let Some(target) = state.world.host(host_id) else {
        return COPY_FAILED;
    };
    let dst_root = match state.host_root(host_id).await {
        Ok(r) => r,
        Err(_) => return COPY_FAILED,
    };
    let mut worst = host::SUCCESS;
    for src in &t.sources {
        let name = t
            .target_name
            .clone()
            .unwrap_or_else(|| file_name(&src.path));
        let dest_path = format!("{}/{}", t.target_dir.trim_end_matches('/'), name);
        let src_id = (src.host_id, src.cloud_id, src.ip.clone());
        let dest_id = (target.id, target.cloud_id, target.ip.clone());
        let (status, size, detail) = if !state.agent_alive(src.host_id) {
            (COPY_FAILED, 0, "source agent abnormal".to_string())
        } else {
            match state.host_root(src.host_id).await {
                Err(e) => (COPY_FAILED, 0, e.to_string()),
                Ok(src_root) => {
                    let mut cmd = state.sandbox.copy_command(&src_root, &dst_root);
                    cmd.args(["/bin/sh", "-c", COPY, "sh", &src.path, &t.target_dir, &name]);
                    match cmd.output().await {
                        Ok(out) if out.status.success() => {
                            let size = String::from_utf8_lossy(&out.stdout)
                                .trim()
                                .parse()
                                .unwrap_or(0);
                            (host::SUCCESS, size, "success".to_string())
                        }
                        Ok(out) => {
                            let code = if out.status.code() == Some(SOURCE_MISSING) {
                                SOURCE_NOT_EXIST
                            } else {
                                COPY_FAILED
                            };
                            let mut msg = String::from_utf8_lossy(&out.stdout).into_owned();
                            msg.push_str(&String::from_utf8_lossy(&out.stderr));
                            (code, 0, msg.trim().to_string())
                        }
                        Err(e) => (COPY_FAILED, 0, e.to_string()),
                    }
                }
            }
        };
        let ok = status == host::SUCCESS;
        let fstatus = if ok {
            file_status::SUCCESS
        } else {
            file_status::FAILED
        };
        let state_text = if ok {
            "dest agent success download file"
        } else {
            "download failed"
        };
        let download = FileLog {
            mode: 1,
            src: src_id.clone(),
            src_path: src.path.clone(),
            dest: Some(dest_id),
            dest_path: Some(dest_path.clone()),
            status: fstatus,
            log_content: format!(
                "[{}] FileName: {dest_path} FileSize: {} State: {state_text} Detail: {detail}",
                stamp(),
                crate::transfer::human_size(size)
            ),
            size,
        };
        let upload = FileLog {
            mode: 0,
            src: src_id,
            src_path: src.path.clone(),
            dest: None,
            dest_path: None,
            status: fstatus,
            log_content: format!(
                "[{}] FileName: {} FileSize: {} State: source agent {} Detail: {detail}",
                stamp(),
                src.path,
                crate::transfer::human_size(size),
                if ok {
                    "success upload file"
                } else {
                    "upload failed"
                }
            ),
            size,
        };
        job.with(|s| {
            let st = &mut s.steps[step];
            st.hosts[idx].file_logs.push(download);
            let uploads = st.upload_logs.entry(src.host_id).or_default();
            if !uploads.iter().any(|u| u.src_path == upload.src_path) {
                uploads.push(upload);
            }
        });
        if !ok && worst != SOURCE_NOT_EXIST {
            worst = status;
        }
    }
    worst
}
