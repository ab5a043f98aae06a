//! Honest answers from backup-service, end to end: a deadline that passes while BlueKing is
//! slow (a call, and a stream still open), a database that goes away, oversized and compressed
//! requests, and error details in reflection.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use e2e::Authed;
use e2e::flow::{authed, open_watch, start, start_backup};
use e2e::stack::{Door, Stack};
use proto::backup::v1 as pb;
use proto::backup::v1::backup_service_client::BackupServiceClient;
use serde_json::json;
use sqlx::postgres::PgConnectOptions;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tonic::Code;
use tonic::codec::CompressionEncoding;
use tonic_health::ServingStatus;

use super::Pool;

fn search(hosts: &[i64]) -> pb::SearchFilesRequest {
    pb::SearchFilesRequest {
        bk_biz_id: 3,
        bk_host_ids: hosts.to_vec(),
        bk_file_dir: "/data/logs".to_owned(),
        bk_file_suffix: "log".to_owned(),
        ..Default::default()
    }
}

#[sqlx::test(migrations = false)]
async fn a_search_past_its_deadline_is_deadline_exceeded_and_job_gateway_gives_up_with_it(
    _p: Pool,
    db: PgConnectOptions,
) {
    let metrics = |s: &mut Option<SocketAddr>| *s = Some(([127, 0, 0, 1], 0).into());
    let stack = Stack::start_custom(
        &db,
        Door::Esb,
        |gw| metrics(&mut gw.metrics_addr),
        |b| metrics(&mut b.metrics_addr),
    )
    .await;
    // No client-side timer: what the caller sees is backup-service's own answer.
    let (wire, origin) = service_kit::testing::untimed(stack.backup.addr);
    let mut client = BackupServiceClient::with_origin(wire, origin);
    // job-gateway's ListHosts calls: how many ended, and their total time.
    let gw_call =
        "grpc_method=\"ListHosts\",grpc_service=\"jobgateway.v1.CmdbService\",grpc_type=\"unary\"";
    let list_hosts = async |at_least: f64| {
        // A call is counted when job-gateway sees it end, which may be a moment after ours.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = stack.gw.metrics_text().await;
            let count = e2e::metric_value(
                &text,
                &format!("grpc_server_handling_seconds_count{{{gw_call}}}"),
            );
            let secs = e2e::metric_value(
                &text,
                &format!("grpc_server_handling_seconds_sum{{{gw_call}}}"),
            );
            if count >= at_least || Instant::now() > deadline {
                break (count, secs);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    // First a search CMDB refuses (host 99999 is not in the business), before BlueKing slows
    // down: it opens backup-service's connection to job-gateway, so the deadline below is not
    // spent connecting on a busy machine.
    let refused = client
        .search_files(authed(search(&[99999])))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    let (before, secs_before) = list_hosts(1.0).await;
    assert_eq!(before, 1.0, "the first search asked CMDB once");
    stack.fault("apis/*", json!({"latency_ms": 3000})).await;
    let mut req = authed(search(&[1001]));
    req.set_timeout(Duration::from_millis(800));
    let started = Instant::now();
    let err = client.search_files(req).await.unwrap_err();
    let took = started.elapsed();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
    assert!(took < Duration::from_millis(1500), "took {took:?}");
    let code = "grpc_server_handled_total{grpc_code=\"DEADLINE_EXCEEDED\",grpc_method=\"SearchFiles\",grpc_service=\"backup.v1.BackupService\",grpc_type=\"unary\"}";
    assert_eq!(stack.backup.metric(code).await, 1.0);
    // job-gateway's call for it ended with the caller's deadline, not after BlueKing's 3 s.
    let (count, secs) = list_hosts(2.0).await;
    assert_eq!(count, 2.0, "job-gateway's call never ended");
    let held = secs - secs_before;
    // Within the caller's 0.8 s (plus scheduling slack on a busy machine), not BlueKing's 3 s.
    assert!(held < 1.0, "job-gateway held the call {held} s");
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn a_watch_stream_still_open_at_its_deadline_ends_deadline_exceeded(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start_with(&db, Door::Esb, |s| s.watch.max_streams_per_caller = 1).await;
    stack.fault("hosts/1005", json!({"kind": "hang"})).await;
    let mut client = stack.client("admin").await;
    let id = start_backup(&mut client, start(&[1005], "/data/logs", "log")).await;
    let (wire, origin) = service_kit::testing::untimed(stack.backup.addr);
    let mut untimed = BackupServiceClient::with_origin(wire, origin);
    let mut req = authed(pb::WatchBackupRequest {
        backup_id: id.clone(),
        after_seq: 0,
    });
    req.set_timeout(Duration::from_millis(700));
    let started = Instant::now();
    let mut stream = untimed.watch_backup(req).await.unwrap().into_inner();
    let end = loop {
        match stream.message().await {
            Ok(Some(_)) => {}
            Ok(None) => panic!("the stream ended without a status"),
            Err(status) => break status,
        }
    };
    assert_eq!(end.code(), Code::DeadlineExceeded, "{end:?}");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(650) && took < Duration::from_millis(1500),
        "{took:?}"
    );
    // The stream is gone on the server too: its caller's only slot is free again.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match open_watch(&mut client, &id).await {
            Ok(_) => break,
            Err(e) if e.code() == Code::ResourceExhausted && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("the expired stream kept its slot: {e:?}"),
        }
    }
    stack.stop().await;
}

