//! Health, reflection and the serve-until-shutdown loop shared by both gRPC servers.
//!
//! Shutdown order matters to load balancers: health flips to NOT_SERVING first, then the
//! listener closes and in-flight calls get a bounded grace period. Long-lived server streams
//! would otherwise hold shutdown open forever, so whatever is still running when the grace
//! period ends is dropped.

use std::future::Future;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
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
    let (health, health_service) = tonic_health::server::health_reporter();
    let build = || {
        let mut b = tonic_reflection::server::Builder::configure()
            .include_reflection_service(false)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(
                tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
            );
        for set in descriptor_sets {
            b = b.register_encoded_file_descriptor_set(set);
        }
        for name in services.iter().chain(PROBE_SERVICES) {
            b = b.with_service_name(*name);
        }
        b
    };
    let router = server
        .add_service(health_service)
        .add_service(build().build_v1()?)
        .add_service(build().build_v1alpha()?);
    Ok((health, router))
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
/// SERVING, runs `serve` until `shutdown` resolves, then flips them all to NOT_SERVING, stops
/// accepting and waits at most `grace` for in-flight calls.
///
/// `serve` receives the stop signal to hand to tonic's `serve_with_incoming_shutdown`.
pub async fn serve_until<S, F>(
    serve: S,
    health: HealthReporter,
    services: &[&str],
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) -> Result<(), tonic::transport::Error>
where
    S: FnOnce(oneshot::Receiver<()>) -> F,
    F: Future<Output = Result<(), tonic::transport::Error>> + Send + 'static,
{
    for name in services.iter().copied().chain([""]) {
        health
            .set_service_status(name, ServingStatus::Serving)
            .await;
    }
    let (stop_tx, stop_rx) = oneshot::channel();
    let mut server = tokio::spawn(serve(stop_rx));
    tokio::select! {
        res = &mut server => return flatten(res),
        () = shutdown => {}
    }
    for name in services.iter().copied().chain([""]) {
        health
            .set_service_status(name, ServingStatus::NotServing)
            .await;
    }
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
