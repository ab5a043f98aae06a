//! The validated StartBackup request: hosts each once (or a host selector, resolved later in
//! CMDB), the directory and suffix the host scripts accept (an empty suffix selects every
//! regular file), and the bound on total time with the JOB step timeout that fits inside it.

use std::collections::HashMap;

use proto::backup::v1 as pb;

use crate::error::{BackupError, Result};
use crate::hostscript::{FileSelection, HostScriptError, MAX_FILES_LIMIT};
use crate::selector::HostSelector;

/// Longest client request id.
pub const MAX_REQUEST_ID: usize = 128;
/// The prefix of the request ids of backups a schedule's fire starts
/// (`store::schedule_fires::fire_request_id`); a client may not use it.
pub const SCHEDULE_REQUEST_PREFIX: &str = "schedule:";
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
    /// Hosts, in request order, each once; empty when `selector` names them.
    pub bk_host_ids: Vec<i64>,
    /// The hosts as a selector, to resolve in CMDB, instead of `bk_host_ids`.
    pub selector: Option<HostSelector>,
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
            selector,
        } = req;
        if request_id.chars().count() > MAX_REQUEST_ID || request_id.chars().any(char::is_control) {
            return Err(BackupError::invalid(
                "request_id",
                format!("at most {MAX_REQUEST_ID} printable characters"),
            ));
        }
        client_request_id(&request_id)?;
        if bk_biz_id <= 0 {
            return Err(BackupError::invalid("bk_biz_id", "must be positive"));
        }
        let (bk_host_ids, selector) = hosts(bk_host_ids, selector, max_hosts)?;
        let (selection, suffix) = file_selection(&bk_file_dir, &bk_file_suffix, MAX_FILES_LIMIT)?;
        let timeout_secs = match timeout {
            None => default_timeout_secs,
            Some(d) => timeout_secs(d)?,
        };
        Ok(Self {
            request_id: (!request_id.is_empty()).then_some(request_id),
            bk_biz_id,
            bk_host_ids,
            selector,
            selection,
            suffix,
            timeout_secs,
        })
    }
}

/// Refuses a client's request id the scheduler reserves (starting
/// [`SCHEDULE_REQUEST_PREFIX`]): StartBackup's and RetryBackup's.
pub fn client_request_id(request_id: &str) -> Result<()> {
    if request_id.starts_with(SCHEDULE_REQUEST_PREFIX) {
        return Err(BackupError::invalid(
            "request_id",
            format!("ids starting `{SCHEDULE_REQUEST_PREFIX}` are the scheduler's own"),
        ));
    }
    Ok(())
}

/// A requested bound on total time in whole seconds: a fraction of a second counts as a whole
/// one, values above [`MAX_TIMEOUT_SECS`] are clamped to it, zero or less is refused.
pub(crate) fn timeout_secs(d: prost_types::Duration) -> Result<i32> {
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

/// The hosts of a SearchFiles or StartBackup: exactly one of a host list (checked by
/// [`host_list`]) and a selector; returns the list (empty with a selector) and the selector.
pub fn hosts(
    ids: Vec<i64>,
    selector: Option<pb::HostSelector>,
    max_hosts: usize,
) -> Result<(Vec<i64>, Option<HostSelector>)> {
    match selector {
        None => Ok((host_list(ids, max_hosts)?, None)),
        Some(_) if !ids.is_empty() => Err(BackupError::invalid(
            "selector",
            "give either bk_host_ids or a selector, not both",
        )),
        Some(sel) => Ok((Vec::new(), Some(HostSelector::new(sel, max_hosts)?))),
    }
}

/// Checks a host list: non-empty, positive ids, each once, at most `max`.
pub fn host_list(ids: Vec<i64>, max: usize) -> Result<Vec<i64>> {
    if ids.is_empty() {
        return Err(BackupError::invalid(
            "bk_host_ids",
            "at least one host is required (or a selector)",
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
    fn hosts_come_from_exactly_one_of_the_id_list_and_the_selector() {
        let sel = || {
            Some(pb::HostSelector {
                bk_module_ids: vec![3001],
                ..Default::default()
            })
        };
        assert_eq!(field_of(hosts(vec![1001], sel(), 10)).0, "selector");
        assert_eq!(field_of(hosts(vec![], None, 10)).0, "bk_host_ids");
        let (ids, selector) = hosts(vec![], sel(), 10).unwrap();
        assert!(ids.is_empty());
        assert_eq!(selector.unwrap().bk_module_ids, [3001]);
        assert_eq!(hosts(vec![1002, 1001], None, 10).unwrap().0, [1002, 1001]);
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
