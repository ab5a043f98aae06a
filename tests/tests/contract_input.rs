//! The proto is the contract, for what a call accepts: each input constraint written in
//! `proto/backup/v1/*.proto` checked over real gRPC against the whole stack. Bad input is
//! INVALID_ARGUMENT naming the field and nothing runs; BlueKing's refusals come at once;
//! limits documented as clamped are clamped; defaults are what the comments say.

use std::time::Duration;

use e2e::contract::{backup_count, search, violation};
use e2e::flow::{full, get, run_backup, start, start_backup, watch_for};
use e2e::stack::{Door, Stack};
use proto::backup::v1 as pb;
use sqlx::postgres::PgConnectOptions;
use tonic::Code;

type Pool = sqlx::pool::PoolOptions<sqlx::Postgres>;

#[sqlx::test(migrations = false)]
async fn every_documented_input_constraint_is_invalid_argument_naming_the_field_and_nothing_runs(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    let mut client = stack.client("admin").await;
    let with_timeout = |seconds, nanos| {
        let mut r = start(&[1001], "/data/logs", "log");
        r.timeout = Some(prost_types::Duration { seconds, nanos });
        r
    };
    let cases = [
        // "no duplicates"
        (
            start(&[1001, 1002, 1001], "/data/logs", "log"),
            "bk_host_ids[2]",
            "repeats bk_host_ids[0]",
        ),
        // "1 to 32 characters"
        (
            start(&[1001], "/data/logs", &"x".repeat(33)),
            "bk_file_suffix",
            "1 to 32",
        ),
        (
            start(&[1001], "/data/logs", &format!(".{}", "x".repeat(33))),
            "bk_file_suffix",
            "1 to 32",
        ),
        (
            start(&[1001], "/data/logs", "."),
            "bk_file_suffix",
            "`.` alone",
        ),
        (
            start(&[1001], "/data/logs", "..log"),
            "bk_file_suffix",
            "`..`",
        ),
        // "at most 1,024 bytes", "not under /proc, /sys or /dev"
        (
            start(&[1001], &format!("/{}", "d".repeat(1024)), "log"),
            "bk_file_dir",
            "1024 bytes",
        ),
        (start(&[1001], "/proc/1", "log"), "bk_file_dir", "/proc"),
        // hosts not in the business: unknown to CMDB, or in business 5
        (
            start(&[1001, 2001, 999_999], "/data/logs", "log"),
            "bk_host_ids",
            "2001, 999999",
        ),
        // a timeout of zero or less
        (with_timeout(0, 0), "timeout", "positive"),
        (with_timeout(-60, 0), "timeout", "positive"),
    ];
    for (req, field, words) in cases {
        let err = client.start_backup(req.clone()).await.unwrap_err();
        let (got, description) = violation(&err);
        assert_eq!(got, field, "{req:?}: {err:?}");
        assert!(description.contains(words), "{req:?}: {description}");
        if field != "timeout" {
            let err = client.search_files(search(&req)).await.unwrap_err();
            assert_eq!(violation(&err).0, field, "search {req:?}");
        }
    }
    let mut negative = search(&start(&[1001], "/data/logs", "log"));
    negative.max_files_per_host = -1;
    let err = client.search_files(negative).await.unwrap_err();
    assert_eq!(violation(&err).0, "max_files_per_host");
    // ListBackupRecords: "at most 500 ids".
    let err = client
        .list_backup_records(pb::ListBackupRecordsRequest {
            bk_host_ids: (1..=501).collect(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violation(&err).0, "bk_host_ids");
    client
        .list_backup_records(pb::ListBackupRecordsRequest {
            bk_host_ids: (1..=500).collect(),
            ..Default::default()
        })
        .await
        .expect("500 ids are accepted");

    assert_eq!(stack.upstream_calls("fast_execute_script").await, 0);
    assert_eq!(backup_count(&mut client).await, 0);
    stack.stop().await;
}

/// A business the caller may not see, one that does not exist, and hosts not in the business
/// are refused at once, through `door`; nothing runs or is stored.
async fn business_and_hosts_are_checked_at_once(db: &PgConnectOptions, door: Door) {
    let stack = Stack::start(db, door).await;
    // alice may use business 3 only (demo world); 2001 is a host of business 5.
    let mut alice = stack.client("alice").await;
    let mut req = start(&[2001], "/data/logs", "log");
    req.bk_biz_id = 5;
    let err = alice.start_backup(req.clone()).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    let err = alice.search_files(search(&req)).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");

    let mut admin = stack.client("admin").await;
    req.bk_biz_id = 999;
    let err = admin.start_backup(req.clone()).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    assert!(err.message().contains("999"), "{err:?}");
    let err = admin.search_files(search(&req)).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");

    let req = start(&[1001, 2001, 999_999], "/data/logs", "log");
    for err in [
        admin.start_backup(req.clone()).await.unwrap_err(),
        admin.search_files(search(&req)).await.unwrap_err(),
    ] {
        let (field, description) = violation(&err);
        assert_eq!(field, "bk_host_ids");
        assert!(description.ends_with(": 2001, 999999"), "{description}");
    }

    assert_eq!(stack.upstream_calls("fast_execute_script").await, 0);
    assert_eq!(backup_count(&mut admin).await, 0);
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn over_esb_the_business_and_hosts_are_checked_before_anything_runs(
    _p: Pool,
    db: PgConnectOptions,
) {
    business_and_hosts_are_checked_at_once(&db, Door::Esb).await;
}

#[sqlx::test(migrations = false)]
async fn over_the_api_gateway_the_business_and_hosts_are_checked_before_anything_runs(
    _p: Pool,
    db: PgConnectOptions,
) {
    business_and_hosts_are_checked_at_once(&db, Door::Apigw).await;
}

#[sqlx::test(migrations = false)]
async fn the_read_calls_refuse_what_their_comments_refuse_naming_the_field(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    let mut client = stack.client("admin").await;
    let at = |seconds| Some(prost_types::Timestamp { seconds, nanos: 0 });
    let cases = [
        (
            pb::ListBackupRecordsRequest {
                path_contains: "ab".into(),
                ..Default::default()
            },
            "path_contains",
        ),
        (
            pb::ListBackupRecordsRequest {
                path_contains: "p".repeat(257),
                ..Default::default()
            },
            "path_contains",
        ),
        (
            pb::ListBackupRecordsRequest {
                bk_file_operator: "o".repeat(65),
                ..Default::default()
            },
            "bk_file_operator",
        ),
        (
            pb::ListBackupRecordsRequest {
                bk_file_suffix: "s".repeat(65),
                ..Default::default()
            },
            "bk_file_suffix",
        ),
        (
            pb::ListBackupRecordsRequest {
                bk_biz_id: -1,
                ..Default::default()
            },
            "bk_biz_id",
        ),
        (
            pb::ListBackupRecordsRequest {
                create_time_start: at(100),
                create_time_end: at(100),
                ..Default::default()
            },
            "create_time_end",
        ),
    ];
    let cases = cases.into_iter().chain([
        (
            pb::ListBackupRecordsRequest {
                page_size: -1,
                ..Default::default()
            },
            "page_size",
        ),
        (
            pb::ListBackupRecordsRequest {
                page_token: "not-a-token".into(),
                ..Default::default()
            },
            "page_token",
        ),
    ]);
    for (req, field) in cases {
        let err = client.list_backup_records(req.clone()).await.unwrap_err();
        assert_eq!(violation(&err).0, field, "{req:?}");
    }
    let backups = [
        (
            pb::ListBackupsRequest {
                operator: "o".repeat(65),
                ..Default::default()
            },
            "operator",
        ),
        (
            pb::ListBackupsRequest {
                bk_host_id: -1,
                ..Default::default()
            },
            "bk_host_id",
        ),
    ];
    let backups = backups.into_iter().chain([
        (
            pb::ListBackupsRequest {
                page_size: -1,
                ..Default::default()
            },
            "page_size",
        ),
        (
            pb::ListBackupsRequest {
                page_token: "not-a-token".into(),
                ..Default::default()
            },
            "page_token",
        ),
    ]);
    for (req, field) in backups {
        let err = client.list_backups(req.clone()).await.unwrap_err();
        assert_eq!(violation(&err).0, field, "{req:?}");
    }
    let mut long_key = start(&[1001], "/data/logs", "log");
    long_key.request_id = "k".repeat(129);
    let err = client.start_backup(long_key).await.unwrap_err();
    assert_eq!(violation(&err).0, "request_id");

    let id = start_backup(&mut client, start(&[1001], "/data/logs", "log")).await;
    let watch = |after_seq| pb::WatchBackupRequest {
        backup_id: id.clone(),
        after_seq,
    };
    let err = client.watch_backup(watch(-1)).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    let err = client.watch_backup(watch(1_000_000)).await.unwrap_err();
    assert_eq!(err.code(), Code::OutOfRange, "{err:?}");
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn limits_documented_as_clamped_are_clamped_and_views_default_as_documented(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    let mut client = stack.client("admin").await;
    let mut req = search(&start(&[1001], "/data/logs", "log"));
    req.max_files_per_host = 1_000_000;
    let found = client
        .search_files(req)
        .await
        .expect("max_files_per_host above the maximum is clamped, not refused")
        .into_inner();
    assert_eq!(found.host_results[0].file_count, 12, "{found:?}");
    assert!(!found.host_results[0].truncated);

    let (id, _) = run_backup(&mut client, start(&[1001], "/data/logs", "log")).await;
    // GetBackup: "unspecified means FULL" (per-file results); ListBackups: HOSTS.
    let unspecified = get(&mut client, &id, pb::BackupView::Unspecified).await;
    assert_eq!(unspecified, full(&mut client, &id).await);
    assert_eq!(unspecified.host_results[0].files.len(), 12);
    let listed = client
        .list_backups(pb::ListBackupsRequest {
            page_size: 100_000,
            ..Default::default()
        })
        .await
        .expect("page_size above 500 is clamped")
        .into_inner();
    let b = &listed.backups[0];
    assert_eq!(b.host_results.len(), 1);
    assert!(b.host_results[0].files.is_empty());
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn a_replayed_request_id_returns_the_first_backup_without_asking_cmdb_again(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    let mut client = stack.client("admin").await;
    let mut req = start(&[1001], "/data/logs", "log");
    req.request_id = "contract-replay".to_owned();
    let first = client.start_backup(req.clone()).await.unwrap().into_inner();
    let id = first.backup.unwrap().backup_id;
    watch_for(&mut client, &id, 0, Duration::from_secs(90)).await;
    let lookups = stack.upstream_calls("list_biz_hosts").await;
    assert!(lookups > 0);
    let again = client.start_backup(req).await.unwrap().into_inner();
    assert!(again.replayed);
    assert_eq!(again.backup.unwrap().backup_id, id);
    assert_eq!(stack.upstream_calls("list_biz_hosts").await, lookups);
    stack.stop().await;
}
