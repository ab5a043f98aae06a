//! backup-service: searches log files on BlueKing hosts and backs them up through job-gateway,
//! keeping backups, per-host results, records and progress events in Postgres.

pub mod access;
pub mod audit;
pub mod config;
pub mod console;
pub mod convert;
pub mod domain;
pub mod error;
pub mod events;
pub mod gateway;
pub mod grpc;
pub mod health;
pub mod hostscript;
pub mod metrics;
pub mod outcome;
pub mod progress;
pub mod records;
pub mod schedule;
pub mod selector;
pub mod startup;
pub mod store;
pub mod worker;
