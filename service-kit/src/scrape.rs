//! The metrics endpoint: `GET /metrics` renders a registry in the Prometheus text format,
//! after an optional refresh (e.g. counts read from a database) bounded by [`REFRESH_LIMIT`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use prometheus::{Registry, TextEncoder};

/// Renders `registry` in the Prometheus text format.
pub fn render(registry: &Registry) -> String {
    TextEncoder::new()
        .encode_to_string(&registry.gather())
        .unwrap_or_else(|e| format!("# encoding failed: {e}\n"))
}

/// Work done before each scrape renders, e.g. reading gauges from a database.
pub type Refresh = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// Serves `GET /metrics` from `registry` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    registry: Registry,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, registry, None, shutdown).await
}

/// Like [`serve`], running `refresh` (bounded by [`REFRESH_LIMIT`]) before each scrape renders.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    registry: Registry,
    refresh: Option<Refresh>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let registry = registry.clone();
            let refresh = refresh.clone();
            async move {
                if let Some(refresh) = refresh
                    && tokio::time::timeout(REFRESH_LIMIT, refresh())
                        .await
                        .is_err()
                {
                    tracing::warn!("metrics refresh took too long; serving older values");
                }
                (
                    [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    render(&registry),
                )
            }
        }),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// How long a scrape waits for its refresh.
pub const REFRESH_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);
