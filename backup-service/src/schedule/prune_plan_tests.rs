//! The prune plan: what each host keeps and is asked to remove.

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::*;
use crate::domain::{BackupState, HostState};
use crate::store::retention::HostBackup;

fn now() -> DateTime<Utc> {
    "2026-12-05T04:00:00Z".parse().unwrap()
}

/// Backup `k` (older as `k` grows: made `k` hours ago) on `host` with `status`.
fn row(host: i64, k: i64, state: BackupState, status: HostState) -> HostBackup {
    HostBackup {
        bk_host_id: host,
        backup_id: Uuid::from_u128(k as u128),
        backup_name: format!("backup_20261205_{:06}_abcd", 100 - k),
        bk_file_dir: "/data/logs".into(),
        state,
        status,
        made_at: now() - TimeDelta::hours(k),
    }
}

fn ok(host: i64, k: i64) -> HostBackup {
    row(host, k, BackupState::Succeeded, HostState::Succeeded)
}

fn name(k: i64) -> String {
    format!("backup_20261205_{:06}_abcd", 100 - k)
}

fn last(n: u32) -> Policy {
    Policy {
        keep_last: Some(n),
        keep_within: None,
    }
}

#[test]
fn keep_last_keeps_the_newest_and_asks_for_the_rest_oldest_first() {
    let rows: Vec<_> = (0..5).map(|k| ok(1001, k)).collect();
    let (groups, names) = plan(&rows, last(2), now());
    assert_eq!(
        groups,
        vec![Group {
            dir: "/data/logs".into(),
            keep: vec![name(0), name(1)],
            candidates: vec![name(4), name(3), name(2)],
            hosts: vec![1001],
        }]
    );
    assert_eq!(names.backup(&name(3)), Some(Uuid::from_u128(3)));
}

#[test]
fn the_newest_successful_backup_stays_whatever_newer_runs_did() {
    let rows = vec![
        row(1001, 0, BackupState::Partial, HostState::Partial),
        row(1001, 1, BackupState::Failed, HostState::Failed),
        ok(1001, 2),
        ok(1001, 3),
    ];
    let (groups, _) = plan(&rows, last(1), now());
    assert_eq!(groups[0].keep, vec![name(0), name(2)]);
    assert_eq!(groups[0].candidates, vec![name(3), name(1)]);
}

#[test]
fn young_backups_and_backups_not_yet_ended_are_never_candidates() {
    let rows = vec![
        row(1001, 0, BackupState::Running, HostState::Running),
        ok(1001, 1),
        ok(1001, 2),
        ok(1001, 5),
    ];
    let policy = Policy {
        keep_last: None,
        keep_within: Some(TimeDelta::hours(3)),
    };
    let (groups, _) = plan(&rows, policy, now());
    assert_eq!(groups[0].keep, vec![name(1)]);
    assert_eq!(groups[0].candidates, vec![name(5)]);
}

#[test]
fn hosts_asked_the_same_share_a_job_and_hosts_with_nothing_to_remove_get_none() {
    let mut rows = vec![];
    for host in [1001, 1002, 1003, 1004] {
        rows.extend((0..3).map(|k| ok(host, k)));
    }
    // 1004 has only its newest backup left; 1002 lost one to an earlier prune.
    rows.retain(|r| !(r.bk_host_id == 1004 && r.made_at < now()));
    rows.retain(|r| !(r.bk_host_id == 1002 && r.backup_id == Uuid::from_u128(2)));
    let (groups, _) = plan(&rows, last(1), now());
    let shape: Vec<(Vec<String>, Vec<i64>)> = groups
        .into_iter()
        .map(|g| (g.candidates, g.hosts))
        .collect();
    assert_eq!(
        shape,
        vec![
            (vec![name(2), name(1)], vec![1001, 1003]),
            (vec![name(1)], vec![1002]),
        ]
    );
}

#[test]
fn a_host_is_asked_for_at_most_the_candidate_limit_at_once() {
    let rows: Vec<_> = (0..(MAX_CANDIDATES as i64 + 10))
        .map(|k| HostBackup {
            backup_name: format!("backup_20261205_000000_{k:04}"),
            ..ok(1001, k)
        })
        .collect();
    let (groups, _) = plan(&rows, last(1), now());
    assert_eq!(groups[0].candidates.len(), MAX_CANDIDATES);
    assert_eq!(
        groups[0].candidates[0],
        format!("backup_20261205_000000_{:04}", MAX_CANDIDATES + 9)
    );
}
