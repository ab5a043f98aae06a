//! Conversions of backups: the validated StartBackup request, and backups, hosts and progress
//! events as messages.

use std::collections::HashMap;

use proto::backup::v1 as pb;

use super::timestamp;
use crate::domain::{BackupState, FailureReason, HostReason, HostState, Phase};
use crate::error::{BackupError, Result};
use crate::events::{Counts, Event, HostSummary};
use crate::hostscript::{FileSelection, HostScriptError, MAX_FILES_LIMIT};
use crate::store::backups::BackupRow;
use crate::store::events::StoredEvent;

/// Longest client request id.
pub const MAX_REQUEST_ID: usize = 128;
/// Longest bound on a backup's total time (JOB's own maximum step timeout); longer requests
/// are clamped to it.
pub const MAX_TIMEOUT_SECS: i64 = 86_400;

/// A validated StartBackup request.
#[derive(Debug, Clone)]
pub struct BackupRequest {
    /// Client idempotency key.
    pub request_id: Option<String>,
    /// Business.
    pub bk_biz_id: i64,
    /// Hosts, in request order, each once.
    pub bk_host_ids: Vec<i64>,
    /// Directory + suffix, validated for the host scripts.
    pub selection: FileSelection,
    /// The suffix as given (without a leading dot); empty selects every regular file.
    pub suffix: String,
    /// Bound on the backup's total time, from its creation: its deadline.
    pub timeout_secs: i32,
}

fn host_error(e: HostScriptError, field: &str) -> BackupError {
    match e {
        HostScriptError::InvalidArgument { reason, .. } => BackupError::invalid(field, reason),
        other => BackupError::invalid(field, other.to_string()),
    }
}

impl BackupRequest {
    /// Validates `req`; `max_hosts` bounds the host list, `default_timeout_secs` applies when
    /// the caller gives no timeout.
    pub fn new(
        req: pb::StartBackupRequest,
        max_hosts: usize,
        default_timeout_secs: i32,
    ) -> Result<Self> {
        let pb::StartBackupRequest {
            request_id,
            bk_biz_id,
            bk_host_ids,
            bk_file_dir,
            bk_file_suffix,
            timeout,
        } = req;
        if request_id.chars().count() > MAX_REQUEST_ID || request_id.chars().any(char::is_control) {
            return Err(BackupError::invalid(
                "request_id",
                format!("at most {MAX_REQUEST_ID} printable characters"),
            ));
        }
        if bk_biz_id <= 0 {
            return Err(BackupError::invalid("bk_biz_id", "must be positive"));
        }
        let bk_host_ids = host_list(bk_host_ids, max_hosts)?;
        let (selection, suffix) = file_selection(&bk_file_dir, &bk_file_suffix, MAX_FILES_LIMIT)?;
        let timeout_secs = match timeout {
            None => default_timeout_secs,
            Some(d) => timeout_secs(d)?,
        };
        Ok(Self {
            request_id: (!request_id.is_empty()).then_some(request_id),
            bk_biz_id,
            bk_host_ids,
            selection,
            suffix,
            timeout_secs,
        })
    }
}

/// A requested bound on total time in whole seconds: a fraction of a second counts as a whole
/// one, values above [`MAX_TIMEOUT_SECS`] are clamped to it, zero or less is refused.
fn timeout_secs(d: prost_types::Duration) -> Result<i32> {
    let valid_nanos = (0..1_000_000_000).contains(&d.nanos);
    if !valid_nanos || d.seconds < 0 || (d.seconds == 0 && d.nanos == 0) {
        return Err(BackupError::invalid(
            "timeout",
            "must be a positive duration (whole seconds; a fraction counts as a second)",
        ));
    }
    let secs = d.seconds.saturating_add(i64::from(d.nanos > 0));
    Ok(secs.min(MAX_TIMEOUT_SECS) as i32)
}

/// The JOB step timeout of a backup bounded by `timeout_secs` in total: the time left after
/// keeping `reserve_secs` (at most half the bound) for queueing, launching and reading the
/// results back, so a script that runs its whole step timeout still ends before the deadline.
pub fn job_timeout_secs(timeout_secs: i32, reserve_secs: i64) -> i32 {
    let reserve = reserve_secs.clamp(0, i64::from(timeout_secs / 2));
    (i64::from(timeout_secs) - reserve).max(1) as i32
}

/// The file selection of a backup of `suffix` (without its leading dot; empty for every
/// regular file) under `dir`: the one validation of StartBackup's arguments, also run by the
/// worker on the stored row.
pub fn backup_selection(
    dir: &str,
    suffix: &str,
) -> std::result::Result<FileSelection, HostScriptError> {
    let suffixes: &[&str] = if suffix.is_empty() { &[] } else { &[suffix] };
    FileSelection::new(dir, suffixes, MAX_FILES_LIMIT)
}

