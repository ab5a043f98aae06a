//! Service hygiene: bearer tokens with open probes, the caller's BlueKing username upstream
//! (never a default operator while tokens are on),
//! Prometheus metrics and TLS; and what every call meets before the service: its deadline
//! (DEADLINE_EXCEEDED, counted, and BlueKing abandoned with it), the message size limit
//! (RESOURCE_EXHAUSTED naming it), gzip both ways, and reflection that decodes our error
//! details.

mod common;

use std::time::{Duration, Instant};

use common::{GAME_BIZ, TRANSPORTS, bare, gateway, req, sim};
use job_gateway::config::Transport;
use proto::jobgateway::v1 as pb;
use proto::jobgateway::v1::cmdb_service_client::CmdbServiceClient;
use serde_json::json;
use tonic::codec::CompressionEncoding;
use tonic::transport::{Certificate, Channel, ClientTlsConfig};
use tonic::{Code, Request};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

fn topology() -> pb::GetBusinessTopologyRequest {
    pb::GetBusinessTopologyRequest {
        bk_biz_id: GAME_BIZ,
        include_idle_pool: false,
    }
}

#[tokio::test]
async fn calls_without_or_with_a_wrong_token_are_unauthenticated_while_health_stays_open() {
    let sim = sim().await;
    let gw = gateway(sim.settings(Transport::Esb)).await;
    let mut cmdb = gw.cmdb().await;
    let err = cmdb
        .get_business_topology(Request::new(topology()))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (Code::Unauthenticated, "missing authorization metadata")
    );
    let mut wrong = Request::new(topology());
    wrong.metadata_mut().insert(
        "authorization",
        "Bearer not-the-token-at-all".parse().unwrap(),
    );
    let err = cmdb.get_business_topology(wrong).await.unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (Code::Unauthenticated, "invalid bearer token")
    );
    assert_eq!(sim.count("search_biz_inst_topo").await, 0);
    let health = HealthClient::new(gw.channel().await)
        .check(HealthCheckRequest {
            service: "jobgateway.v1.CmdbService".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        health.status(),
        tonic_health::pb::health_check_response::ServingStatus::Serving
    );
    assert!(
        cmdb.get_business_topology(req(topology(), None))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn the_callers_username_reaches_blueking_as_bk_username_and_a_delegator_naming_nobody_is_refused_on_both_transports()
 {
    let sim = sim().await;
    for transport in TRANSPORTS {
        sim.clear_requests().await;
        let gw = gateway(sim.settings(transport)).await;
        let mut cmdb = gw.cmdb().await;
        cmdb.get_business_topology(req(topology(), Some("alice")))
            .await
            .unwrap();
        // No default operator stands in for a caller that names nobody.
        let err = cmdb
            .get_business_topology(bare(topology()))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
        assert!(err.message().contains("x-bk-username"), "{}", err.message());
        let log = sim.requests("search_biz_inst_topo").await;
        let seen: Vec<(&str, &str)> = log
            .iter()
            .map(|r| {
                (
                    r["transport"].as_str().unwrap(),
                    r["username"].as_str().unwrap(),
                )
            })
            .collect();
        let door = if transport == Transport::Esb {
            "esb"
        } else {
            "gateway"
        };
        assert_eq!(seen, [(door, "alice")]);
        let err = cmdb
            .get_business_topology(req(topology(), Some("no spaces allowed")))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
    }
}

#[tokio::test]
async fn metrics_count_grpc_calls_by_method_and_code_and_upstream_calls_by_api_transport_and_code()
{
    let sim = sim().await;
    let gw = gateway(sim.settings(Transport::Apigw)).await;
    let mut cmdb = gw.cmdb().await;
    cmdb.get_business_topology(req(topology(), None))
        .await
        .unwrap();
    let bad = pb::GetBusinessTopologyRequest {
        bk_biz_id: 0,
        include_idle_pool: false,
    };
    assert_eq!(
        cmdb.get_business_topology(req(bad, None))
            .await
            .unwrap_err()
            .code(),
        Code::InvalidArgument
    );
    let text = gw.metrics_text().await;
    let labels = "grpc_method=\"GetBusinessTopology\",grpc_service=\"jobgateway.v1.CmdbService\",grpc_type=\"unary\"";
    for (sample, value) in [
        (
            format!("grpc_server_handled_total{{grpc_code=\"OK\",{labels}}}"),
            1.0,
        ),
        (
            format!("grpc_server_handled_total{{grpc_code=\"INVALID_ARGUMENT\",{labels}}}"),
            1.0,
        ),
        (
            "bk_upstream_calls_total{api=\"search_biz_inst_topo\",code=\"0\",transport=\"apigw\"}"
                .to_owned(),
            1.0,
        ),
        ("job_watch_pollers".to_owned(), 0.0),
        ("job_watch_watchers".to_owned(), 0.0),
        ("bk_rate_limit_wait_seconds_count".to_owned(), 0.0),
    ] {
        assert_eq!(
            common::metric_value(&text, &sample),
            value,
            "{sample} in\n{text}"
        );
        assert!(
            text.contains(sample.split('{').next().unwrap()),
            "{sample} missing"
        );
    }
}

#[tokio::test]
async fn with_a_certificate_the_gateway_serves_tls_only() {
    let sim = sim().await;
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert_pem, key_pem) = (cert.cert.pem(), cert.key_pair.serialize_pem());
    std::fs::write(dir.path().join("cert.pem"), &cert_pem).unwrap();
    std::fs::write(dir.path().join("key.pem"), &key_pem).unwrap();
    let mut settings = sim.settings(Transport::Esb);
    settings.tls.cert_file = Some(dir.path().join("cert.pem"));
    settings.tls.key_file = Some(dir.path().join("key.pem"));
    let gw = gateway(settings).await;

    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&cert_pem))
        .domain_name("localhost");
    let channel = Channel::from_shared(format!("https://{}", gw.addr))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .expect("a TLS handshake with the self-signed certificate");
    let root = CmdbServiceClient::new(channel)
        .get_business_topology(req(topology(), None))
        .await
        .unwrap()
        .into_inner()
        .root
        .unwrap();
    assert_eq!(root.bk_inst_id, GAME_BIZ);
    // Plain HTTP/2 to the TLS port fails.
    let plain = gw
        .cmdb()
        .await
        .get_business_topology(req(topology(), None))
        .await;
    assert!(plain.is_err(), "{plain:?}");
}

