//! Turns what JOB reported for a host (its status and its log) into the host's result and the
//! records of the files it really copied. Pure logic, so every case is unit-tested.
//!
//! The log is the authority on files: a record is written only for a `copied`/`changed` line
//! of a log that belongs to this run. JOB's status explains failures the log cannot (agent
//! down, timeout). A log cut short (cancel, timeout, size cap) still yields the copies it
//! proves, through the partial parser.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use proto::jobgateway::v1::{HostResult, HostStatus as JobHostStatus};
use uuid::Uuid;

use crate::domain::{HostReason, HostState};
use crate::hostscript::parse::parse_partial_backup_output;
use crate::hostscript::{
    BackedUpFile, BackupDirName, CopyStatus, FailReason, FileSelection, HostStatus, RunId,
    WarningKind, parse_backup_output,
};
use crate::store::finish::{FailedFile, HostOutcome};
use crate::store::records::NewRecord;

/// Characters of log kept with a failed host.
const EXCERPT_CHARS: usize = 2000;

/// Everything about the backup a host's result needs.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// Backup.
    pub backup_id: Uuid,
    /// Business.
    pub bk_biz_id: i64,
    /// Directory and suffix.
    pub selection: &'a FileSelection,
    /// The suffix as the caller wrote it (the record's `bk_file_suffix`).
    pub suffix: &'a str,
    /// Backup directory name.
    pub name: &'a BackupDirName,
    /// Run id the scripts echo.
    pub run: &'a RunId,
    /// Operator.
    pub operator: &'a str,
    /// JOB instance and its link.
    pub job_instance_id: i64,
    /// `{job_web_url}/api_execute/{id}`.
    pub job_url: &'a str,
    /// Record creation time.
    pub now: DateTime<Utc>,
    /// The backup was cancelled: unfinished hosts end CANCELLED.
    pub cancelled: bool,
}

/// A host as JOB reported it.
#[derive(Debug, Clone, Copy)]
pub struct HostRun<'a> {
    /// Host.
    pub bk_host_id: i64,
    /// Control area.
    pub bk_cloud_id: i64,
    /// IP.
    pub ip: &'a str,
    /// JOB's per-host result, if it had one.
    pub result: Option<&'a HostResult>,
    /// The host's log, if any.
    pub log: Option<&'a str>,
}

