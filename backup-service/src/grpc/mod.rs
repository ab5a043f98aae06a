//! gRPC adapters of `backup.v1.BackupService`. Until the backup engine lands every RPC
//! answers UNIMPLEMENTED naming what is missing, never fake data.

mod backup;

pub use backup::BackupApi;

/// The status for an RPC whose capability has not been built yet.
fn not_built(rpc: &str, capability: &str) -> tonic::Status {
    tonic::Status::unimplemented(format!("{rpc} is not available yet: it needs {capability}"))
}