#[tokio::test]
async fn a_call_past_its_deadline_is_deadline_exceeded_counted_and_its_blueking_retries_stop() {
    for transport in TRANSPORTS {
        let sim = sim().await;
        let mut settings = sim.settings(transport);
        // Without a bound this call would make 50 slow attempts: seconds of work.
        settings.bk.retry_max_attempts = 50;
        settings.bk.retry_base_ms = 50;
        settings.bk.retry_max_ms = 100;
        let gw = gateway(settings).await;
        sim.fault(
            "search_biz_inst_topo",
            json!({"latency_ms": 100, "error_rate": 1.0, "error": {"kind": "http", "status": 503}}),
        )
        .await;
        // A client without tonic's own timer, so the answer is the server's.
        let (wire, origin) = service_kit::testing::untimed(gw.addr);
        let mut cmdb = CmdbServiceClient::with_origin(wire, origin);
        let mut request = req(topology(), None);
        request.set_timeout(Duration::from_millis(600));
        let started = Instant::now();
        let err = cmdb.get_business_topology(request).await.unwrap_err();
        let took = started.elapsed();
        assert_eq!(err.code(), Code::DeadlineExceeded, "{transport:?}: {err:?}");
        assert!(
            took < Duration::from_millis(1200),
            "{transport:?}: took {took:?}"
        );
        gw.wait_metric(
            "grpc_server_handled_total{grpc_code=\"DEADLINE_EXCEEDED\",grpc_method=\"GetBusinessTopology\",grpc_service=\"jobgateway.v1.CmdbService\",grpc_type=\"unary\"}",
            1.0,
        )
        .await;
        // Give abandoned retries the time to show if they were still running: at most the
        // attempts that fit in 600 ms reached BlueKing, not 50.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let calls = sim.count("search_biz_inst_topo").await;
        assert!((1..=8).contains(&calls), "{transport:?}: {calls} calls");
    }
}

#[tokio::test]
async fn a_request_over_the_size_limit_is_resource_exhausted_naming_the_limit() {
    let sim = sim().await;
    let mut settings = sim.settings(TRANSPORTS[0]);
    settings.server.max_message_bytes = 2048;
    let gw = gateway(settings).await;
    let mut job = gw.job().await;
    let big = common::script(&"echo x\n".repeat(1000), &[1]);
    let err = job.execute_script(req(big, None)).await.unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert!(
        err.message().contains("the limit of 2048 bytes"),
        "{}",
        err.message()
    );
    assert_eq!(sim.count("fast_execute_script").await, 0);
}

#[tokio::test]
async fn gzip_compressed_requests_and_responses_are_accepted() {
    let sim = sim().await;
    let gw = gateway(sim.settings(TRANSPORTS[0])).await;
    let mut cmdb = CmdbServiceClient::new(gw.channel().await)
        .send_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Gzip);
    let resp = cmdb
        .get_business_topology(req(topology(), None))
        .await
        .expect("a gzip request is served");
    assert_eq!(
        resp.metadata()
            .get("grpc-encoding")
            .and_then(|v| v.to_str().ok()),
        Some("gzip")
    );
    assert!(resp.into_inner().root.is_some());
}

#[tokio::test]
async fn reflection_describes_the_error_detail_types() {
    let sim = sim().await;
    let gw = gateway(sim.settings(TRANSPORTS[0])).await;
    let endpoint = format!("http://{}", gw.addr);
    for symbol in [
        "google.rpc.BadRequest",
        "google.rpc.ErrorInfo",
        "google.rpc.RetryInfo",
        "google.rpc.Status",
    ] {
        let files = service_kit::testing::reflected_files_for_symbol(&endpoint, symbol)
            .await
            .unwrap_or_else(|e| panic!("{symbol}: {e}"));
        assert!(
            files
                .iter()
                .any(|f| f.ends_with("error_details.proto") || f.ends_with("status.proto")),
            "{symbol}: {files:?}"
        );
    }
}
