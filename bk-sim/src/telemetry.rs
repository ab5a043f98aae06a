//! Log set-up for the binary: `RUST_LOG`-style filter, compact text or JSON lines.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; `json` selects JSON lines.
pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
