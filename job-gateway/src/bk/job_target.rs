//! JOB v3 request building blocks: the scope and the `server` target object.
//!
//! Hosts go as `host_id_list`; the deprecated `ip_list` is sent only when no host id is given
//! (JOB ignores it when `host_id_list` is present).

use serde_json::{Map, Value, json};

use super::error::BkError;

/// A JOB scope: a business or a business set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scope {
    /// Business or business set.
    pub scope_type: ScopeType,
    /// Its id (sent as a string).
    pub scope_id: i64,
}

/// JOB `bk_scope_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScopeType {
    /// `biz`.
    Biz,
    /// `biz_set`.
    BizSet,
}

impl Scope {
    /// A business scope.
    pub fn biz(bk_biz_id: i64) -> Self {
        Self {
            scope_type: ScopeType::Biz,
            scope_id: bk_biz_id,
        }
    }

    /// The parameters `bk_scope_type` and `bk_scope_id`.
    pub(crate) fn params(&self) -> Map<String, Value> {
        let mut m = Map::new();
        let t = match self.scope_type {
            ScopeType::Biz => "biz",
            ScopeType::BizSet => "biz_set",
        };
        m.insert("bk_scope_type".to_owned(), json!(t));
        m.insert("bk_scope_id".to_owned(), json!(self.scope_id.to_string()));
        m
    }

    /// The business for per-business rate limiting (business sets share no bucket).
    pub(crate) fn rate_limit_biz(&self) -> Option<i64> {
        (self.scope_type == ScopeType::Biz).then_some(self.scope_id)
    }
}

/// A host by control area and IP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostIp {
    /// Control area (0 = default).
    pub bk_cloud_id: i64,
    /// IPv4.
    pub ip: String,
}

impl HostIp {
    pub(crate) fn to_json(&self) -> Value {
        json!({"bk_cloud_id": self.bk_cloud_id, "ip": self.ip})
    }
}

/// JOB's `server` object in requests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetServer {
    /// CMDB host ids, the recommended form.
    pub host_ids: Vec<i64>,
    /// Hosts by address; sent only when `host_ids` is empty.
    pub ips: Vec<HostIp>,
    /// Dynamic topology nodes: (`node_type` = CMDB `bk_obj_id`, `id` = `bk_inst_id`).
    pub topo_nodes: Vec<(String, i64)>,
    /// CMDB dynamic group ids.
    pub dynamic_groups: Vec<String>,
}

/// JOB's cap on script-task targets (`max-target-server` default).
pub const MAX_SCRIPT_TARGETS: usize = 50_000;

impl TargetServer {
    /// True when no list names a host.
    pub fn is_empty(&self) -> bool {
        self.host_ids.is_empty()
            && self.ips.is_empty()
            && self.topo_nodes.is_empty()
            && self.dynamic_groups.is_empty()
    }

    pub(crate) fn to_json(&self) -> Value {
        let mut m = Map::new();
        if !self.host_ids.is_empty() {
            m.insert("host_id_list".to_owned(), json!(self.host_ids));
        } else if !self.ips.is_empty() {
            let ips: Vec<Value> = self.ips.iter().map(HostIp::to_json).collect();
            m.insert("ip_list".to_owned(), Value::Array(ips));
        }
        if !self.topo_nodes.is_empty() {
            let nodes: Vec<Value> = self
                .topo_nodes
                .iter()
                .map(|(t, id)| json!({"id": id, "node_type": t}))
                .collect();
            m.insert("topo_node_list".to_owned(), Value::Array(nodes));
        }
        if !self.dynamic_groups.is_empty() {
            let groups: Vec<Value> = self
                .dynamic_groups
                .iter()
                .map(|g| json!({"id": g}))
                .collect();
            m.insert("dynamic_group_list".to_owned(), Value::Array(groups));
        }
        Value::Object(m)
    }
}

pub(crate) fn check_target(
    api: &'static str,
    field: &'static str,
    target: &TargetServer,
) -> Result<(), BkError> {
    if target.is_empty() {
        return Err(BkError::Invalid {
            api,
            field,
            reason: "names no host".to_owned(),
        });
    }
    if target.host_ids.len().max(target.ips.len()) > MAX_SCRIPT_TARGETS {
        return Err(BkError::Invalid {
            api,
            field,
            reason: "names more than 50,000 hosts".to_owned(),
        });
    }
    Ok(())
}
