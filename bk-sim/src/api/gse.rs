//! GSE agent status: get_agent_status (v1 via ESB, keyed `cloud:ip`) and list_agent_state (v2 via the
//! gateway, one entry per queried id that GSE knows).
//!
//! Decision: unknown hosts are omitted in both, so clients exercise their "missing means offline" path.

use serde_json::{Map, Value, json};

use super::{ApiError, ApiResult, Ctx};
use crate::params::Params;

/// `get_agent_status` (v1): `{"<cloud>:<ip>": {ip, bk_cloud_id, bk_agent_alive}}`.
pub fn get_agent_status(ctx: &Ctx<'_>, p: &Params) -> ApiResult {
    let Some(hosts) = p.array("hosts") else {
        return Err(ApiError::new(1_306_000, "hosts: This field is required."));
    };
    let mut out = Map::new();
    for h in hosts {
        let ip = h.get("ip").and_then(Value::as_str);
        let cloud = h.get("bk_cloud_id").and_then(crate::params::as_i64);
        let (Some(ip), Some(cloud)) = (ip, cloud) else {
            return Err(ApiError::new(
                1_306_000,
                "hosts: each item needs ip and bk_cloud_id",
            ));
        };
        if let Some(host) = ctx.state.world.host_by_ip(cloud, ip) {
            let alive = i32::from(ctx.state.agent_alive(host.id));
            out.insert(
                format!("{cloud}:{ip}"),
                json!({"ip": ip, "bk_cloud_id": cloud, "bk_agent_alive": alive}),
            );
        }
    }
    Ok(Value::Object(out))
}

/// `list_agent_state` (v2): status_code 2 = running, -2 = not found (agent down).
pub fn list_agent_state(ctx: &Ctx<'_>, p: &Params) -> ApiResult {
    let Some(ids) = p.array("agent_id_list") else {
        return Err(ApiError::new(1_000_001, "agent_id_list is required"));
    };
    let w = &ctx.state.world;
    let mut out = Vec::new();
    for id in ids.iter().filter_map(Value::as_str) {
        let host = match id.split_once(':') {
            Some((cloud, ip)) => cloud.parse().ok().and_then(|c| w.host_by_ip(c, ip)),
            None => w.host_by_agent_id(id),
        };
        if let Some(h) = host {
            let status = if ctx.state.agent_alive(h.id) { 2 } else { -2 };
            out.push(json!({"bk_agent_id": id, "bk_cloud_id": h.cloud_id, "version": "2.1.6", "run_mode": 1, "status_code": status}));
        }
    }
    if out.is_empty() && !ids.is_empty() {
        return Err(ApiError::new(1_011_003, "agent not found"));
    }
    Ok(Value::Array(out))
}
