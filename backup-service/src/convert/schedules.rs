//! ScheduleService's inbound validation: a `pb::Schedule` (CreateSchedule, or UpdateSchedule's
//! merged schedule) becomes a [`ValidSchedule`] once, at the edge, and a `pb::ScheduleSpec`
//! (PreviewSchedule) a [`Spec`]. Every error names the field by its full path in the request
//! (`schedule.spec.cron`, `schedule.retention.keep_last`, `spec.time_zone`). Output-only fields
//! are ignored. Messages going out are in `schedule_messages`, the FieldMask merge in
//! `schedule_mask`.

use chrono::{DateTime, TimeDelta, Utc};
use proto::backup::v1 as pb;

use super::start::{file_selection, timeout_secs};
use crate::domain::OverlapPolicy;
use crate::error::{BackupError, Result};
use crate::hostscript::prune::Retention;
use crate::hostscript::{HostScriptError, MAX_FILES_LIMIT};
use crate::schedule::{Spec, SpecInput};
use crate::selector::HostSelector;
use crate::store::schedules::{NextFire, ScheduleFields};

pub use super::schedule_mask::{check_mask, merge};
pub use super::schedule_messages::{run_message, schedule_message};

/// Longest schedule name.
pub const MAX_NAME_CHARS: usize = 128;
/// Longest catch-up window.
pub const MAX_CATCH_UP: TimeDelta = TimeDelta::days(7);
/// Longest pause note.
pub const MAX_NOTE_CHARS: usize = 1024;

/// A schedule as a caller set it, validated: what the store keeps, with the selector and the
/// spec as validated types.
#[derive(Debug, Clone)]
pub struct ValidSchedule {
    /// Business.
    pub bk_biz_id: i64,
    /// The hosts, resolved at every fire.
    pub selector: HostSelector,
    /// When it fires.
    pub spec: Spec,
    /// The columns a caller sets.
    pub fields: ScheduleFields,
}

impl ValidSchedule {
    /// Validates `s` as CreateSchedule does; `max_hosts` bounds the selector's lists,
    /// `default_timeout_secs` is the run timeout when none is given.
    pub fn new(s: pb::Schedule, max_hosts: usize, default_timeout_secs: i32) -> Result<Self> {
        let pb::Schedule {
            name,
            bk_biz_id,
            selector,
            bk_file_dir,
            bk_file_suffix,
            spec,
            overlap_policy,
            catch_up_window,
            pause_after_failures,
            run_timeout,
            retention,
            // Output only.
            schedule_id: _,
            state: _,
            pause_note: _,
            operator: _,
            updated_by: _,
            consecutive_failures: _,
            next_fire_time: _,
            create_time: _,
            update_time: _,
            delete_time: _,
            etag: _,
        } = s;
        let name = schedule_name(name)?;
        if bk_biz_id <= 0 {
            return Err(BackupError::invalid(
                "schedule.bk_biz_id",
                "must be positive",
            ));
        }
        let selector =
            selector.ok_or_else(|| BackupError::invalid("schedule.selector", "is required"))?;
        let selector = HostSelector::new(selector, max_hosts).map_err(under("schedule"))?;
        let (selection, suffix) = file_selection(&bk_file_dir, &bk_file_suffix, MAX_FILES_LIMIT)
            .map_err(under("schedule"))?;
        let spec = spec_of(
            spec.ok_or_else(|| BackupError::invalid("schedule.spec", "is required"))?,
            "schedule.spec",
        )?;
        let overlap_policy = overlap_from(overlap_policy)?;
        let catch_up = catch_up_window
            .map(|d| duration("schedule.catch_up_window", d))
            .transpose()?
            .unwrap_or_default();
        if catch_up < TimeDelta::zero() || catch_up > MAX_CATCH_UP {
            return Err(BackupError::invalid(
                "schedule.catch_up_window",
                "must be from zero to 7 days",
            ));
        }
        if pause_after_failures < 0 {
            return Err(BackupError::invalid(
                "schedule.pause_after_failures",
                "must not be negative (0: never pause)",
            ));
        }
        let run_timeout_secs = match run_timeout {
            None => default_timeout_secs,
            Some(d) => timeout_secs(d).map_err(rename("schedule.run_timeout"))?,
        };
        let (keep_last, keep_within_secs) = match retention {
            None => (None, None),
            Some(r) => retention_of(r)?,
        };
        let input = spec.input().clone();
        Ok(Self {
            bk_biz_id,
            fields: ScheduleFields {
                name,
                selector: serde_json::to_value(&selector).expect("a selector serialises"),
                bk_file_dir: selection.directory().to_owned(),
                bk_file_suffix: suffix,
                cron: input.cron,
                time_zone: input.time_zone,
                start_time: input.start_time,
                end_time: input.end_time,
                jitter_ms: input.jitter.num_milliseconds(),
                overlap_policy,
                catch_up_window_secs: ceil_secs(catch_up),
                pause_after_failures: (pause_after_failures > 0).then_some(pause_after_failures),
                run_timeout_secs,
                keep_last,
                keep_within_secs,
            },
            selector,
            spec,
        })
    }
}

