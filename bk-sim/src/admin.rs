//! The admin API under `/_sim`: request log and counts, faults, agent switches, host moves
//! between modules, host trees, jobs, callbacks, login expiry, reset. Not a BlueKing path, never logged
//! as a BlueKing call.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::faults::{ApiFault, FaultSpec, HostFault, HostFaultKind, lock};
use crate::state::AppState;

type St = State<Arc<AppState>>;

/// Admin routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/_sim/health",
            get(|| async { Json(json!({"status": "ok"})) }),
        )
        .route("/_sim/requests", get(requests).delete(clear_requests))
        .route("/_sim/requests/counts", get(counts))
        .route("/_sim/reset", post(reset))
        .route("/_sim/faults", get(faults).put(replace_faults))
        .route(
            "/_sim/faults/apis/{api}",
            put(set_api_fault).delete(clear_api_fault),
        )
        .route(
            "/_sim/faults/hosts/{host_id}",
            put(set_host_fault).delete(clear_host_fault),
        )
        .route("/_sim/hosts/{host_id}", get(host))
        .route("/_sim/hosts/{host_id}/agent", put(set_agent))
        .route("/_sim/hosts/{host_id}/modules", put(move_host))
        .route("/_sim/jobs", get(jobs))
        .route("/_sim/jobs/{id}", get(job))
        .route("/_sim/callbacks", get(callbacks))
        .route("/_sim/login/tokens/{token}/expire", post(expire_token))
        .route(
            "/_sim/users/{user}/businesses/{biz}",
            put(grant).delete(revoke),
        )
}

#[derive(Deserialize)]
struct Filter {
    api: Option<String>,
    transport: Option<String>,
    /// Only records with a larger `seq`.
    #[serde(default)]
    since: u64,
}

async fn requests(State(st): St, Query(f): Query<Filter>) -> Json<Value> {
    let list = st
        .requests
        .list(f.since, f.api.as_deref(), f.transport.as_deref());
    Json(json!({"count": list.len(), "requests": list}))
}

async fn clear_requests(State(st): St) -> StatusCode {
    st.requests.clear();
    StatusCode::NO_CONTENT
}

async fn counts(State(st): St) -> Json<Value> {
    let (total, by_api) = st.requests.counts();
    Json(json!({"total": total, "by_api": by_api}))
}

async fn reset(State(st): St) -> StatusCode {
    st.requests.clear();
    lock(&st.callbacks).clear();
    st.faults.replace(st.settings.faults.clone());
    st.reset_agents();
    st.reset_moves();
    st.reset_grants();
    st.sessions.reset();
    StatusCode::NO_CONTENT
}

