//! Builds the gRPC server from settings and a bound listener, and runs it until shutdown.
//!
//! Taking a bound listener (rather than an address) lets tests bind `127.0.0.1:0` and learn
//! the port before the server starts. The product services sit behind the bearer-token
//! interceptor; health and reflection stay open. One Prometheus registry collects the gRPC
//! layer's, the BlueKing client's, the watch hub's and the process's metrics. Every call
//! passes the metrics layer, then the edge layer (deadline, honest codes); the server's limits
//! (`[server]`) bound what one connection can hold.

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context as _;
use prometheus::Registry;
use proto::jobgateway::v1::cmdb_service_server::CmdbServiceServer;
use proto::jobgateway::v1::job_service_server::JobServiceServer;
use proto::jobgateway::v1::login_service_server::LoginServiceServer;
use service_kit::auth::BearerAuth;
use service_kit::edge::EdgeLayer;
use service_kit::grpc::{incoming, router_with_probes, serve_until, served_methods};
use service_kit::metrics::GrpcMetrics;
use tokio::net::TcpListener;
use tonic::codec::CompressionEncoding;
use tonic::server::NamedService;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Identity, ServerTlsConfig};

use crate::bk::{BkClient, BkMetrics};
use crate::config::Settings;
use crate::grpc::{CmdbApi, JobApi, LoginApi, Logins, services};
use crate::watch::Gauges;

/// A job-gateway ready to serve.
pub struct Application {
    settings: Settings,
    listener: TcpListener,
    local_addr: SocketAddr,
    metrics_listener: Option<TcpListener>,
    registry: Registry,
    grpc_metrics: GrpcMetrics,
    tls: Option<Identity>,
    cmdb: CmdbApi,
    job: JobApi,
    login: LoginApi,
}

impl Application {
    /// Validates the serving settings, builds the BlueKing client, reads the TLS identity and
    /// binds the metrics port, ready to serve on `listener`.
    pub async fn build(settings: Settings, listener: TcpListener) -> anyhow::Result<Self> {
        settings.validate()?;
        let local_addr = listener.local_addr()?;
        let registry = service_kit::metrics::new_registry();
        let grpc_metrics = GrpcMetrics::register(&registry)?;
        let bk_metrics = BkMetrics::register(&registry)?;
        let gauges = Gauges::register(&registry)?;
        let bk = BkClient::with_metrics(&settings.bk, Some(bk_metrics))
            .context("cannot build the blueking client")?;
        let logins = Logins::new(
            bk.clone(),
            settings.bk.login_url.clone(),
            std::time::Duration::from_millis(settings.bk.login_cache_ms),
        );
        let login = LoginApi::new(logins.clone());
        let (cmdb, job) = services(bk, logins, &settings.watch, Some(gauges));
        let tls = match (&settings.tls.cert_file, &settings.tls.key_file) {
            (Some(cert), Some(key)) => {
                let cert = std::fs::read(cert)
                    .with_context(|| format!("cannot read tls.cert_file `{}`", cert.display()))?;
                let key = std::fs::read(key)
                    .with_context(|| format!("cannot read tls.key_file `{}`", key.display()))?;
                Some(Identity::from_pem(cert, key))
            }
            _ => None,
        };
        let metrics_listener = match settings.metrics_addr {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot bind metrics_addr {addr}"))?,
            ),
            None => None,
        };
        Ok(Self {
            settings,
            listener,
            local_addr,
            metrics_listener,
            registry,
            grpc_metrics,
            tls,
            cmdb,
            job,
            login,
        })
    }

    /// The address the server accepts connections on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address of `GET /metrics`, when `metrics_addr` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    /// The registry every metric of this application is in.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Serves until `shutdown` resolves, then shuts down gracefully.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let services = [
            <CmdbServiceServer<CmdbApi> as NamedService>::NAME,
            <JobServiceServer<JobApi> as NamedService>::NAME,
            <LoginServiceServer<LoginApi> as NamedService>::NAME,
        ];
        let mut builder = self.settings.server.builder();
        if let Some(identity) = self.tls {
            builder = builder
                .tls_config(ServerTlsConfig::new().identity(identity))
                .context("invalid tls certificate or key")?;
        }
        let methods = served_methods(&[proto::FILE_DESCRIPTOR_SET], &services);
        let mut server = builder
            .layer(self.grpc_metrics.layer(methods))
            .layer(EdgeLayer);
        let (health, router) =
            router_with_probes(&mut server, &[proto::FILE_DESCRIPTOR_SET], &services)?;
        let (metrics_stop, metrics_stopped) = tokio::sync::oneshot::channel::<()>();
        if let Some(listener) = self.metrics_listener {
            tracing::info!(addr = ?listener.local_addr().ok(), "metrics at /metrics");
            tokio::spawn(service_kit::metrics::serve(
                listener,
                self.registry,
                async move {
                    let _ = metrics_stopped.await;
                },
            ));
        }
        let auth = BearerAuth::new(&self.settings.auth);
        let _reloader = auth.spawn_reloader();
        let max = self.settings.server.max_message_bytes;
        let gzip = CompressionEncoding::Gzip;
        let cmdb = CmdbServiceServer::new(self.cmdb)
            .max_decoding_message_size(max)
            .accept_compressed(gzip)
            .send_compressed(gzip);
        let job = JobServiceServer::new(self.job)
            .max_decoding_message_size(max)
            .accept_compressed(gzip)
            .send_compressed(gzip);
        let login = LoginServiceServer::new(self.login)
            .max_decoding_message_size(max)
            .accept_compressed(gzip)
            .send_compressed(gzip);
        let router = router
            .add_service(InterceptedService::new(cmdb, auth.clone()))
            .add_service(InterceptedService::new(job, auth.clone()))
            .add_service(InterceptedService::new(login, auth));
        tracing::info!(
            addr = %self.local_addr,
            transport = ?self.settings.bk.transport,
            tls = self.settings.tls.enabled(),
            "job-gateway serving"
        );
        let incoming = incoming(self.listener);
        serve_until(
            move |stop| {
                router.serve_with_incoming_shutdown(incoming, async move {
                    let _ = stop.await;
                })
            },
            health,
            &services,
            None,
            shutdown,
            self.settings.shutdown_grace(),
        )
        .await?;
        let _ = metrics_stop.send(());
        tracing::info!("job-gateway stopped");
        Ok(())
    }
}
