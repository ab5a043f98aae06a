//! UpdateSchedule's FieldMask: which fields of the request's schedule replace the stored ones.
//! Pure logic over messages; the merged schedule is then validated as CreateSchedule's.
//!
//! - A path names a field the caller sets (`name`, `selector`, `bk_file_dir`, `bk_file_suffix`,
//!   `spec`, `overlap_policy`, `catch_up_window`, `pause_after_failures`, `run_timeout`,
//!   `retention`) or one field inside `spec` or `retention` (`spec.cron`, `retention.keep_last`,
//!   ...); `*` names them all. A named field left unset in the request is cleared to its
//!   default (an unset `spec.time_zone` is UTC; an unset `retention` keeps every backup).
//! - An empty mask names every field set in the request (AIP-134), field by field inside
//!   `spec` and `retention`: `{"spec": {"cron": "0 5 * * *"}}` changes the cron text alone. A
//!   `bk_biz_id` other than the stored one is INVALID_ARGUMENT `schedule.bk_biz_id`.
//! - An unknown path, an output-only field or `bk_biz_id` is INVALID_ARGUMENT `update_mask`.

use proto::backup::v1 as pb;

use crate::error::{BackupError, Result};

/// The fields a caller sets, as `*` names them.
const ALL: [&str; 10] = [
    "name",
    "selector",
    "bk_file_dir",
    "bk_file_suffix",
    "spec",
    "overlap_policy",
    "catch_up_window",
    "pause_after_failures",
    "run_timeout",
    "retention",
];

/// Fields the server sets; a mask may not name them.
const OUTPUT_ONLY: [&str; 11] = [
    "schedule_id",
    "state",
    "pause_note",
    "operator",
    "updated_by",
    "consecutive_failures",
    "next_fire_time",
    "create_time",
    "update_time",
    "delete_time",
    "etag",
];

/// `current` with the fields `mask` names (every field set in `given` when the mask is empty)
/// taken from `given`.
pub fn merge(
    current: pb::Schedule,
    given: pb::Schedule,
    mask: Option<prost_types::FieldMask>,
) -> Result<pb::Schedule> {
    check_mask(mask.as_ref())?;
    let paths = mask.map(|m| m.paths).unwrap_or_default();
    if paths.is_empty() {
        if given.bk_biz_id != 0 && given.bk_biz_id != current.bk_biz_id {
            return Err(BackupError::invalid(
                "schedule.bk_biz_id",
                "cannot be changed",
            ));
        }
        let set = populated(&given);
        return Ok(apply(current, &given, set.iter().copied()));
    }
    let named = paths.iter().flat_map(|p| {
        if p == "*" {
            ALL.to_vec()
        } else {
            vec![p.as_str()]
        }
    });
    Ok(apply(current, &given, named))
}

/// Refuses a mask naming a field UpdateSchedule may not change (before anything is read).
pub fn check_mask(mask: Option<&prost_types::FieldMask>) -> Result<()> {
    mask.map_or(Ok(()), |m| m.paths.iter().try_for_each(|p| check(p)))
}

/// Refuses a path the mask may not name.
fn check(path: &str) -> Result<()> {
    let known = path == "*"
        || ALL.contains(&path)
        || matches!(
            path,
            "spec.cron"
                | "spec.time_zone"
                | "spec.start_time"
                | "spec.end_time"
                | "spec.jitter"
                | "retention.keep_last"
                | "retention.keep_within"
        );
    if known {
        return Ok(());
    }
    let reason = if path == "bk_biz_id" {
        "`bk_biz_id` cannot be changed".to_owned()
    } else if OUTPUT_ONLY.contains(&path) {
        format!("`{path}` is output only")
    } else {
        format!("`{path}` is not a field UpdateSchedule changes")
    };
    Err(BackupError::invalid("update_mask", reason))
}

/// The paths of the fields set in `s`, sub-fields inside `spec` and `retention`.
fn populated(s: &pb::Schedule) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut add = |set: bool, path: &'static str| {
        if set {
            out.push(path);
        }
    };
    add(!s.name.is_empty(), "name");
    add(s.selector.is_some(), "selector");
    add(!s.bk_file_dir.is_empty(), "bk_file_dir");
    add(!s.bk_file_suffix.is_empty(), "bk_file_suffix");
    if let Some(spec) = &s.spec {
        add(!spec.cron.is_empty(), "spec.cron");
        add(!spec.time_zone.is_empty(), "spec.time_zone");
        add(spec.start_time.is_some(), "spec.start_time");
        add(spec.end_time.is_some(), "spec.end_time");
        add(spec.jitter.is_some(), "spec.jitter");
    }
    add(s.overlap_policy != 0, "overlap_policy");
    add(s.catch_up_window.is_some(), "catch_up_window");
    add(s.pause_after_failures != 0, "pause_after_failures");
    add(s.run_timeout.is_some(), "run_timeout");
    if let Some(r) = &s.retention {
        add(r.keep_last != 0, "retention.keep_last");
        add(r.keep_within.is_some(), "retention.keep_within");
    }
    out
}

/// `current` with each of `paths` (checked) taken from `given`.
fn apply<'a>(
    mut current: pb::Schedule,
    given: &pb::Schedule,
    paths: impl IntoIterator<Item = &'a str>,
) -> pb::Schedule {
    let given_spec = given.spec.clone().unwrap_or_default();
    let given_retention = given.retention.unwrap_or_default();
    for path in paths {
        let c = &mut current;
        match path {
            "name" => c.name.clone_from(&given.name),
            "selector" => c.selector.clone_from(&given.selector),
            "bk_file_dir" => c.bk_file_dir.clone_from(&given.bk_file_dir),
            "bk_file_suffix" => c.bk_file_suffix.clone_from(&given.bk_file_suffix),
            "spec" => c.spec.clone_from(&given.spec),
            "overlap_policy" => c.overlap_policy = given.overlap_policy,
            "catch_up_window" => c.catch_up_window = given.catch_up_window,
            "pause_after_failures" => c.pause_after_failures = given.pause_after_failures,
            "run_timeout" => c.run_timeout = given.run_timeout,
            "retention" => c.retention = given.retention,
            "retention.keep_last" => {
                c.retention.get_or_insert_default().keep_last = given_retention.keep_last;
            }
            "retention.keep_within" => {
                c.retention.get_or_insert_default().keep_within = given_retention.keep_within;
            }
            sub => {
                let spec = c.spec.get_or_insert_default();
                match sub {
                    "spec.cron" => spec.cron.clone_from(&given_spec.cron),
                    "spec.time_zone" => spec.time_zone.clone_from(&given_spec.time_zone),
                    "spec.start_time" => spec.start_time = given_spec.start_time,
                    "spec.end_time" => spec.end_time = given_spec.end_time,
                    "spec.jitter" => spec.jitter = given_spec.jitter,
                    other => unreachable!("path `{other}` was checked"),
                }
            }
        }
    }
    current
}

#[cfg(test)]
#[path = "schedule_mask_tests.rs"]
mod tests;
