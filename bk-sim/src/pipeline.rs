//! One BlueKing call end to end: parameters, authentication, faults, dispatch, envelope, request log.
//!
//! Decision: faults are applied after authentication (the gateway's rate limits are per app) and before
//! the handler, so a refused call never touches jobs; every call, refused or not, is logged.

use std::sync::Arc;

use axum::http::Method;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use crate::api::{self, ApiError, Caller, Ctx, System};
use crate::envelope::{self, Answer, Transport, esb_error, gateway_error};
use crate::faults::{InjectedError, Reject};
use crate::params::{CREDENTIAL_KEYS, Params};
use crate::reqlog::RequestRecord;
use crate::state::AppState;
use crate::transport::{Incoming, query_pairs};

/// Parses the parameters: query string for GET, JSON object body otherwise. ESB, like the real one, reads
/// a POST body that does not start with `{` as form data.
fn parse_params(inc: &Incoming) -> Result<Map<String, Value>, ()> {
    let mut map = Map::new();
    let body = inc.body.trim_ascii_start();
    if inc.method != Method::GET
        && inc.transport == Transport::Esb
        && !body.is_empty()
        && body[0] != b'{'
    {
        for (k, v) in url::form_urlencoded::parse(body) {
            map.insert(k.into_owned(), Value::String(v.into_owned()));
        }
    } else if inc.method != Method::GET && !body.is_empty() {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => map = m,
            _ => return Err(()),
        }
    }
    for (k, v) in query_pairs(inc.query.as_deref()) {
        map.entry(k).or_insert(Value::String(v));
    }
    Ok(map)
}

/// The fields ESB's hand-written CMDB components pass on; everything else they drop, even when
/// CMDB's docs list it (e.g. search_biz_inst_topo's `with_default`, search_set's `filter`).
/// Other components forward the whole body.
fn esb_forwarded(api: &str) -> Option<&'static [&'static str]> {
    Some(match api {
        "search_business" => &[
            "bk_supplier_account",
            "fields",
            "condition",
            "biz_property_filter",
            "page",
        ],
        "search_set" => &["bk_biz_id", "fields", "condition", "page"],
        "search_module" => &["bk_biz_id", "bk_set_id", "fields", "condition", "page"],
        "search_biz_inst_topo" => &["bk_biz_id", "level"],
        "get_host_base_info" => &["bk_host_id"],
        _ => return None,
    })
}

fn bad_body(system: System) -> ApiError {
    match system {
        System::Job => ApiError::new(1_240_003, "Bad Request"),
        System::Cmdb => ApiError::new(1_199_000, "Deserializing JSON data failed"),
        System::Gse | System::Login => ApiError::new(1_000_001, "request body is not valid json"),
    }
}

