//! HostService's requests validated into queries (errors name the field), and job-gateway's
//! CMDB answers turned into HostService's messages: a host's agent status in the words of
//! `backup.v1.AgentStatus`, its placements, and a business's topology flattened to sets and
//! modules with their host counts.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use proto::backup::v1 as pb;
use proto::jobgateway::v1 as gw;

use super::{optional_text, page_size};
use crate::error::{BackupError, Result};

/// Default and largest page of HostService's listings.
const PAGE_DEFAULT: u32 = 100;
const PAGE_MAX: u32 = 500;
/// Longest name filter.
const MAX_TEXT: usize = 200;

/// A validated ListBusinesses; `Debug` of everything but the page is the token's filter.
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessQuery {
    /// Name substring, if any.
    pub name_contains: Option<String>,
    /// Archived businesses too.
    pub include_archived: bool,
    /// Page size.
    pub page_size: u32,
    /// The page token, as sent.
    pub page_token: String,
}

impl TryFrom<pb::ListBusinessesRequest> for BusinessQuery {
    type Error = BackupError;

    fn try_from(r: pb::ListBusinessesRequest) -> Result<Self> {
        let pb::ListBusinessesRequest {
            page_size: size,
            page_token,
            name_contains,
            include_archived,
        } = r;
        Ok(Self {
            name_contains: optional_text("name_contains", name_contains, MAX_TEXT)?,
            include_archived,
            page_size: page_size(size, PAGE_DEFAULT, PAGE_MAX)?,
            page_token,
        })
    }
}

impl BusinessQuery {
    /// What a page token of this listing is bound to.
    pub fn filter(&self) -> (&Option<String>, bool) {
        (&self.name_contains, self.include_archived)
    }
}

/// The filters of a validated ListHosts (what its page token is bound to).
#[derive(Debug, Clone, PartialEq)]
pub struct HostFilter {
    /// Business.
    pub bk_biz_id: i64,
    /// Sets, any of.
    pub bk_set_ids: Vec<i64>,
    /// Modules, any of.
    pub bk_module_ids: Vec<i64>,
    /// Inner IPs, any of.
    pub inner_ips: Vec<String>,
    /// Host name substring.
    pub host_name_contains: Option<String>,
    /// Only hosts whose agent is not running.
    pub offline_only: bool,
}

/// A validated ListHosts.
#[derive(Debug, Clone, PartialEq)]
pub struct HostQuery {
    /// Filters.
    pub filter: HostFilter,
    /// Page size.
    pub page_size: u32,
    /// The page token, as sent.
    pub page_token: String,
}

/// `value` of field `field`, required positive.
pub fn positive(field: &str, value: i64) -> Result<i64> {
    if value <= 0 {
        return Err(BackupError::invalid(field, "must be positive"));
    }
    Ok(value)
}

fn ids(field: &str, values: Vec<i64>, max: usize) -> Result<Vec<i64>> {
    if values.len() > max {
        return Err(BackupError::invalid(field, format!("at most {max} ids")));
    }
    if let Some(i) = values.iter().position(|v| *v <= 0) {
        return Err(BackupError::invalid(
            format!("{field}[{i}]"),
            "must be positive",
        ));
    }
    Ok(values)
}

impl TryFrom<pb::ListHostsRequest> for HostQuery {
    type Error = BackupError;

    fn try_from(r: pb::ListHostsRequest) -> Result<Self> {
        let pb::ListHostsRequest {
            bk_biz_id,
            bk_set_ids,
            bk_module_ids,
            inner_ips,
            host_name_contains,
            offline_only,
            page_size: size,
            page_token,
        } = r;
        if inner_ips.len() > 500 {
            return Err(BackupError::invalid("inner_ips", "at most 500 addresses"));
        }
        if let Some(i) = inner_ips
            .iter()
            .position(|ip| ip.parse::<IpAddr>().is_err())
        {
            return Err(BackupError::invalid(
                format!("inner_ips[{i}]"),
                format!("`{}` is not an IP address", inner_ips[i]),
            ));
        }
        Ok(Self {
            filter: HostFilter {
                bk_biz_id: positive("bk_biz_id", bk_biz_id)?,
                bk_set_ids: ids("bk_set_ids", bk_set_ids, 200)?,
                bk_module_ids: ids("bk_module_ids", bk_module_ids, 500)?,
                inner_ips,
                host_name_contains: optional_text(
                    "host_name_contains",
                    host_name_contains,
                    MAX_TEXT,
                )?,
                offline_only,
            },
            page_size: page_size(size, PAGE_DEFAULT, PAGE_MAX)?,
            page_token,
        })
    }
}

impl HostFilter {
    /// job-gateway's ListHosts of these filters (no page), with agent status and placements.
    pub fn upstream(&self) -> gw::ListHostsRequest {
        gw::ListHostsRequest {
            bk_biz_id: self.bk_biz_id,
            bk_set_ids: self.bk_set_ids.clone(),
            bk_module_ids: self.bk_module_ids.clone(),
            inner_ips: self.inner_ips.clone(),
            host_name_contains: self.host_name_contains.clone().unwrap_or_default(),
            with_agent_status: true,
            with_topology: true,
            ..Default::default()
        }
    }
}

