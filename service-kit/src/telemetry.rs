//! Tracing subscriber set-up: human-readable lines by default, JSON lines by setting, with the
//! filter from `RUST_LOG` when set, else from the settings.

use tracing_subscriber::EnvFilter;

use crate::settings::{LogFormat, LogSettings};

/// Installs the global subscriber. Call once, from `main`; later calls are ignored so tests
/// that build several applications in one process do not fail.
pub fn init(log: &LogSettings) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&log.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match log.format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// Whether `filter` parses as a tracing filter directive; used by settings validation.
pub fn filter_is_valid(filter: &str) -> bool {
    EnvFilter::try_new(filter).is_ok()
}
