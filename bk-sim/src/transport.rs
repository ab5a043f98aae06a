//! The two front doors' URLs: ESB components and gateway resources mapped to (system, API), with the
//! gateway's method and stage checks. Each route builds an [`Incoming`] for `pipeline::handle`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use axum::routing::any;

use crate::api::{self, System};
use crate::envelope::Transport;
use crate::state::AppState;

/// Routes of both front doors.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/c/compapi/v2/{system}/{api}/", any(esb))
        .route("/api/c/compapi/v2/{system}/{api}", any(esb))
        .route(
            "/api/bk-job/{stage}/api/v3/system/{api}",
            any(job_gateway_system),
        )
        .route("/api/bk-job/{stage}/api/v3/{api}", any(job_gateway))
        .route("/api/bk-cmdb/{stage}/{*rest}", any(cmdb_gateway))
        .route("/api/bk-gse/{stage}/{*rest}", any(gse_gateway))
        .route(
            "/api/bk-login/{stage}/login/api/v3/open/bk-tokens/{api}/",
            any(login_gateway),
        )
}

/// Ids from the URL, by parameter name.
pub(crate) type PathParams = Vec<(&'static str, String)>;

/// One inbound BlueKing call.
pub(crate) struct Incoming {
    pub(crate) transport: Transport,
    pub(crate) system: Option<System>,
    pub(crate) api: String,
    pub(crate) method: Method,
    pub(crate) headers: HeaderMap,
    pub(crate) query: Option<String>,
    pub(crate) body: Bytes,
    /// Ids taken from the gateway URL; they override body copies.
    pub(crate) path_params: PathParams,
    /// JOB `/api/v3/system/<api>`: operator from `X-Bk-Username`.
    pub(crate) system_resource: bool,
    /// The URL matched the gateway's stage and method.
    pub(crate) routed: bool,
}

pub(crate) fn query_pairs(q: Option<&str>) -> Vec<(String, String)> {
    q.map(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect()
    })
    .unwrap_or_default()
}

async fn esb(
    State(st): State<Arc<AppState>>,
    Path((system, api)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let sys = match system.as_str() {
        "jobv3" if api::JOB_APIS.contains(&api.as_str()) => Some(System::Job),
        "cc" if api::CMDB_APIS.contains(&api.as_str()) => Some(System::Cmdb),
        "gse" if api == "get_agent_status" => Some(System::Gse),
        "bk_login" if api == "get_user" => Some(System::Login),
        _ => None,
    };
    let routed = sys.is_some();
    let inc = Incoming {
        transport: Transport::Esb,
        system: sys,
        api,
        method,
        headers,
        query,
        body,
        path_params: vec![],
        system_resource: false,
        routed,
    };
    crate::pipeline::handle(st, inc).await
}

async fn job_gateway(
    State(st): State<Arc<AppState>>,
    Path((stage, api)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    job_gateway_inner(st, stage, api, method, headers, query, body, false).await
}

async fn job_gateway_system(
    State(st): State<Arc<AppState>>,
    Path((stage, api)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    job_gateway_inner(st, stage, api, method, headers, query, body, true).await
}

#[allow(clippy::too_many_arguments)]
async fn job_gateway_inner(
    st: Arc<AppState>,
    stage: String,
    api: String,
    method: Method,
    headers: HeaderMap,
    query: Option<String>,
    body: Bytes,
    system_resource: bool,
) -> Response {
    let want = if api::JOB_GET_APIS.contains(&api.as_str()) {
        Method::GET
    } else {
        Method::POST
    };
    let routed =
        stage == st.settings.stage && api::JOB_APIS.contains(&api.as_str()) && method == want;
    let inc = Incoming {
        transport: Transport::Gateway,
        system: Some(System::Job),
        api,
        method,
        headers,
        query,
        body,
        path_params: vec![],
        system_resource,
        routed,
    };
    crate::pipeline::handle(st, inc).await
}

async fn cmdb_gateway(
    State(st): State<Arc<AppState>>,
    Path((stage, rest)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let segs: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    let found: Option<(&str, Method, PathParams)> = match segs.as_slice() {
        ["api", "v3", "biz", "search", _] => Some(("search_business", Method::POST, vec![])),
        ["api", "v3", "hosts", "app", biz, "list_hosts"] => Some((
            "list_biz_hosts",
            Method::POST,
            vec![("bk_biz_id", biz.to_string())],
        )),
        ["api", "v3", "hosts", "app", biz, "list_hosts_topo"] => Some((
            "list_biz_hosts_topo",
            Method::POST,
            vec![("bk_biz_id", biz.to_string())],
        )),
        ["api", "v3", "find", "topoinst", "biz", biz] => Some((
            "search_biz_inst_topo",
            Method::POST,
            vec![("bk_biz_id", biz.to_string())],
        )),
        ["api", "v3", "findmany", "hosts", "by_topo", "biz", biz] => Some((
            "find_host_by_topo",
            Method::POST,
            vec![("bk_biz_id", biz.to_string())],
        )),
        ["api", "v3", "set", "search", _, biz] => Some((
            "search_set",
            Method::POST,
            vec![("bk_biz_id", biz.to_string())],
        )),
        ["api", "v3", "module", "search", _, biz, set] => Some((
            "search_module",
            Method::POST,
            vec![
                ("bk_biz_id", biz.to_string()),
                ("bk_set_id", set.to_string()),
            ],
        )),
        ["api", "v3", "hosts", "list_hosts_without_app"] => {
            Some(("list_hosts_without_biz", Method::POST, vec![]))
        }
        ["api", "v3", "host", "topo", "relation", "read"] => {
            Some(("find_host_topo_relation", Method::POST, vec![]))
        }
        ["api", "v3", "hosts", _, host] => Some((
            "get_host_base_info",
            Method::GET,
            vec![("bk_host_id", host.to_string())],
        )),
        _ => None,
    };
    let (api, routed, path_params) = match found {
        Some((api, m, pp)) => (
            api.to_string(),
            m == method && stage == st.settings.stage,
            pp,
        ),
        None => (format!("/{rest}"), false, vec![]),
    };
    let inc = Incoming {
        transport: Transport::Gateway,
        system: Some(System::Cmdb),
        api,
        method,
        headers,
        query,
        body,
        path_params,
        system_resource: false,
        routed,
    };
    crate::pipeline::handle(st, inc).await
}

async fn gse_gateway(
    State(st): State<Arc<AppState>>,
    Path((stage, rest)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let known = rest.trim_end_matches('/') == "api/v2/cluster/list_agent_state";
    let routed = known && method == Method::POST && stage == st.settings.stage;
    let api = if known {
        "list_agent_state".to_string()
    } else {
        format!("/{rest}")
    };
    let inc = Incoming {
        transport: Transport::Gateway,
        system: Some(System::Gse),
        api,
        method,
        headers,
        query,
        body,
        path_params: vec![],
        system_resource: false,
        routed,
    };
    crate::pipeline::handle(st, inc).await
}

async fn login_gateway(
    State(st): State<Arc<AppState>>,
    Path((stage, api)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let routed = api::login::GATEWAY_APIS.contains(&api.as_str())
        && method == Method::GET
        && stage == st.settings.stage;
    let inc = Incoming {
        transport: Transport::Gateway,
        system: Some(System::Login),
        api,
        method,
        headers,
        query,
        body,
        path_params: vec![],
        system_resource: false,
        routed,
    };
    crate::pipeline::handle(st, inc).await
}