/// Validates a request's directory and suffix (with or without its leading dot; empty selects
/// every regular file) for the host scripts, naming `bk_file_dir` or `bk_file_suffix` in the
/// error; returns the selection and the suffix without its dot (as stored and recorded).
/// Shared by SearchFiles and StartBackup.
pub fn file_selection(dir: &str, suffix: &str, max_files: u32) -> Result<(FileSelection, String)> {
    let bare = suffix.strip_prefix('.').unwrap_or(suffix);
    if suffix == "." {
        return Err(BackupError::invalid(
            "bk_file_suffix",
            "`.` alone selects nothing: give a suffix after the dot, or none for every file",
        ));
    }
    let suffixes: &[&str] = if suffix.is_empty() { &[] } else { &[suffix] };
    let selection = FileSelection::new(dir, suffixes, max_files).map_err(|e| {
        let field = match e.field() {
            Some(f) if f.starts_with("suffix") => "bk_file_suffix",
            _ => "bk_file_dir",
        };
        host_error(e, field)
    })?;
    Ok((selection, bare.to_owned()))
}

/// Checks a host list: non-empty, positive ids, each once, at most `max`.
pub fn host_list(ids: Vec<i64>, max: usize) -> Result<Vec<i64>> {
    if ids.is_empty() {
        return Err(BackupError::invalid(
            "bk_host_ids",
            "at least one host is required",
        ));
    }
    if ids.len() > max {
        return Err(BackupError::invalid(
            "bk_host_ids",
            format!("at most {max} hosts"),
        ));
    }
    if let Some(i) = ids.iter().position(|id| *id <= 0) {
        return Err(BackupError::invalid(
            format!("bk_host_ids[{i}]"),
            "must be positive",
        ));
    }
    let mut first: HashMap<i64, usize> = HashMap::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        if let Some(j) = first.get(id) {
            return Err(BackupError::invalid(
                format!("bk_host_ids[{i}]"),
                format!("repeats bk_host_ids[{j}] ({id})"),
            ));
        }
        first.insert(*id, i);
    }
    Ok(ids)
}

fn state(s: BackupState) -> pb::BackupState {
    match s {
        BackupState::Queued => pb::BackupState::Queued,
        BackupState::Running => pb::BackupState::Running,
        BackupState::Cancelling => pb::BackupState::Cancelling,
        BackupState::Succeeded => pb::BackupState::Succeeded,
        BackupState::Partial => pb::BackupState::Partial,
        BackupState::Failed => pb::BackupState::Failed,
        BackupState::Cancelled => pb::BackupState::Cancelled,
    }
}

/// The domain state named by a request's proto enum value.
pub fn state_from(value: i32) -> Option<BackupState> {
    Some(match pb::BackupState::try_from(value).ok()? {
        pb::BackupState::Unspecified => return None,
        pb::BackupState::Queued => BackupState::Queued,
        pb::BackupState::Running => BackupState::Running,
        pb::BackupState::Cancelling => BackupState::Cancelling,
        pb::BackupState::Succeeded => BackupState::Succeeded,
        pb::BackupState::Partial => BackupState::Partial,
        pb::BackupState::Failed => BackupState::Failed,
        pb::BackupState::Cancelled => BackupState::Cancelled,
    })
}

fn phase(p: Option<Phase>) -> pb::BackupPhase {
    match p {
        None => pb::BackupPhase::Unspecified,
        Some(Phase::CheckingAgents) => pb::BackupPhase::CheckingAgents,
        Some(Phase::Launching) => pb::BackupPhase::Launching,
        Some(Phase::RunningJob) => pb::BackupPhase::RunningJob,
        Some(Phase::CollectingResults) => pb::BackupPhase::CollectingResults,
        Some(Phase::Recording) => pb::BackupPhase::Recording,
    }
}

fn failure(r: Option<FailureReason>) -> pb::BackupFailureReason {
    match r {
        None => pb::BackupFailureReason::Unspecified,
        Some(FailureReason::AllHostsFailed) => pb::BackupFailureReason::AllHostsFailed,
        Some(FailureReason::PermissionDenied) => pb::BackupFailureReason::PermissionDenied,
        Some(FailureReason::LaunchRejected) => pb::BackupFailureReason::LaunchRejected,
        Some(FailureReason::DeadlineExceeded) => pb::BackupFailureReason::DeadlineExceeded,
        Some(FailureReason::JobAborted) => pb::BackupFailureReason::JobAborted,
        Some(FailureReason::JobLost) => pb::BackupFailureReason::JobLost,
        Some(FailureReason::Internal) => pb::BackupFailureReason::Internal,
    }
}

