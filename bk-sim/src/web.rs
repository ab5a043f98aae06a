//! The JOB web page `/api_execute/{job_instance_id}`: plain HTML with status, per-host results and logs,
//! so the links our records carry open something in a demo.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, Redirect};
use axum::routing::get;

use crate::state::AppState;

/// Web routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api_execute/{id}", get(page))
        .route("/api_execute_step/{id}/{step}", get(step_link))
}

/// JOB's step link resolves to the job page.
async fn step_link(Path((id, _step)): Path<(String, String)>) -> Redirect {
    Redirect::temporary(&format!("/api_execute/{id}"))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn status_name(s: i32) -> &'static str {
    match s {
        1 => "pending",
        2 => "running",
        3 => "success",
        4 => "failed",
        6 => "failed (ignored)",
        10 => "stopping",
        11 => "terminated",
        _ => "other",
    }
}

fn host_log(h: &crate::jobs::HostRun) -> String {
    if h.file_logs.is_empty() {
        return String::from_utf8_lossy(&h.log).into_owned();
    }
    h.file_logs
        .iter()
        .map(|l| format!("{}\n", l.log_content))
        .collect()
}

async fn page(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> (StatusCode, Html<String>) {
    let Some(job) = id.parse::<i64>().ok().and_then(|id| st.jobs.get(id)) else {
        return (
            StatusCode::NOT_FOUND,
            Html(format!(
                "<!doctype html><title>not found</title><p>job instance {} not found</p>",
                esc(&id)
            )),
        );
    };
    let s = crate::faults::lock(&job.state);
    let mut out = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{name}</title></head><body>\
         <h1>{name}</h1><p>job instance {id} · business {biz} · operator {op} · status {status} ({sname})</p>",
        name = esc(&job.name),
        id = job.id,
        biz = job.biz,
        op = esc(&job.operator),
        status = s.status,
        sname = status_name(s.status),
    );
    for step in &s.steps {
        out.push_str(&format!(
            "<h2>step {} · {} · status {} ({})</h2><table border=\"1\"><tr><th>host id</th><th>ip</th><th>status</th><th>exit code</th><th>log</th></tr>",
            step.id,
            esc(&step.name),
            step.status,
            status_name(step.status)
        ));
        for h in &step.hosts {
            out.push_str(&format!(
                "<tr><td>{}</td><td>{}:{}</td><td>{}</td><td>{}</td><td><pre>{}</pre></td></tr>",
                h.host_id,
                h.cloud_id,
                esc(&h.ip),
                h.status,
                h.exit_code,
                esc(&host_log(h))
            ));
        }
        out.push_str("</table>");
    }
    out.push_str("</body></html>\n");
    (StatusCode::OK, Html(out))
}
