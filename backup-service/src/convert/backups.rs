//! Conversions of backups: backups, hosts and progress events as messages.

use proto::backup::v1 as pb;

use super::timestamp;
use crate::domain::{BackupState, FailureReason, HostReason, HostState, Phase};
use crate::events::{Counts, Event, HostSummary};
use crate::store::backups::BackupRow;
use crate::store::events::StoredEvent;

pub(crate) fn state(s: BackupState) -> pb::BackupState {
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
        prune_time: h.pruned_at.map(timestamp),
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
        schedule_id: row.schedule_id.map(|id| id.to_string()).unwrap_or_default(),
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
