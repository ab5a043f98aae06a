//! `jobgateway.v1.CmdbService`: businesses, topology, hosts and agent status.

use std::sync::Arc;

use proto::jobgateway::v1 as pb;
use proto::jobgateway::v1::cmdb_service_server::CmdbService;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use super::convert::{self, BusinessQuery, HOST_FIELDS, HostQuery};
use super::{Shared, operator, rpc_span, status};
use crate::bk;

/// The CMDB service adapter.
#[derive(Clone)]
pub struct CmdbApi {
    pub(super) shared: Arc<Shared>,
}

impl CmdbApi {
    pub(super) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    async fn businesses(
        &self,
        request: Request<pb::ListBusinessesRequest>,
    ) -> Result<pb::ListBusinessesResponse, Status> {
        let bk = &self.shared.bk;
        let op = operator(&self.shared, &request).await?;
        let q = BusinessQuery::try_from(request.into_inner()).map_err(status)?;
        let listing = bk.search_business(&op, &q.search).await.map_err(status)?;
        let info = listing.info.unwrap_or_default();
        let total = listing.count.unwrap_or(info.len() as i64);
        Ok(pb::ListBusinessesResponse {
            next_page_token: q.page.next_token(info.len(), total),
            businesses: info.into_iter().filter_map(convert::business).collect(),
            total_size: total,
        })
    }

    async fn topology(
        &self,
        request: Request<pb::GetBusinessTopologyRequest>,
    ) -> Result<pb::GetBusinessTopologyResponse, Status> {
        let bk = &self.shared.bk;
        let op = operator(&self.shared, &request).await?;
        let (biz, idle) = convert::topology_query(request.into_inner()).map_err(status)?;
        let nodes = bk
            .search_biz_inst_topo(&op, biz, idle)
            .await
            .map_err(status)?;
        let root = nodes
            .into_iter()
            .find(|n| n.bk_inst_id == Some(biz))
            .ok_or_else(|| Status::not_found(format!("business `{biz}` has no topology")))?;
        Ok(pb::GetBusinessTopologyResponse {
            root: Some(convert::topology_node(root)),
        })
    }

    async fn hosts(
        &self,
        request: Request<pb::ListHostsRequest>,
    ) -> Result<pb::ListHostsResponse, Status> {
        let bk = &self.shared.bk;
        let op = operator(&self.shared, &request).await?;
        let q = HostQuery::try_from(request.into_inner()).map_err(status)?;
        let fields: Vec<String> = HOST_FIELDS.iter().map(|f| (*f).to_owned()).collect();
        let page = bk::CmdbPage {
            start: q.page.offset,
            limit: q.page.size,
            sort: Some("bk_host_id".to_owned()),
        };
        let (mut hosts, count) = if q.with_topology {
            let req = bk::ListBizHostsTopo {
                fields,
                page,
                set_property_filter: convert::id_filter("bk_set_id", &q.bk_set_ids),
                module_property_filter: convert::id_filter("bk_module_id", &q.bk_module_ids),
                host_property_filter: q.host_filter.clone(),
            };
            let listing = bk
                .list_biz_hosts_topo(&op, q.bk_biz_id, &req)
                .await
                .map_err(status)?;
            let hosts: Vec<pb::Host> = listing
                .info
                .unwrap_or_default()
                .into_iter()
                .map(|h| pb::Host {
                    topology: convert::host_topology(h.topo.unwrap_or_default()),
                    ..convert::host(h.host.unwrap_or_default())
                })
                .collect();
            (hosts, listing.count)
        } else {
            let req = bk::ListBizHosts {
                fields,
                page,
                bk_set_ids: q.bk_set_ids.clone(),
                bk_module_ids: q.bk_module_ids.clone(),
                host_property_filter: q.host_filter.clone(),
            };
            let listing = bk
                .list_biz_hosts(&op, q.bk_biz_id, &req)
                .await
                .map_err(status)?;
            let hosts: Vec<pb::Host> = listing
                .info
                .unwrap_or_default()
                .into_iter()
                .map(convert::host)
                .collect();
            (hosts, listing.count)
        };
        if q.with_agent_status && !hosts.is_empty() {
            let targets: Vec<super::agent::Target> =
                hosts.iter().map(super::agent::Target::of_host).collect();
            let (statuses, _) = super::agent::query(bk, &op, targets)
                .await
                .map_err(status)?;
            for (host, agent) in hosts.iter_mut().zip(statuses) {
                host.agent_status = Some(agent);
            }
        }
        let total = count.unwrap_or(hosts.len() as i64);
        Ok(pb::ListHostsResponse {
            next_page_token: q.page.next_token(hosts.len(), total),
            hosts,
            total_size: total,
        })
    }

    async fn agents(
        &self,
        request: Request<pb::GetAgentStatusRequest>,
    ) -> Result<pb::GetAgentStatusResponse, Status> {
        let bk = &self.shared.bk;
        let op = operator(&self.shared, &request).await?;
        let q = convert::AgentQuery::try_from(request.into_inner()).map_err(status)?;
        let mut targets = super::agent::resolve(bk, &op, q.bk_biz_id, &q.bk_host_ids)
            .await
            .map_err(status)?;
        targets.extend(
            q.hosts_by_ip
                .into_iter()
                .map(super::agent::Target::of_address),
        );
        let (statuses, version) = super::agent::query(bk, &op, targets)
            .await
            .map_err(status)?;
        Ok(pb::GetAgentStatusResponse {
            statuses,
            gse_api_version: version as i32,
        })
    }
}

#[tonic::async_trait]
impl CmdbService for CmdbApi {
    async fn list_businesses(
        &self,
        request: Request<pb::ListBusinessesRequest>,
    ) -> Result<Response<pb::ListBusinessesResponse>, Status> {
        let span = rpc_span("ListBusinesses");
        self.businesses(request)
            .instrument(span)
            .await
            .map(Response::new)
    }

    async fn get_business_topology(
        &self,
        request: Request<pb::GetBusinessTopologyRequest>,
    ) -> Result<Response<pb::GetBusinessTopologyResponse>, Status> {
        let span = rpc_span("GetBusinessTopology");
        self.topology(request)
            .instrument(span)
            .await
            .map(Response::new)
    }

    async fn list_hosts(
        &self,
        request: Request<pb::ListHostsRequest>,
    ) -> Result<Response<pb::ListHostsResponse>, Status> {
        let span = rpc_span("ListHosts");
        self.hosts(request)
            .instrument(span)
            .await
            .map(Response::new)
    }

    async fn get_agent_status(
        &self,
        request: Request<pb::GetAgentStatusRequest>,
    ) -> Result<Response<pb::GetAgentStatusResponse>, Status> {
        let span = rpc_span("GetAgentStatus");
        self.agents(request)
            .instrument(span)
            .await
            .map(Response::new)
    }
}
