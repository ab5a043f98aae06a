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
    /// Backup only: the disk filled up, even for the manifest. The manifest's records are the
    /// only copies left; every other matched file was not copied.
    DiskFull,
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
            Self::DiskFull => "disk_full",
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
            Self::DiskFull,
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
    /// The first files in byte order of their path relative to the directory (at most
    /// `max_files`, and fewer when the log budget ran out).
    pub files: Vec<FoundFile>,
    /// Every file that matched, listed or not.
    pub found: u64,
    /// Sum of the sizes of every file that matched, listed or not.
    pub total_bytes: u64,
    /// `files` holds fewer than `found` (the per-host limit or the log budget).
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
    /// `st_mode` of the copy as `stat %f` reported it (`C` records only).
    pub mode: Option<u32>,
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

/// One host's backup result: the summary and page 0 of the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// How the run ended; `Ok` even when some files failed (see the records).
    pub status: HostStatus,
    /// `<dir>/backup/<name>`.
    pub backup_dir: HostPath,
    /// Page 0 of the manifest, in manifest order; pages 1.. are read with `read.sh`.
    pub files: Vec<BackedUpFile>,
    /// Files that matched.
    pub found: u64,
    /// Records in the manifest (= `found` for a run that completed).
    pub manifest_files: u64,
    /// Pages of the manifest (0 when nothing was backed up).
    pub pages: u32,
    /// The backup directory was already this run's (JOB re-ran the step) and was reused.
    pub resumed: bool,
    /// Directories skipped and tool messages (at most 100).
    pub warnings: Vec<Warning>,
    /// The script's explanation when `status` is not `Ok`/`NoFiles`.
    pub error: Option<String>,
}

/// How a `read.sh` run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadStatus {
    /// The page was printed.
    Ok,
    /// No backup of this run in this directory (or the directory is gone).
    NoManifest,
    /// `backup.sh` of this run is still running; read again later.
    Busy,
    /// The page is not below the number of pages.
    BadPage,
    /// The script could not do its job; see the error detail.
    ScriptError,
}

impl ReadStatus {
    /// The status of a read trailer's wire word (the directory checks are shared with the
    /// other scripts: a missing directory holds no manifest).
    pub(crate) fn from_wire(word: &[u8]) -> Option<Self> {
        Some(match word {
            b"ok" => Self::Ok,
            b"no_manifest" | b"dir_missing" | b"not_a_directory" => Self::NoManifest,
            b"busy" => Self::Busy,
            b"bad_page" => Self::BadPage,
            b"script_error" | b"permission_denied" => Self::ScriptError,
            _ => return None,
        })
    }
}

/// One page of a backup's manifest, as `read.sh` printed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageReport {
    /// How the read ended.
    pub status: ReadStatus,
    /// The records of the page, in manifest order.
    pub files: Vec<BackedUpFile>,
    /// Files the backup matched.
    pub found: u64,
    /// Records in the manifest.
    pub manifest_files: u64,
    /// Pages of the manifest.
    pub pages: u32,
    /// `backup.sh` finished; when false, `found - manifest_files` files have no known outcome.
    pub complete: bool,
    /// Copies this read removed because no record vouched for them (the batch in flight when
    /// `backup.sh` died).
    pub settled: u64,
    /// The script's explanation when `status` is not `Ok`.
    pub error: Option<String>,
    /// The log was cut short (JOB kept less of it than the page): `files` are the complete
    /// records before the cut, and the rest of the page is read again from after them.
    pub cut: bool,
}

impl BackupReport {
    /// Files that were really copied.
    pub fn copied(&self) -> impl Iterator<Item = &BackedUpFile> {
        self.files.iter().filter(|f| f.is_copied())
    }
}