/// A TCP proxy in front of Postgres that the test can cut (the port closed, so connecting is
/// refused, and every open connection dropped) and restore (the same port open again).
struct Proxy {
    addr: SocketAddr,
    up: watch::Sender<bool>,
}

impl Proxy {
    async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (up, _) = watch::channel(true);
        let mut state = up.subscribe();
        tokio::spawn(async move {
            let mut listener = Some(listener);
            loop {
                let Some(open) = &listener else {
                    if state.wait_for(|up| *up).await.is_err() {
                        return;
                    }
                    listener = Some(
                        TcpListener::bind(addr)
                            .await
                            .expect("rebind the proxy port"),
                    );
                    continue;
                };
                let inbound = tokio::select! {
                    accepted = open.accept() => match accepted {
                        Ok((inbound, _)) => inbound,
                        Err(_) => return,
                    },
                    cut = state.wait_for(|up| !*up) => {
                        if cut.is_err() {
                            return;
                        }
                        listener = None;
                        continue;
                    }
                };
                let mut cut = state.clone();
                tokio::spawn(async move {
                    let Ok(outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    let (mut a, mut b) = (inbound, outbound);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut a, &mut b) => {}
                        _ = cut.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Self { addr, up }
    }

    fn set(&self, up: bool) {
        self.up.send_replace(up);
    }
}

async fn wait_health(addr: SocketAddr, want: ServingStatus) {
    let endpoint = format!("http://{addr}");
    let deadline = Instant::now() + Duration::from_secs(20);
    for service in ["backup.v1.BackupService", ""] {
        loop {
            let now = service_kit::testing::health_status(&endpoint, service).await;
            if now == want {
                break;
            }
            assert!(Instant::now() < deadline, "{service:?} stayed {now:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[sqlx::test(migrations = false)]
async fn an_unreachable_database_makes_calls_unavailable_and_health_not_serving_until_it_returns(
    _p: Pool,
    db: PgConnectOptions,
) {
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let (_, rest) = base.split_once('@').expect("url with a host");
    let host = rest.split('/').next().unwrap();
    let target: SocketAddr = tokio::net::lookup_host(host).await.unwrap().next().unwrap();
    let proxy = Proxy::start(target).await;
    let stack = Stack::start_with(&db, Door::Esb, |s| {
        let url = {
            use secrecy::ExposeSecret;
            s.database.url.as_ref().unwrap().expose_secret().to_owned()
        };
        let via = url.replacen(host, &proxy.addr.to_string(), 1);
        s.database.url = Some(secrecy::SecretString::from(via));
        s.database.connect_timeout_ms = 1000;
        s.database.probe_interval_ms = 200;
    })
    .await;
    let mut client = stack.client("admin").await;
    wait_health(stack.backup.addr, ServingStatus::Serving).await;
    client
        .list_backups(pb::ListBackupsRequest::default())
        .await
        .expect("served while the database is up");

    proxy.set(false);
    wait_health(stack.backup.addr, ServingStatus::NotServing).await;
    let err = client
        .list_backups(pb::ListBackupsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert_eq!(err.message(), "database unavailable; retry later");

    proxy.set(true);
    wait_health(stack.backup.addr, ServingStatus::Serving).await;
    client
        .list_backups(pb::ListBackupsRequest::default())
        .await
        .expect("served again once the database is back");
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn oversized_requests_are_resource_exhausted_gzip_is_accepted_and_error_details_reflect(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start_with(&db, Door::Esb, |s| s.server.max_message_bytes = 4096).await;
    let mut client = stack.client("admin").await;
    let err = client
        .start_backup(start(&[1001], &format!("/{}", "d".repeat(5000)), "log"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert!(
        err.message().contains("over the limit of 4096 bytes"),
        "{}",
        err.message()
    );

    let mut gzip = BackupServiceClient::with_interceptor(
        stack.backup.channel().await,
        Authed {
            username: Some("admin"),
        },
    )
    .send_compressed(CompressionEncoding::Gzip)
    .accept_compressed(CompressionEncoding::Gzip);
    let resp = gzip
        .list_backups(pb::ListBackupsRequest::default())
        .await
        .expect("a gzip request is served");
    assert_eq!(
        resp.metadata()
            .get("grpc-encoding")
            .and_then(|v| v.to_str().ok()),
        Some("gzip")
    );

    let endpoint = format!("http://{}", stack.backup.addr);
    for symbol in [
        "google.rpc.BadRequest",
        "google.rpc.ErrorInfo",
        "google.rpc.RetryInfo",
    ] {
        let files = service_kit::testing::reflected_files_for_symbol(&endpoint, symbol)
            .await
            .unwrap_or_else(|e| panic!("{symbol}: {e}"));
        assert!(
            files.iter().any(|f| f.ends_with("error_details.proto")),
            "{symbol}: {files:?}"
        );
    }
    stack.stop().await;
}