/// A CMDB business as HostService shows it.
pub fn business_info(b: gw::Business) -> pb::BusinessInfo {
    pb::BusinessInfo {
        bk_biz_id: b.bk_biz_id,
        bk_biz_name: b.bk_biz_name,
        time_zone: b.time_zone,
        archived: b.archived,
    }
}

/// The agent status and GSE's word for it; no status at all is UNKNOWN.
pub fn agent(status: Option<&gw::AgentStatus>) -> (pb::AgentStatus, String) {
    use gw::AgentState as S;
    let Some(status) = status else {
        return (pb::AgentStatus::Unknown, "not asked".to_owned());
    };
    let state = S::try_from(status.state).unwrap_or(S::Unrecognized);
    let word = match state {
        S::Running => "running",
        S::Offline => "offline",
        S::NotFound => "not found",
        S::QueryFailed => "query failed",
        S::Unspecified => "unknown",
        S::Initial => "installing",
        S::Starting => "starting",
        S::Degraded => "degraded",
        S::Busy => "busy",
        S::Changing => "upgrading or stopping",
        S::Removing => "removing",
        S::Terminated => "terminated",
        S::NotInstalled => "not installed",
        S::Unrecognized => {
            return (
                pb::AgentStatus::Offline,
                format!("unrecognized code {}", status.raw_status_code),
            );
        }
    };
    let mapped = match state {
        S::Running => pb::AgentStatus::Online,
        S::NotFound => pb::AgentStatus::NotFound,
        S::QueryFailed | S::Unspecified => pb::AgentStatus::Unknown,
        _ => pb::AgentStatus::Offline,
    };
    (mapped, word.to_owned())
}

/// A CMDB host (asked with agent status and topology) as HostService shows it.
pub fn host_info(h: gw::Host) -> pb::HostInfo {
    let (status, detail) = agent(h.agent_status.as_ref());
    pb::HostInfo {
        bk_host_id: h.bk_host_id,
        bk_cloud_id: h.bk_cloud_id,
        bk_host_name: h.bk_host_name,
        inner_ips: h.inner_ips,
        inner_ipv6s: h.inner_ipv6s,
        os_name: h.bk_os_name,
        agent_status: status as i32,
        agent_detail: detail,
        placements: placements(&h.topology),
    }
}

fn placements(topology: &[gw::HostTopology]) -> Vec<pb::HostPlacement> {
    topology
        .iter()
        .flat_map(|set| {
            set.modules.iter().map(|m| pb::HostPlacement {
                bk_set_id: set.bk_set_id,
                bk_set_name: set.bk_set_name.clone(),
                bk_module_id: m.bk_module_id,
                bk_module_name: m.bk_module_name.clone(),
            })
        })
        .collect()
}

/// The sets under `root` (custom levels flattened away) in CMDB's order, the idle pool's
/// after the others, each with its modules; host counts from `hosts` (the business's hosts
/// with their placements); and the number of distinct hosts in the returned sets.
pub fn topology(root: gw::TopologyNode, hosts: &[gw::Host]) -> (Vec<pb::TopologySet>, i64) {
    let mut per_set: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
    let mut per_module: BTreeMap<i64, i64> = BTreeMap::new();
    for h in hosts {
        for set in &h.topology {
            per_set
                .entry(set.bk_set_id)
                .or_default()
                .insert(h.bk_host_id);
            for m in &set.modules {
                *per_module.entry(m.bk_module_id).or_default() += 1;
            }
        }
    }
    let mut sets = Vec::new();
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        if node.bk_obj_id == "set" {
            sets.push(set_of(node, &per_set, &per_module));
        } else {
            stack.extend(node.children.into_iter().rev());
        }
    }
    sets.sort_by_key(|s| s.idle_pool);
    let distinct: BTreeSet<i64> = sets
        .iter()
        .filter_map(|s| per_set.get(&s.bk_set_id))
        .flatten()
        .copied()
        .collect();
    (sets, distinct.len() as i64)
}

fn set_of(
    node: gw::TopologyNode,
    per_set: &BTreeMap<i64, BTreeSet<i64>>,
    per_module: &BTreeMap<i64, i64>,
) -> pb::TopologySet {
    let modules = node
        .children
        .into_iter()
        .filter(|m| m.bk_obj_id == "module")
        .map(|m| pb::TopologyModule {
            bk_module_id: m.bk_inst_id,
            bk_module_name: m.bk_inst_name,
            host_count: per_module.get(&m.bk_inst_id).copied().unwrap_or(0),
        })
        .collect();
    pb::TopologySet {
        bk_set_id: node.bk_inst_id,
        bk_set_name: node.bk_inst_name,
        idle_pool: node.role == gw::TopologyNodeRole::Idle as i32,
        modules,
        host_count: per_set.get(&node.bk_inst_id).map_or(0, |h| h.len() as i64),
    }
}

#[cfg(test)]
#[path = "hosts_tests.rs"]
mod tests;
