//! The shared server pieces over real TCP: the metrics layer counts gRPC calls with
//! go-grpc-prometheus's names and labels and gives every path the server does not serve one
//! `unknown` label; the servers' HTTP/2 keepalive disconnects a peer that stops answering
//! PINGs, instead of holding its streams and memory forever.

use http::uri::PathAndQuery;
use std::time::{Duration, Instant};

use prometheus::Registry;
use service_kit::grpc::{ServerSettings, served_methods};
use service_kit::metrics::{GrpcMetrics, new_registry, render};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Channel, Server};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

async fn health_server(registry: &Registry) -> Channel {
    let metrics = GrpcMetrics::register(registry).unwrap();
    let (_reporter, health) = tonic_health::server::health_reporter();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let methods = served_methods(&[], &[]);
    tokio::spawn(async move {
        let _reporter = _reporter;
        Server::builder()
            .layer(metrics.layer(methods))
            .layer(service_kit::edge::EdgeLayer)
            .add_service(health)
            .serve_with_incoming(TcpListenerStream::new(listener))
            .await
    });
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

#[tokio::test]
async fn calls_are_counted_by_service_method_type_and_code_with_latency() {
    let registry = Registry::new();
    let mut client = HealthClient::new(health_server(&registry).await);
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
    let labels = r#"grpc_method="Check",grpc_service="grpc.health.v1.Health",grpc_type="unary""#;
    for line in [
        format!(r#"grpc_server_handled_total{{grpc_code="OK",{labels}}} 2"#),
        format!(r#"grpc_server_handled_total{{grpc_code="NOT_FOUND",{labels}}} 1"#),
        format!(r#"grpc_server_handling_seconds_count{{{labels}}} 3"#),
        format!(r#"grpc_server_started_total{{{labels}}} 3"#),
    ] {
        assert!(text.contains(&line), "{line} missing from\n{text}");
    }
}

#[tokio::test]
async fn calls_to_methods_not_served_share_one_unknown_series() {
    let registry = Registry::new();
    let channel = health_server(&registry).await;
    let mut grpc = tonic::client::Grpc::new(channel);
    for n in 0..3 {
        grpc.ready().await.unwrap();
        let path = PathAndQuery::try_from(format!("/evil.Service/Method{n}")).unwrap();
        let err = grpc
            .unary::<_, HealthCheckRequest, _>(
                tonic::Request::new(HealthCheckRequest::default()),
                path,
                tonic_prost::ProstCodec::<HealthCheckRequest, HealthCheckRequest>::default(),
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::Unimplemented);
    }
    let text = render(&registry);
    let handled: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("grpc_server_handled_total{"))
        .collect();
    assert_eq!(
        handled,
        [
            r#"grpc_server_handled_total{grpc_code="UNIMPLEMENTED",grpc_method="unknown",grpc_service="unknown",grpc_type="unknown"} 3"#
        ],
        "{text}"
    );
    assert!(!text.contains("evil"), "{text}");
}

#[test]
fn a_new_registry_carries_the_process_metrics() {
    let text = render(&new_registry());
    for name in [
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_start_time_seconds",
    ] {
        assert!(text.contains(name), "{name} missing from\n{text}");
    }
}

/// HTTP/2 frame type of PING.
const PING: u8 = 0x6;

#[tokio::test]
async fn a_peer_that_stops_answering_pings_is_disconnected() {
    let settings = ServerSettings {
        keepalive_interval_ms: 200,
        keepalive_timeout_ms: 200,
        ..ServerSettings::default()
    };
    let (_reporter, health) = tonic_health::server::health_reporter();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        settings
            .builder()
            .add_service(health)
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    // A client that says hello in HTTP/2 and then never answers anything.
    let mut conn = TcpStream::connect(addr).await.unwrap();
    conn.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .unwrap();
    conn.write_all(&[0, 0, 0, 0x4, 0, 0, 0, 0, 0])
        .await
        .unwrap();
    let started = Instant::now();
    let mut pings = 0;
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        let mut header = [0u8; 9];
        loop {
            if conn.read_exact(&mut header).await.is_err() {
                return;
            }
            let len =
                usize::from(header[0]) << 16 | usize::from(header[1]) << 8 | usize::from(header[2]);
            if header[3] == PING {
                pings += 1;
            }
            let mut payload = vec![0u8; len];
            if conn.read_exact(&mut payload).await.is_err() {
                return;
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the silent peer was never disconnected");
    assert!(pings >= 1, "no PING was sent");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_call_its_client_abandons_before_the_answer_is_counted_cancelled() {
    use tower::{Layer, Service, ServiceExt};
    let registry = Registry::new();
    let metrics = GrpcMetrics::register(&registry).unwrap();
    let methods = served_methods(&[], &["grpc.health.v1.Health"]);
    // A handler that never answers, as one waiting on a slow upstream.
    let never = tower::service_fn(|_req: http::Request<()>| {
        std::future::pending::<Result<http::Response<()>, std::convert::Infallible>>()
    });
    let mut svc = metrics.layer(methods).layer(never);
    let req = http::Request::builder()
        .uri("/grpc.health.v1.Health/Check")
        .header("content-type", "application/grpc")
        .body(())
        .unwrap();
    let call = svc.ready().await.unwrap().call(req);
    // The client goes away: the call's future is dropped unanswered.
    let abandoned = tokio::time::timeout(Duration::from_millis(20), call).await;
    assert!(abandoned.is_err(), "the handler never answers");
    let text = render(&registry);
    let line = r#"grpc_server_handled_total{grpc_code="CANCELLED",grpc_method="Check",grpc_service="grpc.health.v1.Health",grpc_type="unary"} 1"#;
    assert!(text.contains(line), "{line} missing from\n{text}");
}

#[tokio::test]
async fn plain_http_beside_grpc_is_not_counted_as_a_call() {
    use tower::{Layer, Service, ServiceExt};
    let registry = Registry::new();
    let metrics = GrpcMetrics::register(&registry).unwrap();
    let methods = served_methods(&[], &["grpc.health.v1.Health"]);
    let ok = tower::service_fn(|_req: http::Request<()>| async {
        Ok::<_, std::convert::Infallible>(http::Response::new(String::from("<html>")))
    });
    let mut svc = metrics.layer(methods).layer(ok);
    for (path, content_type) in [("/", None), ("/assets/app.js", Some("text/plain"))] {
        let mut req = http::Request::builder().uri(path);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let resp = svc.ready().await.unwrap().call(req.body(()).unwrap()).await;
        drop(resp.unwrap());
    }
    let grpc = http::Request::builder()
        .uri("/grpc.health.v1.Health/Check")
        .header("content-type", "application/grpc+proto")
        .body(())
        .unwrap();
    drop(svc.ready().await.unwrap().call(grpc).await.unwrap());
    let text = render(&registry);
    assert!(
        !text.contains(r#"grpc_service="unknown""#),
        "a page request was counted:\n{text}"
    );
    let started = r#"grpc_server_started_total{grpc_method="Check",grpc_service="grpc.health.v1.Health",grpc_type="unary"} 1"#;
    assert!(text.contains(started), "{started} missing from\n{text}");
}
