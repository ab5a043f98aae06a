//! backup-service: searches log files on BlueKing hosts and backs them up through job-gateway,
//! keeping backups, per-host results, records and progress events in Postgres.

pub mod config;
pub mod grpc;
pub mod startup;
pub mod store;