fn host_state(s: HostState) -> pb::HostBackupStatus {
    match s {
        HostState::Pending => pb::HostBackupStatus::Pending,
        HostState::Running => pb::HostBackupStatus::Running,
        HostState::Succeeded => pb::HostBackupStatus::Succeeded,
        HostState::Partial => pb::HostBackupStatus::Partial,
        HostState::Failed => pb::HostBackupStatus::Failed,
        HostState::Skipped => pb::HostBackupStatus::Skipped,
        HostState::Cancelled => pb::HostBackupStatus::Cancelled,
    }
}

fn host_reason(r: Option<HostReason>) -> pb::HostFailureReason {
    use pb::HostFailureReason as P;
    match r {
        None => P::Unspecified,
        Some(HostReason::AgentOffline) => P::AgentOffline,
        Some(HostReason::AgentError) => P::AgentError,
        Some(HostReason::DirectoryMissing) => P::DirectoryMissing,
        Some(HostReason::PermissionDenied) => P::PermissionDenied,
        Some(HostReason::DiskFull) => P::DiskFull,
        Some(HostReason::Timeout) => P::Timeout,
        Some(HostReason::ScriptError) => P::ScriptError,
        Some(HostReason::OutputInvalid) => P::OutputInvalid,
        Some(HostReason::Cancelled) => P::Cancelled,
        Some(HostReason::DeadlineExceeded) => P::DeadlineExceeded,
        Some(HostReason::JobError) => P::JobError,
        Some(HostReason::ResultsIncomplete) => P::ResultsIncomplete,
        Some(HostReason::NotInBusiness) => P::NotInBusiness,
    }
}

/// A host's result message (per-file detail is added by the FULL view).
pub fn host_message(h: &HostSummary) -> pb::HostBackupResult {
    pb::HostBackupResult {
        bk_host_id: h.bk_host_id,
        bk_cloud_id: h.bk_cloud_id,
        ip: h.host_ip.clone(),
        status: host_state(h.status) as i32,
        reason: host_reason(h.reason) as i32,
        log_excerpt: h.log_excerpt.clone(),
        exit_code: h.exit_code.unwrap_or(0),
        job_host_status_code: h.job_host_status_code.unwrap_or(0),
        files_found: i64::from(h.files_found),
        files_copied: i64::from(h.files_copied),
        files_failed: i64::from(h.files_failed),
        files_unknown: i64::from(h.files_unknown),
        bytes_copied: h.bytes_copied,
        files: vec![],
        update_time: h.updated_at.map(timestamp),
    }
}

fn counts_message(c: &Counts) -> pb::BackupCounts {
    pb::BackupCounts {
        hosts_total: c.hosts_total,
        hosts_pending: c.hosts_pending,
        hosts_running: c.hosts_running,
        hosts_succeeded: c.hosts_succeeded,
        hosts_partial: c.hosts_partial,
        hosts_failed: c.hosts_failed,
        hosts_skipped: c.hosts_skipped,
        hosts_cancelled: c.hosts_cancelled,
        files_found: c.files_found,
        files_copied: c.files_copied,
        files_failed: c.files_failed,
        files_unknown: c.files_unknown,
        bytes_copied: c.bytes_copied,
    }
}

/// A backup message from its row, counts, hosts (HOSTS/FULL views) and retries.
pub fn backup_message(
    row: &BackupRow,
    counts: &Counts,
    hosts: Vec<pb::HostBackupResult>,
    retries: &[uuid::Uuid],
) -> pb::Backup {
    pb::Backup {
        backup_id: row.id.to_string(),
        state: state(row.state()) as i32,
        phase: phase(row.phase()) as i32,
        failure_reason: failure(row.failure_reason) as i32,
        status_message: row.status_message.clone(),
        bk_biz_id: row.bk_biz_id,
        bk_host_ids: row.bk_host_ids.clone(),
        bk_file_dir: row.bk_file_dir.clone(),
        bk_file_suffix: row.bk_file_suffix.clone(),
        bk_backup_name: row.backup_name.clone(),
        operator: row.operator.clone(),
        request_id: row.request_id.clone().unwrap_or_default(),
        create_time: Some(timestamp(row.created_at)),
        start_time: row.started_at.map(timestamp),
        end_time: row.finished_at.map(timestamp),
        update_time: Some(timestamp(row.updated_at)),
        deadline: Some(timestamp(row.deadline_at)),
        job_instance_id: row.job_instance_id.unwrap_or(0),
        step_instance_id: row.step_instance_id.unwrap_or(0),
        job_url: row.job_url.clone().unwrap_or_default(),
        retry_of_backup_id: row.retry_of.map(|id| id.to_string()).unwrap_or_default(),
        retry_backup_ids: retries.iter().map(ToString::to_string).collect(),
        counts: Some(counts_message(counts)),
        host_results: hosts,
    }
}

