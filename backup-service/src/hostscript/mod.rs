//! Host scripts: the bash that searches, backs up, reads back and prunes log backups on BlueKing
//! hosts (`host-scripts/search.sh`, `backup.sh`, `read.sh`, `prune.sh`), the validation and
//! encoding of their arguments, and the parser of their output. The contract, protocol 2, is
//! `docs/host-protocol.md`.
//!
//! Decision: user input never becomes script text. The scripts are fixed files; every argument
//! travels as its own Base64 token in `script_param` (or in the JOB global variable
//! [`PLAN_ARGS_VARIABLE`] for a JOB plan), and is validated by [`FileSelection::new`] before
//! anything is launched. The output is framed (header, one record per line, trailer with counts)
//! so a truncated or mixed log is a [`HostScriptError`], never a silent partial result.
//!
//! Decision: a backup's result does not have to fit a JOB log. `backup.sh` writes one record per
//! file into a manifest on the host and its log carries a summary and page 0; `read.sh` prints
//! the other pages (and settles a backup whose script died mid-batch).
//!
//! Decision: retention removes only what it can prove is ours. `backup.sh` marks every backup
//! directory with its run, its schedule (if any) and how the run ended; `prune.sh` (module
//! [`prune`]) removes a candidate only when that mark names its schedule, and keeps the newest
//! successful backup and what the retention keeps, whatever the service asked.
//!
//! Flow: validate ([`FileSelection::new`], [`RunId::new`], [`BackupDirName::new`],
//! [`ScheduleTag::new`], [`Retention::new`]) → encode ([`search_script_param`],
//! [`backup_script_param`] / [`backup_script_param_for`], [`read_script_param`],
//! [`prune_script_param`]) → run [`SEARCH_SH`] / [`BACKUP_SH`] / [`READ_SH`] / [`PRUNE_SH`] with
//! JOB → parse each host's log ([`parse_search_output`], [`parse_backup_output`],
//! [`parse_read_output`], [`parse_prune_output`]; after a cancel or timeout,
//! [`parse_partial_backup_output`] still gives the records the log carried).

pub mod args;
mod frame;
pub mod parse;
pub mod prune;
mod records;
pub mod report;
pub mod scripts;

pub use args::{
    BackupDirName, FileSelection, MAX_DIRECTORY_BYTES, MAX_FILES_LIMIT, MAX_SUFFIX_CHARS,
    MAX_SUFFIXES, RunId, ScheduleTag, backup_script_param, backup_script_param_for,
    encode_script_param, read_script_param, read_script_param_at, search_script_param,
};
pub use parse::{
    backup_progress, parse_backup_output, parse_partial_backup_output, parse_read_output,
    parse_read_output_at, parse_search_output,
};
pub use prune::{
    KeepReason, PruneEntry, PruneOutcome, PruneReport, PruneRequest, Retention, parse_prune_output,
    prune_script_param,
};
pub use report::{
    BackedUpFile, BackupReport, CopyStatus, FailReason, FoundFile, HostPath, HostStatus,
    PageReport, ReadStatus, SearchReport, Warning, WarningKind,
};
pub use scripts::{
    BACKUP_SH, PLAN_ARGS_VARIABLE, PRUNE_SH, READ_SH, SCRIPT_LANGUAGE_SHELL, SEARCH_SH, ScriptExit,
};

/// Why an argument was refused or a host's output could not be trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostScriptError {
    /// A user-supplied argument is invalid; maps to INVALID_ARGUMENT naming `field`.
    #[error("invalid `{field}`: {reason}")]
    InvalidArgument { field: String, reason: String },
    /// No `@bkb 2 begin` line: the script did not start, or the log is not ours.
    #[error("script output has no header")]
    MissingHeader,
    /// The header speaks a protocol this parser does not know.
    #[error("script output uses unsupported protocol `{0}`")]
    UnsupportedVersion(String),
    /// Header or trailer belong to another run, script, directory, backup or page.
    #[error("script output does not belong to this run: `{field}` differs")]
    Mismatch { field: &'static str },
    /// The log ends before the trailer (killed, timed out, or cut by the log size cap).
    #[error("script output is truncated after {records} records")]
    Truncated { records: usize },
    /// A line between header and trailer is not a valid record.
    #[error("script output line {line} is not a valid record")]
    Garbage { line: usize },
    /// A path is reported twice.
    #[error("script output line {line} repeats a path")]
    DuplicatePath { line: usize },
    /// A path is absolute, empty, or has `.`/`..`/empty segments.
    #[error("script output line {line} has an unsafe path")]
    UnsafePath { line: usize },
    /// The trailer's count disagrees with the records.
    #[error("script output trailer says {field}={expected} but the records say {found}")]
    CountMismatch {
        field: &'static str,
        expected: u64,
        found: u64,
    },
    /// Something follows the trailer (e.g. a second run in the same log).
    #[error("script output continues after its trailer at line {line}")]
    MixedLog { line: usize },
}

/// Result alias of this module.
pub type Result<T, E = HostScriptError> = std::result::Result<T, E>;

impl HostScriptError {
    /// The offending field of an [`HostScriptError::InvalidArgument`] (e.g. `suffixes[2]`).
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::InvalidArgument { field, .. } => Some(field),
            _ => None,
        }
    }

    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidArgument {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests;
