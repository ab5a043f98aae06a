//! Each BlueKing failure class reaches the caller as its one gRPC code with rich details, on
//! both transports; faults are injected with bk-sim's admin API.

mod common;

use common::{GAME_BIZ, TRANSPORTS, biz, gateway, req, script, sim};
use proto::jobgateway::v1 as pb;
use serde_json::json;
use tonic::Code;
use tonic_types::StatusExt;

fn info(status: &tonic::Status) -> (String, std::collections::HashMap<String, String>) {
    let info = status
        .get_details_error_info()
        .unwrap_or_else(|| panic!("no ErrorInfo in {status:?}"));
    (info.reason, info.metadata)
}

#[tokio::test]
async fn a_user_without_rights_is_permission_denied_with_the_blueking_permission_on_both_transports()
 {
    let sim = sim().await;
    for transport in TRANSPORTS {
        let gw = gateway(sim.settings(transport)).await;
        let err = gw
            .job()
            .await
            .execute_script(req(script("true", &[101]), Some("bob")))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
        let (reason, meta) = info(&err);
        assert_eq!(reason, "BK_PERMISSION_DENIED");
        assert_eq!(meta["bk_code"], "9900403");
        assert_eq!(meta["bk_api"], "fast_execute_script");
        assert_eq!(meta["permission_system_id"], "bk_job");
        assert_eq!(meta["permission_actions"], "quick_execute_script");
        assert!(!meta["bk_request_id"].is_empty());
    }
    let launches = sim.requests("fast_execute_script").await;
    let users: Vec<&str> = launches
        .iter()
        .map(|r| r["username"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["bob", "bob"]);
}

#[tokio::test]
async fn an_unknown_instance_is_not_found_for_status_and_watch_on_both_transports() {
    let sim = sim().await;
    for transport in TRANSPORTS {
        let gw = gateway(sim.settings(transport)).await;
        let mut job = gw.job().await;
        let request = pb::GetJobInstanceStatusRequest {
            scope: biz(GAME_BIZ),
            job_instance_id: 987_654,
            with_host_results: false,
        };
        let err = job
            .get_job_instance_status(req(request, None))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "{err:?}");
        let (reason, meta) = info(&err);
        assert_eq!(
            (reason.as_str(), meta["bk_code"].as_str()),
            ("BK_NOT_FOUND", "1244006")
        );
        let watch = pb::WatchJobInstanceRequest {
            scope: biz(GAME_BIZ),
            job_instance_id: 987_654,
            with_host_results: false,
        };
        let err = job.watch_job_instance(req(watch, None)).await.unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "{err:?}");
    }
}

#[tokio::test]
async fn parameter_errors_are_invalid_argument_from_our_checks_and_from_blueking_on_both_transports()
 {
    let sim = sim().await;
    for transport in TRANSPORTS {
        let gw = gateway(sim.settings(transport)).await;
        let mut job = gw.job().await;
        let mut no_target = script("true", &[]);
        no_target.target = None;
        let err = job.execute_script(req(no_target, None)).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        let bad = err.get_details_bad_request().expect("BadRequest");
        assert_eq!(bad.field_violations[0].field, "target");
        let err = job
            .execute_script(req(script("true", &[424_242]), None))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
        let (reason, meta) = info(&err);
        assert_eq!(
            (reason.as_str(), meta["bk_code"].as_str()),
            ("BK_INVALID_ARGUMENT", "1243053")
        );
    }
    // Our own check refused the first call of each pair before BlueKing saw it.
    assert_eq!(sim.count("fast_execute_script").await, 2);
}

#[tokio::test]
async fn a_rate_limit_is_resource_exhausted_with_retry_info_after_the_allowed_retries_on_both_transports()
 {
    let sim = sim().await;
    for transport in TRANSPORTS {
        sim.fault(
            "list_biz_hosts",
            json!({"rate_limit": {"per_second": 0.001, "burst": 1}}),
        )
        .await;
        sim.clear_requests().await;
        let gw = gateway(sim.settings(transport)).await;
        let mut cmdb = gw.cmdb().await;
        let hosts = || pb::ListHostsRequest {
            bk_biz_id: GAME_BIZ,
            ..Default::default()
        };
        cmdb.list_hosts(req(hosts(), None))
            .await
            .expect("the first call fits the burst");
        let err = cmdb.list_hosts(req(hosts(), None)).await.unwrap_err();
        assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
        let (reason, _) = info(&err);
        assert_eq!(reason, "BK_RATE_LIMITED");
        assert!(
            err.get_details_retry_info()
                .expect("RetryInfo")
                .retry_delay
                .is_some()
        );
        // A refusal before processing may be retried, even for writes: 1 + 3 attempts.
        assert_eq!(sim.count("list_biz_hosts").await, 4);
        assert_eq!(
            gw.metric("bk_upstream_retries_total{api=\"list_biz_hosts\"}")
                .await,
            2.0
        );
    }
    sim.clear_fault("list_biz_hosts").await;
}

