//! Token rotation without a restart: a task re-reads `auth.tokens_file` when its modification
//! time or size changes (checked every `auth.tokens_file_poll_secs`) and on SIGHUP. A file
//! that cannot be used is logged and the last good set stays in force.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::signal::unix::{SignalKind, signal};

use super::BearerAuth;

impl BearerAuth {
    /// Starts the reload task when a token file is configured. It ends once every clone of
    /// this interceptor is gone.
    pub fn spawn_reloader(&self) -> Option<tokio::task::JoinHandle<()>> {
        let path = self.settings.tokens_file.clone()?;
        let poll = Duration::from_secs(self.settings.tokens_file_poll_secs);
        let weak_tokens = Arc::downgrade(&self.tokens);
        let settings = Arc::clone(&self.settings);
        let enabled = self.enabled;
        let mut hup = match signal(SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGHUP; token file reloads on change only");
                return None;
            }
        };
        Some(tokio::spawn(async move {
            let mut seen = stamp(&path);
            loop {
                let hangup = tokio::select! {
                    _ = hup.recv() => true,
                    () = tick(poll) => false,
                };
                let Some(tokens) = weak_tokens.upgrade() else {
                    return;
                };
                let now = stamp(&path);
                if !hangup && now == seen {
                    continue;
                }
                seen = now;
                let auth = BearerAuth {
                    tokens,
                    settings: Arc::clone(&settings),
                    enabled,
                    people: false,
                };
                let why = if hangup { "SIGHUP" } else { "file changed" };
                match auth.reload() {
                    Ok(n) => tracing::info!(tokens = n, why, "bearer tokens reloaded"),
                    Err(e) => tracing::error!(
                        error = %e,
                        why,
                        "token file unusable; keeping the tokens in force"
                    ),
                }
            }
        }))
    }
}

/// Waits `poll`, or forever when it is zero (SIGHUP only).
async fn tick(poll: Duration) {
    if poll.is_zero() {
        std::future::pending::<()>().await;
    }
    tokio::time::sleep(poll).await;
}

/// What tells a changed file apart cheaply: modification time and size.
fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}
