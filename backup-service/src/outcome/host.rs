//! Turns what the worker gathered about one host — JOB's status, the host's log, and the
//! manifest pages read back with `read.sh` — into the host's result and the records of the
//! files it really copied.
//!
//! The manifest is the authority on files: a record is written only for a `C` record of this
//! run whose copy is a regular file. JOB's status explains failures the log cannot (agent down,
//! timeout). A log cut short still yields the copies it proves; a matched file that no record
//! accounts for is counted unknown, and its host is never SUCCEEDED.

use std::collections::HashSet;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::DateTime;
use proto::jobgateway::v1::HostStatus as JobHostStatus;

use super::evidence::{Context, HostRun};
use super::{Ending, FAILED_FILES_KEPT, FailedFile, HostOutcome, excerpt, tail};
use crate::domain::{FileFailure, HostReason, HostState};
use crate::hostscript::{BackedUpFile, CopyStatus, FailReason, HostStatus, WarningKind};
use crate::records::NewRecord;

/// The host's final result and its records.
pub fn host_outcome(ctx: &Context<'_>, host: HostRun<'_>) -> (HostOutcome, Vec<NewRecord>) {
    let ev = host.evidence;
    let mut out = HostOutcome::bare(host.bk_host_id, HostState::Failed, None, "");
    out.exit_code = host.result.map(|r| r.exit_code);
    out.job_host_status_code = host.result.map(|r| r.status_code);
    let mut files: Vec<&BackedUpFile> = Vec::new();
    let found = match &ev.report {
        Ok(report) => {
            (out.status, out.reason) = script_status(report.status);
            if let Some(err) = &report.error {
                out.log_excerpt = excerpt(err);
            }
            // Directories the script could not enter hide files it could not back up.
            let unreadable: Vec<&str> = report
                .warnings
                .iter()
                .filter(|w| w.kind == WarningKind::UnreadableDir)
                .filter_map(|w| w.path.as_ref().map(|p| p.display.as_str()))
                .collect();
            if !unreadable.is_empty() && out.status == HostState::Succeeded {
                out.status = HostState::Partial;
                out.reason = Some(HostReason::PermissionDenied);
                out.log_excerpt = excerpt(&format!(
                    "unreadable directories skipped: {}",
                    unreadable.join(", ")
                ));
            }
            files.extend(&report.files);
            files.extend(&ev.pages);
            Some(report.found)
        }
        Err(parse_error) => match ev.manifest {
            // The log was cut but the script finished: the manifest tells everything.
            Some(m) if m.complete && m.page0_read => {
                out.status = HostState::Succeeded;
                out.log_excerpt = excerpt(&format!(
                    "the JOB log could not be used ({parse_error}); results were read from the manifest on the host"
                ));
                files.extend(&ev.pages);
                Some(m.found)
            }
            manifest => {
                out.reason = Some(cut_reason(ctx, host));
                out.status = if ctx.ending == Ending::Cancelled {
                    HostState::Cancelled
                } else {
                    HostState::Failed
                };
                out.log_excerpt = if ctx.ending == Ending::Cancelled {
                    // Not a broken log: the cancel stopped the script before it finished.
                    let note = super::cancelled_host_note(true);
                    let log = tail(host.log).trim();
                    if log.is_empty() {
                        note.to_owned()
                    } else {
                        excerpt(&format!("{note}; log tail: {log}"))
                    }
                } else {
                    excerpt(&format!("{parse_error}; log tail: {}", tail(host.log)))
                };
                if !manifest.is_some_and(|m| m.page0_read) {
                    files.extend(&ev.proven);
                }
                files.extend(&ev.pages);
                manifest.map(|m| m.found)
            }
        },
    };
    // A path is accounted for once, whichever page repeats it.
    let mut seen = HashSet::with_capacity(files.len());
    files.retain(|f| seen.insert(&f.source.bytes));
    let shared = Shared::of(ctx, &host);
    let mut records = Vec::with_capacity(files.len());
    for f in &files {
        if f.is_copied() {
            out.files_copied += 1;
            out.bytes_copied += f.size.unwrap_or(0) as i64;
            records.push(record(ctx, &host, &shared, f));
        } else {
            out.files_failed += 1;
            if out.failed_files.len() < FAILED_FILES_KEPT {
                out.failed_files.push(failed(f));
            }
        }
    }
    let mut listed = files.len() as u64;
    // A full disk stopped the run: the script vouches that no file without a record was
    // copied, so those are failed (disk full), not unknown.
    if let Ok(r) = &ev.report
        && r.status == HostStatus::DiskFull
        && ev.unread.is_none()
    {
        let not_copied = r.found.saturating_sub(listed);
        out.files_failed += clamp(not_copied);
        listed += not_copied;
    }
    let unknown = found.map_or(0, |n| n.saturating_sub(listed));
    out.files_unknown = clamp(unknown);
    out.files_found = clamp(found.map_or(listed, |n| n.max(listed)));
    // Some files copied and some not: partial, with the first failure's reason.
    if out.files_failed > 0 && out.status == HostState::Succeeded {
        out.status = HostState::Failed;
        out.reason = files
            .iter()
            .find(|f| !f.is_copied())
            .map(|f| file_reason(f));
    }
    let incomplete = unknown > 0 || ev.unread.is_some() || (found.is_none() && ev.report.is_err());
    if incomplete {
        if out.status == HostState::Succeeded {
            out.status = HostState::Failed;
        }
        out.reason = out.reason.or(Some(HostReason::ResultsIncomplete));
        let why = ev
            .unread
            .as_deref()
            .map(|u| format!(": {u}"))
            .unwrap_or_default();
        let counted = match found {
            Some(n) => format!(
                "results incomplete: {listed} of {n} matched files accounted for ({} copied, {} failed), {unknown} unknown{why}",
                out.files_copied, out.files_failed
            ),
            None => format!(
                "results incomplete: the number of matched files is unknown; {} copied, {} failed{why}",
                out.files_copied, out.files_failed
            ),
        };
        // A host the cancel stopped says so first; the numbers follow.
        out.log_excerpt = excerpt(&if out.status == HostState::Cancelled {
            join_notes(&out.log_excerpt, &counted)
        } else {
            join_notes(&counted, &out.log_excerpt)
        });
    }
    if let Some(settled) = ev.manifest.map(|m| m.settled).filter(|n| *n > 0) {
        let note = format!("{settled} unverified copies left by the interrupted run were removed");
        out.log_excerpt = excerpt(&join_notes(&out.log_excerpt, &note));
    }
    // A failed host that still copied something is partial.
    if out.status == HostState::Failed && out.files_copied > 0 {
        out.status = HostState::Partial;
    }
    if ctx.ending == Ending::DeadlinePassed && out.status != HostState::Succeeded {
        out.reason = Some(HostReason::DeadlineExceeded);
    }
    (out, records)
}

