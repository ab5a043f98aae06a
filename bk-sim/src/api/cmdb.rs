//! CMDB business-level APIs: search_business, search_biz_inst_topo, get_host_base_info, and the helpers
//! (path business, IAM check, paging, projection) the host APIs share.

use serde_json::{Map, Value, json};

mod condition;

use super::{ApiError, ApiResult, Ctx, System, permission, querybuilder};
use crate::params::Params;
use crate::world::{Business, World};

pub(crate) fn params_invalid(key: &str) -> ApiError {
    ApiError::new(
        1_199_006,
        format!("'{key}' data parameter verification does not pass"),
    )
}

/// The path business id (gateway) or body `bk_biz_id` (ESB), which must be a positive integer.
pub(crate) fn biz_id(p: &Params) -> Result<i64, ApiError> {
    match p.i64("bk_biz_id") {
        Ok(Some(id)) if id > 0 => Ok(id),
        _ => Err(params_invalid("bk_biz_id")),
    }
}

/// Resolves the business and checks the caller's IAM permission on it (9900403 + `permission`).
pub(crate) fn authorized_biz<'a>(ctx: &'a Ctx<'_>, id: i64) -> Result<&'a Business, ApiError> {
    let Some(biz) = ctx.state.world.businesses.get(&id) else {
        return Err(ApiError::new(
            1_199_079,
            format!("business [{id}] not exist"),
        ));
    };
    let user = ctx.caller.username.as_deref().unwrap_or_default();
    if !ctx.state.user_may_use(user, id) {
        return Err(ApiError {
            code: 9_900_403,
            message: "Do not have access permission.".to_string(),
            permission: Some(permission(
                System::Cmdb,
                "find_business_resource",
                "Business resource view",
                biz.id,
                &biz.name,
            )),
        });
    }
    Ok(biz)
}

/// `page.start` and `page.limit` as given (missing = 0).
pub(crate) fn page(p: &Params) -> (i64, i64) {
    let page = p.object("page");
    let get = |k: &str| {
        page.and_then(|m| m.get(k))
            .and_then(crate::params::as_i64)
            .unwrap_or(0)
    };
    (get("start"), get("limit"))
}

