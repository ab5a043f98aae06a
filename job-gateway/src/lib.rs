//! job-gateway: typed gRPC (`jobgateway.v1`) over BlueKing's CMDB, GSE and JOB v3 HTTP APIs.
//!
//! It owns the BlueKing credentials, both transports (ESB and API gateway), retries, rate
//! limits and the mapping of BlueKing errors to gRPC status codes, so callers never see an
//! HTTP envelope.

pub mod bk;
pub mod config;
pub mod error;
pub mod grpc;
pub mod startup;
pub mod watch;
