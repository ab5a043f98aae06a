//! The host scripts as sent to JOB, and what their exit codes mean.
//!
//! Decision: the scripts live as files in `host-scripts/` (reviewable, runnable by hand, pasteable
//! into a JOB plan) and are embedded at build time, so the service always sends the version it
//! was built and tested with.
//!
//! Plan mode: a JOB plan step holding the same script takes its arguments from the string global
//! variable [`PLAN_ARGS_VARIABLE`] when `script_param` is empty (or from a step `script_param`
//! of `${bkb_args}`). Its value is exactly the string [`super::search_script_param`],
//! [`super::backup_script_param`] or [`super::read_script_param`] returns, so plan runs and ExecuteScript runs share one contract.

/// `search.sh`: lists matching files with size and mtime.
pub const SEARCH_SH: &str = include_str!("../../host-scripts/search.sh");

/// `backup.sh`: copies matching files into the backup directory and records each copy
/// in its manifest.
pub const BACKUP_SH: &str = include_str!("../../host-scripts/backup.sh");

/// `read.sh`: prints one page of a backup's manifest (settling a backup that died).
pub const READ_SH: &str = include_str!("../../host-scripts/read.sh");

/// `prune.sh`: removes a schedule's old backup directories that its retention no longer keeps.
pub const PRUNE_SH: &str = include_str!("../../host-scripts/prune.sh");

/// JOB `script_language` of the scripts (shell).
pub const SCRIPT_LANGUAGE_SHELL: i32 = 1;

/// Name of the JOB string global variable a plan step reads its arguments from.
pub const PLAN_ARGS_VARIABLE: &str = "bkb_args";

/// What a script's exit code says; the log's trailer is the authority, this is the fallback
/// when the log cannot be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptExit {
    /// 0: ran; status `ok` or `no_files`.
    Ok,
    /// 1: internal error (a tool missing, mktemp failed, the backup root is not a directory).
    Internal,
    /// 2: arguments unreadable or invalid.
    BadArguments,
    /// 3: directory missing or not a directory.
    DirMissing,
    /// 4: permission denied on the directory or the backup root.
    PermissionDenied,
    /// 5: the backup directory exists and belongs to another run.
    BackupExists,
    /// 6: backup ran, some files failed to copy (prune: some removals failed).
    SomeFilesFailed,
    /// 7: read: no manifest of this run, its backup is still running, or no such page.
    ReadRefused,
    /// 8: backup: the disk filled up, even for the manifest.
    DiskFull,
    /// Anything else (e.g. 127 bash missing a command, 128+n killed by signal n).
    Other(i32),
}

impl ScriptExit {
    /// Classifies an exit code.
    pub fn from_code(code: i32) -> Self {
        match code {
            0 => Self::Ok,
            1 => Self::Internal,
            2 => Self::BadArguments,
            3 => Self::DirMissing,
            4 => Self::PermissionDenied,
            5 => Self::BackupExists,
            6 => Self::SomeFilesFailed,
            7 => Self::ReadRefused,
            8 => Self::DiskFull,
            n => Self::Other(n),
        }
    }
}
