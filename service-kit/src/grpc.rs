//! Health, reflection, the server's resource limits and the serve-until-shutdown loop shared by
//! both gRPC servers.
//!
//! Reflection also describes the `google.rpc` error details (`ErrorInfo`, `BadRequest`,
//! `RetryInfo`, ...) our errors carry, so `grpcurl` and `buf curl` print them decoded.
//!
//! Shutdown order matters to load balancers: health flips to NOT_SERVING first, then the
//! listener closes and in-flight calls get a bounded grace period. Long-lived server streams
//! would otherwise hold shutdown open forever, so whatever is still running when the grace
//! period ends is dropped.

use std::future::Future;
use std::time::Duration;

use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tonic::service::Routes;
use tonic::transport::Server;
use tonic::transport::server::Router;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

/// Starts a router on `server` with health plus reflection v1 and v1alpha; add the service's
/// own services to it. Reflection resolves types from `descriptor_sets` (encoded
/// `FileDescriptorSet`s) but advertises only `services` (full names) and the probes
/// themselves, since a descriptor set may describe services this server does not serve.
/// Returns the health reporter too, for [`serve_until`].
pub fn router_with_probes<L: Clone>(
    server: &mut Server<L>,
    descriptor_sets: &[&'static [u8]],
    services: &[&str],
) -> Result<(HealthReporter, Router<L>), tonic_reflection::server::Error> {
    let (health, routes) = routes_with_probes(descriptor_sets, services)?;
    Ok((health, server.add_routes(routes)))
}

/// The routes [`router_with_probes`] starts with, for a server that adds routes of its own
/// (plain HTTP beside gRPC) before handing them to `Server::add_routes`.
pub fn routes_with_probes(
    descriptor_sets: &[&'static [u8]],
    services: &[&str],
) -> Result<(HealthReporter, Routes), tonic_reflection::server::Error> {
    let (health, health_service) = tonic_health::server::health_reporter();
    let build = || {
        let mut b = tonic_reflection::server::Builder::configure()
            .include_reflection_service(false)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(
                tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
            )
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET);
        for set in descriptor_sets {
            b = b.register_encoded_file_descriptor_set(set);
        }
        for name in services.iter().chain(PROBE_SERVICES) {
            b = b.with_service_name(*name);
        }
        b
    };
    let routes = Routes::new(health_service)
        .add_service(build().build_v1()?)
        .add_service(build().build_v1alpha()?);
    Ok((health, routes))
}

/// The metric labels of `services` (described in `descriptor_sets`) and of the probes
/// [`router_with_probes`] adds.
pub fn served_methods(descriptor_sets: &[&[u8]], services: &[&str]) -> crate::metrics::Methods {
    let mut sets: Vec<&[u8]> = vec![
        tonic_health::pb::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
    ];
    sets.extend_from_slice(descriptor_sets);
    let names: Vec<&str> = services.iter().chain(PROBE_SERVICES).copied().collect();
    crate::metrics::Methods::from_descriptor_sets(&sets, &names)
}

/// The services [`router_with_probes`] adds besides the caller's.
const PROBE_SERVICES: &[&str] = &[
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];

/// The incoming-connection stream for `listener`, with TCP_NODELAY set on each connection:
/// without it a unary response's trailers wait for the caller's delayed ACK, about 40 ms a
/// call (measured in docs/benchmarks.md).
pub fn incoming(listener: TcpListener) -> TcpIncoming {
    TcpIncoming::from(listener).with_nodelay(Some(true))
}

/// Marks `services` (full names, e.g. `backup.v1.BackupService`) and the server as a whole
/// SERVING (or NOT_SERVING while `ready` says false: e.g. the database is unreachable), runs
/// `serve` until `shutdown` resolves, then flips them all to NOT_SERVING, stops accepting and
/// waits at most `grace` for in-flight calls.
///
/// `serve` receives the stop signal to hand to tonic's `serve_with_incoming_shutdown`.
pub async fn serve_until<S, F>(
    serve: S,
    health: HealthReporter,
    services: &[&str],
    ready: Option<watch::Receiver<bool>>,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) -> Result<(), tonic::transport::Error>
where
    S: FnOnce(oneshot::Receiver<()>) -> F,
    F: Future<Output = Result<(), tonic::transport::Error>> + Send + 'static,
{
    let set_all = |status: ServingStatus| {
        let health = health.clone();
        let names: Vec<String> = services
            .iter()
            .copied()
            .chain([""])
            .map(str::to_owned)
            .collect();
        async move {
            for name in &names {
                health.set_service_status(name, status).await;
            }
        }
    };
    let serving = |up: bool| {
        if up {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        }
    };
    // Every service has a status before the server accepts its first connection: a probe
    // that comes at once must not get NOT_FOUND ("service not registered").
    let initially_up = ready.as_ref().is_none_or(|r| *r.borrow());
    set_all(serving(initially_up)).await;
    let follow = async {
        match ready {
            None => {
                set_all(ServingStatus::Serving).await;
                std::future::pending::<()>().await;
            }
            Some(mut ready) => loop {
                let up = *ready.borrow_and_update();
                set_all(serving(up)).await;
                if ready.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            },
        }
    };
    let (stop_tx, stop_rx) = oneshot::channel();
    let mut server = tokio::spawn(serve(stop_rx));
    tokio::select! {
        res = &mut server => return flatten(res),
        () = shutdown => {}
        () = follow => {}
    }
    set_all(ServingStatus::NotServing).await;
    tracing::info!(
        grace_ms = grace.as_millis() as u64,
        "shutting down: health is NOT_SERVING"
    );
    let _ = stop_tx.send(());
    match tokio::time::timeout(grace, &mut server).await {
        Ok(res) => flatten(res),
        Err(_) => {
            tracing::warn!("grace period over: dropping calls still in flight");
            server.abort();
            Ok(())
        }
    }
}

fn flatten(
    res: Result<Result<(), tonic::transport::Error>, tokio::task::JoinError>,
) -> Result<(), tonic::transport::Error> {
    match res {
        Ok(r) => r,
        Err(e) if e.is_cancelled() => Ok(()),
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// The `[server]` section of both services: how much one caller can hold of the server.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Largest request message accepted; a larger one is RESOURCE_EXHAUSTED.
    pub max_message_bytes: usize,
    /// HTTP/2 streams (calls) one connection may have open at once.
    pub max_concurrent_streams: u32,
    /// HTTP/2 PING to an idle connection this often; 0 disables keepalive.
    pub keepalive_interval_ms: u64,
    /// A connection whose PING is not answered within this is closed.
    pub keepalive_timeout_ms: u64,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            max_message_bytes: 4 * 1024 * 1024,
            max_concurrent_streams: 128,
            keepalive_interval_ms: 30_000,
            keepalive_timeout_ms: 10_000,
        }
    }
}

impl ServerSettings {
    /// The offending setting (under `server.`) and why, if these cannot be served.
    pub fn problem(&self) -> Option<(&'static str, &'static str)> {
        if self.max_message_bytes < 1024 {
            return Some(("server.max_message_bytes", "must be at least 1024"));
        }
        if self.max_concurrent_streams == 0 {
            return Some(("server.max_concurrent_streams", "must be at least 1"));
        }
        if self.keepalive_interval_ms > 0 && self.keepalive_timeout_ms == 0 {
            return Some((
                "server.keepalive_timeout_ms",
                "must be positive when keepalive is on",
            ));
        }
        None
    }

    /// A server builder with these limits.
    pub fn builder(&self) -> Server {
        let keepalive = (self.keepalive_interval_ms > 0)
            .then(|| Duration::from_millis(self.keepalive_interval_ms));
        Server::builder()
            .max_concurrent_streams(self.max_concurrent_streams)
            .http2_keepalive_interval(keepalive)
            .http2_keepalive_timeout(Some(Duration::from_millis(self.keepalive_timeout_ms)))
    }
}
