//! How a backup run ends, decided in one place: the per-host results and records the run
//! produced ([`host`]), and the one function that turns them into the backup's final state,
//! failure reason and message ([`decide`]). Pure types and logic, below both `store` (which
//! writes an [`Outcome`] as given, a cancelled backup's end phrased by [`cancelled`] with what
//! only the stored row knows: who cancelled, whether a job was launched) and `worker` (which
//! gathers the evidence).
//!
//! Decision: a state or a count never says more than what was verified. A host with a file
//! whose outcome is unknown is never SUCCEEDED, and then neither is the backup; every host's
//! counts satisfy found = copied + failed + unknown.

use serde::Serialize;

use crate::domain::{BackupState, FailureReason, FileFailure, HostReason, HostState};
use crate::records::NewRecord;

mod evidence;
mod host;

pub use evidence::{Context, Evidence, HostRun, ManifestState};
pub use host::host_outcome;

/// Characters of log kept with a failed host.
const EXCERPT_CHARS: usize = 2000;
/// Not-copied files kept per host for the FULL view; `files_failed` counts all of them.
pub const FAILED_FILES_KEPT: usize = 1000;

/// A file found but not copied, kept for the FULL view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FailedFile {
    /// Source path bytes, base64.
    pub path_b64: String,
    /// Why it was not copied.
    pub status: FileFailure,
    /// Tool message.
    pub error: String,
}

/// One host's final result.
#[derive(Debug, Clone)]
pub struct HostOutcome {
    /// Host.
    pub bk_host_id: i64,
    /// Final status.
    pub status: HostState,
    /// Why not fully successful.
    pub reason: Option<HostReason>,
    /// Log tail or explanation for a host that did not fully succeed.
    pub log_excerpt: String,
    /// Script exit code.
    pub exit_code: Option<i32>,
    /// JOB per-host status code.
    pub job_host_status_code: Option<i32>,
    /// Files the host matched (copied + failed + unknown).
    pub files_found: i32,
    /// Files copied and verified (a record each).
    pub files_copied: i32,
    /// Files not copied, with a reason.
    pub files_failed: i32,
    /// Files whose outcome is unknown (the run or the reading of its results was cut short).
    pub files_unknown: i32,
    /// Bytes copied.
    pub bytes_copied: i64,
    /// The first [`FAILED_FILES_KEPT`] files not copied, with why.
    pub failed_files: Vec<FailedFile>,
}

impl HostOutcome {
    /// A host that ended without running (or without a usable result): no files.
    pub fn bare(
        bk_host_id: i64,
        status: HostState,
        reason: Option<HostReason>,
        note: &str,
    ) -> Self {
        Self {
            bk_host_id,
            status,
            reason,
            log_excerpt: excerpt(note),
            exit_code: None,
            job_host_status_code: None,
            files_found: 0,
            files_copied: 0,
            files_failed: 0,
            files_unknown: 0,
            bytes_copied: 0,
            failed_files: vec![],
        }
    }
}

/// How a backup ends.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Hosts that ran (skipped hosts were finished earlier).
    pub hosts: Vec<HostOutcome>,
    /// Records for the files really copied.
    pub records: Vec<NewRecord>,
    /// Final state.
    pub state: BackupState,
    /// Why FAILED.
    pub failure_reason: Option<FailureReason>,
    /// Explanation.
    pub message: String,
}

/// How the worker's watch over the job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The job ran to its end.
    Finished,
    /// A cancel was asked for and the job was terminated (or had ended).
    Cancelled,
    /// The backup's deadline passed and the job was terminated.
    DeadlinePassed,
}

/// The final state, failure reason and message of a backup whose hosts that ran ended in
/// `hosts` and whose other hosts ended earlier in `earlier` (skipped, or finished before).
pub fn decide(
    earlier: &[HostState],
    hosts: Vec<HostOutcome>,
    records: Vec<NewRecord>,
    ending: Ending,
) -> Outcome {
    let all: Vec<HostState> = earlier
        .iter()
        .copied()
        .chain(hosts.iter().map(|h| h.status))
        .collect();
    let sum = |f: fn(&HostOutcome) -> i32| hosts.iter().map(|h| i64::from(f(h))).sum::<i64>();
    let (copied, failed, unknown) = (
        sum(|h| h.files_copied),
        sum(|h| h.files_failed),
        sum(|h| h.files_unknown),
    );
    let counted = format!(
        "{copied} files copied and recorded{}{}",
        if failed > 0 {
            format!(", {failed} failed")
        } else {
            String::new()
        },
        if unknown > 0 {
            format!(", {unknown} with an unknown outcome (results incomplete)")
        } else {
            String::new()
        }
    );
    let (state, failure_reason, message) = match ending {
        Ending::Cancelled => (
            BackupState::Cancelled,
            None,
            format!("cancelled; {counted} before the cancel"),
        ),
        Ending::DeadlinePassed => (
            BackupState::Failed,
            Some(FailureReason::DeadlineExceeded),
            format!("the backup ran past its deadline; {counted}"),
        ),
        Ending::Finished => {
            let (state, reason) = final_state(&all);
            let message = match state {
                BackupState::Succeeded => format!("{copied} files backed up"),
                BackupState::Partial => format!("{counted}; some hosts or files did not succeed"),
                _ if copied == 0 && failed == 0 && unknown == 0 => {
                    "no file was backed up".to_owned()
                }
                _ => format!("no host succeeded; {counted}"),
            };
            (state, reason, message)
        }
    };
    Outcome {
        hosts,
        records,
        state,
        failure_reason,
        message,
    }
}

