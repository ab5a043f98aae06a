//! Plumbing that job-gateway and backup-service share, so each service crate holds only its
//! own behaviour: settings loading (defaults → optional TOML file → environment), tracing
//! setup, bearer auth, the health and reflection services, the server's limits and the edge
//! every call passes (deadline, honest codes), gRPC and process metrics, and graceful
//! shutdown on SIGTERM/SIGINT.

pub mod auth;
pub mod edge;
pub mod grpc;
pub mod methods;
pub mod metrics;
pub mod scrape;
pub mod settings;
pub mod shutdown;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;

pub use settings::{LogFormat, LogSettings, SettingsError};