#[tokio::test]
async fn injected_5xx_is_retried_for_reads_and_unavailable_once_retries_run_out_on_both_transports()
{
    let sim = sim().await;
    for transport in TRANSPORTS {
        sim.clear_requests().await;
        let gw = gateway(sim.settings(transport)).await;
        let mut cmdb = gw.cmdb().await;
        let hosts = || pb::ListHostsRequest {
            bk_biz_id: GAME_BIZ,
            ..Default::default()
        };
        sim.fault(
            "list_biz_hosts",
            json!({"fail_next": 1, "error": {"kind": "http", "status": 503}}),
        )
        .await;
        assert_eq!(
            cmdb.list_hosts(req(hosts(), None))
                .await
                .unwrap()
                .into_inner()
                .hosts
                .len(),
            4
        );
        assert_eq!(sim.count("list_biz_hosts").await, 2);
        sim.fault(
            "list_biz_hosts",
            json!({"fail_next": 3, "error": {"kind": "http", "status": 502}}),
        )
        .await;
        let err = cmdb.list_hosts(req(hosts(), None)).await.unwrap_err();
        assert_eq!(err.code(), Code::Unavailable, "{err:?}");
        assert_eq!(info(&err).0, "BK_UNAVAILABLE");
        assert_eq!(sim.count("list_biz_hosts").await, 5);
    }
    sim.clear_fault("list_biz_hosts").await;
}

#[tokio::test]
async fn a_slow_blueking_read_is_deadline_exceeded_on_both_transports() {
    let sim = sim().await;
    sim.fault("search_biz_inst_topo", json!({"latency_ms": 600}))
        .await;
    for transport in TRANSPORTS {
        let mut settings = sim.settings(transport);
        settings.bk.timeout_ms = 100;
        settings.bk.retry_max_attempts = 1;
        let gw = gateway(settings).await;
        let request = pb::GetBusinessTopologyRequest {
            bk_biz_id: GAME_BIZ,
            include_idle_pool: false,
        };
        let err = gw
            .cmdb()
            .await
            .get_business_topology(req(request, None))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
        assert_eq!(info(&err).0, "BK_TIMEOUT");
    }
}

#[tokio::test]
async fn a_launch_reaches_blueking_exactly_once_under_5xx_and_latency_beyond_our_timeout_on_both_transports()
 {
    let sim = sim().await;
    for (round, transport) in TRANSPORTS.into_iter().enumerate() {
        let mut settings = sim.settings(transport);
        settings.bk.timeout_ms = 150;
        let gw = gateway(settings).await;
        let mut job = gw.job().await;
        let sample = |code: &str| {
            format!(
                "bk_upstream_calls_total{{api=\"fast_execute_script\",code=\"{code}\",transport=\"{}\"}}",
                transport_label(transport)
            )
        };

        sim.fault(
            "fast_execute_script",
            json!({"fail_next": 1, "error": {"kind": "http", "status": 503}}),
        )
        .await;
        let err = job
            .execute_script(req(script("true", &[101]), None))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unavailable, "{err:?}");

        sim.fault("fast_execute_script", json!({"latency_ms": 500}))
            .await;
        let err = job
            .execute_script(req(script("true", &[101]), None))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
        sim.clear_fault("fast_execute_script").await;

        // The gateway answered, so its attempts are final: one per ExecuteScript.
        let text = gw.metrics_text().await;
        // ESB answers a bare 503 page; the API gateway its own body with code 1650300.
        let unavailable = match transport {
            job_gateway::config::Transport::Esb => "http_503",
            job_gateway::config::Transport::Apigw => "1650300",
        };
        assert_eq!(
            common::metric_value(&text, &sample(unavailable)),
            1.0,
            "{text}"
        );
        assert_eq!(
            common::metric_value(&text, &sample("timeout")),
            1.0,
            "{text}"
        );
        assert_eq!(
            common::metric_value(
                &text,
                "bk_upstream_retries_total{api=\"fast_execute_script\"}"
            ),
            0.0
        );
        // bk-sim, like BlueKing, carries out a request whose caller gave up: the timed-out
        // launch lands once its latency has passed. Each round therefore adds exactly two
        // launches upstream (the 5xx one and the timed-out one), never a retry.
        let expected = 2 * (round as u64 + 1);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while sim.count("fast_execute_script").await < expected {
            assert!(
                std::time::Instant::now() < deadline,
                "the timed-out launch never landed"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(sim.count("fast_execute_script").await, expected);
    }
}

fn transport_label(t: job_gateway::config::Transport) -> &'static str {
    match t {
        job_gateway::config::Transport::Esb => "esb",
        job_gateway::config::Transport::Apigw => "apigw",
    }
}
