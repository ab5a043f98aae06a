//! Service hygiene: bearer tokens with open probes, the caller's BlueKing username upstream,
//! Prometheus metrics and TLS.

mod common;

use common::{GAME_BIZ, TRANSPORTS, gateway, req, sim};
use job_gateway::config::Transport;
use proto::jobgateway::v1 as pb;
use proto::jobgateway::v1::cmdb_service_client::CmdbServiceClient;
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
async fn the_callers_username_reaches_blueking_as_bk_username_and_the_default_otherwise_on_both_transports()
 {
    let sim = sim().await;
    for transport in TRANSPORTS {
        sim.clear_requests().await;
        let gw = gateway(sim.settings(transport)).await;
        let mut cmdb = gw.cmdb().await;
        cmdb.get_business_topology(req(topology(), Some("alice")))
            .await
            .unwrap();
        cmdb.get_business_topology(req(topology(), None))
            .await
            .unwrap();
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
        assert_eq!(seen, [(door, "alice"), (door, "admin")]);
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
