//! Bounds on what one caller or connection can hold of backup-service, and the metrics an
//! operator reads: WatchBackup streams per caller, calls per connection, backups by state,
//! queue, workers, durations, files and bytes, the pool and the process.

use std::time::{Duration, Instant};

use e2e::flow::{open_watch, start, start_backup};
use e2e::stack::{Door, Stack};
use proto::backup::v1 as pb;
use proto::backup::v1::backup_service_client::BackupServiceClient;
use serde_json::json;
use sqlx::postgres::PgConnectOptions;
use tonic::Code;

use super::Pool;

#[sqlx::test(migrations = false)]
async fn watch_streams_per_caller_are_capped_and_a_closed_stream_frees_its_slot(
    _p: Pool,
    db: PgConnectOptions,
) {
    const OTHER: &str = "e2e-other-caller-0123456789";
    let stack = Stack::start_with(&db, Door::Esb, |s| {
        s.watch.max_streams_per_caller = 2;
        s.auth
            .tokens
            .push(secrecy::SecretString::from(OTHER.to_owned()));
    })
    .await;
    stack.fault("hosts/1005", json!({"kind": "hang"})).await;
    let mut client = stack.client("admin").await;
    let id = start_backup(&mut client, start(&[1005], "/data/logs", "log")).await;
    let first = open_watch(&mut client, &id).await.unwrap();
    let _second = open_watch(&mut client, &id).await.unwrap();
    let err = open_watch(&mut client, &id).await.unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert!(
        err.message().contains("the limit is 2"),
        "{}",
        err.message()
    );

    // Another caller (another token) has its own allowance.
    let channel = stack.backup.channel().await;
    let mut other =
        BackupServiceClient::with_interceptor(channel, move |mut r: tonic::Request<()>| {
            r.metadata_mut()
                .insert("authorization", format!("Bearer {OTHER}").parse().unwrap());
            r.metadata_mut()
                .insert("x-bk-username", "admin".parse().unwrap());
            Ok(r)
        });
    let mut other_stream = other
        .watch_backup(pb::WatchBackupRequest {
            backup_id: id.clone(),
            after_seq: 0,
        })
        .await
        .expect("another caller is not refused")
        .into_inner();
    other_stream.message().await.unwrap().expect("a snapshot");

    drop(first);
    let deadline = Instant::now() + Duration::from_secs(10);
    let _third = loop {
        match open_watch(&mut client, &id).await {
            Ok(s) => break s,
            Err(e) if e.code() == Code::ResourceExhausted && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("the freed slot was never reusable: {e:?}"),
        }
    };
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn one_connection_cannot_hold_more_calls_than_max_concurrent_streams(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start_with(&db, Door::Esb, |s| s.server.max_concurrent_streams = 3).await;
    stack.fault("hosts/1005", json!({"kind": "hang"})).await;
    let mut client = stack.client("admin").await;
    let id = start_backup(&mut client, start(&[1005], "/data/logs", "log")).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(open_watch(&mut client, &id).await.unwrap());
    }
    // The fourth call on the same connection waits for a free stream instead of running.
    let fourth = tokio::time::timeout(
        Duration::from_millis(500),
        client.list_backups(pb::ListBackupsRequest::default()),
    )
    .await;
    assert!(fourth.is_err(), "a fourth stream ran: {fourth:?}");
    held.pop();
    client
        .list_backups(pb::ListBackupsRequest::default())
        .await
        .expect("runs once a stream is free");
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn metrics_show_backups_by_state_queue_workers_duration_files_bytes_pool_and_process(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start_with(&db, Door::Esb, |s| {
        s.metrics_addr = Some(([127, 0, 0, 1], 0).into());
    })
    .await;
    let mut client = stack.client("admin").await;
    // Host 1009's agent is down: it is skipped, the other one is copied.
    let (_, done) =
        e2e::flow::run_backup(&mut client, start(&[1001, 1009], "/data/logs", "log")).await;
    assert_eq!(done.state, pb::BackupState::Partial as i32, "{done:?}");
    let counts = done.counts.expect("counts");
    let (copied, bytes) = (counts.files_copied, counts.bytes_copied);
    assert!(copied > 0 && bytes > 0);
    // The duration is recorded once the worker is done with the backup, just after its end.
    let deadline = Instant::now() + Duration::from_secs(10);
    let duration = "backup_duration_seconds_count{state=\"partial\"}";
    while stack.backup.metric(duration).await != 1.0 {
        assert!(Instant::now() < deadline, "no duration recorded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let text = stack.backup.metrics_text().await;
    for (sample, want) in [
        ("backup_backups{state=\"partial\"}", 1.0),
        ("backup_hosts_not_succeeded{reason=\"agent_offline\"}", 1.0),
        ("backup_queue_depth", 0.0),
        ("backup_workers_busy", 0.0),
        ("backup_files_copied_total", copied as f64),
        ("backup_bytes_copied_total", bytes as f64),
        ("backup_db_pool_max_connections", 10.0),
    ] {
        assert_eq!(
            e2e::metric_value(&text, sample),
            want,
            "{sample} in\n{text}"
        );
    }
    for name in [
        "backup_db_pool_connections{state=\"idle\"}",
        "backup_db_pool_connections{state=\"in_use\"}",
        "process_resident_memory_bytes",
        "grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"StartBackup\",grpc_service=\"backup.v1.BackupService\",grpc_type=\"unary\"}",
        "grpc_server_started_total{grpc_method=\"WatchBackup\",grpc_service=\"backup.v1.BackupService\",grpc_type=\"server_stream\"}",
    ] {
        assert!(text.contains(name), "{name} missing from\n{text}");
    }
    stack.stop().await;
}
