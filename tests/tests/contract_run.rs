//! The proto is the contract, for what a backup does: the bound on total time, an empty
//! suffix, hosts that left the business, a business that no longer exists, and the order and
//! times of host results, checked over real gRPC against the whole stack (bk-sim's sandboxes
//! run the real host scripts). What a cancel says and keeps is checked in backup_control.rs.

use std::collections::BTreeSet;
use std::time::Duration;

use e2e::contract::{accepted_earlier, backup_count, duration, every_file, search, stored_end};
use e2e::flow::{full, get, host, records, run_backup, start, watch_for};
use e2e::stack::{Door, Stack};
use proto::backup::v1 as pb;
use serde_json::Value;
use sqlx::postgres::PgConnectOptions;
use tonic::Code;

type Pool = sqlx::pool::PoolOptions<sqlx::Postgres>;

/// The `timeout` JOB was asked for by the one `fast_execute_script` bk-sim received.
async fn launched_step_timeout(stack: &Stack) -> i64 {
    let log: Value = reqwest::get(format!(
        "{}/_sim/requests?api=fast_execute_script",
        stack.sim.base_url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let requests = log["requests"].as_array().expect("request list");
    assert_eq!(requests.len(), 1, "{log}");
    requests[0]["params"]["timeout"]
        .as_i64()
        .unwrap_or_else(|| panic!("a timeout in {}", requests[0]))
}

/// Whole seconds from `create_time` to `deadline`: the deadline is taken when StartBackup is
/// called, a few milliseconds before the row's `create_time`.
fn seconds_between(b: &pb::Backup) -> i64 {
    let (start, end) = (b.create_time.unwrap(), b.deadline.unwrap());
    let nanos = (end.seconds - start.seconds) * 1_000_000_000 + i64::from(end.nanos - start.nanos);
    let secs = (nanos as f64 / 1e9).round() as i64;
    assert!((nanos - secs * 1_000_000_000).abs() < 500_000_000, "{b:?}");
    secs
}

#[sqlx::test(migrations = false)]
async fn the_timeout_is_the_bound_on_total_time_and_the_job_step_fits_inside_it(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    let mut client = stack.client("admin").await;
    let mut req = start(&[1001], "/data/logs", "log");
    req.timeout = duration(60);
    let (_, done) = run_backup(&mut client, req).await;
    assert_eq!(done.state, pb::BackupState::Succeeded as i32, "{done:?}");
    assert_eq!(
        seconds_between(&done),
        60,
        "deadline = create_time + timeout"
    );
    // The reserve for launching and reading results (300 s by default) is at most half the
    // bound, so the step's own timeout ends within it.
    assert_eq!(launched_step_timeout(&stack).await, 30);

    // Unset: the server default, 15 minutes; above the maximum: clamped to 24 hours.
    let b = client
        .start_backup(start(&[1001], "/data/logs", "log"))
        .await
        .unwrap()
        .into_inner()
        .backup
        .unwrap();
    assert_eq!(seconds_between(&b), 900);
    let mut long = start(&[1001], "/data/logs", "log");
    long.timeout = duration(30 * 86_400);
    let b = client
        .start_backup(long)
        .await
        .expect("a timeout above the maximum is clamped, not refused")
        .into_inner()
        .backup
        .unwrap();
    assert_eq!(seconds_between(&b), 86_400);
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn an_empty_suffix_searches_and_backs_up_every_regular_file(_p: Pool, db: PgConnectOptions) {
    let stack = Stack::start(&db, Door::Apigw).await;
    let root = stack.host_root(1001).await;
    // Files no suffix filter would pick together: no dot, another suffix, a hidden file.
    std::fs::write(root.join("data/logs/README"), b"read me\n").unwrap();
    std::fs::create_dir_all(root.join("data/logs/conf")).unwrap();
    std::fs::write(root.join("data/logs/conf/app.toml"), b"a = 1\n").unwrap();
    std::fs::write(root.join("data/logs/.hidden"), b"h\n").unwrap();
    let expected = every_file(&root, "/data/logs");
    assert!(expected.len() >= 12 + 4 + 3, "{expected:?}");
    let mut client = stack.client("admin").await;

    let mut req = search(&start(&[1001], "/data/logs", ""));
    req.max_files_per_host = 1000;
    let found = client.search_files(req).await.unwrap().into_inner();
    let listed: BTreeSet<String> = found.host_results[0]
        .files
        .iter()
        .map(|f| f.path.clone())
        .collect();
    assert_eq!(listed, expected);

    let (id, done) = run_backup(&mut client, start(&[1001], "/data/logs", "")).await;
    assert_eq!(done.state, pb::BackupState::Succeeded as i32, "{done:?}");
    assert_eq!(done.bk_file_suffix, "");
    let recs = records(&mut client, &id).await;
    let copied: BTreeSet<String> = recs.iter().map(|r| r.source_path.clone()).collect();
    assert_eq!(copied, expected);
    assert!(recs.iter().all(|r| r.bk_file_suffix.is_empty()));

    // "Previous backups are excluded by default": the copies are every file too, and only
    // `include_previous_backups` lists them.
    let again = |include_previous_backups| pb::SearchFilesRequest {
        include_previous_backups,
        max_files_per_host: 1000,
        ..search(&start(&[1001], "/data/logs", ""))
    };
    let found = client
        .search_files(again(false))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(found.host_results[0].file_count, expected.len() as i64);
    let found = client.search_files(again(true)).await.unwrap().into_inner();
    let backup_dir = format!("/data/logs/backup/{}/", done.bk_backup_name);
    let previous = found.host_results[0]
        .files
        .iter()
        .filter(|f| f.path.starts_with(&backup_dir))
        .count();
    assert_eq!(previous, expected.len(), "{found:?}");
    stack.stop().await;
}

/// A backup accepted when its hosts were in business 3, launched after 2001 (business 5) and
/// 999999 (unknown) are not: both are skipped as not in the business, 1009 as agent offline.
async fn hosts_gone_at_launch(db: &PgConnectOptions, door: Door) -> (Stack, String) {
    let stack = Stack::start(db, door).await;
    let mut client = stack.client("admin").await;
    // 2001 is in business 5, 999999 unknown, 1009 in business 3 with its agent down.
    let id = accepted_earlier(db, 3, &[1001, 2001, 999_999, 1009]).await;
    watch_for(&mut client, &id, 0, Duration::from_secs(90)).await;
    let done = full(&mut client, &id).await;
    assert_eq!(done.state, pb::BackupState::Partial as i32, "{done:?}");
    let status = |h| (host(&done, h).status, host(&done, h).reason);
    use pb::HostBackupStatus as S;
    use pb::HostFailureReason as R;
    assert_eq!(status(1001), (S::Succeeded as i32, R::Unspecified as i32));
    assert_eq!(status(2001), (S::Skipped as i32, R::NotInBusiness as i32));
    assert_eq!(
        status(999_999),
        (S::Skipped as i32, R::NotInBusiness as i32)
    );
    assert_eq!(status(1009), (S::Skipped as i32, R::AgentOffline as i32));
    assert_eq!(done.counts.unwrap().hosts_skipped, 3);
    (stack, id)
}

#[sqlx::test(migrations = false)]
async fn over_the_api_gateway_a_host_no_longer_in_the_business_at_launch_is_skipped_as_such(
    _p: Pool,
    db: PgConnectOptions,
) {
    let (stack, _) = hosts_gone_at_launch(&db, Door::Apigw).await;
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn a_host_no_longer_in_the_business_at_launch_is_skipped_as_such_and_not_retried(
    _p: Pool,
    db: PgConnectOptions,
) {
    let (stack, id) = hosts_gone_at_launch(&db, Door::Esb).await;
    let mut client = stack.client("admin").await;

    // A retry leaves out the hosts no longer in the business; a caller who may not see the
    // business is refused at once.
    let retry = |backup_id: &str| pb::RetryBackupRequest {
        backup_id: backup_id.to_owned(),
        request_id: String::new(),
    };
    let mut bob = stack.client("bob").await;
    let err = bob.retry_backup(retry(&id)).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    let retried = client.retry_backup(retry(&id)).await.unwrap().into_inner();
    assert_eq!(retried.retried_bk_host_ids, [1009]);
    let gone = accepted_earlier(&db, 3, &[1001, 2001]).await;
    watch_for(&mut client, &gone, 0, Duration::from_secs(90)).await;
    let err = client.retry_backup(retry(&gone)).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(err.message().contains("2001"), "{err:?}");
    assert_eq!(backup_count(&mut client).await, 3);
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn a_backup_whose_business_no_longer_exists_fails_at_once_with_the_cause(
    _p: Pool,
    db: PgConnectOptions,
) {
    business_gone_at_launch(&db, Door::Esb).await;
}

#[sqlx::test(migrations = false)]
async fn over_the_api_gateway_a_backup_whose_business_no_longer_exists_fails_at_once(
    _p: Pool,
    db: PgConnectOptions,
) {
    business_gone_at_launch(&db, Door::Apigw).await;
}

/// A backup accepted for business 999, which does not exist at launch, through `door`.
async fn business_gone_at_launch(db: &PgConnectOptions, door: Door) {
    let stack = Stack::start(db, door).await;
    let mut client = stack.client("admin").await;
    let id = accepted_earlier(db, 999, &[1001]).await;
    // A permanent refusal is not retried as transient: the backup ends within seconds. No
    // one may read it through the API now (BlueKing knows no business 999 to authorize).
    let (state, reason, message) = stored_end(db, &id).await;
    assert_eq!(
        (state.as_str(), reason.as_deref()),
        ("failed", Some("launch_rejected"))
    );
    assert!(message.contains("999"), "the cause is kept: {message}");
    let refused = client
        .get_backup(pb::GetBackupRequest {
            backup_id: id.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::NotFound, "{refused:?}");
    assert_eq!(stack.upstream_calls("fast_execute_script").await, 0);
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn results_come_in_request_order_and_each_host_says_when_its_result_last_changed(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    let mut client = stack.client("admin").await;
    let req = start(&[1003, 1001, 1002], "/data/logs", "log");
    let found = client
        .search_files(search(&req))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        found
            .host_results
            .iter()
            .map(|h| h.bk_host_id)
            .collect::<Vec<_>>(),
        [1003, 1001, 1002]
    );
    let (id, done) = run_backup(&mut client, req).await;
    assert_eq!(
        done.host_results
            .iter()
            .map(|h| h.bk_host_id)
            .collect::<Vec<_>>(),
        [1003, 1001, 1002]
    );
    let (created, ended) = (done.create_time.unwrap(), done.end_time.unwrap());
    for h in &done.host_results {
        let t = h
            .update_time
            .unwrap_or_else(|| panic!("update_time of {h:?}"));
        assert!(
            (created.seconds, created.nanos) <= (t.seconds, t.nanos)
                && (t.seconds, t.nanos) <= (ended.seconds, ended.nanos),
            "{h:?} in {done:?}"
        );
    }
    // The HOSTS view and the HostFinished events carry it too.
    let hosts = get(&mut client, &id, pb::BackupView::Hosts).await;
    assert!(hosts.host_results.iter().all(|h| h.update_time.is_some()));
    let events = watch_for(&mut client, &id, 0, Duration::from_secs(10)).await;
    let Some(pb::watch_backup_response::Event::Snapshot(snapshot)) = &events[0].event else {
        panic!("a snapshot first")
    };
    assert!(
        snapshot
            .host_results
            .iter()
            .all(|h| h.update_time.is_some())
    );
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn backup_names_show_the_start_time_on_the_wall_clock_of_the_configured_zone(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start_with(&db, Door::Esb, |s| {
        s.backup.name_time_zone = "Asia/Shanghai".to_owned();
    })
    .await;
    let mut client = stack.client("admin").await;
    let id = e2e::flow::start_backup(&mut client, start(&[1001], "/data/logs", "log")).await;
    let b = get(&mut client, &id, pb::BackupView::Basic).await;
    // backup_YYYYmmdd_HHMMSS_<short>, read as Shanghai's wall clock (UTC+8, no DST).
    let stamp = &b.bk_backup_name["backup_".len()..][..15];
    let local = chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%d_%H%M%S").unwrap();
    let named = local.and_utc() - chrono::Duration::hours(8);
    let created = b.create_time.unwrap();
    let created = chrono::DateTime::from_timestamp(created.seconds, created.nanos as u32).unwrap();
    let off = (named - created).num_seconds().abs();
    assert!(off <= 2, "{} is {off} s from {created}", b.bk_backup_name);
    stack.stop().await;
}
