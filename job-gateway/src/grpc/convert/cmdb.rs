//! CMDB and GSE conversions: business, topology and host queries in; businesses, topology
//! nodes, hosts and agent states out.

use proto::jobgateway::v1 as pb;
use serde_json::{Value, json};

use super::{Page, non_blank, positive};
use crate::bk::{self, split_list};
use crate::error::{GatewayError, GatewayResult};

/// The host fields every host listing asks CMDB for.
pub(crate) const HOST_FIELDS: &[&str] = &[
    "bk_host_id",
    "bk_cloud_id",
    "bk_host_innerip",
    "bk_host_innerip_v6",
    "bk_host_outerip",
    "bk_host_outerip_v6",
    "bk_host_name",
    "bk_os_type",
    "bk_os_name",
    "bk_agent_id",
    "operator",
];

/// A validated ListBusinesses.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BusinessQuery {
    pub page: Page,
    pub search: bk::SearchBusiness,
}

impl TryFrom<pb::ListBusinessesRequest> for BusinessQuery {
    type Error = GatewayError;

    fn try_from(r: pb::ListBusinessesRequest) -> GatewayResult<Self> {
        let pb::ListBusinessesRequest {
            page_size,
            page_token,
            name_contains,
            include_archived,
        } = r;
        let name = non_blank(name_contains);
        let filters = format!("{name:?}/{include_archived}");
        let page = Page::parse(page_size, &page_token, bk::MAX_CMDB_PAGE, &filters)?;
        // CMDB shows archived businesses only when a legacy `condition` names
        // `bk_data_status`; otherwise the QueryBuilder filter also drops the resource pool
        // (`default = 1`), which the handler drops from archived listings itself.
        let (condition, biz_property_filter) = if include_archived {
            let mut c = json!({"bk_data_status": {"$in": ["enable", "disabled"]}});
            if let Some(name) = &name {
                c["bk_biz_name"] = json!(name);
            }
            (Some(c), None)
        } else {
            let mut rules = vec![json!({"field": "default", "operator": "not_equal", "value": 1})];
            if let Some(name) = &name {
                rules.push(json!({"field": "bk_biz_name", "operator": "contains", "value": name}));
            }
            (None, Some(json!({"condition": "AND", "rules": rules})))
        };
        let search = bk::SearchBusiness {
            fields: Vec::new(),
            condition,
            biz_property_filter,
            page: bk::CmdbPage {
                start: page.offset,
                limit: page.size,
                sort: Some("bk_biz_id".to_owned()),
            },
        };
        Ok(Self { page, search })
    }
}

/// A business as the proto shows it; `None` for the resource pool, which is never listed.
pub(crate) fn business(b: bk::Business) -> Option<pb::Business> {
    if b.default == Some(1) {
        return None;
    }
    Some(pb::Business {
        bk_biz_id: b.bk_biz_id.unwrap_or_default(),
        bk_biz_name: b.bk_biz_name.unwrap_or_default(),
        bk_biz_maintainers: split_list(b.bk_biz_maintainer.as_deref()),
        time_zone: b.time_zone.unwrap_or_default(),
        archived: b.bk_data_status.as_deref() == Some("disabled"),
    })
}

/// A validated GetBusinessTopology: (business, include the idle pool).
pub(crate) fn topology_query(r: pb::GetBusinessTopologyRequest) -> GatewayResult<(i64, bool)> {
    let pb::GetBusinessTopologyRequest {
        bk_biz_id,
        include_idle_pool,
    } = r;
    Ok((positive("bk_biz_id", bk_biz_id)?, include_idle_pool))
}

/// A topology node and its descendants; idle-pool sets go after the normal ones.
pub(crate) fn topology_node(n: bk::TopoNode) -> pb::TopologyNode {
    let obj = n.bk_obj_id.unwrap_or_default();
    let code = n.default.unwrap_or_default();
    let role = match (obj.as_str(), code) {
        (_, 0) => pb::TopologyNodeRole::Normal,
        ("biz", 1) => pb::TopologyNodeRole::ResourcePool,
        ("set" | "module", 1) => pb::TopologyNodeRole::Idle,
        ("module", 2) => pb::TopologyNodeRole::Faulty,
        ("module", 3) => pb::TopologyNodeRole::Recycle,
        _ => pb::TopologyNodeRole::Unrecognized,
    };
    let mut children: Vec<pb::TopologyNode> = n
        .child
        .unwrap_or_default()
        .into_iter()
        .map(topology_node)
        .collect();
    children.sort_by_key(|c| c.role == pb::TopologyNodeRole::Idle as i32 && c.bk_obj_id == "set");
    pb::TopologyNode {
        bk_inst_id: n.bk_inst_id.unwrap_or_default(),
        bk_inst_name: n.bk_inst_name.unwrap_or_default(),
        bk_obj_id: obj,
        bk_obj_name: n.bk_obj_name.unwrap_or_default(),
        role: role as i32,
        default_code: code,
        children,
    }
}

/// A validated ListHosts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HostQuery {
    pub bk_biz_id: i64,
    pub bk_set_ids: Vec<i64>,
    pub bk_module_ids: Vec<i64>,
    pub host_filter: Option<Value>,
    pub with_agent_status: bool,
    pub with_topology: bool,
    pub page: Page,
}

