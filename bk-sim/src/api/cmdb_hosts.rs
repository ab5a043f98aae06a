//! CMDB host queries of one business: list_biz_hosts, list_biz_hosts_topo, find_host_by_topo, with each
//! API's own paging rules and error codes (they differ; see docs/blueking.md, "Limits").

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::cmdb::{authorized_biz, biz_id, fields, page, params_invalid, project};
use super::{ApiError, ApiResult, Ctx, querybuilder};
use crate::params::Params;
use crate::world::{Host, Module, SetNode};

pub(crate) fn set_json(s: &SetNode) -> Map<String, Value> {
    let v = json!({"bk_set_id": s.id, "bk_set_name": s.name, "bk_biz_id": s.biz, "bk_parent_id": s.biz,
        "bk_set_env": s.env, "bk_service_status": "1", "default": s.default});
    v.as_object().cloned().unwrap_or_default()
}

pub(crate) fn module_json(m: &Module) -> Map<String, Value> {
    let v = json!({"bk_module_id": m.id, "bk_module_name": m.name, "bk_set_id": m.set, "bk_biz_id": m.biz,
        "bk_parent_id": m.set, "bk_module_type": "1", "default": m.default});
    v.as_object().cloned().unwrap_or_default()
}

/// Legacy `set_cond` / `module_cond` rule against an object.
fn cond_matches(rules: &[Value], obj: &Map<String, Value>) -> bool {
    rules.iter().all(|r| {
        let field = r.get("field").and_then(Value::as_str).unwrap_or_default();
        let want = r.get("value").cloned().unwrap_or(Value::Null);
        let have = obj.get(field).cloned().unwrap_or(Value::Null);
        match r.get("operator").and_then(Value::as_str).unwrap_or("$eq") {
            "$ne" => have != want,
            "$in" => want.as_array().is_some_and(|a| a.contains(&have)),
            "$regex" => matches!((have.as_str(), want.as_str()), (Some(h), Some(w)) if h.to_lowercase().contains(&w.to_lowercase())),
            _ => have == want,
        }
    })
}

