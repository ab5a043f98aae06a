//! CMDB response types (docs/blueking.md, "The APIs we call"), every field optional: `fields`
//! is a projection, so a field not asked for (or stored as `null`) is simply absent.
//! Multi-valued host fields come comma-joined; [`split_list`] splits them.

use serde::Deserialize;
use serde_json::Value;

/// `{count, info}` of CMDB list APIs; `info` may be `null` (find_host_by_topo past the end).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Listing<T> {
    /// Total matches, across pages.
    pub count: Option<i64>,
    /// This page.
    pub info: Option<Vec<T>>,
}

/// A business.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Business {
    /// Id.
    pub bk_biz_id: Option<i64>,
    /// Name.
    pub bk_biz_name: Option<String>,
    /// Maintainers, comma-joined.
    pub bk_biz_maintainer: Option<String>,
    /// Productors, comma-joined.
    pub bk_biz_productor: Option<String>,
    /// Developers, comma-joined.
    pub bk_biz_developer: Option<String>,
    /// Testers, comma-joined.
    pub bk_biz_tester: Option<String>,
    /// Operators, comma-joined.
    pub operator: Option<String>,
    /// Time zone.
    pub time_zone: Option<String>,
    /// `"1"` zh, `"2"` en.
    pub language: Option<String>,
    /// Life cycle.
    pub life_cycle: Option<String>,
    /// Supplier account.
    pub bk_supplier_account: Option<String>,
    /// `"disabled"` when archived.
    pub bk_data_status: Option<String>,
    /// 0 normal, 1 resource pool.
    pub default: Option<i32>,
}

/// A node of search_biz_inst_topo.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct TopoNode {
    /// Instance id.
    pub bk_inst_id: Option<i64>,
    /// Instance name.
    pub bk_inst_name: Option<String>,
    /// Level: `biz`, `set`, `module` or a custom level.
    pub bk_obj_id: Option<String>,
    /// Level display name.
    pub bk_obj_name: Option<String>,
    /// Built-in role (the server emits it on every node; the doc example omits it on modules).
    pub default: Option<i32>,
    /// Children; `[]` at leaves.
    pub child: Option<Vec<TopoNode>>,
}

/// A host, the fields job-gateway uses; others are dropped.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Host {
    /// Id.
    pub bk_host_id: Option<i64>,
    /// Control area.
    pub bk_cloud_id: Option<i64>,
    /// Inner IPv4s, comma-joined.
    pub bk_host_innerip: Option<String>,
    /// Outer IPv4s, comma-joined.
    pub bk_host_outerip: Option<String>,
    /// Inner IPv6s, comma-joined.
    pub bk_host_innerip_v6: Option<String>,
    /// Outer IPv6s, comma-joined.
    pub bk_host_outerip_v6: Option<String>,
    /// Host name.
    pub bk_host_name: Option<String>,
    /// `"1"` … `"8"`; may be `null`.
    pub bk_os_type: Option<String>,
    /// OS name.
    pub bk_os_name: Option<String>,
    /// GSE 2.0 agent id.
    pub bk_agent_id: Option<String>,
    /// Main maintainers, comma-joined.
    pub operator: Option<String>,
    /// Backup maintainers, comma-joined.
    pub bk_bak_operator: Option<String>,
}

/// Splits a CMDB comma-joined value; empty parts are dropped.
pub fn split_list(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A list_biz_hosts_topo item.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct HostWithTopo {
    /// The host.
    pub host: Option<Host>,
    /// Its sets with their modules, in this business.
    pub topo: Option<Vec<SetTopo>>,
}

/// A set of a host, with the host's modules in it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct SetTopo {
    /// Set id.
    pub bk_set_id: Option<i64>,
    /// Set name.
    pub bk_set_name: Option<String>,
    /// Modules.
    pub module: Option<Vec<ModuleRef>>,
}

/// A module of a host.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ModuleRef {
    /// Module id.
    pub bk_module_id: Option<i64>,
    /// Module name.
    pub bk_module_name: Option<String>,
}

/// One attribute of get_host_base_info; the value keeps CMDB's raw type.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct HostProperty {
    /// Attribute id.
    pub bk_property_id: Option<String>,
    /// Attribute display name.
    pub bk_property_name: Option<String>,
    /// Raw value: number, string or `null` (the docs say string; the server does not stringify).
    pub bk_property_value: Option<Value>,
}
