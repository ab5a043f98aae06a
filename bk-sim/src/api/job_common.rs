//! Rules every JOB API shares: scope resolution with the IAM check, error constructors with JOB's codes
//! and messages, and resolution of a `server` object to hosts of the business.

use std::collections::HashSet;

use serde_json::Value;

use super::{ApiError, Ctx, System, permission};
use crate::params::Params;
use crate::world::{Business, Host};

pub(crate) fn bad(code: i64, msg: &str) -> ApiError {
    ApiError::new(code, msg)
}

pub(crate) fn missing(name: &str) -> ApiError {
    ApiError::new(1_241_004, format!("Missing request parameter [{name}]"))
}

pub(crate) fn illegal(name: &str) -> ApiError {
    ApiError::new(1_241_005, format!("Invalid request parameter [{name}]"))
}

pub(crate) fn missing_or_illegal(name: &str) -> ApiError {
    ApiError::new(
        1_241_007,
        format!("Missing or invalid request parameter [{name}]"),
    )
}

/// Resolves the scope to a live business and checks the caller may use it.
pub(crate) fn scope<'a>(
    ctx: &'a Ctx<'_>,
    p: &Params,
    action: (&str, &str),
) -> Result<&'a Business, ApiError> {
    let biz_id = match p.str("bk_scope_type").as_deref() {
        Some("biz") => p.i64("bk_scope_id").ok().flatten(),
        Some("biz_set") => {
            let id = p.str("bk_scope_id").unwrap_or_default();
            return Err(ApiError::new(
                1_243_051,
                format!("Scope not exist: biz_set:{id}"),
            ));
        }
        Some(_) => return Err(bad(1_240_003, "Invalid bk_scope_type")),
        None => p.i64("bk_biz_id").ok().flatten(),
    };
    let Some(biz_id) = biz_id else {
        return Err(bad(1_240_003, "Invalid bk_scope_type"));
    };
    let world = &ctx.state.world;
    let biz = match world.businesses.get(&biz_id) {
        Some(b) if !b.archived => b,
        _ => {
            return Err(bad(
                1_243_049,
                "Business/Business Set not exist or archived",
            ));
        }
    };
    let user = ctx.caller.username.clone().unwrap_or_default();
    if !ctx.state.user_may_use(&user, biz.id) {
        return Err(ApiError {
            code: 9_900_403,
            message: format!(
                "User ({user}) permission not allowed, please confirm and apply permission in IAM and try again"
            ),
            permission: Some(permission(
                System::Job,
                action.0,
                action.1,
                biz.id,
                &biz.name,
            )),
        });
    }
    Ok(biz)
}

/// Resolves a `server` object (host ids, ips, topology nodes) to hosts of `biz`, deduplicated, in order.
pub(crate) fn resolve_server<'w>(
    ctx: &'w Ctx<'_>,
    biz: &Business,
    server: &Value,
) -> Result<Vec<&'w Host>, ApiError> {
    let world = &ctx.state.world;
    let mut out: Vec<&Host> = Vec::new();
    let ids: Vec<i64> = server
        .get("host_id_list")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(crate::params::as_i64).collect())
        .unwrap_or_default();
    if !ids.is_empty() {
        let unknown: Vec<String> = ids
            .iter()
            .filter(|id| world.host(**id).is_none())
            .map(i64::to_string)
            .collect();
        if !unknown.is_empty() {
            return Err(ApiError::new(
                1_243_053,
                format!("hostIds not exist in CMDB: {}", unknown.join(",")),
            ));
        }
        out.extend(ids.iter().filter_map(|id| world.host(*id)));
    } else if let Some(ips) = server.get("ip_list").and_then(Value::as_array) {
        let mut unknown = Vec::new();
        for ip in ips {
            let cloud = ip
                .get("bk_cloud_id")
                .and_then(crate::params::as_i64)
                .unwrap_or(0);
            let addr = ip
                .get("ip")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .trim();
            match world.host_by_ip(cloud, addr) {
                Some(h) => out.push(h),
                None => unknown.push(format!("{cloud}:{addr}")),
            }
        }
        if !unknown.is_empty() {
            return Err(ApiError::new(
                1_243_052,
                format!(
                    "IPs(Including BK-Net) not exist in CMDB: {}",
                    unknown.join(",")
                ),
            ));
        }
    }
    for node in server
        .get("topo_node_list")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let id = node.get("id").and_then(crate::params::as_i64).unwrap_or(0);
        let kind = node
            .get("node_type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        out.extend(world.biz_hosts(biz.id).filter(|h| {
            match kind {
                "module" => ctx.state.host_modules(h).contains(&id),
                "set" => ctx
                    .state
                    .host_modules(h)
                    .iter()
                    .any(|m| world.modules.get(m).is_some_and(|m| m.set == id)),
                "biz" => id == biz.id,
                _ => false,
            }
        }));
    }
    if out.iter().any(|h| h.biz != biz.id) {
        return Err(bad(1_244_002, "hosts not in the business in CMDB"));
    }
    let mut seen = HashSet::new();
    out.retain(|h| seen.insert(h.id));
    if out.is_empty() {
        return Err(bad(1_244_001, "Host is empty"));
    }
    Ok(out)
}