/// The next fire of schedule `id` on `spec` after `now`: the first nominal fire and when it is
/// due (with its jitter); `None` when the spec has no more fires.
pub fn next_fire(spec: &Spec, id: uuid::Uuid, now: DateTime<Utc>) -> Option<NextFire> {
    spec.next_after(now).map(|fire_at| NextFire {
        fire_at,
        due_at: spec.due_at(id, fire_at),
    })
}

/// The spec a stored schedule holds, rebuilt through the same validation.
pub fn stored_spec(f: &ScheduleFields) -> std::result::Result<Spec, crate::schedule::SpecError> {
    Spec::new(SpecInput {
        cron: f.cron.clone(),
        time_zone: f.time_zone.clone(),
        start_time: f.start_time,
        end_time: f.end_time,
        jitter: TimeDelta::milliseconds(f.jitter_ms),
    })
}

/// Validates `spec` given at `prefix` (`schedule.spec`, or `spec` for PreviewSchedule); an
/// empty zone is UTC.
pub fn spec_of(spec: pb::ScheduleSpec, prefix: &str) -> Result<Spec> {
    let pb::ScheduleSpec {
        cron,
        time_zone,
        start_time,
        end_time,
        jitter,
    } = spec;
    let at = |field: &str| format!("{prefix}.{field}");
    let input = SpecInput {
        cron,
        time_zone: if time_zone.is_empty() {
            "UTC".to_owned()
        } else {
            time_zone
        },
        start_time: start_time
            .map(|t| super::from_timestamp(&at("start_time"), t))
            .transpose()?,
        end_time: end_time
            .map(|t| super::from_timestamp(&at("end_time"), t))
            .transpose()?,
        jitter: jitter
            .map(|d| duration(&at("jitter"), d))
            .transpose()?
            .unwrap_or_default(),
    };
    Spec::new(input).map_err(|e| BackupError::invalid(at(e.field), e.reason))
}

/// A schedule id (a UUID) from request field `field`.
pub fn schedule_id(field: &str, value: &str) -> Result<uuid::Uuid> {
    uuid::Uuid::parse_str(value)
        .map_err(|_| BackupError::invalid(field, "not a schedule id (a UUID)"))
}

/// The etag a request passes in `field`: empty for none, else the decimal version a Schedule
/// message carried.
pub fn etag(field: &str, value: &str) -> Result<Option<i64>> {
    if value.is_empty() {
        return Ok(None);
    }
    match value.parse::<i64>() {
        Ok(v) if v > 0 && v.to_string() == value => Ok(Some(v)),
        _ => Err(BackupError::invalid(
            field,
            "not an etag of this service (pass back a schedule's `etag` as read)",
        )),
    }
}

/// A pause note: at most [`MAX_NOTE_CHARS`] characters, no control characters but newlines.
pub fn pause_note(note: String) -> Result<String> {
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(BackupError::invalid(
            "note",
            format!("longer than {MAX_NOTE_CHARS} characters"),
        ));
    }
    if note.chars().any(|c| c.is_control() && c != '\n') {
        return Err(BackupError::invalid("note", "contains control characters"));
    }
    Ok(note)
}

