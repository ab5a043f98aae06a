//! Plumbing that job-gateway and backup-service share, so each service crate holds only its
//! own behaviour: settings loading (defaults → optional TOML file → environment), tracing
//! setup, the health and reflection services, and graceful shutdown on SIGTERM/SIGINT.

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