fn join_notes(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_owned(),
        (_, true) => a.to_owned(),
        _ => format!("{a}; {b}"),
    }
}

fn clamp(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The host's status and reason from the script's own word.
fn script_status(status: HostStatus) -> (HostState, Option<HostReason>) {
    match status {
        HostStatus::Ok | HostStatus::NoFiles => (HostState::Succeeded, None),
        HostStatus::DirMissing | HostStatus::NotADirectory => {
            (HostState::Failed, Some(HostReason::DirectoryMissing))
        }
        HostStatus::PermissionDenied => (HostState::Failed, Some(HostReason::PermissionDenied)),
        HostStatus::DiskFull => (HostState::Failed, Some(HostReason::DiskFull)),
        HostStatus::BackupExists | HostStatus::ScriptError => {
            (HostState::Failed, Some(HostReason::ScriptError))
        }
    }
}

/// Why a host whose log cannot be trusted did not finish, from JOB's word.
fn cut_reason(ctx: &Context<'_>, host: HostRun<'_>) -> HostReason {
    match host.result.map(|r| r.status()) {
        _ if ctx.ending == Ending::Cancelled => HostReason::Cancelled,
        Some(
            JobHostStatus::TaskTimeout
            | JobHostStatus::GseScriptTimeout
            | JobHostStatus::ScriptTimeout,
        ) => HostReason::Timeout,
        Some(JobHostStatus::AgentError | JobHostStatus::AgentNotInstalled) => {
            HostReason::AgentError
        }
        _ if host.log.trim().is_empty() => HostReason::JobError,
        _ => HostReason::OutputInvalid,
    }
}

fn file_reason(f: &BackedUpFile) -> HostReason {
    match f.status {
        CopyStatus::Failed(FailReason::DiskFull) => HostReason::DiskFull,
        CopyStatus::Failed(FailReason::PermissionDenied | FailReason::ReadOnly) => {
            HostReason::PermissionDenied
        }
        _ => HostReason::ScriptError,
    }
}

fn failed(f: &BackedUpFile) -> FailedFile {
    let status = match f.status {
        CopyStatus::Vanished => FileFailure::Vanished,
        CopyStatus::Failed(FailReason::DiskFull) => FileFailure::DiskFull,
        CopyStatus::Failed(FailReason::PermissionDenied | FailReason::ReadOnly) => {
            FileFailure::PermissionDenied
        }
        _ => FileFailure::Failed,
    };
    FailedFile {
        path_b64: STANDARD.encode(&f.source.bytes),
        status,
        error: f.detail.clone().unwrap_or_default(),
    }
}

/// The text every record of a host repeats, allocated once for all of them.
struct Shared {
    ip: Arc<str>,
    dir: Arc<str>,
    suffix: Arc<str>,
    name: Arc<str>,
    operator: Arc<str>,
    link: Arc<str>,
}

impl Shared {
    fn of(ctx: &Context<'_>, host: &HostRun<'_>) -> Self {
        Self {
            ip: host.ip.into(),
            dir: ctx.selection.directory().into(),
            suffix: ctx.suffix.into(),
            name: ctx.name.as_str().into(),
            operator: ctx.operator.into(),
            link: ctx.job_url.into(),
        }
    }
}

fn record(ctx: &Context<'_>, host: &HostRun<'_>, shared: &Shared, f: &BackedUpFile) -> NewRecord {
    NewRecord {
        backup_id: ctx.backup_id,
        bk_biz_id: ctx.bk_biz_id,
        bk_host_id: host.bk_host_id,
        bk_cloud_id: host.bk_cloud_id,
        host_ip: Arc::clone(&shared.ip),
        bk_file_dir: Arc::clone(&shared.dir),
        bk_file_suffix: Arc::clone(&shared.suffix),
        source_path_bytes: f.source.bytes.clone(),
        bk_backup_name: Arc::clone(&shared.name),
        backup_path_bytes: f.backup.bytes.clone(),
        size_bytes: f.size.unwrap_or(0) as i64,
        sha256: f.sha256.clone().unwrap_or_default(),
        source_mtime: f.mtime.and_then(|t| DateTime::from_timestamp(t, 0)),
        bk_file_create_time: ctx.now,
        bk_file_operator: Arc::clone(&shared.operator),
        job_instance_id: ctx.job_instance_id,
        bk_job_link: Arc::clone(&shared.link),
    }
}
