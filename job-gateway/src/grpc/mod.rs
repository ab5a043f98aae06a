//! gRPC adapters: one file per service, each translating protos to calls on the BlueKing
//! client. Until the client lands every RPC answers UNIMPLEMENTED naming what is missing,
//! never fake data.

mod cmdb;
mod job;

pub use cmdb::CmdbApi;
pub use job::JobApi;

/// The status for an RPC whose capability has not been built yet.
fn not_built(rpc: &str, capability: &str) -> tonic::Status {
    tonic::Status::unimplemented(format!("{rpc} is not available yet: it needs {capability}"))
}
