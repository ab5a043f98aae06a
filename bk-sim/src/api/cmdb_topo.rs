//! CMDB topology and cross-business queries: search_set, search_module, list_hosts_without_biz and
//! find_host_topo_relation.
//!
//! Decision: legacy `condition` objects support equality plus `$eq`, `$ne`, `$in` and `$regex`
//! (case-insensitive substring); other Mongo operators match nothing.

use serde_json::{Map, Value, json};

use super::cmdb::{fields, page, params_invalid, project};
use super::{ApiError, ApiResult, Ctx, querybuilder};
use crate::params::Params;

fn legacy(cond: Option<&Map<String, Value>>, obj: &Map<String, Value>) -> bool {
    cond.into_iter().flatten().all(|(k, want)| {
        let have = obj.get(k).cloned().unwrap_or(Value::Null);
        match want.as_object() {
            Some(op) if op.contains_key("$eq") => op.get("$eq") == Some(&have),
            Some(op) if op.contains_key("$ne") => op.get("$ne") != Some(&have),
            Some(op) if op.contains_key("$in") => op
                .get("$in")
                .and_then(Value::as_array)
                .is_some_and(|a| a.contains(&have)),
            Some(op) if op.contains_key("$regex") => {
                match (have.as_str(), op.get("$regex").and_then(Value::as_str)) {
                    (Some(h), Some(w)) => h.to_lowercase().contains(&w.to_lowercase()),
                    _ => false,
                }
            }
            Some(_) => false,
            None => have == *want,
        }
    })
}

fn int_path(p: &Params, key: &str) -> Result<i64, ApiError> {
    p.i64(key)
        .ok()
        .flatten()
        .ok_or_else(|| ApiError::new(1_199_009, format!("'{key}' parameters must be integral")))
}

fn page_of(objs: Vec<Map<String, Value>>, p: &Params, add_default: bool) -> Value {
    let (start, limit) = page(p);
    let mut f = fields(p);
    if add_default && !f.is_empty() && !f.iter().any(|x| x == "default") {
        f.push("default".to_string());
    }
    let take = if limit <= 0 {
        usize::MAX
    } else {
        limit as usize
    };
    let info: Vec<Value> = objs
        .iter()
        .skip(start.max(0) as usize)
        .take(take)
        .map(|o| project(o, &f))
        .collect();
    json!({"count": objs.len(), "info": info})
}

/// `search_set`: sets of the path business (idle set included), `condition` xor `filter`.
pub fn search_set(ctx: &Ctx<'_>, p: &Params) -> ApiResult {
    let biz = int_path(p, "bk_biz_id")?;
    let cond = p.object("condition");
    let filter = p.get("filter");
    if cond.is_some() && filter.is_some() {
        return Err(ApiError::new(
            1_199_011,
            "condition and filter cannot be set at the same time",
        ));
    }
    if let Some(f) = filter {
        querybuilder::validate(f, "filter")
            .map_err(|e| ApiError::new(1_199_011, format!("filter: {}", e.message)))?;
    }
    let w = &ctx.state.world;
    let sets: Vec<Map<String, Value>> = w
        .businesses
        .get(&biz)
        .into_iter()
        .flat_map(|b| b.set_ids.iter().filter_map(|id| w.sets.get(id)))
        .map(super::cmdb_hosts::set_json)
        .filter(|s| legacy(cond, s) && filter.is_none_or(|f| querybuilder::matches(f, s)))
        .collect();
    Ok(page_of(sets, p, true))
}

/// `search_module`: modules of the path business, of one set when `bk_set_id` > 0.
pub fn search_module(ctx: &Ctx<'_>, p: &Params) -> ApiResult {
    let biz = int_path(p, "bk_biz_id")?;
    let set = p.i64("bk_set_id").ok().flatten().unwrap_or(0);
    let cond = p.object("condition");
    let w = &ctx.state.world;
    let modules: Vec<Map<String, Value>> = w
        .businesses
        .get(&biz)
        .into_iter()
        .flat_map(|b| b.set_ids.iter().filter_map(|id| w.sets.get(id)))
        .filter(|s| set <= 0 || s.id == set)
        .flat_map(|s| s.module_ids.iter().filter_map(|m| w.modules.get(m)))
        .map(super::cmdb_hosts::module_json)
        .filter(|m| legacy(cond, m))
        .collect();
    Ok(page_of(modules, p, true))
}

/// `list_hosts_without_biz`: every host of every business; only `host_property_filter` narrows.
pub fn list_hosts_without_biz(ctx: &Ctx<'_>, p: &Params) -> ApiResult {
    let (start, limit) = page(p);
    if start < 0 || !(0..=1000).contains(&limit) {
        return Err(params_invalid("page.limit"));
    }
    let filter = p.get("host_property_filter");
    if let Some(f) = filter {
        querybuilder::validate(f, "host_property_filter")?;
    }
    let hosts: Vec<Map<String, Value>> = ctx
        .state
        .world
        .hosts
        .iter()
        .filter(|h| filter.is_none_or(|f| querybuilder::matches(f, &h.cmdb)))
        .map(|h| h.cmdb.clone())
        .collect();
    Ok(page_of(hosts, p, false))
}

fn ids(p: &Params, key: &str) -> Vec<i64> {
    p.array(key)
        .map(|a| a.iter().filter_map(crate::params::as_i64).collect())
        .unwrap_or_default()
}

/// `find_host_topo_relation`: one row per (host, module) pair.
pub fn find_host_topo_relation(ctx: &Ctx<'_>, p: &Params) -> ApiResult {
    let biz = p.i64("bk_biz_id").ok().flatten().unwrap_or(0);
    let (set_ids, module_ids, host_ids) = (
        ids(p, "bk_set_ids"),
        ids(p, "bk_module_ids"),
        ids(p, "bk_host_ids"),
    );
    if biz == 0 && set_ids.is_empty() && module_ids.is_empty() && host_ids.is_empty() {
        return Err(ApiError::new(1_199_005, "The input is empty"));
    }
    for (key, list, max) in [
        ("bk_set_ids", &set_ids, 200),
        ("bk_module_ids", &module_ids, 500),
        ("bk_host_ids", &host_ids, 500),
    ] {
        if list.len() > max {
            return Err(ApiError::new(
                1_199_035,
                format!("{key} exceed the limit {max}"),
            ));
        }
    }
    let (start, limit) = page(p);
    if start < 0 || limit <= 0 || (limit > 1000 && limit != 999_999_999) {
        return Err(ApiError::new(
            1_199_059,
            "page limit is exceeded. suggestion 200",
        ));
    }
    let w = &ctx.state.world;
    let mut rows = Vec::new();
    for h in &w.hosts {
        for m in h.modules.iter().filter_map(|m| w.modules.get(m)) {
            let keep = (biz == 0 || m.biz == biz)
                && (set_ids.is_empty() || set_ids.contains(&m.set))
                && (module_ids.is_empty() || module_ids.contains(&m.id))
                && (host_ids.is_empty() || host_ids.contains(&h.id));
            if keep {
                rows.push(json!({"bk_biz_id": m.biz, "bk_host_id": h.id, "bk_module_id": m.id, "bk_set_id": m.set, "bk_supplier_account": "0"}));
            }
        }
    }
    let count = rows.len();
    let data: Vec<Value> = rows
        .into_iter()
        .skip(start as usize)
        .take(limit as usize)
        .collect();
    Ok(json!({"count": count, "data": data, "page": {"start": start, "limit": limit}}))
}
