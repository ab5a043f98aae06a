//! What every call meets before the service: its deadline (DEADLINE_EXCEEDED, counted, and
//! BlueKing abandoned with it), the message size limit (RESOURCE_EXHAUSTED naming it), gzip
//! both ways, and reflection that decodes our error details.

mod common;

use std::time::{Duration, Instant};

use common::{GAME_BIZ, TRANSPORTS, gateway, req, sim};
use proto::jobgateway::v1 as pb;
use proto::jobgateway::v1::cmdb_service_client::CmdbServiceClient;
use serde_json::json;
use tonic::Code;
use tonic::codec::CompressionEncoding;

fn topology() -> pb::GetBusinessTopologyRequest {
    pb::GetBusinessTopologyRequest {
        bk_biz_id: GAME_BIZ,
        include_idle_pool: false,
    }
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