/// Requested `fields`, empty = all.
pub(crate) fn fields(p: &Params) -> Vec<String> {
    p.array("fields")
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Projects an object on `fields` (all when empty); absent fields stay absent.
pub(crate) fn project(obj: &Map<String, Value>, fields: &[String]) -> Value {
    if fields.is_empty() {
        return Value::Object(obj.clone());
    }
    Value::Object(
        fields
            .iter()
            .filter_map(|f| obj.get(f).map(|v| (f.clone(), v.clone())))
            .collect(),
    )
}

fn business_json(b: &Business) -> Map<String, Value> {
    let v = json!({
        "bk_biz_id": b.id,
        "bk_biz_name": b.name,
        "bk_biz_maintainer": b.maintainer,
        "bk_biz_productor": b.maintainer,
        "bk_biz_developer": "",
        "bk_biz_tester": "",
        "operator": "",
        "time_zone": b.time_zone,
        "language": "1",
        "life_cycle": "2",
        "bk_supplier_account": "0",
        "bk_data_status": if b.archived { "disabled" } else { "enable" },
        "default": b.default,
        "create_time": "2026-01-05T08:00:00Z",
        "last_time": "2026-01-05T08:00:00Z",
    });
    v.as_object().cloned().unwrap_or_default()
}

/// `search_business`: archived hidden unless asked, the resource pool never shown, IAM filtering.
pub fn search_business(ctx: &Ctx<'_>, p: &Params) -> ApiResult {
    let cond = p.object("condition").cloned();
    let filter = p.get("biz_property_filter").cloned();
    if cond.is_some() && filter.is_some() {
        return Err(ApiError::new(
            1_199_006,
            "condition and biz_property_filter cannot be set at the same time",
        ));
    }
    if let Some(f) = &filter {
        querybuilder::validate(f, "biz_property_filter")?;
    }
    let show_archived = cond
        .as_ref()
        .is_some_and(|c| c.contains_key("bk_data_status"));
    let user = ctx.caller.username.as_deref().unwrap_or_default();
    let mut found = Vec::new();
    for b in ctx.state.world.businesses.values() {
        // CMDB forces `default` to 0, so the resource pool never comes back.
        if b.default != 0 || (b.archived && !show_archived) || !ctx.state.user_may_use(user, b.id) {
            continue;
        }
        let obj = business_json(b);
        let ok = match (&cond, &filter) {
            (Some(c), _) => condition::matches(c, &obj)?,
            (_, Some(f)) => querybuilder::matches(f, &obj),
            _ => true,
        };
        if ok {
            found.push(obj);
        }
    }
    let sort = p
        .object("page")
        .and_then(|m| m.get("sort"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if sort
        .trim_start_matches(['-', '+'])
        .starts_with("bk_biz_name")
    {
        found.sort_by(|a, b| {
            a.get("bk_biz_name")
                .and_then(Value::as_str)
                .cmp(&b.get("bk_biz_name").and_then(Value::as_str))
        });
    }
    if sort.starts_with('-') {
        found.reverse();
    }
    let (start, limit) = page(p);
    let mut fields = fields(p);
    if !fields.is_empty() && !fields.iter().any(|f| f == "default") {
        fields.push("default".to_string());
    }
    let count = found.len();
    let take = if limit <= 0 {
        usize::MAX
    } else {
        limit as usize
    };
    let info: Vec<Value> = found
        .iter()
        .skip(start.max(0) as usize)
        .take(take)
        .map(|b| project(b, &fields))
        .collect();
    Ok(json!({"count": count, "info": info}))
}

fn node(id: i64, name: &str, obj: &str, obj_name: &str, default: i64, child: Vec<Value>) -> Value {
    json!({"bk_inst_id": id, "bk_inst_name": name, "bk_obj_id": obj, "bk_obj_name": obj_name, "default": default, "child": child})
}

/// `search_biz_inst_topo`: the full tree; the idle set only with `with_default`.
pub fn search_biz_inst_topo(ctx: &Ctx<'_>, p: &Params) -> ApiResult {
    let id = biz_id(p)?;
    let biz = authorized_biz(ctx, id)?;
    let with_default = p.str("with_default").is_some_and(|v| !v.is_empty());
    let need_sort = p.str("need_sort").as_deref() == Some("true");
    let w: &World = &ctx.state.world;
    let mut sets: Vec<(i64, String, Value)> = Vec::new();
    for sid in &biz.set_ids {
        let Some(set) = w.sets.get(sid) else { continue };
        if set.default != 0 && !with_default {
            continue;
        }
        let mut modules: Vec<_> = set
            .module_ids
            .iter()
            .filter_map(|m| w.modules.get(m))
            .collect();
        if need_sort {
            modules.sort_by(|a, b| a.name.cmp(&b.name));
        }
        let modules = modules
            .iter()
            .map(|m| node(m.id, &m.name, "module", "module", m.default, vec![]))
            .collect();
        sets.push((
            set.default,
            set.name.clone(),
            node(set.id, &set.name, "set", "set", set.default, modules),
        ));
    }
    // Children come back ordered by `default` (normal sets first); by name too with `need_sort=true`.
    sets.sort_by(|a, b| {
        a.0.cmp(&b.0).then_with(|| {
            if need_sort {
                a.1.cmp(&b.1)
            } else {
                std::cmp::Ordering::Equal
            }
        })
    });
    let sets = sets.into_iter().map(|(_, _, n)| n).collect();
    Ok(json!([node(
        biz.id,
        &biz.name,
        "biz",
        "business",
        biz.default,
        sets
    )]))
}

fn property_name(id: &str) -> &str {
    match id {
        "bk_host_id" => "host ID",
        "bk_host_name" => "host name",
        "bk_host_innerip" => "intranet IP",
        "bk_host_outerip" => "public IP",
        "bk_cloud_id" => "control area",
        "bk_os_type" => "operating system type",
        "bk_os_name" => "operating system name",
        "bk_agent_id" => "GSE Agent ID",
        "bk_mac" => "intranet MAC",
        "bk_cpu" => "CPU logical cores",
        "bk_mem" => "memory capacity",
        "bk_disk" => "disk capacity",
        other => other,
    }
}

/// `get_host_base_info`: one entry per attribute, raw-typed values.
pub fn get_host_base_info(ctx: &Ctx<'_>, p: &Params) -> ApiResult {
    let Ok(Some(id)) = p.i64("bk_host_id") else {
        return Err(ApiError::new(
            1_199_009,
            "'bk_host_id' parameters must be integral",
        ));
    };
    let Some(host) = ctx.state.world.host(id) else {
        return Err(ApiError::new(1_110_008, "The host could not be found"));
    };
    let user = ctx.caller.username.as_deref().unwrap_or_default();
    if !ctx.state.user_may_use(user, host.biz) {
        return Err(ApiError::new(1_199_048, "Permission Denied"));
    }
    let attrs: Vec<Value> = host
        .cmdb
        .iter()
        .map(|(k, v)| json!({"bk_property_id": k, "bk_property_name": property_name(k), "bk_property_value": v}))
        .collect();
    Ok(Value::Array(attrs))
}
