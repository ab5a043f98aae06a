//! The metrics layer counts real gRPC calls served over TCP, by method and status code.

use prometheus::Registry;
use service_kit::metrics::{GrpcMetrics, render};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Channel, Server};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

#[tokio::test]
async fn calls_are_counted_by_method_and_code_with_latency() {
    let registry = Registry::new();
    let metrics = GrpcMetrics::register(&registry).unwrap();
    let (_reporter, health) = tonic_health::server::health_reporter();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        Server::builder()
            .layer(metrics.layer())
            .add_service(health)
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = HealthClient::new(channel);
    for _ in 0..2 {
        client
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .unwrap();
    }
    let err = client
        .check(HealthCheckRequest {
            service: "no.such.Service".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound);

    let text = render(&registry);
    assert!(
        text.contains(
            r#"grpc_server_handled_total{code="OK",method="/grpc.health.v1.Health/Check"} 2"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"grpc_server_handled_total{code="NOT_FOUND",method="/grpc.health.v1.Health/Check"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"grpc_server_handling_seconds_count{method="/grpc.health.v1.Health/Check"} 3"#
        ),
        "{text}"
    );
}
