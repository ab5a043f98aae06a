//! Builds the gRPC server from settings and a bound listener, and runs it until shutdown.
//! Migrations are applied before the listener serves anything.

use std::future::Future;
use std::net::SocketAddr;

use proto::backup::v1::backup_service_server::BackupServiceServer;
use service_kit::grpc::{incoming, router_with_probes, serve_until};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tonic::server::NamedService;
use tonic::transport::Server;

use crate::config::Settings;
use crate::grpc::BackupApi;
use crate::store;

/// A backup-service ready to serve.
pub struct Application {
    settings: Settings,
    listener: TcpListener,
    local_addr: SocketAddr,
    pool: PgPool,
}

impl Application {
    /// Connects to Postgres, applies migrations and prepares the server on `listener`.
    pub async fn build(settings: Settings, listener: TcpListener) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let pool = store::pool(settings.connect_options()?, &settings.database);
        store::migrate(&pool)
            .await
            .context("cannot apply database migrations")?;
        let local_addr = listener.local_addr()?;
        Ok(Self {
            settings,
            listener,
            local_addr,
            pool,
        })
    }

    /// The address the server accepts connections on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The database pool (tests inspect state through it).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Serves until `shutdown` resolves, then shuts down gracefully.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let services = [<BackupServiceServer<BackupApi> as NamedService>::NAME];
        let (health, router) = router_with_probes(
            &mut Server::builder(),
            &[proto::FILE_DESCRIPTOR_SET],
            &services,
        )?;
        let router = router.add_service(BackupServiceServer::new(BackupApi));
        tracing::info!(addr = %self.local_addr, "backup-service serving");
        let incoming = incoming(self.listener);
        serve_until(
            move |stop| {
                router.serve_with_incoming_shutdown(incoming, async move {
                    let _ = stop.await;
                })
            },
            health,
            &services,
            shutdown,
            self.settings.shutdown_grace(),
        )
        .await?;
        self.pool.close().await;
        tracing::info!("backup-service stopped");
        Ok(())
    }
}
