//! The crate's one error type for start-up failures (world file, sandbox tool, state directory, socket).
//!
//! Request-level failures are not errors here: they are BlueKing answers (`api::ApiError`) rendered into
//! the envelope of the front door that received them.

use std::path::PathBuf;

/// Why bk-sim could not start or serve.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The world file could not be read.
    #[error("cannot read world file `{path}`")]
    ReadWorld {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The world file is not valid TOML for the world model.
    #[error("world file `{path}` is invalid: {message}")]
    ParseWorld { path: PathBuf, message: String },
    /// The world parsed but is inconsistent (duplicate ids, unknown references...).
    #[error("invalid world: {0}")]
    InvalidWorld(String),
    /// The sandbox tool is missing or does not work on this machine.
    #[error("sandbox unavailable: {0}")]
    Sandbox(String),
    /// A filesystem operation on the state directory failed.
    #[error("state directory error at `{path}`")]
    State {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The HTTP server failed.
    #[error("http server error")]
    Serve(#[source] std::io::Error),
    /// Settings out of range.
    #[error("invalid settings: {0}")]
    Settings(String),
    /// A faults file could not be read or parsed.
    #[error("invalid faults: {0}")]
    Faults(String),
}

/// Result alias for [`SimError`].
pub type Result<T, E = SimError> = std::result::Result<T, E>;