/// The note of a host the cancel ended without a word of its own: never sent when the job
/// was not `launched`, else stopped.
pub fn cancelled_host_note(launched: bool) -> &'static str {
    if launched {
        "stopped by the cancel before it finished"
    } else {
        "not run: the backup was cancelled before launch"
    }
}

/// The end of a backup a caller cancelled: CANCELLED, keeping the records of everything
/// copied — whether the cancel came before the job was `launched`, stopped the job (`outcome`
/// decided with [`Ending::Cancelled`]) or arrived after it had finished copying. The message
/// says who cancelled (`by`, when known), how many copied files were recorded and kept in
/// `backup_dir` on their hosts, and how many hosts the cancel stopped before they finished;
/// only what was verified.
pub fn cancelled(
    outcome: &Outcome,
    by: Option<&str>,
    backup_dir: &str,
    launched: bool,
) -> (BackupState, Option<FailureReason>, String) {
    let who = by.map(|b| format!(" by {b}")).unwrap_or_default();
    if !launched {
        let message = format!("cancelled{who} before launch: nothing ran");
        return (BackupState::Cancelled, None, message);
    }
    let copied = outcome.records.len();
    let sum =
        |f: fn(&HostOutcome) -> i32| outcome.hosts.iter().map(|h| i64::from(f(h))).sum::<i64>();
    let (failed, unknown) = (sum(|h| h.files_failed), sum(|h| h.files_unknown));
    let stopped = outcome
        .hosts
        .iter()
        .filter(|h| h.status == HostState::Cancelled)
        .count();
    let late = outcome.state != BackupState::Cancelled;
    let mut message = if late {
        format!("cancelled{who} after the job had finished copying: ")
    } else {
        format!("cancelled{who}: ")
    };
    message += &match copied {
        0 => "no file had been copied, nothing was kept".to_owned(),
        1 => format!("1 file copied and recorded before the cancel is kept in {backup_dir}"),
        n => format!("{n} files copied and recorded before the cancel are kept in {backup_dir}"),
    };
    if failed > 0 {
        message += &format!("; {failed} files failed");
    }
    if unknown > 0 {
        message += &format!("; {unknown} files have an unknown outcome (results incomplete)");
    }
    match stopped {
        0 => {}
        1 => message += "; 1 host stopped before finishing",
        n => message += &format!("; {n} hosts stopped before finishing"),
    }
    (BackupState::Cancelled, None, message)
}

/// All hosts succeeded → SUCCEEDED; none copied anything → FAILED (all hosts failed);
/// anything in between → PARTIAL.
fn final_state(hosts: &[HostState]) -> (BackupState, Option<FailureReason>) {
    let ok = hosts.iter().filter(|h| **h == HostState::Succeeded).count();
    let some = hosts
        .iter()
        .filter(|h| matches!(h, HostState::Succeeded | HostState::Partial))
        .count();
    if !hosts.is_empty() && ok == hosts.len() {
        (BackupState::Succeeded, None)
    } else if some == 0 {
        (BackupState::Failed, Some(FailureReason::AllHostsFailed))
    } else {
        (BackupState::Partial, None)
    }
}

/// The end of a host's log, at most half the excerpt budget, cut on a character boundary.
pub fn tail(log: &str) -> &str {
    let start = log.len().saturating_sub(EXCERPT_CHARS / 2);
    let start = (start..=log.len())
        .find(|i| log.is_char_boundary(*i))
        .unwrap_or(log.len());
    &log[start..]
}

/// `text` cut to the excerpt budget kept with a host's result.
pub fn excerpt(text: &str) -> String {
    text.chars().take(EXCERPT_CHARS).collect()
}

#[cfg(test)]
mod tests;
