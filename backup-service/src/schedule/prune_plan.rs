//! What a run's prune asks of each host, computed from the service's own rows: per host, the
//! schedule's backups there not yet pruned, split into those retention keeps and the
//! candidates; hosts asked the same thing share one `prune.sh` job.
//!
//! Kept on a host: the newest backup that SUCCEEDED there; the `keep_last` newest that made a
//! directory there (succeeded or partial); those made less than `keep_within` ago (on the
//! scheduler's clock); and every backup not yet ended. Candidates are the rest, oldest first,
//! at most [`MAX_CANDIDATES`] per host (the next run's prune takes the others). The host
//! script checks every candidate again against its marks and its own reading of the policy.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use crate::domain::HostState;
use crate::store::retention::HostBackup;

/// Candidates one host is asked to remove in one prune.
pub const MAX_CANDIDATES: usize = 200;
/// Names sent as the keep list per host (the script keeps the policy's others on its own).
pub const MAX_KEEP: usize = 50;

/// A schedule's retention as the service applies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Keep the newest N.
    pub keep_last: Option<u32>,
    /// Keep those younger than this.
    pub keep_within: Option<TimeDelta>,
}

/// One `prune.sh` job: a directory, what must stay, what may go, and the hosts asked exactly
/// that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The backed-up directory (its `backup/` holds the backups).
    pub dir: String,
    /// Names that must stay.
    pub keep: Vec<String>,
    /// Names the service wants removed, oldest first.
    pub candidates: Vec<String>,
    /// Hosts.
    pub hosts: Vec<i64>,
}

/// The prune of `rows` (newest first, as `store::retention::host_backups` reads them) under
/// `policy` at `now`: the jobs to run (hosts without candidates need none), and which backup
/// each name belongs to.
pub fn plan(rows: &[HostBackup], policy: Policy, now: DateTime<Utc>) -> (Vec<Group>, Names) {
    let mut by_host: BTreeMap<i64, Vec<&HostBackup>> = BTreeMap::new();
    for row in rows {
        by_host.entry(row.bk_host_id).or_default().push(row);
    }
    let mut groups: BTreeMap<(String, Vec<String>, Vec<String>), Vec<i64>> = BTreeMap::new();
    for (host, rows) in by_host {
        let mut keep: Vec<&HostBackup> = vec![];
        let mut candidates: Vec<&HostBackup> = vec![];
        let newest_ok = rows
            .iter()
            .find(|r| r.state.is_terminal() && r.status == HostState::Succeeded)
            .map(|r| r.backup_id);
        let mut made = 0u32;
        for r in rows {
            let made_dir = r.state.is_terminal()
                && matches!(r.status, HostState::Succeeded | HostState::Partial);
            let in_last = made_dir && policy.keep_last.is_some_and(|n| made < n);
            if made_dir {
                made += 1;
            }
            let young = policy.keep_within.is_some_and(|w| now - r.made_at < w);
            if Some(r.backup_id) == newest_ok || in_last {
                keep.push(r);
            } else if young || !r.state.is_terminal() {
                // Kept, and left to the script's own reading of the policy.
            } else {
                candidates.push(r);
            }
        }
        candidates.reverse();
        candidates.truncate(MAX_CANDIDATES);
        keep.truncate(MAX_KEEP);
        let mut dirs: BTreeMap<&str, (Vec<String>, Vec<String>)> = BTreeMap::new();
        for c in &candidates {
            dirs.entry(&c.bk_file_dir)
                .or_default()
                .1
                .push(c.backup_name.clone());
        }
        for (dir, (k, cands)) in &mut dirs {
            k.extend(
                keep.iter()
                    .filter(|r| r.bk_file_dir == *dir)
                    .map(|r| r.backup_name.clone()),
            );
            let key = (dir.to_string(), k.clone(), cands.clone());
            groups.entry(key).or_default().push(host);
        }
    }
    let names = rows
        .iter()
        .map(|r| (r.backup_name.clone(), r.backup_id))
        .collect();
    let groups = groups
        .into_iter()
        .map(|((dir, keep, candidates), hosts)| Group {
            dir,
            keep,
            candidates,
            hosts,
        })
        .collect();
    (groups, Names(names))
}

/// Which backup a directory name belongs to.
#[derive(Debug, Clone, Default)]
pub struct Names(HashMap<String, Uuid>);

impl Names {
    /// The backup named `name`.
    pub fn backup(&self, name: &str) -> Option<Uuid> {
        self.0.get(name).copied()
    }
}

#[cfg(test)]
#[path = "prune_plan_tests.rs"]
mod tests;