fn schedule_name(name: String) -> Result<String> {
    let field = "schedule.name";
    if name.is_empty() {
        return Err(BackupError::invalid(field, "is required"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(BackupError::invalid(
            field,
            format!("longer than {MAX_NAME_CHARS} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(BackupError::invalid(field, "contains control characters"));
    }
    Ok(name)
}

/// The policy of a request's `overlap_policy`; unspecified is SKIP.
fn overlap_from(value: i32) -> Result<OverlapPolicy> {
    Ok(match pb::OverlapPolicy::try_from(value) {
        Ok(pb::OverlapPolicy::Unspecified | pb::OverlapPolicy::Skip) => OverlapPolicy::Skip,
        Ok(pb::OverlapPolicy::BufferOne) => OverlapPolicy::BufferOne,
        Ok(pb::OverlapPolicy::AllowAll) => OverlapPolicy::AllowAll,
        Ok(pb::OverlapPolicy::CancelPrevious) => OverlapPolicy::CancelPrevious,
        Err(_) => {
            return Err(BackupError::invalid(
                "schedule.overlap_policy",
                "unknown policy",
            ));
        }
    })
}

/// `keep_last` and `keep_within` (whole seconds, a fraction counting as one) of a retention
/// message; zero is no limit, but at least one must be set.
fn retention_of(r: pb::Retention) -> Result<(Option<i32>, Option<i64>)> {
    let pb::Retention {
        keep_last,
        keep_within,
    } = r;
    if keep_last < 0 {
        return Err(BackupError::invalid(
            "schedule.retention.keep_last",
            "must not be negative",
        ));
    }
    let within = keep_within
        .map(|d| duration("schedule.retention.keep_within", d))
        .transpose()?
        .unwrap_or_default();
    if within < TimeDelta::zero() {
        return Err(BackupError::invalid(
            "schedule.retention.keep_within",
            "must not be negative",
        ));
    }
    let keep_last = (keep_last > 0).then_some(keep_last);
    let keep_within_secs = (within > TimeDelta::zero()).then(|| ceil_secs(within));
    if keep_last.is_none() && keep_within_secs.is_none() {
        return Err(BackupError::invalid(
            "schedule.retention",
            "keeps nothing back: set keep_last or keep_within, or leave retention unset to keep \
             every backup",
        ));
    }
    Retention::new(
        keep_last.map(|n| n as u32),
        keep_within_secs.map(|s| std::time::Duration::from_secs(s as u64)),
    )
    .map_err(|e| {
        let field = match e.field() {
            Some("keep_within") => "schedule.retention.keep_within",
            _ => "schedule.retention.keep_last",
        };
        match e {
            HostScriptError::InvalidArgument { reason, .. } => BackupError::invalid(field, reason),
            other => BackupError::invalid(field, other.to_string()),
        }
    })?;
    Ok((keep_last, keep_within_secs))
}

/// A request duration in `field` as a time delta; its seconds and nanos must agree in sign.
pub(crate) fn duration(field: &str, d: prost_types::Duration) -> Result<TimeDelta> {
    let agree = (d.seconds >= 0 && d.nanos >= 0) || (d.seconds <= 0 && d.nanos <= 0);
    if !agree || d.nanos.abs() >= 1_000_000_000 {
        return Err(BackupError::invalid(field, "not a valid duration"));
    }
    TimeDelta::try_seconds(d.seconds)
        .map(|s| s + TimeDelta::nanoseconds(i64::from(d.nanos)))
        .ok_or_else(|| BackupError::invalid(field, "out of range"))
}

/// Whole seconds of a non-negative `d`, a fraction counting as one.
fn ceil_secs(d: TimeDelta) -> i64 {
    d.num_seconds() + i64::from(d.subsec_nanos() > 0)
}

/// Puts `prefix.` before the field an error names.
pub(crate) fn under(prefix: &str) -> impl Fn(BackupError) -> BackupError + '_ {
    move |e| match e {
        BackupError::InvalidArgument { field, reason } => BackupError::InvalidArgument {
            field: format!("{prefix}.{field}"),
            reason,
        },
        other => other,
    }
}

/// Names `field` instead of the field an error names.
fn rename(field: &str) -> impl Fn(BackupError) -> BackupError + '_ {
    move |e| match e {
        BackupError::InvalidArgument { reason, .. } => BackupError::invalid(field, reason),
        other => other,
    }
}

#[cfg(test)]
#[path = "schedules_tests.rs"]
mod tests;
