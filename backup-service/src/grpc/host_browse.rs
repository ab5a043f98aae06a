//! `backup.v1.HostService`: businesses, topology and hosts as the caller sees them in CMDB,
//! read through job-gateway as the caller's BlueKing user (a service's, or a person's from
//! their login token, `Guard::who`), so BlueKing's refusal (PERMISSION_DENIED with its
//! details, NOT_FOUND) is passed on.
//!
//! ListBusinesses and ListHosts page with job-gateway's own tokens, wrapped in ours (bound to
//! the filters). ListHosts with `offline_only` reads every host matching the other filters
//! with its agent status, and pages the offline ones by host id. GetTopology counts hosts from
//! the placements of every host of the business.

use proto::backup::v1 as pb;
use proto::backup::v1::host_service_server::HostService;
use proto::jobgateway::v1 as gw;
use tonic::{Request, Response, Status};

use super::Guard;
use crate::convert::hosts::{self, BusinessQuery, HostQuery, positive};
use crate::convert::page_token;
use crate::error::{BackupError, Result};
use crate::gateway::Gateway;

/// The host-browsing adapter.
#[derive(Clone)]
pub struct HostApi {
    gateway: Gateway,
    guard: Guard,
}

impl HostApi {
    /// The adapter; `guard` says who the caller is (a service's user, or a person by their
    /// BlueKing login token).
    pub fn new(gateway: Gateway, guard: Guard) -> Self {
        Self { gateway, guard }
    }

    async fn businesses(
        &self,
        q: BusinessQuery,
        operator: &str,
    ) -> Result<pb::ListBusinessesResponse> {
        let upstream_token = if q.page_token.is_empty() {
            String::new()
        } else {
            page_token::decode_key("hb", &q.page_token, &q.filter())?
        };
        let req = gw::ListBusinessesRequest {
            page_size: q.page_size as i32,
            page_token: upstream_token,
            name_contains: q.name_contains.clone().unwrap_or_default(),
            include_archived: q.include_archived,
        };
        let resp = self.gateway.businesses(req, operator).await?;
        Ok(pb::ListBusinessesResponse {
            businesses: resp
                .businesses
                .into_iter()
                .map(hosts::business_info)
                .collect(),
            next_page_token: wrap("hb", &resp.next_page_token, &q.filter()),
            total_size: resp.total_size,
        })
    }

    async fn topology(
        &self,
        bk_biz_id: i64,
        include_idle_pool: bool,
        operator: &str,
    ) -> Result<pb::GetTopologyResponse> {
        let root = self
            .gateway
            .topology(bk_biz_id, include_idle_pool, operator)
            .await?;
        let all = gw::ListHostsRequest {
            bk_biz_id,
            with_topology: true,
            ..Default::default()
        };
        let by_name = gw::ListBusinessesRequest {
            page_size: 500,
            name_contains: root.bk_inst_name.clone(),
            include_archived: true,
            ..Default::default()
        };
        let (placed, named) = tokio::try_join!(
            self.gateway.list_hosts(all, usize::MAX, operator),
            self.gateway.businesses(by_name, operator),
        )?;
        let business = named
            .businesses
            .into_iter()
            .find(|b| b.bk_biz_id == bk_biz_id)
            .map_or_else(
                || pb::BusinessInfo {
                    bk_biz_id,
                    bk_biz_name: root.bk_inst_name.clone(),
                    ..Default::default()
                },
                hosts::business_info,
            );
        let (sets, host_count) = hosts::topology(root, &placed);
        Ok(pb::GetTopologyResponse {
            business: Some(business),
            sets,
            host_count,
        })
    }

    async fn hosts(&self, q: HostQuery, operator: &str) -> Result<pb::ListHostsResponse> {
        if q.filter.offline_only {
            return self.offline_hosts(q, operator).await;
        }
        let upstream_token = if q.page_token.is_empty() {
            String::new()
        } else {
            page_token::decode_key("hh", &q.page_token, &q.filter)?
        };
        let req = gw::ListHostsRequest {
            page_size: q.page_size as i32,
            page_token: upstream_token,
            ..q.filter.upstream()
        };
        let resp = self.gateway.hosts_page(req, operator).await?;
        Ok(pb::ListHostsResponse {
            hosts: resp.hosts.into_iter().map(hosts::host_info).collect(),
            next_page_token: wrap("hh", &resp.next_page_token, &q.filter),
            total_size: resp.total_size,
        })
    }

    /// Every host of the filters asked about, the offline ones paged by host id.
    async fn offline_hosts(&self, q: HostQuery, operator: &str) -> Result<pb::ListHostsResponse> {
        let after: i64 = if q.page_token.is_empty() {
            0
        } else {
            page_token::decode_key("ho", &q.page_token, &q.filter)?
                .parse()
                .map_err(|_| BackupError::invalid("page_token", "page_token is malformed"))?
        };
        let all = self
            .gateway
            .list_hosts(q.filter.upstream(), usize::MAX, operator)
            .await?;
        let offline: Vec<pb::HostInfo> = all
            .into_iter()
            .map(hosts::host_info)
            .filter(|h| h.agent_status != pb::AgentStatus::Online as i32)
            .collect();
        let total_size = offline.len() as i64;
        let mut rest = offline.into_iter().filter(|h| h.bk_host_id > after);
        let page: Vec<pb::HostInfo> = rest.by_ref().take(q.page_size as usize).collect();
        let next_page_token = match (rest.next(), page.last()) {
            (Some(_), Some(last)) => {
                page_token::encode_key("ho", &last.bk_host_id.to_string(), &q.filter)
            }
            _ => String::new(),
        };
        Ok(pb::ListHostsResponse {
            hosts: page,
            next_page_token,
            total_size,
        })
    }
}

/// Our token around job-gateway's `next` (none when it has none).
fn wrap(kind: &str, next: &str, filter: &impl std::fmt::Debug) -> String {
    if next.is_empty() {
        return String::new();
    }
    page_token::encode_key(kind, next, filter)
}

#[tonic::async_trait]
impl HostService for HostApi {
    async fn list_businesses(
        &self,
        request: Request<pb::ListBusinessesRequest>,
    ) -> Result<Response<pb::ListBusinessesResponse>, Status> {
        let operator = self.guard.who(&request).await?.bk_username;
        let q = BusinessQuery::try_from(request.into_inner())?;
        Ok(Response::new(self.businesses(q, &operator).await?))
    }

    async fn get_topology(
        &self,
        request: Request<pb::GetTopologyRequest>,
    ) -> Result<Response<pb::GetTopologyResponse>, Status> {
        let operator = self.guard.who(&request).await?.bk_username;
        let pb::GetTopologyRequest {
            bk_biz_id,
            include_idle_pool,
        } = request.into_inner();
        let bk_biz_id = positive("bk_biz_id", bk_biz_id)?;
        let resp = self
            .topology(bk_biz_id, include_idle_pool, &operator)
            .await?;
        Ok(Response::new(resp))
    }

    async fn list_hosts(
        &self,
        request: Request<pb::ListHostsRequest>,
    ) -> Result<Response<pb::ListHostsResponse>, Status> {
        let operator = self.guard.who(&request).await?.bk_username;
        let q = HostQuery::try_from(request.into_inner())?;
        Ok(Response::new(self.hosts(q, &operator).await?))
    }
}
