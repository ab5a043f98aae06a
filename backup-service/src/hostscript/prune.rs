//! `prune.sh`: retention on the hosts. Its arguments (which schedule, how much to keep, which
//! backups must stay, which ones the service wants removed) and the parser of its report.
//!
//! Decision: the service decides from its records which backups are candidates; the script
//! verifies every candidate again on the host and can only ever remove `<dir>/backup/backup_*`
//! directories whose mark (`.<name>.mark`, written by `backup.sh`) names this schedule. It
//! also keeps, on its own, the newest finished backup of the schedule with status ok there, the
//! `keep_last` newest of those and the ones younger than `keep_within`, so a service that got
//! its arithmetic wrong cannot make it remove more. The contract is `docs/host-protocol.md`.
//!
//! ```text
//! @bkb 2 begin prune <run_id> <b64 directory> <schedule>
//! R <name> pruned - -                 removed: the directory, its side files, then its mark
//! R <name> gone - -                   nothing of it was on the host
//! R <name> kept <reason> -            keep_list | newest | keep_last | keep_within | running |
//!                                     not_marked | manual | other_schedule | not_a_directory
//! R <name> failed <reason> <b64 detail>   permission_denied | read_only | io_error
//! @bkb 2 end <run> <status> candidates=<n> pruned=<p> gone=<g> kept=<k> failed=<f>
//! ```
//!
//! One `R` line per candidate, in the order they were given, when the status is `ok`; no `R`
//! line otherwise.

use std::time::Duration;

use super::args::{
    BackupDirName, FileSelection, PROTOCOL, RunId, ScheduleTag, encode_script_param,
};
use super::frame::{Expect, Frame, Kind, frame, require};
use super::records::Record;
use super::report::{FailReason, HostStatus};
use super::{HostScriptError, Result};

/// Largest `keep_last` the script takes (9 digits).
pub const MAX_KEEP_LAST: u32 = 999_999_999;
/// Largest `keep_within`, in seconds, the script takes (10 digits).
pub const MAX_KEEP_WITHIN_SECS: u64 = 9_999_999_999;

/// How many backups of a schedule each host keeps: the `keep_last` newest and/or those younger
/// than `keep_within`; at least one of the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    keep_last: Option<u32>,
    keep_within_secs: Option<u64>,
}

impl Retention {
    /// Validates the policy; errors name `keep_last` or `keep_within`.
    pub fn new(keep_last: Option<u32>, keep_within: Option<Duration>) -> Result<Self> {
        if let Some(n) = keep_last
            && !(1..=MAX_KEEP_LAST).contains(&n)
        {
            return Err(HostScriptError::invalid(
                "keep_last",
                format!("must be 1 to {MAX_KEEP_LAST}"),
            ));
        }
        let keep_within_secs = keep_within.map(|d| d.as_secs());
        if let Some(s) = keep_within_secs
            && !(1..=MAX_KEEP_WITHIN_SECS).contains(&s)
        {
            return Err(HostScriptError::invalid(
                "keep_within",
                format!("must be 1 to {MAX_KEEP_WITHIN_SECS} whole seconds"),
            ));
        }
        if keep_last.is_none() && keep_within_secs.is_none() {
            return Err(HostScriptError::invalid(
                "keep_last",
                "keep_last or keep_within is required",
            ));
        }
        Ok(Self {
            keep_last,
            keep_within_secs,
        })
    }

    /// The newest backups kept, if limited by number.
    pub fn keep_last(&self) -> Option<u32> {
        self.keep_last
    }

    /// The age under which backups are kept, if limited by age.
    pub fn keep_within(&self) -> Option<Duration> {
        self.keep_within_secs.map(Duration::from_secs)
    }
}

/// One prune of one schedule's backups under a directory, the same for every host.
#[derive(Debug, Clone, Copy)]
pub struct PruneRequest<'a> {
    /// The schedule's directory (its suffixes play no part).
    pub selection: &'a FileSelection,
    /// The only owner whose backups may go.
    pub schedule: &'a ScheduleTag,
    /// What each host keeps whatever the candidates say.
    pub retention: Retention,
    /// Backups that must stay (the newest successful one at least).
    pub keep: &'a [BackupDirName],
    /// Backups the service wants removed.
    pub candidates: &'a [BackupDirName],
}

/// `script_param` (or `bkb_args` value) for `prune.sh`.
pub fn prune_script_param(req: &PruneRequest<'_>, run: &RunId) -> String {
    let keep_last = req.retention.keep_last.map(|n| n.to_string());
    let keep_within = req.retention.keep_within_secs.map(|s| s.to_string());
    let count = req.keep.len().to_string();
    let mut args: Vec<&[u8]> = vec![
        PROTOCOL,
        run.as_str().as_bytes(),
        req.selection.directory().as_bytes(),
        req.schedule.as_str().as_bytes(),
        keep_last.as_deref().unwrap_or_default().as_bytes(),
        keep_within.as_deref().unwrap_or_default().as_bytes(),
        count.as_bytes(),
    ];
    args.extend(req.keep.iter().map(|n| n.as_str().as_bytes()));
    args.extend(req.candidates.iter().map(|n| n.as_str().as_bytes()));
    encode_script_param(&args)
}

