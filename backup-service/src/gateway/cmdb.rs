//! CMDB reads through job-gateway: which of a list of hosts are in a business, hosts of a
//! business matching one ListHosts filter (every page, or until more than a bound were seen),
//! and the ids of the business's sets and modules (its idle-host pool included). The last two
//! are what a host selector is resolved with.

use std::collections::{BTreeSet, HashSet};

use proto::jobgateway::v1 as pb;
use tonic::Status;

use super::Gateway;

/// ListHosts' largest page, and the most ids one of its filters takes.
const PAGE: i32 = 500;

/// The set and module ids of a business's topology.
#[derive(Debug, Default)]
pub struct TopologyIds {
    /// Sets, the idle-host pool included.
    pub sets: BTreeSet<i64>,
    /// Modules, the idle pool's included.
    pub modules: BTreeSet<i64>,
}

impl Gateway {
    /// Which of `hosts` CMDB lists in business `bk_biz_id` (CMDB `list_biz_hosts`, through
    /// job-gateway's ListHosts, 500 ids a call). A business that does not exist comes back
    /// NOT_FOUND, one the operator may not see PERMISSION_DENIED.
    pub async fn hosts_in_business(
        &self,
        bk_biz_id: i64,
        hosts: &[i64],
        operator: &str,
    ) -> Result<HashSet<i64>, Status> {
        let mut found = HashSet::with_capacity(hosts.len());
        for chunk in hosts.chunks(PAGE as usize) {
            let filter = pb::ListHostsRequest {
                bk_biz_id,
                bk_host_ids: chunk.to_vec(),
                ..Default::default()
            };
            let listed = self.list_hosts(filter, usize::MAX, operator).await?;
            found.extend(listed.iter().map(|h| h.bk_host_id));
        }
        Ok(found)
    }

    /// The hosts `filter` (a ListHostsRequest without paging) lists in its business, in
    /// ascending id order; stops paging once more than `bound` hosts were seen, so a whole
    /// business is never read only to be refused.
    pub async fn list_hosts(
        &self,
        filter: pb::ListHostsRequest,
        bound: usize,
        operator: &str,
    ) -> Result<Vec<pb::Host>, Status> {
        let mut hosts = Vec::new();
        let mut page_token = String::new();
        loop {
            let req = pb::ListHostsRequest {
                page_size: PAGE,
                page_token,
                ..filter.clone()
            };
            let resp = self
                .cmdb
                .clone()
                .list_hosts(self.request(req, operator)?)
                .await?
                .into_inner();
            hosts.extend(resp.hosts);
            if resp.next_page_token.is_empty() || hosts.len() > bound {
                return Ok(hosts);
            }
            page_token = resp.next_page_token;
        }
    }

    /// The sets and modules of business `bk_biz_id` (CMDB `search_biz_inst_topo`, with the
    /// idle-host pool).
    pub async fn topology_ids(
        &self,
        bk_biz_id: i64,
        operator: &str,
    ) -> Result<TopologyIds, Status> {
        let req = pb::GetBusinessTopologyRequest {
            bk_biz_id,
            include_idle_pool: true,
        };
        let root = self
            .cmdb
            .clone()
            .get_business_topology(self.request(req, operator)?)
            .await?
            .into_inner()
            .root;
        let mut ids = TopologyIds::default();
        let mut stack: Vec<pb::TopologyNode> = root.into_iter().collect();
        while let Some(node) = stack.pop() {
            match node.bk_obj_id.as_str() {
                "set" => {
                    ids.sets.insert(node.bk_inst_id);
                }
                "module" => {
                    ids.modules.insert(node.bk_inst_id);
                }
                _ => {}
            }
            stack.extend(node.children);
        }
        Ok(ids)
    }
}
