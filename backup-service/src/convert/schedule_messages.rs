//! ScheduleService's outbound messages: a stored schedule as a `pb::Schedule` (the etag is its
//! version in decimal; the next fire shown only while active) and a stored run as a
//! `pb::ScheduleRun`.

use chrono::TimeDelta;
use proto::backup::v1 as pb;

use super::timestamp;
use crate::domain::ScheduleState;
use crate::domain::{BackupState, OverlapPolicy, RetentionState, RunDecision, RunTrigger};
use crate::selector::HostSelector;
use crate::store::schedule_fires::RunRow;
use crate::store::schedules::ScheduleRow;

/// A protobuf `Duration` of `d`.
fn duration(d: TimeDelta) -> prost_types::Duration {
    prost_types::Duration {
        seconds: d.num_seconds(),
        nanos: d.subsec_nanos(),
    }
}

/// The selector as a request gives it.
fn selector_message(s: HostSelector) -> pb::HostSelector {
    pb::HostSelector {
        bk_host_ids: s.bk_host_ids,
        cloud_ips: s.cloud_ips.iter().map(ToString::to_string).collect(),
        bk_set_ids: s.bk_set_ids,
        bk_module_ids: s.bk_module_ids,
        all_hosts: s.all_hosts,
    }
}

fn state(s: ScheduleState) -> pb::ScheduleState {
    match s {
        ScheduleState::Active => pb::ScheduleState::Active,
        ScheduleState::Paused => pb::ScheduleState::Paused,
        ScheduleState::Deleted => pb::ScheduleState::Deleted,
    }
}

/// A request's schedule state filter value; `None` for unspecified or unknown values.
pub fn schedule_state_from(value: i32) -> Option<ScheduleState> {
    Some(match pb::ScheduleState::try_from(value).ok()? {
        pb::ScheduleState::Unspecified => return None,
        pb::ScheduleState::Active => ScheduleState::Active,
        pb::ScheduleState::Paused => ScheduleState::Paused,
        pb::ScheduleState::Deleted => ScheduleState::Deleted,
    })
}

fn overlap(p: OverlapPolicy) -> pb::OverlapPolicy {
    match p {
        OverlapPolicy::Skip => pb::OverlapPolicy::Skip,
        OverlapPolicy::BufferOne => pb::OverlapPolicy::BufferOne,
        OverlapPolicy::AllowAll => pb::OverlapPolicy::AllowAll,
        OverlapPolicy::CancelPrevious => pb::OverlapPolicy::CancelPrevious,
    }
}

/// `row` as a message.
pub fn schedule_message(row: &ScheduleRow) -> pb::Schedule {
    let f = &row.fields;
    let selector = match serde_json::from_value::<HostSelector>(f.selector.clone()) {
        Ok(s) => Some(selector_message(s)),
        Err(e) => {
            tracing::error!(schedule_id = %row.id, error = %e, "stored selector does not read back");
            None
        }
    };
    let retention =
        (f.keep_last.is_some() || f.keep_within_secs.is_some()).then(|| pb::Retention {
            keep_last: f.keep_last.unwrap_or(0),
            keep_within: f.keep_within_secs.map(|s| duration(TimeDelta::seconds(s))),
        });
    let active = row.state == ScheduleState::Active;
    pb::Schedule {
        schedule_id: row.id.to_string(),
        name: f.name.clone(),
        bk_biz_id: row.bk_biz_id,
        selector,
        bk_file_dir: f.bk_file_dir.clone(),
        bk_file_suffix: f.bk_file_suffix.clone(),
        spec: Some(pb::ScheduleSpec {
            cron: f.cron.clone(),
            time_zone: f.time_zone.clone(),
            start_time: f.start_time.map(timestamp),
            end_time: f.end_time.map(timestamp),
            jitter: (f.jitter_ms > 0).then(|| duration(TimeDelta::milliseconds(f.jitter_ms))),
        }),
        overlap_policy: overlap(f.overlap_policy) as i32,
        catch_up_window: (f.catch_up_window_secs > 0)
            .then(|| duration(TimeDelta::seconds(f.catch_up_window_secs))),
        pause_after_failures: f.pause_after_failures.unwrap_or(0),
        run_timeout: Some(duration(TimeDelta::seconds(i64::from(f.run_timeout_secs)))),
        retention,
        state: state(row.state) as i32,
        pause_note: if row.state == ScheduleState::Paused {
            row.pause_note.clone()
        } else {
            String::new()
        },
        operator: row.operator.clone(),
        updated_by: row.updated_by.clone(),
        consecutive_failures: row.consecutive_failures,
        next_fire_time: row.next_fire_at.filter(|_| active).map(timestamp),
        create_time: Some(timestamp(row.created_at)),
        update_time: Some(timestamp(row.updated_at)),
        delete_time: row.deleted_at.map(timestamp),
        etag: row.version.to_string(),
    }
}

fn decision(d: RunDecision) -> pb::ScheduleRunDecision {
    match d {
        RunDecision::Fired => pb::ScheduleRunDecision::Fired,
        RunDecision::SkippedOverlap => pb::ScheduleRunDecision::SkippedOverlap,
        RunDecision::Missed => pb::ScheduleRunDecision::Missed,
        RunDecision::FailedToStart => pb::ScheduleRunDecision::FailedToStart,
        RunDecision::Buffered => pb::ScheduleRunDecision::Buffered,
    }
}

fn trigger(t: RunTrigger) -> pb::ScheduleRunTrigger {
    match t {
        RunTrigger::Cron => pb::ScheduleRunTrigger::Cron,
        RunTrigger::Manual => pb::ScheduleRunTrigger::Manual,
    }
}

fn retention_state(s: RetentionState) -> pb::RetentionState {
    match s {
        RetentionState::None => pb::RetentionState::None,
        RetentionState::Pending => pb::RetentionState::Pending,
        RetentionState::Done => pb::RetentionState::Done,
        RetentionState::Failed => pb::RetentionState::Failed,
    }
}

/// `run` as a message; `backup` is the current state of its backup, if it has one.
pub fn run_message(run: &RunRow, backup: Option<BackupState>) -> pb::ScheduleRun {
    let mut hosts = run.resolved_host_ids.clone();
    hosts.sort_unstable();
    pb::ScheduleRun {
        schedule_id: run.schedule_id.to_string(),
        scheduled_time: Some(timestamp(run.scheduled_at)),
        trigger: trigger(run.trigger) as i32,
        decision: decision(run.decision) as i32,
        backup_id: run.backup_id.map(|id| id.to_string()).unwrap_or_default(),
        reason: run.reason.clone(),
        resolved_bk_host_ids: hosts,
        decide_time: Some(timestamp(run.decided_at)),
        triggered_by: run.triggered_by.clone(),
        backup_state: backup.map_or(pb::BackupState::Unspecified, super::backups::state) as i32,
        retention: Some(pb::RetentionResult {
            state: retention_state(run.retention_state) as i32,
            pruned: run.retention_pruned,
            failed: run.retention_failed,
            message: run.retention_message.clone(),
            finish_time: run.retention_finished_at.map(timestamp),
        }),
    }
}