/// Serves one call end to end and logs it.
///
/// The work runs in its own task, so a caller that gives up (a client timeout closing the
/// connection) does not cancel it: like a real BlueKing, a launch that arrived is carried out
/// and logged even if nobody reads the answer.
pub(crate) async fn handle(st: Arc<AppState>, inc: Incoming) -> Response {
    match tokio::spawn(serve(st, inc)).await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(error = %e, "request handler panicked");
            axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn serve(st: Arc<AppState>, inc: Incoming) -> Response {
    let request_id = uuid::Uuid::new_v4().simple().to_string();
    let mut caller: Option<Caller> = None;
    let raw = parse_params(&inc);
    let answer = process(&st, &inc, raw.clone(), &request_id, &mut caller).await;
    let answer = if inc.transport == Transport::Gateway {
        envelope::with_gateway_request_id(answer)
    } else {
        answer
    };
    let params = raw.map(|mut m| {
        for k in CREDENTIAL_KEYS {
            m.remove(*k);
        }
        for (k, v) in &inc.path_params {
            m.insert((*k).to_string(), Value::String(v.clone()));
        }
        Value::Object(m)
    });
    st.requests.push(RequestRecord {
        seq: 0,
        at: chrono::Utc::now().to_rfc3339(),
        transport: inc.transport.as_str(),
        system: inc.system.map_or("unknown", System::as_str),
        api: inc.api.clone(),
        method: inc.method.to_string(),
        app_code: caller.as_ref().map(|c| c.app_code.clone()),
        username: caller.and_then(|c| c.username),
        params: params.unwrap_or(Value::Null),
        http_status: answer.status.as_u16(),
        code: answer.code,
    });
    tracing::info!(transport = inc.transport.as_str(), api = %inc.api, status = answer.status.as_u16(), code = answer.code, request_id, "bk call");
    answer.response
}

async fn process(
    st: &Arc<AppState>,
    inc: &Incoming,
    raw: Result<Map<String, Value>, ()>,
    request_id: &str,
    caller_out: &mut Option<Caller>,
) -> Answer {
    let esb = inc.transport == Transport::Esb;
    let (system, true) = (inc.system, inc.routed) else {
        return if esb {
            esb_error(
                1_306_404,
                &format!("Component [{}] not found", inc.api),
                request_id,
            )
        } else {
            gateway_error(404, 1_640_401, "API_NOT_FOUND", "API not found")
        };
    };
    let Some(system) = system else {
        return gateway_error(404, 1_640_401, "API_NOT_FOUND", "API not found");
    };
    let empty = Map::new();
    let caller = if esb {
        match crate::auth::esb(
            &st.world,
            &st.sessions,
            &inc.headers,
            raw.as_ref().unwrap_or(&empty),
            request_id,
        ) {
            Ok(c) => c,
            Err(a) => return *a,
        }
    } else {
        let (gw, verify_user) = match system {
            System::Job => ("bk-job", !inc.system_resource),
            System::Cmdb => ("bk-cmdb", false),
            System::Gse => ("bk-gse", false),
            System::Login => ("bk-login", false),
        };
        let mut c =
            match crate::auth::gateway(&st.world, &st.sessions, &inc.headers, gw, verify_user) {
                Ok(c) => c,
                Err(a) => return *a,
            };
        if inc.system_resource {
            match inc
                .headers
                .get("x-bk-username")
                .and_then(|v| v.to_str().ok())
                .filter(|s| !s.is_empty())
            {
                Some(u) => c.username = Some(u.to_string()),
                None => return envelope::job_missing_user(request_id),
            }
        }
        c
    };
    *caller_out = Some(caller.clone());
    let decision = st.faults.decide(&inc.api, &caller.app_code);
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    match decision.reject {
        Some(Reject::RateLimited | Reject::Injected(InjectedError::RateLimited)) if esb => {
            return esb_error(1_306_429, "Access frequency limit", request_id);
        }
        Some(Reject::RateLimited | Reject::Injected(InjectedError::RateLimited)) => {
            return envelope::gateway_rate_limited();
        }
        Some(Reject::Injected(InjectedError::Http { status })) if esb => {
            return envelope::proxy_error(status);
        }
        Some(Reject::Injected(InjectedError::Http { status })) => {
            return envelope::gateway_upstream_error(status);
        }
        Some(Reject::Injected(InjectedError::Code { code, message })) => {
            return envelope::render(
                system,
                inc.transport,
                &Err(ApiError::new(code, message)),
                request_id,
            );
        }
        None => {}
    }
    let lang_en = inc
        .headers
        .get("blueking-language")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("en"));
    if system == System::Login {
        let token = query_pairs(inc.query.as_deref())
            .into_iter()
            .find(|(k, _)| k == "bk_token")
            .map(|(_, v)| v);
        let (transport, api) = (inc.transport, inc.api.as_str());
        return api::login::answer(
            st,
            transport,
            api,
            &caller,
            token.as_deref(),
            lang_en,
            request_id,
        );
    }
    let Ok(mut map) = raw else {
        return envelope::render(system, inc.transport, &Err(bad_body(system)), request_id);
    };
    for k in CREDENTIAL_KEYS {
        map.remove(*k);
    }
    let mut params = Params(map);
    if esb && system == System::Cmdb {
        let var = if inc.api == "get_host_base_info" {
            "bk_host_id"
        } else {
            "bk_biz_id"
        };
        let no_path_ids = [
            "search_business",
            "list_hosts_without_biz",
            "find_host_topo_relation",
        ];
        if !no_path_ids.contains(&inc.api.as_str()) && !params.has(var) {
            return esb_error(1_306_406, &format!("param {var} is required"), request_id);
        }
        // ESB's form types: `fields` a list; `condition`, `biz_property_filter`, `page` objects.
        if params.get("fields").is_some_and(|v| !v.is_array()) {
            return esb_error(
                1_306_000,
                "Parameters error [fields]: must be a list",
                request_id,
            );
        }
        for key in ["condition", "biz_property_filter", "page"] {
            if params.get(key).is_some_and(|v| !v.is_object()) {
                let msg = format!("Parameters error [{key}]: must be an object");
                return esb_error(1_306_000, &msg, request_id);
            }
        }
        if let Some(keep) = esb_forwarded(&inc.api) {
            params.0.retain(|k, _| keep.contains(&k.as_str()));
        }
    }
    for (k, v) in &inc.path_params {
        let value = v
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(v.clone()));
        params.set(k, value);
    }
    let ctx = Ctx {
        state: st,
        caller: &caller,
        lang_en,
    };
    let outcome = api::dispatch(system, &inc.api, &ctx, &params).await;
    envelope::render(system, inc.transport, &outcome, request_id)
}