/// The host's final result and its records.
pub fn host_outcome(ctx: &Context<'_>, host: HostRun<'_>) -> (HostOutcome, Vec<NewRecord>) {
    let log = host.log.unwrap_or_default();
    let job_status = host.result.map(|r| r.status());
    let mut out = HostOutcome {
        bk_host_id: host.bk_host_id,
        status: HostState::Failed,
        reason: None,
        log_excerpt: String::new(),
        exit_code: host.result.map(|r| r.exit_code),
        job_host_status_code: host.result.map(|r| r.status_code),
        files_found: 0,
        files_copied: 0,
        files_failed: 0,
        bytes_copied: 0,
        failed_files: vec![],
    };
    let files = match parse_backup_output(log.as_bytes(), ctx.selection, ctx.name, ctx.run) {
        Ok(report) => {
            let (status, reason) = match report.status {
                HostStatus::Ok | HostStatus::NoFiles => (HostState::Succeeded, None),
                HostStatus::DirMissing | HostStatus::NotADirectory => {
                    (HostState::Failed, Some(HostReason::DirectoryMissing))
                }
                HostStatus::PermissionDenied => {
                    (HostState::Failed, Some(HostReason::PermissionDenied))
                }
                HostStatus::BackupExists | HostStatus::ScriptError => {
                    (HostState::Failed, Some(HostReason::ScriptError))
                }
            };
            out.status = status;
            out.reason = reason;
            if let Some(err) = &report.error {
                out.log_excerpt = excerpt(err);
            }
            // Directories the script could not enter hide files it could not back up: the
            // host did not fully succeed, whatever it copied.
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
            report.files
        }
        Err(parse_error) => {
            // Not a complete, trustworthy log: keep only the copies it proves.
            let partial =
                parse_partial_backup_output(log.as_bytes(), ctx.selection, ctx.name, ctx.run)
                    .unwrap_or_default();
            out.reason = Some(match job_status {
                _ if ctx.cancelled => HostReason::Cancelled,
                Some(
                    JobHostStatus::TaskTimeout
                    | JobHostStatus::GseScriptTimeout
                    | JobHostStatus::ScriptTimeout,
                ) => HostReason::Timeout,
                Some(JobHostStatus::AgentError | JobHostStatus::AgentNotInstalled) => {
                    HostReason::AgentError
                }
                _ if log.trim().is_empty() => HostReason::JobError,
                _ => HostReason::OutputInvalid,
            });
            out.status = if ctx.cancelled {
                HostState::Cancelled
            } else {
                HostState::Failed
            };
            out.log_excerpt = excerpt(&format!("{parse_error}; log tail: {}", tail(log)));
            partial
        }
    };
    let mut records = Vec::new();
    for f in &files {
        out.files_found += 1;
        if f.is_copied() {
            out.files_copied += 1;
            out.bytes_copied += f.size.unwrap_or(0) as i64;
            records.push(record(ctx, &host, f));
        } else {
            out.files_failed += 1;
            out.failed_files.push(failed(f));
        }
    }
    // Some files copied and some not: partial, with the first failure's reason.
    if out.files_failed > 0 && out.status == HostState::Succeeded {
        out.status = if out.files_copied > 0 {
            HostState::Partial
        } else {
            HostState::Failed
        };
        out.reason = files.iter().find(|f| !f.is_copied()).map(file_reason);
    }
    // A failed host that still copied something (e.g. cut by a timeout) is partial.
    if out.status == HostState::Failed && out.files_copied > 0 {
        out.status = HostState::Partial;
    }
    (out, records)
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
        CopyStatus::Vanished => "vanished",
        CopyStatus::Failed(FailReason::DiskFull) => "disk_full",
        CopyStatus::Failed(FailReason::PermissionDenied | FailReason::ReadOnly) => {
            "permission_denied"
        }
        _ => "failed",
    };
    FailedFile {
        path_b64: STANDARD.encode(&f.source.bytes),
        status: status.to_owned(),
        error: f.detail.clone().unwrap_or_default(),
    }
}

fn record(ctx: &Context<'_>, host: &HostRun<'_>, f: &BackedUpFile) -> NewRecord {
    NewRecord {
        backup_id: ctx.backup_id,
        bk_biz_id: ctx.bk_biz_id,
        bk_host_id: host.bk_host_id,
        bk_cloud_id: host.bk_cloud_id,
        host_ip: host.ip.to_owned(),
        bk_file_dir: ctx.selection.directory().to_owned(),
        bk_file_suffix: ctx.suffix.to_owned(),
        source_path_bytes: f.source.bytes.clone(),
        bk_backup_name: ctx.name.as_str().to_owned(),
        backup_path_bytes: f.backup.bytes.clone(),
        size_bytes: f.size.unwrap_or(0) as i64,
        sha256: f.sha256.clone().unwrap_or_default(),
        source_mtime: f.mtime.and_then(|t| DateTime::from_timestamp(t, 0)),
        bk_file_create_time: ctx.now,
        bk_file_operator: ctx.operator.to_owned(),
        job_instance_id: ctx.job_instance_id,
        bk_job_link: ctx.job_url.to_owned(),
    }
}

/// The end of a host's log, at most half the excerpt budget, cut on a character boundary.
pub(crate) fn tail(log: &str) -> &str {
    let start = log.len().saturating_sub(EXCERPT_CHARS / 2);
    let start = (start..=log.len())
        .find(|i| log.is_char_boundary(*i))
        .unwrap_or(log.len());
    &log[start..]
}

/// `text` cut to the excerpt budget kept with a host's result.
pub(crate) fn excerpt(text: &str) -> String {
    text.chars().take(EXCERPT_CHARS).collect()
}

#[cfg(test)]
#[path = "outcome_tests.rs"]
mod tests;
