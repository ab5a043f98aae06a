//! Builds the HTTP application from settings and a bound listener, and runs it; [`spawn`] does both on
//! `127.0.0.1:0` for tests and the end-to-end crate.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::error::{Result, SimError};
use crate::state::AppState;

/// Largest request body: a 16 MiB script, Base64-encoded, plus the rest of the request.
const BODY_LIMIT: usize = 24 * 1024 * 1024;

/// A simulator ready to serve on its listener.
pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    router: Router,
    state: Arc<AppState>,
}

impl Application {
    /// Checks the sandbox, prepares the state directory and builds the routes.
    pub fn build(settings: Settings, listener: TcpListener) -> Result<Self> {
        settings.validate()?;
        let addr = listener.local_addr().map_err(SimError::Serve)?;
        let state = Arc::new(AppState::new(settings)?);
        let router = crate::transport::routes()
            .merge(crate::admin::routes())
            .merge(crate::web::routes())
            .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
            .with_state(state.clone());
        tracing::info!(%addr, hosts = state.world.hosts.len(), state_dir = %state.state_dir.display(), "bk-sim ready");
        Ok(Self {
            listener,
            addr,
            router,
            state,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Shared state (world, jobs, faults, request log).
    pub fn state(&self) -> Arc<AppState> {
        self.state.clone()
    }

    /// Serves until `shutdown` completes.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(SimError::Serve)
    }

    /// Serves until Ctrl-C or SIGTERM (then the temporary state directory is removed).
    pub async fn run_until_stopped(self) -> Result<()> {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(SimError::Serve)?;
        self.run_until(async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        })
        .await
    }
}

/// A simulator running in the background of the current tokio runtime; stops when dropped.
pub struct RunningSim {
    /// Bound address.
    pub addr: SocketAddr,
    /// Shared state, for direct inspection in tests.
    pub state: Arc<AppState>,
    stop: CancellationToken,
}

impl RunningSim {
    /// `http://127.0.0.1:<port>`: the ESB base, the gateway base (`{base}/api/bk-job/prod`...) and the JOB web base.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The host's tree on disk (materialised on first call).
    pub async fn host_root(&self, host_id: i64) -> Result<PathBuf> {
        self.state.host_root(host_id).await
    }

    /// Stops serving.
    pub fn stop(&self) {
        self.stop.cancel();
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Binds `127.0.0.1:0`, builds and serves in a background task.
pub async fn spawn(settings: Settings) -> Result<RunningSim> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(SimError::Serve)?;
    let app = Application::build(settings, listener)?;
    let (addr, state) = (app.local_addr(), app.state());
    let stop = CancellationToken::new();
    let token = stop.clone();
    tokio::spawn(async move {
        if let Err(e) = app.run_until(async move { token.cancelled().await }).await {
            tracing::error!(error = %e, "bk-sim stopped with an error");
        }
    });
    Ok(RunningSim { addr, state, stop })
}
