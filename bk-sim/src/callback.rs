//! The completion callback: POST JSON to `callback_url`, then one legacy form-encoded retry, as JOB does.

use serde::Serialize;
use serde_json::json;
use tracing::{info, warn};

use crate::faults::lock;
use crate::jobs::JobInstance;
use crate::state::AppState;

/// One callback attempt, kept for the admin API.
#[derive(Debug, Clone, Serialize)]
pub struct CallbackRecord {
    pub job_instance_id: i64,
    pub url: String,
    /// `json` or `form`.
    pub encoding: &'static str,
    /// HTTP status, `None` when the request failed.
    pub http_status: Option<u16>,
}

/// Sends the callback for a finished job.
pub async fn send(state: &AppState, job: &JobInstance, url: &str) {
    let (status, steps): (i32, Vec<serde_json::Value>) = job.with(|snap| {
        let steps = snap
            .steps
            .iter()
            .map(|s| json!({"step_instance_id": s.id, "status": s.status}))
            .collect();
        (snap.status, steps)
    });
    let body = json!({"job_instance_id": job.id, "status": status, "step_instance_list": steps});
    let timeout = std::time::Duration::from_millis(state.settings.callback_timeout_ms);
    let first = state
        .http
        .post(url)
        .timeout(timeout)
        .json(&body)
        .send()
        .await;
    let http_status = first.as_ref().ok().map(|r| r.status().as_u16());
    record(state, job.id, url, "json", http_status);
    if http_status == Some(200) {
        info!(job_instance_id = job.id, "callback delivered");
        return;
    }
    let form = [
        ("job_instance_id", job.id.to_string()),
        ("status", status.to_string()),
        (
            "step_instance_list",
            serde_json::Value::Array(steps).to_string(),
        ),
    ];
    let second = state
        .http
        .post(url)
        .timeout(timeout)
        .form(&form)
        .send()
        .await;
    let http_status = second.as_ref().ok().map(|r| r.status().as_u16());
    record(state, job.id, url, "form", http_status);
    if http_status != Some(200) {
        warn!(job_instance_id = job.id, url, "callback failed twice");
    }
}

fn record(
    state: &AppState,
    job_instance_id: i64,
    url: &str,
    encoding: &'static str,
    http_status: Option<u16>,
) {
    lock(&state.callbacks).push(CallbackRecord {
        job_instance_id,
        url: url.to_string(),
        encoding,
        http_status,
    });
}