fn at_most<T>(field: &str, list: &[T], max: usize) -> GatewayResult<()> {
    if list.len() > max {
        return Err(GatewayError::invalid(
            field,
            format!("at most {max} values"),
        ));
    }
    Ok(())
}

impl TryFrom<pb::ListHostsRequest> for HostQuery {
    type Error = GatewayError;

    fn try_from(r: pb::ListHostsRequest) -> GatewayResult<Self> {
        let pb::ListHostsRequest {
            bk_biz_id,
            bk_set_ids,
            bk_module_ids,
            bk_host_ids,
            inner_ips,
            inner_ip_prefix,
            host_name_contains,
            with_agent_status,
            with_topology,
            page_size,
            page_token,
        } = r;
        let bk_biz_id = positive("bk_biz_id", bk_biz_id)?;
        at_most("bk_set_ids", &bk_set_ids, 200)?;
        at_most("bk_module_ids", &bk_module_ids, 500)?;
        at_most("bk_host_ids", &bk_host_ids, 500)?;
        at_most("inner_ips", &inner_ips, 500)?;
        if let Some(bad) = inner_ips
            .iter()
            .find(|ip| ip.parse::<std::net::IpAddr>().is_err())
        {
            return Err(GatewayError::invalid(
                "inner_ips",
                format!("`{bad}` is not an IP address"),
            ));
        }
        let mut rules = Vec::new();
        if !bk_host_ids.is_empty() {
            rules.push(json!({"field": "bk_host_id", "operator": "in", "value": bk_host_ids}));
        }
        if !inner_ips.is_empty() {
            rules.push(json!({"condition": "OR", "rules": [
                {"field": "bk_host_innerip", "operator": "in", "value": inner_ips},
                {"field": "bk_host_innerip_v6", "operator": "in", "value": inner_ips},
            ]}));
        }
        if let Some(prefix) = non_blank(inner_ip_prefix) {
            rules.push(
                json!({"field": "bk_host_innerip", "operator": "begins_with", "value": prefix}),
            );
        }
        if let Some(name) = non_blank(host_name_contains) {
            rules.push(json!({"field": "bk_host_name", "operator": "contains", "value": name}));
        }
        let host_filter = (!rules.is_empty()).then(|| json!({"condition": "AND", "rules": rules}));
        let filters = format!("{bk_biz_id}/{bk_set_ids:?}/{bk_module_ids:?}/{host_filter:?}");
        let page = Page::parse(page_size, &page_token, bk::MAX_CMDB_PAGE, &filters)?;
        Ok(Self {
            bk_biz_id,
            bk_set_ids,
            bk_module_ids,
            host_filter,
            with_agent_status,
            with_topology,
            page,
        })
    }
}

/// An `in` filter on one id field, or none for an empty list.
pub(crate) fn id_filter(field: &str, ids: &[i64]) -> Option<Value> {
    (!ids.is_empty()).then(
        || json!({"condition": "AND", "rules": [{"field": field, "operator": "in", "value": ids}]}),
    )
}

/// A host as the proto shows it (agent status and topology are attached by the caller).
pub(crate) fn host(h: bk::Host) -> pb::Host {
    let raw_os = h.bk_os_type.unwrap_or_default();
    let os = match raw_os.as_str() {
        "" => pb::OsType::Unspecified,
        "1" => pb::OsType::Linux,
        "2" => pb::OsType::Windows,
        "3" => pb::OsType::Aix,
        "4" => pb::OsType::Unix,
        "5" => pb::OsType::Solaris,
        "6" => pb::OsType::HpUx,
        "7" => pb::OsType::Freebsd,
        "8" => pb::OsType::Macos,
        _ => pb::OsType::Unrecognized,
    };
    pb::Host {
        bk_host_id: h.bk_host_id.unwrap_or_default(),
        bk_cloud_id: h.bk_cloud_id.unwrap_or_default(),
        bk_host_name: h.bk_host_name.unwrap_or_default(),
        inner_ips: split_list(h.bk_host_innerip.as_deref()),
        inner_ipv6s: split_list(h.bk_host_innerip_v6.as_deref()),
        outer_ips: split_list(h.bk_host_outerip.as_deref()),
        outer_ipv6s: split_list(h.bk_host_outerip_v6.as_deref()),
        os_type: os as i32,
        bk_os_type: raw_os,
        bk_os_name: h.bk_os_name.unwrap_or_default(),
        bk_agent_id: h.bk_agent_id.unwrap_or_default(),
        operators: split_list(h.operator.as_deref()),
        agent_status: None,
        topology: Vec::new(),
    }
}

/// A host's sets and modules.
pub(crate) fn host_topology(sets: Vec<bk::SetTopo>) -> Vec<pb::HostTopology> {
    sets.into_iter()
        .map(|s| pb::HostTopology {
            bk_set_id: s.bk_set_id.unwrap_or_default(),
            bk_set_name: s.bk_set_name.unwrap_or_default(),
            modules: s
                .module
                .unwrap_or_default()
                .into_iter()
                .map(|m| pb::HostModule {
                    bk_module_id: m.bk_module_id.unwrap_or_default(),
                    bk_module_name: m.bk_module_name.unwrap_or_default(),
                })
                .collect(),
        })
        .collect()
}
