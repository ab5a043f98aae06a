//! The shutdown signal: SIGTERM or SIGINT (Ctrl-C), whichever comes first.
//!
//! The handlers are installed when [`signal`] is called, not when its future is first polled:
//! a process that is already serving must never die of a SIGTERM's default action because the
//! future that would have caught it had not run yet.

use std::future::Future;

/// Installs the SIGTERM/SIGINT handlers now (call it inside the runtime, before serving) and
/// returns a future that resolves when the process is asked to stop.
pub fn signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let terminate = signal(SignalKind::terminate());
        let interrupt = signal(SignalKind::interrupt());
        async move {
            let (mut terminate, mut interrupt) = match (terminate, interrupt) {
                (Ok(t), Ok(i)) => (t, i),
                (Err(e), _) | (_, Err(e)) => {
                    tracing::error!(error = %e, "cannot listen for SIGTERM/SIGINT");
                    return std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                _ = interrupt.recv() => tracing::info!("received SIGINT"),
                _ = terminate.recv() => tracing::info!("received SIGTERM"),
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
        tracing::info!("received ctrl-c");
    }
}
