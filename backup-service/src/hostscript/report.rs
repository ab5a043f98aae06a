//! Typed per-host results of the host scripts, as the parser returns them.
//!
//! Decision: paths are raw bytes (a Linux file name need not be UTF-8) with a lossy display
//! string beside them; only the bytes are fit for comparing or for acting on a file.

/// How a host's run ended, from the trailer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostStatus {
    /// The search or backup ran and found files.
    Ok,
    /// The directory exists and is readable, and no file matched.
    NoFiles,
    /// The directory does not exist.
    DirMissing,
    /// The path exists but is not a directory.
    NotADirectory,
    /// The directory (or the backup root) cannot be entered, listed or written.
    PermissionDenied,
    /// The backup directory already exists and belongs to another run; nothing was copied.
    BackupExists,
    /// The script could not do its job (bad arguments, internal error); see the error detail.
    ScriptError,
}

impl HostStatus {
    /// The wire word of the trailer.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::NoFiles => "no_files",
            Self::DirMissing => "dir_missing",
            Self::NotADirectory => "not_a_directory",
            Self::PermissionDenied => "permission_denied",
            Self::BackupExists => "backup_exists",
            Self::ScriptError => "script_error",
        }
    }

    pub(crate) fn from_wire(word: &[u8]) -> Option<Self> {
        [
            Self::Ok,
            Self::NoFiles,
            Self::DirMissing,
            Self::NotADirectory,
            Self::PermissionDenied,
            Self::BackupExists,
            Self::ScriptError,
        ]
        .into_iter()
        .find(|s| s.as_str().as_bytes() == word)
    }
}

/// A path on a host: the exact bytes, and a lossy UTF-8 rendering for display.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPath {
    /// The exact bytes of the path.
    pub bytes: Vec<u8>,
    /// `bytes` with invalid UTF-8 replaced by U+FFFD; for display only.
    pub display: String,
}

impl HostPath {
    /// Wraps raw path bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        let display = String::from_utf8_lossy(&bytes).into_owned();
        Self { bytes, display }
    }

    pub(crate) fn join(parts: &[&[u8]]) -> Self {
        Self::from_bytes(parts.join(&b"/"[..]))
    }
}

/// One file a search found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundFile {
    /// Absolute path.
    pub path: HostPath,
    /// Size in bytes at search time.
    pub size: u64,
    /// Modification time, epoch seconds.
    pub mtime: i64,
}

/// What the script could not look at, without failing the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarningKind {
    /// A directory under the search root that could not be read or entered; skipped.
    UnreadableDir,
    /// A message `find` printed (e.g. a directory vanished mid-walk); in `detail`.
    FindError,
}

/// A warning of one host's run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// What happened.
    pub kind: WarningKind,
    /// The absolute path concerned, when known.
    pub path: Option<HostPath>,
    /// The tool's message, lossy UTF-8.
    pub detail: Option<String>,
}

/// One host's search result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchReport {
    /// How the run ended.
    pub status: HostStatus,
    /// Files found, in the order the host listed them.
    pub files: Vec<FoundFile>,
    /// Sum of `files[].size`.
    pub total_bytes: u64,
    /// The per-host file limit or the log budget was hit; `files` is an arbitrary subset.
    pub truncated: bool,
    /// Directories skipped and tool messages (at most 100).
    pub warnings: Vec<Warning>,
    /// The script's explanation when `status` is not `Ok`/`NoFiles`.
    pub error: Option<String>,
}

/// Why one file was not copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailReason {
    /// ENOSPC or EDQUOT.
    DiskFull,
    /// EACCES or EPERM on the source or the destination.
    PermissionDenied,
    /// EROFS.
    ReadOnly,
    /// The path is no longer a regular file (e.g. replaced by a symlink).
    NotRegular,
    /// Any other error; see the detail.
    Io,
}

/// Outcome of one file's copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyStatus {
    /// Copied; the copy's sha256 equals the source's.
    Copied,
    /// Copied, but the source hashed differently afterwards (written during the copy); the copy
    /// is kept and `sha256` is the copy's.
    Changed,
    /// The file disappeared between search and copy (e.g. rotated).
    Vanished,
    /// Not copied; any partial copy was removed.
    Failed(FailReason),
}

/// One file of a backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackedUpFile {
    /// Absolute source path.
    pub source: HostPath,
    /// Absolute path of the copy: `<dir>/backup/<name>/<path relative to dir>`.
    pub backup: HostPath,
    /// What happened.
    pub status: CopyStatus,
    /// Size of the copy (copied or changed only).
    pub size: Option<u64>,
    /// Modification time of the copy, preserved from the source (copied or changed only).
    pub mtime: Option<i64>,
    /// Lowercase hex sha256 of the copy (copied or changed only).
    pub sha256: Option<String>,
    /// The tool's message for a failure, lossy UTF-8.
    pub detail: Option<String>,
}

impl BackedUpFile {
    /// Whether a copy exists on the host (a record may be written for it).
    pub fn is_copied(&self) -> bool {
        matches!(self.status, CopyStatus::Copied | CopyStatus::Changed)
    }
}

/// One host's backup result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// How the run ended; `Ok` even when some files failed (see `files`).
    pub status: HostStatus,
    /// `<dir>/backup/<name>`.
    pub backup_dir: HostPath,
    /// Every file attempted, in order.
    pub files: Vec<BackedUpFile>,
    /// Sum of the sizes of copied files.
    pub copied_bytes: u64,
    /// The per-host file limit or the log budget was hit; files past it were not copied.
    pub truncated: bool,
    /// The backup directory was already this run's (JOB re-ran the step) and was reused.
    pub resumed: bool,
    /// Directories skipped and tool messages (at most 100).
    pub warnings: Vec<Warning>,
    /// The script's explanation when `status` is not `Ok`/`NoFiles`.
    pub error: Option<String>,
}

impl BackupReport {
    /// Files that were really copied.
    pub fn copied(&self) -> impl Iterator<Item = &BackedUpFile> {
        self.files.iter().filter(|f| f.is_copied())
    }
}
