//! Controlling backups end to end: timeouts, cancel, idempotent start, retry of failed hosts,
//! resuming a progress stream, two replicas sharing a queue, and a replica dying mid-backup.

use std::time::{Duration, Instant};

use e2e::flow::{
    assert_counts_add_up, full, host, records, run_backup, start, start_backup, watch_from,
    watch_to_end,
};
use e2e::stack::{Door, Stack};
use proto::backup::v1 as pb;
use proto::backup::v1::watch_backup_response::Event;
use serde_json::json;
use sqlx::postgres::PgConnectOptions;
use tonic::Code;

type Pool = sqlx::pool::PoolOptions<sqlx::Postgres>;

/// Polls GetBackup until `pred` holds (at most 60 s).
async fn until(
    client: &mut e2e::flow::Client,
    id: &str,
    pred: impl Fn(&pb::Backup) -> bool,
) -> pb::Backup {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let b = full(client, id).await;
        if pred(&b) {
            return b;
        }
        assert!(Instant::now() < deadline, "condition never held: {b:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[sqlx::test(migrations = false)]
async fn a_hung_host_times_out_and_the_others_are_still_recorded(_p: Pool, db: PgConnectOptions) {
    let stack = Stack::start(&db, Door::Esb).await;
    stack.fault("hosts/1005", json!({"kind": "hang"})).await;
    let mut client = stack.client("admin").await;
    let mut req = start(&[1001, 1005], "/data/logs", "log");
    // 6 s in all: the JOB step gets half (3 s), the rest is left to read the results.
    req.timeout = Some(prost_types::Duration {
        seconds: 6,
        nanos: 0,
    });
    let id = start_backup(&mut client, req).await;
    let events = watch_to_end(&mut client, &id).await;
    let done = full(&mut client, &id).await;
    assert_eq!(done.state, pb::BackupState::Partial as i32, "{done:?}");
    assert_counts_add_up(&done);
    assert_eq!(
        host(&done, 1001).status,
        pb::HostBackupStatus::Succeeded as i32
    );
    // Watchers see JOB's success code for 1001 as soon as a status poll sees it (before any
    // host's final result), not only a host's final result once the whole job ended.
    let when = |pred: &dyn Fn(&Event) -> bool| {
        events
            .iter()
            .position(|m| m.event.as_ref().is_some_and(pred))
            .unwrap_or(usize::MAX)
    };
    let finished_1001 = when(
        &|e| matches!(e, Event::HostProgress(p) if p.bk_host_id == 1001 && p.job_host_status_code == 9),
    );
    let first_result = when(&|e| matches!(e, Event::HostFinished(_)));
    assert!(
        finished_1001 < first_result && first_result < usize::MAX,
        "{events:?}"
    );
    assert_eq!(
        (host(&done, 1005).status, host(&done, 1005).reason),
        (
            pb::HostBackupStatus::Failed as i32,
            pb::HostFailureReason::Timeout as i32
        ),
        "{:?}",
        host(&done, 1005)
    );
    assert!(
        records(&mut client, &id)
            .await
            .iter()
            .all(|r| r.bk_host_id == 1001)
    );
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn cancelling_mid_job_terminates_it_records_what_was_copied_and_says_who_cancelled(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Apigw).await;
    stack.fault("hosts/1006", json!({"kind": "hang"})).await;
    let mut client = stack.client("admin").await;
    let id = start_backup(&mut client, start(&[1001, 1006], "/data/logs", "log")).await;
    // Wait until the healthy host has finished on the JOB side, so its copies exist.
    let sim = stack.sim.base_url();
    let job = until(&mut client, &id, |b| b.job_instance_id > 0)
        .await
        .job_instance_id;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let j: serde_json::Value = reqwest::get(format!("{sim}/_sim/jobs/{job}"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let done = j["steps"][0]["hosts"].as_array().is_some_and(|hs| {
            hs.iter()
                .any(|h| h["bk_host_id"] == 1001 && h["status"] == 9)
        });
        if done {
            break;
        }
        assert!(Instant::now() < deadline, "host 1001 never finished: {j}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Cancelled by another user than the one who started it: the messages name the canceller.
    let mut alice = stack.client("alice").await;
    let cancelled = alice
        .cancel_backup(pb::CancelBackupRequest {
            backup_id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cancelled.outcome, pb::CancelOutcome::Terminating as i32);
    assert_eq!(
        cancelled.backup.unwrap().status_message,
        "cancel requested by alice: terminating the job"
    );
    let again = client
        .cancel_backup(pb::CancelBackupRequest {
            backup_id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.outcome, pb::CancelOutcome::AlreadyCancelled as i32);
    watch_to_end(&mut client, &id).await;
    let done = full(&mut client, &id).await;
    assert_eq!(done.state, pb::BackupState::Cancelled as i32, "{done:?}");
    assert_counts_add_up(&done);
    let stopped = host(&done, 1006);
    assert_eq!(stopped.status, pb::HostBackupStatus::Cancelled as i32);
    assert!(
        stopped
            .log_excerpt
            .starts_with("stopped by the cancel before it finished"),
        "{stopped:?}"
    );
    let recs = records(&mut client, &id).await;
    assert!(
        !recs.is_empty() && recs.iter().all(|r| r.bk_host_id == 1001),
        "{recs:?}"
    );
    assert_eq!(
        done.status_message,
        format!(
            "cancelled by alice: {} files copied and recorded before the cancel are kept in \
             /data/logs/backup/{}; 1 host stopped before finishing",
            recs.len(),
            done.bk_backup_name
        )
    );
    assert_eq!(stack.upstream_calls("operate_job_instance").await, 1);
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn the_same_request_id_returns_the_same_backup_and_launches_once(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    let mut client = stack.client("admin").await;
    let mut req = start(&[1001], "/data/logs", "log");
    req.request_id = "nightly-2026-11-21".to_owned();
    let first = client.start_backup(req.clone()).await.unwrap().into_inner();
    let second = client.start_backup(req.clone()).await.unwrap().into_inner();
    assert!(!first.replayed && second.replayed);
    let id = first.backup.unwrap().backup_id;
    assert_eq!(second.backup.unwrap().backup_id, id);
    req.bk_file_suffix = "txt".to_owned();
    let err = client.start_backup(req).await.unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    watch_to_end(&mut client, &id).await;
    assert_eq!(stack.upstream_calls("fast_execute_script").await, 1);
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn retry_runs_only_the_failed_hosts_and_refuses_when_nothing_failed(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    let logs = stack.host_root(1002).await.join("data/logs");
    let parked = stack.host_root(1002).await.join("data/logs.parked");
    std::fs::rename(&logs, &parked).unwrap();
    let mut client = stack.client("admin").await;
    let id = start_backup(&mut client, start(&[1001, 1002], "/data/logs", "log")).await;
    watch_to_end(&mut client, &id).await;
    assert_eq!(
        full(&mut client, &id).await.state,
        pb::BackupState::Partial as i32
    );

    std::fs::rename(&parked, &logs).unwrap();
    let retry = client
        .retry_backup(pb::RetryBackupRequest {
            backup_id: id.clone(),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(retry.retried_bk_host_ids, [1002]);
    let retry_id = retry.backup.unwrap().backup_id;
    watch_to_end(&mut client, &retry_id).await;
    let done = full(&mut client, &retry_id).await;
    assert_eq!(done.state, pb::BackupState::Succeeded as i32);
    assert_eq!(done.retry_of_backup_id, id);
    assert_eq!(
        full(&mut client, &id).await.retry_backup_ids,
        vec![retry_id.clone()]
    );
    let err = client
        .retry_backup(pb::RetryBackupRequest {
            backup_id: retry_id,
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn a_progress_stream_resumes_from_a_sequence_number_without_gaps_or_duplicates(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    let mut client = stack.client("admin").await;
    let id = start_backup(&mut client, start(&[1001, 1002, 1009], "/data/logs", "log")).await;
    let all = watch_to_end(&mut client, &id).await;
    let Some(Event::Snapshot(_)) = &all[0].event else {
        panic!("first message is a snapshot")
    };
    let seqs: Vec<i64> = all[1..].iter().map(|m| m.seq).collect();
    let first = all[0].seq;
    assert_eq!(
        seqs,
        ((first + 1)..=(first + seqs.len() as i64)).collect::<Vec<_>>(),
        "gapless after the snapshot"
    );
    let Some(Event::StateChanged(last)) = &all.last().unwrap().event else {
        panic!("ends on a state change")
    };
    assert_eq!(last.state, pb::BackupState::Partial as i32);

    // Resume from the middle on a second replica: the same events, no snapshot.
    let replica = stack.replica().await;
    let mut other = e2e::backup_client(&replica, Some("admin")).await;
    let cut = all[all.len() / 2].seq;
    let resumed = watch_from(&mut other, &id, cut).await;
    let expected: Vec<i64> = all
        .iter()
        .filter(|m| m.seq > cut && !matches!(m.event, Some(Event::Snapshot(_))))
        .map(|m| m.seq)
        .collect();
    assert_eq!(resumed.iter().map(|m| m.seq).collect::<Vec<_>>(), expected);
    assert_eq!(
        resumed,
        all.iter()
            .filter(|m| m.seq > cut && !matches!(m.event, Some(Event::Snapshot(_))))
            .cloned()
            .collect::<Vec<_>>()
    );
    let err = other
        .watch_backup(pb::WatchBackupRequest {
            backup_id: id.clone(),
            after_seq: all.last().unwrap().seq + 1,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::OutOfRange);
    replica.stop().await;
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn two_replicas_share_one_queue_and_each_backup_is_launched_once(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    let replica = stack.replica().await;
    let mut a = stack.client("admin").await;
    let mut b = e2e::backup_client(&replica, Some("admin")).await;
    let mut ids = vec![];
    for i in 0..6 {
        let client = if i % 2 == 0 { &mut a } else { &mut b };
        let host = [1001, 1002, 1003][i % 3];
        ids.push(
            client
                .start_backup(start(&[host], "/data/logs", "log"))
                .await
                .unwrap()
                .into_inner()
                .backup
                .unwrap()
                .backup_id,
        );
    }
    for id in &ids {
        watch_to_end(&mut a, id).await;
        assert_eq!(
            full(&mut b, id).await.state,
            pb::BackupState::Succeeded as i32
        );
    }
    assert_eq!(stack.upstream_calls("fast_execute_script").await, 6);
    replica.stop().await;
    stack.stop().await;
}

/// JOB takes 1.5 s to accept the launch; job-gateway gives up after 0.5 s. The job exists all
/// the same, and the worker must find it rather than launch a second one.
async fn an_uncertain_launch_is_found_not_repeated(db: PgConnectOptions, plan: bool) {
    let stack = Stack::start_custom(
        &db,
        Door::Esb,
        |gw| gw.bk.timeout_ms = 500,
        |b| {
            b.worker.launch_settle_ms = 5000;
            if plan {
                b.plan.enabled = true;
                b.plan.search_plan_id = 4101;
                b.plan.backup_plan_id = 4102;
            }
        },
    )
    .await;
    let api = if plan {
        "execute_job_plan"
    } else {
        "fast_execute_script"
    };
    stack
        .fault(&format!("apis/{api}"), json!({"latency_ms": 1500}))
        .await;
    let mut client = stack.client("admin").await;
    let (id, done) = run_backup(&mut client, start(&[1001], "/data/logs", "log")).await;
    assert_eq!(done.state, pb::BackupState::Succeeded as i32, "{done:?}");
    assert_eq!(stack.upstream_calls(api).await, 1);
    assert!(!records(&mut client, &id).await.is_empty());
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn a_script_launch_that_timed_out_is_found_by_its_task_name_not_launched_again(
    _p: Pool,
    db: PgConnectOptions,
) {
    an_uncertain_launch_is_found_not_repeated(db, false).await;
}

#[sqlx::test(migrations = false)]
async fn a_plan_launch_that_timed_out_is_found_by_its_arguments_not_launched_again(
    _p: Pool,
    db: PgConnectOptions,
) {
    an_uncertain_launch_is_found_not_repeated(db, true).await;
}

#[sqlx::test(migrations = false)]
async fn a_full_disk_is_reported_as_such_and_nothing_is_recorded_for_it(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    // 1007: room for the manifest but not for its 24,000-byte log file; 1008: not even room
    // for the manifest.
    for (host, size) in [(1007, 32_768), (1008, 4096)] {
        stack
            .fault(
                &format!("hosts/{host}"),
                json!({"kind": "disk_full", "path": "/project/backup", "size_bytes": size}),
            )
            .await;
    }
    let mut client = stack.client("admin").await;
    let (id, done) = run_backup(&mut client, start(&[1001, 1007, 1008], "/project", "log")).await;
    assert_counts_add_up(&done);
    let recs = records(&mut client, &id).await;
    for h in [1007, 1008] {
        let full_host = host(&done, h);
        assert_eq!(
            (full_host.status, full_host.reason),
            (
                pb::HostBackupStatus::Failed as i32,
                pb::HostFailureReason::DiskFull as i32
            ),
            "{full_host:?}"
        );
        // The one matched file was not copied, and the counts say so.
        assert_eq!(
            (
                full_host.files_found,
                full_host.files_copied,
                full_host.files_failed,
                full_host.files_unknown
            ),
            (1, 0, 1, 0),
            "{full_host:?}"
        );
        assert!(recs.iter().all(|r| r.bk_host_id != h));
    }
    // Where the manifest could be written, the file's own result says disk full.
    assert!(
        host(&done, 1007)
            .files
            .iter()
            .any(|f| f.status == pb::FileBackupStatus::DiskFull as i32),
        "{:?}",
        host(&done, 1007)
    );
    assert!(
        host(&done, 1008)
            .log_excerpt
            .contains("No space left on device"),
        "{:?}",
        host(&done, 1008)
    );
    assert_eq!(
        host(&done, 1001).status,
        pb::HostBackupStatus::Succeeded as i32
    );
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn a_backup_past_its_deadline_is_terminated_and_ends_failed_with_the_reason(
    p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    stack.fault("hosts/1005", json!({"kind": "hang"})).await;
    let mut client = stack.client("admin").await;
    let id = start_backup(&mut client, start(&[1005], "/data/logs", "log")).await;
    until(&mut client, &id, |b| b.job_instance_id > 0).await;
    // Move the deadline to now instead of waiting the default ten-plus minutes.
    let pool = p.connect_with(db.clone()).await.unwrap();
    sqlx::query("update backups set deadline_at = now() where id = $1::uuid")
        .bind(&id)
        .execute(&pool)
        .await
        .unwrap();
    watch_to_end(&mut client, &id).await;
    let done = full(&mut client, &id).await;
    assert_counts_add_up(&done);
    assert_eq!(
        (done.state, done.failure_reason),
        (
            pb::BackupState::Failed as i32,
            pb::BackupFailureReason::DeadlineExceeded as i32
        ),
        "{done:?}"
    );
    assert_eq!(
        host(&done, 1005).status,
        pb::HostBackupStatus::Failed as i32
    );
    assert_eq!(stack.upstream_calls("operate_job_instance").await, 1);
    stack.stop().await;
}
