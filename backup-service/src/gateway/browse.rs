//! CMDB reads HostService passes on, as the caller: one page of businesses, one page of hosts,
//! and a business's topology tree (every call a single job-gateway call; paging through them is
//! `grpc/host_browse.rs`'s).

use proto::jobgateway::v1 as pb;
use tonic::Status;

use super::Gateway;

impl Gateway {
    /// One page of job-gateway's ListBusinesses.
    pub async fn businesses(
        &self,
        req: pb::ListBusinessesRequest,
        operator: &str,
    ) -> Result<pb::ListBusinessesResponse, Status> {
        Ok(self
            .cmdb
            .clone()
            .list_businesses(self.request(req, operator)?)
            .await?
            .into_inner())
    }

    /// One page of job-gateway's ListHosts.
    pub async fn hosts_page(
        &self,
        req: pb::ListHostsRequest,
        operator: &str,
    ) -> Result<pb::ListHostsResponse, Status> {
        Ok(self
            .cmdb
            .clone()
            .list_hosts(self.request(req, operator)?)
            .await?
            .into_inner())
    }

    /// The topology tree of business `bk_biz_id` (the business node), the idle pool's set
    /// included when asked.
    pub async fn topology(
        &self,
        bk_biz_id: i64,
        include_idle_pool: bool,
        operator: &str,
    ) -> Result<pb::TopologyNode, Status> {
        let req = pb::GetBusinessTopologyRequest {
            bk_biz_id,
            include_idle_pool,
        };
        self.cmdb
            .clone()
            .get_business_topology(self.request(req, operator)?)
            .await?
            .into_inner()
            .root
            .ok_or_else(|| Status::internal("job-gateway returned no topology"))
    }
}
