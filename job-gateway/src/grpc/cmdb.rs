//! `jobgateway.v1.CmdbService`: businesses, topology, hosts and agent status.

use proto::jobgateway::v1 as pb;
use proto::jobgateway::v1::cmdb_service_server::CmdbService;
use tonic::{Request, Response, Status};

use super::not_built;

const CMDB_CLIENT: &str = "the BlueKing CMDB client";

/// The CMDB service adapter.
#[derive(Debug, Default)]
pub struct CmdbApi;

#[tonic::async_trait]
impl CmdbService for CmdbApi {
    async fn list_businesses(
        &self,
        _request: Request<pb::ListBusinessesRequest>,
    ) -> Result<Response<pb::ListBusinessesResponse>, Status> {
        Err(not_built("ListBusinesses", CMDB_CLIENT))
    }

    async fn get_business_topology(
        &self,
        _request: Request<pb::GetBusinessTopologyRequest>,
    ) -> Result<Response<pb::GetBusinessTopologyResponse>, Status> {
        Err(not_built("GetBusinessTopology", CMDB_CLIENT))
    }

    async fn list_hosts(
        &self,
        _request: Request<pb::ListHostsRequest>,
    ) -> Result<Response<pb::ListHostsResponse>, Status> {
        Err(not_built("ListHosts", CMDB_CLIENT))
    }

    async fn get_agent_status(
        &self,
        _request: Request<pb::GetAgentStatusRequest>,
    ) -> Result<Response<pb::GetAgentStatusResponse>, Status> {
        Err(not_built("GetAgentStatus", "the BlueKing GSE client"))
    }
}