/// A stored progress event as a stream message.
pub fn event_message(e: StoredEvent) -> pb::WatchBackupResponse {
    use pb::watch_backup_response::Event as E;
    let event = match e.event {
        Event::StateChanged {
            state: s,
            phase: p,
            failure_reason,
            message,
            job_instance_id,
            job_url,
        } => E::StateChanged(pb::BackupStateChanged {
            state: state(s) as i32,
            phase: phase(p) as i32,
            failure_reason: failure(failure_reason) as i32,
            status_message: message,
            job_instance_id: job_instance_id.unwrap_or(0),
            job_url: job_url.unwrap_or_default(),
        }),
        Event::HostProgress {
            bk_host_id,
            status,
            job_host_status_code,
            files_done,
        } => E::HostProgress(pb::HostProgress {
            bk_host_id,
            status: host_state(status) as i32,
            job_host_status_code: job_host_status_code.unwrap_or(0),
            files_done: files_done.unwrap_or(0),
        }),
        Event::HostFinished(h) => E::HostFinished(host_message(&h)),
        Event::CountsChanged(c) => E::CountsChanged(counts_message(&c)),
    };
    pb::WatchBackupResponse {
        seq: e.seq,
        event_time: Some(timestamp(e.created_at)),
        event: Some(event),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hostscript::MAX_SUFFIX_CHARS;

    fn field_of<T: std::fmt::Debug>(r: Result<T>) -> (String, String) {
        match r {
            Err(BackupError::InvalidArgument { field, reason }) => (field, reason),
            other => panic!("expected invalid argument, got {other:?}"),
        }
    }

    #[test]
    fn a_repeated_host_id_is_refused_naming_both_positions() {
        assert_eq!(
            field_of(host_list(vec![1001, 1002, 1001], 10)),
            (
                "bk_host_ids[2]".to_owned(),
                "repeats bk_host_ids[0] (1001)".to_owned()
            )
        );
        assert_eq!(host_list(vec![1002, 1001], 10).unwrap(), [1002, 1001]);
    }

    #[test]
    fn an_empty_suffix_selects_every_regular_file_and_a_lone_dot_is_refused() {
        let (sel, suffix) = file_selection("/data/logs", "", 10).unwrap();
        assert!(sel.suffixes().is_empty());
        assert_eq!(suffix, "");
        assert!(
            backup_selection("/data/logs", "")
                .unwrap()
                .suffixes()
                .is_empty()
        );
        assert_eq!(
            field_of(file_selection("/data/logs", ".", 10)).0,
            "bk_file_suffix"
        );
        let long = "x".repeat(MAX_SUFFIX_CHARS + 1);
        assert_eq!(
            field_of(file_selection("/data/logs", &long, 10)).0,
            "bk_file_suffix"
        );
        let (_, suffix) = file_selection("/data/logs", ".log", 10).unwrap();
        assert_eq!(suffix, "log");
    }

    #[test]
    fn a_timeout_above_the_maximum_is_clamped_a_fraction_rounds_up_and_zero_is_refused() {
        let d = |seconds, nanos| prost_types::Duration { seconds, nanos };
        assert_eq!(
            timeout_secs(d(999_999, 0)).unwrap(),
            MAX_TIMEOUT_SECS as i32
        );
        assert_eq!(timeout_secs(d(60, 0)).unwrap(), 60);
        assert_eq!(timeout_secs(d(0, 1)).unwrap(), 1);
        assert_eq!(field_of(timeout_secs(d(0, 0))).0, "timeout");
        assert_eq!(field_of(timeout_secs(d(-5, 0))).0, "timeout");
    }

    #[test]
    fn the_job_step_fits_inside_the_bound_on_total_time() {
        // The reserve for launching and reading results is at most half the bound.
        assert_eq!(job_timeout_secs(900, 300), 600);
        assert_eq!(job_timeout_secs(60, 300), 30);
        assert_eq!(job_timeout_secs(1, 300), 1);
        assert_eq!(job_timeout_secs(600, 0), 600);
        for t in [1, 2, 59, 60, 601, 86_400] {
            assert!(job_timeout_secs(t, 300) <= t);
        }
    }
}
