//! Caller-facing settings: optional TLS on the gRPC port and the WatchJobInstance poll and
//! stream bounds. Auth (`[auth]`) is `service_kit::auth::AuthSettings`, shared with
//! backup-service.
//!
//! The watch defaults poll fast at first (a script usually finishes in seconds) and back off
//! to one call per 5 s per instance, however many callers watch it.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use service_kit::SettingsError;

use super::invalid;
use crate::watch::{Backoff, StreamBounds};

/// The `[tls]` section: both files or neither.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsSettings {
    /// PEM certificate chain.
    pub cert_file: Option<PathBuf>,
    /// PEM private key.
    pub key_file: Option<PathBuf>,
}

impl TlsSettings {
    /// True when the gRPC port serves TLS.
    pub fn enabled(&self) -> bool {
        self.cert_file.is_some()
    }

    pub(super) fn validate(&self) -> Result<(), SettingsError> {
        match (&self.cert_file, &self.key_file) {
            (Some(_), None) => Err(invalid("tls.key_file", "is required with tls.cert_file")),
            (None, Some(_)) => Err(invalid("tls.cert_file", "is required with tls.key_file")),
            _ => Ok(()),
        }
    }
}

/// The `[watch]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WatchSettings {
    /// First poll interval, and the interval after every change.
    pub initial_interval_ms: u64,
    /// Longest poll interval.
    pub max_interval_ms: u64,
    /// Growth of the interval per unchanged poll.
    pub backoff_factor: f64,
    /// A stream that sees no change for this long ends with DEADLINE_EXCEEDED.
    pub idle_timeout_ms: u64,
    /// A stream ends with DEADLINE_EXCEEDED after this long.
    pub max_lifetime_ms: u64,
}

impl Default for WatchSettings {
    fn default() -> Self {
        Self {
            initial_interval_ms: 200,
            max_interval_ms: 5_000,
            backoff_factor: 1.5,
            idle_timeout_ms: 600_000,
            max_lifetime_ms: 3_600_000,
        }
    }
}

impl WatchSettings {
    /// The poll backoff.
    pub fn backoff(&self) -> Backoff {
        Backoff {
            initial: Duration::from_millis(self.initial_interval_ms),
            max: Duration::from_millis(self.max_interval_ms),
            factor: self.backoff_factor,
        }
    }

    /// The per-stream bounds.
    pub fn bounds(&self) -> StreamBounds {
        StreamBounds {
            idle: Duration::from_millis(self.idle_timeout_ms),
            lifetime: Duration::from_millis(self.max_lifetime_ms),
        }
    }

    pub(super) fn validate(&self) -> Result<(), SettingsError> {
        for (key, value) in [
            ("watch.initial_interval_ms", self.initial_interval_ms),
            ("watch.idle_timeout_ms", self.idle_timeout_ms),
            ("watch.max_lifetime_ms", self.max_lifetime_ms),
        ] {
            if value == 0 {
                return Err(invalid(key, "must be greater than zero"));
            }
        }
        if self.max_interval_ms < self.initial_interval_ms {
            return Err(invalid(
                "watch.max_interval_ms",
                "must not be below watch.initial_interval_ms",
            ));
        }
        if !self.backoff_factor.is_finite() || !(1.0..=10.0).contains(&self.backoff_factor) {
            return Err(invalid("watch.backoff_factor", "must be 1 to 10"));
        }
        Ok(())
    }
}
