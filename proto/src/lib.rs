//! The gRPC API contracts of bk-log-backup and their generated Rust code.
//!
//! This crate owns every `.proto` file of the workspace and is the only one that
//! generates code from them; services and clients depend on it instead of
//! compiling protos themselves. Modules mirror the protobuf packages:
//!
//! - [`jobgateway::v1`]: `CmdbService` and `JobService`, typed gRPC over
//!   BlueKing CMDB, GSE and JOB, and `LoginService`, BlueKing login-token
//!   verification, served by job-gateway.
//! - [`backup::v1`]: `BackupService` (file search, backup, progress and records),
//!   `ScheduleService` (cron schedules), `HostService` (businesses, topology and hosts as
//!   the caller sees them) and `AuditService`, served by backup-service.
//!
//! Each package module holds the messages, a `<service>_server` module with the
//! service trait and its tower service, and a `<service>_client` module.
//! [`FILE_DESCRIPTOR_SET`] holds the descriptors of every file (well-known types
//! included) for `tonic-reflection`.

/// Packages under `jobgateway`.
pub mod jobgateway {
    /// Version 1 of the job-gateway API (protobuf package `jobgateway.v1`).
    pub mod v1 {
        #![allow(clippy::all, clippy::pedantic, clippy::nursery)]
        #![allow(rustdoc::all)]
        #![allow(missing_docs)]

        tonic::include_proto!("jobgateway.v1");
    }
}

/// Packages under `backup`.
pub mod backup {
    /// Version 1 of the backup-service API (protobuf package `backup.v1`).
    pub mod v1 {
        #![allow(clippy::all, clippy::pedantic, clippy::nursery)]
        #![allow(rustdoc::all)]
        #![allow(missing_docs)]

        tonic::include_proto!("backup.v1");
    }
}

/// Encoded `google.protobuf.FileDescriptorSet` of every `.proto` file of this
/// crate and of the well-known types they import, with source info (comments).
///
/// Register it with `tonic_reflection::server::Builder::register_encoded_file_descriptor_set`.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("descriptor");

#[cfg(test)]
mod tests {
    use prost::Message;
    use prost_types::FileDescriptorSet;

    use super::FILE_DESCRIPTOR_SET;

    #[test]
    fn descriptor_set_holds_every_service_and_its_imports() {
        let set = FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).expect("descriptor set decodes");
        let mut services: Vec<String> = set
            .file
            .iter()
            .flat_map(|file| {
                file.service
                    .iter()
                    .map(move |service| format!("{}.{}", file.package(), service.name()))
            })
            .collect();
        services.sort();
        assert_eq!(
            services,
            [
                "backup.v1.AuditService",
                "backup.v1.BackupService",
                "backup.v1.HostService",
                "backup.v1.ScheduleService",
                "jobgateway.v1.CmdbService",
                "jobgateway.v1.JobService",
                "jobgateway.v1.LoginService",
            ]
        );
        let names: Vec<&str> = set.file.iter().map(|file| file.name()).collect();
        assert!(names.contains(&"google/protobuf/timestamp.proto"));
        assert!(names.contains(&"google/protobuf/duration.proto"));
        assert!(names.contains(&"google/protobuf/field_mask.proto"));
    }
}
