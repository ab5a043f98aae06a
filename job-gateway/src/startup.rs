//! Builds the gRPC server from settings and a bound listener, and runs it until shutdown.
//!
//! Taking a bound listener (rather than an address) lets tests bind `127.0.0.1:0` and learn
//! the port before the server starts.

use std::future::Future;
use std::net::SocketAddr;

use proto::jobgateway::v1::cmdb_service_server::CmdbServiceServer;
use proto::jobgateway::v1::job_service_server::JobServiceServer;
use service_kit::grpc::{incoming, router_with_probes, serve_until};
use tokio::net::TcpListener;
use tonic::server::NamedService;
use tonic::transport::Server;

use crate::config::Settings;
use crate::grpc::{CmdbApi, JobApi};

/// A job-gateway ready to serve.
pub struct Application {
    settings: Settings,
    listener: TcpListener,
    local_addr: SocketAddr,
}

impl Application {
    /// Prepares the application on `listener`.
    pub fn build(settings: Settings, listener: TcpListener) -> std::io::Result<Self> {
        let local_addr = listener.local_addr()?;
        Ok(Self {
            settings,
            listener,
            local_addr,
        })
    }

    /// The address the server accepts connections on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` resolves, then shuts down gracefully.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let services = [
            <CmdbServiceServer<CmdbApi> as NamedService>::NAME,
            <JobServiceServer<JobApi> as NamedService>::NAME,
        ];
        let (health, router) = router_with_probes(
            &mut Server::builder(),
            &[proto::FILE_DESCRIPTOR_SET],
            &services,
        )?;
        let router = router
            .add_service(CmdbServiceServer::new(CmdbApi))
            .add_service(JobServiceServer::new(JobApi));
        tracing::info!(addr = %self.local_addr, transport = ?self.settings.bk.transport, "job-gateway serving");
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
        tracing::info!("job-gateway stopped");
        Ok(())
    }
}