fn sort_hosts(hosts: &mut [&Host], p: &Params) {
    let sort = p
        .object("page")
        .and_then(|m| m.get("sort"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if sort.starts_with('-') || sort.ends_with(":-1") {
        hosts.reverse();
    }
}

/// `list_biz_hosts`: limit 1–1000 (`1199006`), sets/modules by ids or conditions, host filter.
pub fn list_biz_hosts(ctx: &Ctx<'_>, p: &Params) -> ApiResult {
    let (start, limit) = page(p);
    if start < 0 || !(0..=1000).contains(&limit) {
        return Err(params_invalid("page.limit"));
    }
    let host_filter = p.get("host_property_filter").cloned();
    if let Some(f) = &host_filter {
        querybuilder::validate(f, "host_property_filter")?;
    }
    let set_ids: Option<Vec<i64>> = p
        .array("bk_set_ids")
        .map(|a| a.iter().filter_map(Value::as_i64).collect());
    let module_ids: Option<Vec<i64>> = p
        .array("bk_module_ids")
        .map(|a| a.iter().filter_map(Value::as_i64).collect());
    if set_ids.as_ref().is_some_and(|s| s.len() > 200) {
        return Err(params_invalid("bk_set_ids"));
    }
    if module_ids.as_ref().is_some_and(|s| s.len() > 500) {
        return Err(params_invalid("bk_module_ids"));
    }
    let biz = authorized_biz(ctx, biz_id(p)?)?;
    if limit == 0 {
        return Err(params_invalid("page.limit"));
    }
    let set_cond = p.array("set_cond").filter(|c| !c.is_empty()).cloned();
    let module_cond = p.array("module_cond").filter(|c| !c.is_empty()).cloned();
    if set_ids.as_ref().is_some_and(|s| !s.is_empty()) && set_cond.is_some() {
        return Err(ApiError::new(
            1_199_006,
            "bk_set_ids and set_cond can't both be set",
        ));
    }
    if module_ids.as_ref().is_some_and(|s| !s.is_empty()) && module_cond.is_some() {
        return Err(ApiError::new(
            1_199_006,
            "bk_module_ids and module_cond can't both be set",
        ));
    }
    let w = &ctx.state.world;
    let module_ok = |m: &Module| {
        let set = w.sets.get(&m.set);
        set_ids
            .as_ref()
            .is_none_or(|ids| ids.is_empty() || ids.contains(&m.set))
            && module_ids
                .as_ref()
                .is_none_or(|ids| ids.is_empty() || ids.contains(&m.id))
            && set_cond
                .as_ref()
                .is_none_or(|c| set.is_some_and(|s| cond_matches(c, &set_json(s))))
            && module_cond
                .as_ref()
                .is_none_or(|c| cond_matches(c, &module_json(m)))
    };
    let mut hosts: Vec<&Host> = w
        .biz_hosts(biz.id)
        .filter(|h| {
            ctx.state
                .host_modules(h)
                .iter()
                .filter_map(|m| w.modules.get(m))
                .any(module_ok)
        })
        .filter(|h| {
            host_filter
                .as_ref()
                .is_none_or(|f| querybuilder::matches(f, &h.cmdb))
        })
        .collect();
    sort_hosts(&mut hosts, p);
    let f = fields(p);
    let info: Vec<Value> = hosts
        .iter()
        .skip(start as usize)
        .take(limit as usize)
        .map(|h| project(&h.cmdb, &f))
        .collect();
    Ok(json!({"count": hosts.len(), "info": info}))
}

/// `list_biz_hosts_topo`: IAM first, limit 0 → `1199010`, > 500 → `1199035`.
pub fn list_biz_hosts_topo(ctx: &Ctx<'_>, p: &Params) -> ApiResult {
    let biz = authorized_biz(ctx, biz_id(p)?)?;
    let (start, limit) = page(p);
    if limit == 0 {
        return Err(ApiError::new(1_199_010, "'page.limit' unassigned"));
    }
    if limit > 500 {
        return Err(ApiError::new(1_199_035, "page.limit exceed the limit 500"));
    }
    if start < 0 || limit < 0 {
        return Err(params_invalid("page"));
    }
    let mut filters = Vec::new();
    for key in [
        "set_property_filter",
        "module_property_filter",
        "host_property_filter",
    ] {
        let f = p.get(key).cloned();
        if let Some(f) = &f {
            querybuilder::validate(f, key)?;
        }
        filters.push(f);
    }
    let w = &ctx.state.world;
    let mut f = fields(p);
    if !f.is_empty() && !f.iter().any(|x| x == "bk_host_id") {
        f.push("bk_host_id".to_string());
    }
    let mut rows = Vec::new();
    for h in w.biz_hosts(biz.id) {
        if filters[2]
            .as_ref()
            .is_some_and(|flt| !querybuilder::matches(flt, &h.cmdb))
        {
            continue;
        }
        let mut topo: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
        for m in ctx
            .state
            .host_modules(h)
            .iter()
            .filter_map(|m| w.modules.get(m))
        {
            let Some(set) = w.sets.get(&m.set) else {
                continue;
            };
            let set_ok = filters[0]
                .as_ref()
                .is_none_or(|flt| querybuilder::matches(flt, &set_json(set)));
            let module_ok = filters[1]
                .as_ref()
                .is_none_or(|flt| querybuilder::matches(flt, &module_json(m)));
            if set_ok && module_ok {
                topo.entry(set.id)
                    .or_default()
                    .push(json!({"bk_module_id": m.id, "bk_module_name": m.name}));
            }
        }
        if topo.is_empty() {
            continue;
        }
        let topo: Vec<Value> = topo
            .into_iter()
            .map(|(sid, modules)| {
                let name = w.sets.get(&sid).map(|s| s.name.clone()).unwrap_or_default();
                json!({"bk_set_id": sid, "bk_set_name": name, "module": modules})
            })
            .collect();
        rows.push(json!({"host": project(&h.cmdb, &f), "topo": topo}));
    }
    let count = rows.len();
    let info: Vec<Value> = rows
        .into_iter()
        .skip(start as usize)
        .take(limit as usize)
        .collect();
    Ok(json!({"count": count, "info": info}))
}

/// `find_host_by_topo`: hosts under a set or module, ascending id; `info: null` past the end.
pub fn find_host_by_topo(ctx: &Ctx<'_>, p: &Params) -> ApiResult {
    let id = biz_id(p)?;
    let obj = p.str("bk_obj_id").unwrap_or_default();
    if obj.is_empty() {
        return Err(ApiError::new(1_199_010, "'bk_obj_id' unassigned"));
    }
    if obj == "biz" {
        return Err(params_invalid("bk_obj_id"));
    }
    let inst = match p.i64("bk_inst_id") {
        Ok(Some(i)) if i > 0 => i,
        _ => return Err(params_invalid("bk_inst_id")),
    };
    let f = fields(p);
    if f.is_empty() {
        return Err(ApiError::new(1_199_010, "'fields' unassigned"));
    }
    let (start, limit) = page(p);
    if start < 0 || limit <= 0 || (limit > 1000 && limit != 999_999_999) {
        return Err(params_invalid("page"));
    }
    let biz = authorized_biz(ctx, id)?;
    let w = &ctx.state.world;
    let hosts: Vec<&Host> = w
        .biz_hosts(biz.id)
        .filter(|h| match obj.as_str() {
            "module" => ctx.state.host_modules(h).contains(&inst),
            "set" => ctx
                .state
                .host_modules(h)
                .iter()
                .filter_map(|m| w.modules.get(m))
                .any(|m| m.set == inst),
            _ => false,
        })
        .collect();
    let count = hosts.len();
    if start as usize >= count {
        return Ok(json!({"count": count, "info": null}));
    }
    let info: Vec<Value> = hosts
        .iter()
        .skip(start as usize)
        .take(limit as usize)
        .map(|h| project(&h.cmdb, &f))
        .collect();
    Ok(json!({"count": count, "info": info}))
}
