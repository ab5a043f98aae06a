//! The end of a worker's run against a real Postgres: live host progress and the final
//! transaction.

use std::time::Duration;

use chrono::Utc;
use uuid::Uuid;

use super::*;
use crate::domain::Phase;
use crate::outcome::FailedFile;
use crate::records::NewRecord;
use crate::store::backups::{self, Created, NewBackup};
use crate::store::cancel::{self, CancelOutcome};
use crate::store::work;

fn new_backup() -> NewBackup {
    backup_of(vec![1001])
}

fn backup_of(bk_host_ids: Vec<i64>) -> NewBackup {
    NewBackup {
        id: Uuid::new_v4(),
        request_id: None,
        bk_biz_id: 3,
        bk_host_ids,
        bk_file_dir: "/data/logs".into(),
        bk_file_suffix: "log".into(),
        operator: "alice".into(),
        job_timeout_secs: 600,
        backup_name: "backup_20261121_120000_abcd1234".into(),
        job_name: "bk-log-backup test".into(),
        deadline_at: Utc::now() + chrono::Duration::hours(1),
        retry_of: None,
        host_selector: None,
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_cancel_after_the_job_finished_copying_still_ends_cancelled_with_its_records(
    pool: PgPool,
) {
    let Created::New(row) = backups::create(&pool, &new_backup()).await.unwrap() else {
        panic!("new backup");
    };
    let claimed = work::claim(&pool, "test", Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.id, row.id);
    let fence = Fence {
        id: row.id,
        attempt: claimed.attempt,
    };
    work::set_job(&pool, fence, 88, Some(89), "http://job/api_execute/88")
        .await
        .unwrap();
    work::set_phase(&pool, fence, Phase::CollectingResults, "collecting results")
        .await
        .unwrap();

    let (outcome, _) = cancel::request(&pool, row.id, "alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outcome, CancelOutcome::JobAlreadyFinished);

    // The worker, not watching for cancels any more, finishes as the job ended.
    let record = NewRecord {
        backup_id: row.id,
        bk_biz_id: 3,
        bk_host_id: 1001,
        bk_cloud_id: 0,
        host_ip: "10.0.1.11".into(),
        bk_file_dir: "/data/logs".into(),
        bk_file_suffix: "log".into(),
        source_path_bytes: b"/data/logs/a.log".to_vec(),
        bk_backup_name: "backup_20261121_120000_abcd1234".into(),
        backup_path_bytes: b"/data/logs/backup/backup_20261121_120000_abcd1234/a.log".to_vec(),
        size_bytes: 5,
        sha256: "0".repeat(64),
        source_mtime: None,
        bk_file_create_time: Utc::now(),
        bk_file_operator: "alice".into(),
        job_instance_id: 88,
        bk_job_link: "http://job/api_execute/88".into(),
    };
    let outcome = Outcome {
        hosts: vec![HostOutcome::bare(1001, HostState::Succeeded, None, "")],
        records: vec![record],
        state: BackupState::Succeeded,
        failure_reason: None,
        message: "1 files backed up".into(),
    };
    assert_eq!(finish(&pool, fence, &outcome).await.unwrap(), 1);
    let done = backups::get(&pool, row.id).await.unwrap().unwrap();
    assert_eq!(done.state(), BackupState::Cancelled);
    assert_eq!(
        done.status_message,
        "cancelled by alice after the job had finished copying: 1 file copied and recorded \
         before the cancel is kept in /data/logs/backup/backup_20261121_120000_abcd1234"
    );
    let recorded: i64 =
        sqlx::query_scalar("select count(*) from backup_records where backup_id = $1")
            .bind(row.id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(recorded, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_queued_backup_cancelled_says_who_cancelled_it_and_that_its_hosts_never_ran(
    pool: PgPool,
) {
    let Created::New(row) = backups::create(&pool, &backup_of(vec![1001, 1002]))
        .await
        .unwrap()
    else {
        panic!("new backup");
    };
    let (outcome, done) = cancel::request(&pool, row.id, "carol")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outcome, CancelOutcome::Dequeued);
    assert_eq!(done.state(), BackupState::Cancelled);
    assert_eq!(
        done.status_message,
        "cancelled by carol before launch: nothing ran"
    );
    assert_eq!(done.cancel_requested_by.as_deref(), Some("carol"));
    for h in backups::hosts(&pool, row.id).await.unwrap() {
        assert_eq!(
            (h.status, h.log_excerpt.as_str()),
            (
                HostState::Cancelled,
                "not run: the backup was cancelled before launch"
            )
        );
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_cancel_while_launching_with_no_job_ends_saying_who_cancelled_and_that_nothing_ran(
    pool: PgPool,
) {
    let (row, fence) = claimed(&pool, vec![1001, 1002]).await;
    work::set_phase(&pool, fence, Phase::Launching, "launching the backup job")
        .await
        .unwrap();
    let (outcome, _) = cancel::request(&pool, row.id, "bob")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outcome, CancelOutcome::Terminating);
    // The worker found no job launched: it ends every host cancelled, without a note.
    let bare = |h| HostOutcome::bare(h, HostState::Cancelled, Some(HostReason::Cancelled), "");
    let outcome = Outcome {
        hosts: vec![bare(1001), bare(1002)],
        records: vec![],
        state: BackupState::Cancelled,
        failure_reason: None,
        message: "cancelled before launch: nothing ran".into(),
    };
    finish(&pool, fence, &outcome).await.unwrap();
    let done = backups::get(&pool, row.id).await.unwrap().unwrap();
    assert_eq!(done.state(), BackupState::Cancelled);
    assert_eq!(
        done.status_message,
        "cancelled by bob before launch: nothing ran"
    );
    for h in backups::hosts(&pool, row.id).await.unwrap() {
        assert_eq!(
            h.log_excerpt, "not run: the backup was cancelled before launch",
            "{h:?}"
        );
    }
}

/// A new backup of `hosts`, claimed by a worker.
async fn claimed(pool: &PgPool, hosts: Vec<i64>) -> (backups::BackupRow, Fence) {
    let Created::New(row) = backups::create(pool, &backup_of(hosts)).await.unwrap() else {
        panic!("new backup");
    };
    let claimed = work::claim(pool, "test", Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    let fence = Fence {
        id: row.id,
        attempt: claimed.attempt,
    };
    (row, fence)
}

#[sqlx::test(migrations = "../migrations")]
async fn host_progress_writes_only_real_changes_and_announces_them_in_host_order(pool: PgPool) {
    let (row, fence) = claimed(&pool, vec![30, 10, 20]).await;
    let before = backups::get(&pool, row.id).await.unwrap().unwrap().last_seq;
    let updates = [
        (10, HostState::Running, Some(7)),
        (30, HostState::Running, Some(7)),
        // Already pending with no code: not a change.
        (20, HostState::Pending, None),
    ];
    assert_eq!(host_progress(&pool, fence, &updates).await.unwrap(), 2);
    // The same poll again changes nothing and announces nothing.
    assert_eq!(host_progress(&pool, fence, &updates).await.unwrap(), 0);

    let stored = events::after(&pool, row.id, before, 100).await.unwrap();
    let seqs: Vec<i64> = stored.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [before + 1, before + 2]);
    let hosts: Vec<i64> = stored
        .iter()
        .map(|e| match e.event {
            Event::HostProgress { bk_host_id, .. } => bk_host_id,
            ref other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(hosts, [10, 30]);
    let last_seq = backups::get(&pool, row.id).await.unwrap().unwrap().last_seq;
    assert_eq!(last_seq, before + 2);
    let statuses: Vec<(i64, String)> = backups::hosts(&pool, row.id)
        .await
        .unwrap()
        .into_iter()
        .map(|h| (h.bk_host_id, h.status.as_str().to_owned()))
        .collect();
    assert_eq!(
        statuses,
        [
            (30, "running".to_owned()),
            (10, "running".to_owned()),
            (20, "pending".to_owned())
        ]
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn finish_writes_every_host_result_and_announces_them_in_host_order_then_the_totals(
    pool: PgPool,
) {
    let (row, fence) = claimed(&pool, vec![30, 10, 20]).await;
    // Host 20's agent is offline: it is finished (skipped) before the job runs.
    let address = work::HostAddress {
        bk_host_id: 10,
        bk_cloud_id: 2,
        ip: "10.0.0.10".into(),
    };
    work::set_agents(&pool, fence, &[address], &[(20, HostReason::AgentOffline)])
        .await
        .unwrap();
    let before = backups::get(&pool, row.id).await.unwrap().unwrap().last_seq;
    let ok = HostOutcome {
        exit_code: Some(0),
        job_host_status_code: Some(9),
        files_found: 2,
        files_copied: 2,
        bytes_copied: 300,
        ..HostOutcome::bare(10, HostState::Succeeded, None, "")
    };
    let failed = HostOutcome {
        exit_code: Some(3),
        failed_files: vec![FailedFile {
            path_b64: "L2RhdGEvbG9ncy9hLmxvZw==".into(),
            status: crate::domain::FileFailure::PermissionDenied,
            error: "Permission denied".into(),
        }],
        files_found: 1,
        files_failed: 1,
        ..HostOutcome::bare(
            30,
            HostState::Failed,
            Some(HostReason::PermissionDenied),
            "cannot read",
        )
    };
    // The skipped host is listed too, as a worker retrying after a crash might: not rewritten.
    let skipped_again = HostOutcome::bare(20, HostState::Failed, None, "should not stick");
    let outcome = Outcome {
        hosts: vec![ok, failed, skipped_again],
        records: vec![],
        state: BackupState::Partial,
        failure_reason: None,
        message: "1 of 3 hosts backed up".into(),
    };
    finish(&pool, fence, &outcome).await.unwrap();

    let stored = events::after(&pool, row.id, before, 100).await.unwrap();
    let kinds: Vec<String> = stored
        .iter()
        .map(|e| match &e.event {
            Event::HostFinished(h) => format!("{} {}", h.bk_host_id, h.status.as_str()),
            other => other.kind().to_owned(),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "10 succeeded",
            "30 failed",
            "counts_changed",
            "state_changed"
        ]
    );
    let seqs: Vec<i64> = stored.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (before + 1..=before + 4).collect::<Vec<_>>());
    let Event::CountsChanged(c) = &stored[2].event else {
        panic!("counts expected");
    };
    assert_eq!(
        (
            c.hosts_succeeded,
            c.hosts_failed,
            c.hosts_skipped,
            c.files_copied
        ),
        (1, 1, 1, 2)
    );
    let hosts = backups::hosts(&pool, row.id).await.unwrap();
    let by_id = |id: i64| hosts.iter().find(|h| h.bk_host_id == id).unwrap();
    assert_eq!(
        (
            by_id(10).exit_code,
            by_id(10).job_host_status_code,
            by_id(10).bytes_copied
        ),
        (Some(0), Some(9), 300)
    );
    assert_eq!(
        (by_id(10).bk_cloud_id, by_id(10).host_ip.as_str()),
        (2, "10.0.0.10")
    );
    assert_eq!(by_id(30).reason, Some(HostReason::PermissionDenied));
    assert_eq!(by_id(20).status, HostState::Skipped);
    let failed_files = backups::failed_files(&pool, row.id).await.unwrap();
    assert_eq!(failed_files.len(), 1);
    assert_eq!(failed_files[0].0, 30);
    assert_eq!(
        failed_files[0].1[0].status,
        crate::domain::FileFailure::PermissionDenied
    );
}