/// Logs a world user out: its `bk_token` fails every API from now on (404 for a token the world lacks).
async fn expire_token(State(st): St, Path(token): Path<String>) -> StatusCode {
    if st.sessions.expire(&st.world, &token) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

async fn faults(State(st): St) -> Json<FaultSpec> {
    Json(st.faults.spec())
}

async fn replace_faults(State(st): St, Json(spec): Json<FaultSpec>) -> StatusCode {
    st.faults.replace(spec);
    StatusCode::NO_CONTENT
}

async fn set_api_fault(
    State(st): St,
    Path(api): Path<String>,
    Json(f): Json<ApiFault>,
) -> StatusCode {
    st.faults.set_api(&api, Some(f));
    StatusCode::NO_CONTENT
}

async fn clear_api_fault(State(st): St, Path(api): Path<String>) -> StatusCode {
    st.faults.set_api(&api, None);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HostFaultBody {
    kind: HostFaultKind,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    size_bytes: Option<u64>,
}

async fn set_host_fault(
    State(st): St,
    Path(host_id): Path<i64>,
    Json(b): Json<HostFaultBody>,
) -> StatusCode {
    let HostFaultBody {
        kind,
        path,
        size_bytes,
    } = b;
    st.faults.set_host(HostFault {
        host_id,
        kind,
        path,
        size_bytes,
    });
    StatusCode::NO_CONTENT
}

async fn clear_host_fault(State(st): St, Path(host_id): Path<i64>) -> StatusCode {
    st.faults.clear_host(host_id);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModulesBody {
    bk_module_ids: Vec<i64>,
}

/// Moves a host to modules of its own business: 404 for an unknown host, 400 for no module or
/// a module of another business.
async fn move_host(
    State(st): St,
    Path(host_id): Path<i64>,
    Json(b): Json<ModulesBody>,
) -> StatusCode {
    let Some(host) = st.world.host(host_id) else {
        return StatusCode::NOT_FOUND;
    };
    let in_biz = |m: &i64| st.world.modules.get(m).is_some_and(|m| m.biz == host.biz);
    if b.bk_module_ids.is_empty() || !b.bk_module_ids.iter().all(in_biz) {
        return StatusCode::BAD_REQUEST;
    }
    st.move_host(host_id, b.bk_module_ids);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct AgentBody {
    alive: bool,
}

/// Gives `user` permission on business `biz` from now on (204; 404 for an unknown business).
async fn grant(State(st): St, Path((user, biz)): Path<(String, i64)>) -> StatusCode {
    set_grant(&st, &user, biz, true)
}

/// Takes `user`'s permission on business `biz` away from now on, as an IAM admin would.
async fn revoke(State(st): St, Path((user, biz)): Path<(String, i64)>) -> StatusCode {
    set_grant(&st, &user, biz, false)
}

fn set_grant(st: &AppState, user: &str, biz: i64, granted: bool) -> StatusCode {
    if !st.world.businesses.contains_key(&biz) {
        return StatusCode::NOT_FOUND;
    }
    st.set_grant(user, biz, granted);
    StatusCode::NO_CONTENT
}

async fn set_agent(
    State(st): St,
    Path(host_id): Path<i64>,
    Json(b): Json<AgentBody>,
) -> StatusCode {
    if st.world.host(host_id).is_none() {
        return StatusCode::NOT_FOUND;
    }
    st.set_agent(host_id, b.alive);
    StatusCode::NO_CONTENT
}

async fn host(
    State(st): St,
    Path(host_id): Path<i64>,
) -> Result<Json<Value>, (StatusCode, String)> {
    let Some(h) = st.world.host(host_id) else {
        return Err((StatusCode::NOT_FOUND, format!("host {host_id} not found")));
    };
    let root = st
        .host_root(host_id)
        .await
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(Json(json!({
        "bk_host_id": h.id, "ip": h.ip, "bk_cloud_id": h.cloud_id, "name": h.name, "bk_biz_id": h.biz,
        "agent_alive": st.agent_alive(h.id), "root": root,
    })))
}

fn job_json(j: &crate::jobs::JobInstance) -> Value {
    let s = lock(&j.state);
    let steps: Vec<Value> = s
        .steps
        .iter()
        .map(|st| {
            let hosts: Vec<Value> = st
                .hosts
                .iter()
                .map(|h| json!({"bk_host_id": h.host_id, "status": h.status, "exit_code": h.exit_code, "log_bytes": h.log.len(), "log_truncated": h.log_truncated}))
                .collect();
            json!({"step_instance_id": st.id, "name": st.name, "status": st.status, "hosts": hosts})
        })
        .collect();
    json!({"job_instance_id": j.id, "name": j.name, "bk_biz_id": j.biz, "operator": j.operator, "app_code": j.app_code,
        "status": s.status, "status_history": s.history, "callback_url": j.callback_url, "steps": steps})
}

async fn jobs(State(st): St) -> Json<Value> {
    let list: Vec<Value> = st
        .jobs
        .all()
        .iter()
        .map(|j| json!({"job_instance_id": j.id, "name": j.name, "status": j.with(|s| s.status)}))
        .collect();
    Json(json!({"count": list.len(), "jobs": list}))
}

async fn job(State(st): St, Path(id): Path<i64>) -> Result<Json<Value>, StatusCode> {
    st.jobs
        .get(id)
        .map(|j| Json(job_json(&j)))
        .ok_or(StatusCode::NOT_FOUND)
}

async fn callbacks(State(st): St) -> Json<Value> {
    Json(json!({"callbacks": lock(&st.callbacks).clone()}))
}