/// Why a candidate was left in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepReason {
    /// The service named it in the keep list.
    KeepList,
    /// The newest finished backup of the schedule with status ok on this host.
    Newest,
    /// Among the `keep_last` newest of those.
    KeepLast,
    /// Started less than `keep_within` ago.
    KeepWithin,
    /// Its `backup.sh` still runs.
    Running,
    /// No (valid) mark, or its `.run` names another run: not made by our `backup.sh`.
    NotMarked,
    /// A manual backup (its mark names no schedule).
    Manual,
    /// Another schedule's backup.
    OtherSchedule,
    /// `backup/<name>` is a symlink or not a directory; never followed, never removed.
    NotADirectory,
}

impl KeepReason {
    const ALL: [Self; 9] = [
        Self::KeepList,
        Self::Newest,
        Self::KeepLast,
        Self::KeepWithin,
        Self::Running,
        Self::NotMarked,
        Self::Manual,
        Self::OtherSchedule,
        Self::NotADirectory,
    ];

    /// The wire word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KeepList => "keep_list",
            Self::Newest => "newest",
            Self::KeepLast => "keep_last",
            Self::KeepWithin => "keep_within",
            Self::Running => "running",
            Self::NotMarked => "not_marked",
            Self::Manual => "manual",
            Self::OtherSchedule => "other_schedule",
            Self::NotADirectory => "not_a_directory",
        }
    }

    /// Whether the host refused the candidate as not this schedule's (the service asked for
    /// something it should not have), rather than a retention rule keeping it.
    pub fn is_refusal(self) -> bool {
        matches!(
            self,
            Self::NotMarked | Self::Manual | Self::OtherSchedule | Self::NotADirectory
        )
    }
}

/// What became of one candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PruneOutcome {
    /// Its directory, side files and mark were removed.
    Pruned,
    /// Nothing of it was on the host (never made there, or removed earlier).
    Gone,
    /// Left in place.
    Kept(KeepReason),
    /// The removal failed part way; its mark stays, so the next prune tries again.
    Failed {
        reason: FailReason,
        detail: Option<String>,
    },
}

/// One candidate's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneEntry {
    /// The candidate.
    pub name: BackupDirName,
    /// What became of it.
    pub outcome: PruneOutcome,
}

/// One host's prune.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneReport {
    /// `Ok` (every candidate has an entry), or why nothing was looked at.
    pub status: HostStatus,
    /// One per candidate, in request order, when the status is `Ok`.
    pub entries: Vec<PruneEntry>,
    /// Why the status is not ok.
    pub error: Option<String>,
}

/// Parses one host's `prune.sh` log of `req`, checking it belongs to `run`.
pub fn parse_prune_output(log: &[u8], req: &PruneRequest<'_>, run: &RunId) -> Result<PruneReport> {
    let want = Expect {
        kind: Kind::Prune,
        dir: req.selection.directory().as_bytes(),
        name: Some(req.schedule.as_str()),
        page: None,
        skip: None,
        run,
    };
    let Frame { records, trailer } = frame(log, &want)?;
    let trailer = require(trailer, records.len())?;
    let mut entries = Vec::new();
    let mut error = None;
    let mut counts = [0u64; 4];
    for (line, record) in records {
        let garbage = HostScriptError::Garbage { line };
        match record {
            Record::Prune {
                name,
                outcome,
                reason,
                detail,
            } => {
                let Some(candidate) = req.candidates.get(entries.len()) else {
                    return Err(garbage);
                };
                if name != candidate.as_str().as_bytes() {
                    return Err(HostScriptError::Mismatch { field: "candidate" });
                }
                let (outcome, slot) = outcome_of(&outcome, &reason, detail).ok_or(garbage)?;
                counts[slot] += 1;
                entries.push(PruneEntry {
                    name: candidate.clone(),
                    outcome,
                });
            }
            Record::Error(e) if error.is_none() => error = Some(e),
            _ => return Err(garbage),
        }
    }
    let status = HostStatus::from_wire(&trailer.status)
        .filter(|s| {
            matches!(
                s,
                HostStatus::Ok
                    | HostStatus::DirMissing
                    | HostStatus::NotADirectory
                    | HostStatus::PermissionDenied
                    | HostStatus::ScriptError
            )
        })
        .ok_or(HostScriptError::Garbage { line: trailer.line })?;
    trailer.expect("candidates", entries.len() as u64)?;
    for (key, n) in ["pruned", "gone", "kept", "failed"].into_iter().zip(counts) {
        trailer.expect(key, n)?;
    }
    if status == HostStatus::Ok {
        trailer.require(entries.len() == req.candidates.len())?;
    } else {
        trailer.require(entries.is_empty())?;
    }
    Ok(PruneReport {
        status,
        entries,
        error,
    })
}

/// The outcome of an `R` line and its counter (pruned, gone, kept, failed).
fn outcome_of(
    outcome: &[u8],
    reason: &[u8],
    detail: Option<String>,
) -> Option<(PruneOutcome, usize)> {
    let no_detail = detail.is_none();
    match outcome {
        b"pruned" if reason == b"-" && no_detail => Some((PruneOutcome::Pruned, 0)),
        b"gone" if reason == b"-" && no_detail => Some((PruneOutcome::Gone, 1)),
        b"kept" if no_detail => KeepReason::ALL
            .into_iter()
            .find(|k| k.as_str().as_bytes() == reason)
            .map(|k| (PruneOutcome::Kept(k), 2)),
        b"failed" => {
            let reason = match reason {
                b"permission_denied" => FailReason::PermissionDenied,
                b"read_only" => FailReason::ReadOnly,
                b"io_error" => FailReason::Io,
                _ => return None,
            };
            Some((PruneOutcome::Failed { reason, detail }, 3))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;
