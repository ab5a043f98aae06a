//! Validation and encoding of the host scripts' arguments.
//!
//! Decision: validation is pure and happens before anything is launched; every error names the
//! field (`directory`, `suffixes[2]`, `max_files`, `run_id`, `backup_name`). Encoding turns each
//! argument into one standard-Base64 token ("-" for an empty string), joined by spaces: JOB
//! Base64-decodes `script_param`, turns `\n` into spaces and lets the host shell split it on
//! whitespace, and none of that can touch a token made of `[A-Za-z0-9+/=-]`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::{HostScriptError, Result};

/// Longest accepted directory, in bytes.
pub const MAX_DIRECTORY_BYTES: usize = 1024;
/// Most suffixes per request.
pub const MAX_SUFFIXES: usize = 16;
/// Longest suffix, in characters, without its leading dot.
pub const MAX_SUFFIX_CHARS: usize = 32;
/// Highest per-host file limit.
pub const MAX_FILES_LIMIT: u32 = 100_000;
/// Argument protocol understood by the scripts (their first argument).
pub(crate) const PROTOCOL: &[u8] = b"2";
/// Directories that are not real file trees.
const PSEUDO_FILESYSTEMS: [&str; 3] = ["/proc", "/sys", "/dev"];

/// A validated directory, suffix list and per-host file limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSelection {
    directory: String,
    suffixes: Vec<String>,
    max_files: u32,
}

impl FileSelection {
    /// Validates user input. A suffix may be given with or without its leading dot (`log` and
    /// `.log` both select `*.log`); it is stored with the dot. No suffix selects every regular
    /// file.
    pub fn new(directory: &str, suffixes: &[impl AsRef<str>], max_files: u32) -> Result<Self> {
        validate_directory(directory)?;
        if suffixes.len() > MAX_SUFFIXES {
            return Err(HostScriptError::invalid(
                "suffixes",
                format!("at most {MAX_SUFFIXES} suffixes are allowed"),
            ));
        }
        let mut normalised: Vec<String> = Vec::with_capacity(suffixes.len());
        for (i, raw) in suffixes.iter().enumerate() {
            let suffix = normalise_suffix(raw.as_ref())
                .map_err(|reason| HostScriptError::invalid(format!("suffixes[{i}]"), reason))?;
            if let Some(j) = normalised.iter().position(|s| *s == suffix) {
                return Err(HostScriptError::invalid(
                    format!("suffixes[{i}]"),
                    format!("repeats suffixes[{j}]"),
                ));
            }
            normalised.push(suffix);
        }
        if !(1..=MAX_FILES_LIMIT).contains(&max_files) {
            return Err(HostScriptError::invalid(
                "max_files",
                format!("must be between 1 and {MAX_FILES_LIMIT}"),
            ));
        }
        Ok(Self {
            directory: directory.to_string(),
            suffixes: normalised,
            max_files,
        })
    }

    /// The absolute, normalised directory.
    pub fn directory(&self) -> &str {
        &self.directory
    }

    /// The suffixes, each with its leading dot (none: every regular file).
    pub fn suffixes(&self) -> &[String] {
        &self.suffixes
    }

    /// The per-host limit of files a search lists.
    pub fn max_files(&self) -> u32 {
        self.max_files
    }
}

fn validate_directory(dir: &str) -> Result<()> {
    let bad = |reason: &str| Err(HostScriptError::invalid("directory", reason));
    if dir.is_empty() {
        return bad("must not be empty");
    }
    if dir.len() > MAX_DIRECTORY_BYTES {
        return bad(&format!("must be at most {MAX_DIRECTORY_BYTES} bytes"));
    }
    if dir.chars().any(char::is_control) {
        return bad("must not contain control characters");
    }
    if !dir.starts_with('/') {
        return bad("must be an absolute path");
    }
    if dir == "/" {
        return bad("must not be the root directory");
    }
    if dir.ends_with('/') {
        return bad("must not end with `/`");
    }
    if dir.contains("//") {
        return bad("must not contain `//`");
    }
    if dir[1..].split('/').any(|seg| seg == "." || seg == "..") {
        return bad("must not contain `.` or `..` segments");
    }
    let pseudo = PSEUDO_FILESYSTEMS
        .iter()
        .any(|p| dir == *p || dir.strip_prefix(p).is_some_and(|r| r.starts_with('/')));
    if pseudo {
        return bad("must not be in /proc, /sys or /dev");
    }
    Ok(())
}

fn normalise_suffix(raw: &str) -> std::result::Result<String, String> {
    let ext = raw.strip_prefix('.').unwrap_or(raw);
    let chars = ext.chars().count();
    if chars == 0 || chars > MAX_SUFFIX_CHARS {
        return Err(format!(
            "must have 1 to {MAX_SUFFIX_CHARS} characters after its leading dot"
        ));
    }
    if ext.starts_with('.') {
        return Err("must not start with `..`".to_string());
    }
    if let Some(c) = ext
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "contains {c:?}; only letters, digits, `.`, `_` and `-` are allowed"
        ));
    }
    Ok(format!(".{ext}"))
}

/// Identifies one launch in the script output, so another run's log is never taken for this
/// one; a backup run with the same id resumes into its own backup directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunId(String);

impl RunId {
    /// Accepts 8 to 64 characters of `[A-Za-z0-9_-]` (e.g. a UUID in simple form).
    pub fn new(id: &str) -> Result<Self> {
        let ok = (8..=64).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !ok {
            return Err(HostScriptError::invalid(
                "run_id",
                "must be 8 to 64 characters of letters, digits, `_` and `-`",
            ));
        }
        Ok(Self(id.to_string()))
    }

    /// The id as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The id of the schedule a backup belongs to, as the host scripts carry it: in the mark of
/// each backup directory (`backup.sh`) and as the only owner `prune.sh` removes backups of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleTag(String);

impl ScheduleTag {
    /// Accepts 1 to 64 characters of `[A-Za-z0-9_-]` (e.g. a UUID).
    pub fn new(id: &str) -> Result<Self> {
        let ok = (1..=64).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !ok {
            return Err(HostScriptError::invalid(
                "schedule_id",
                "must be 1 to 64 characters of letters, digits, `_` and `-`",
            ));
        }
        Ok(Self(id.to_string()))
    }

    /// The tag of a schedule id: the UUID in hyphenated form.
    pub fn from_uuid(id: uuid::Uuid) -> Self {
        Self(id.hyphenated().to_string())
    }

    /// The id as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The name of one backup's directory: `backup_<YYYYmmdd_HHMMSS>_<short id>`, the time on
/// the wall clock of `backup.name_time_zone` (UTC by default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupDirName(String);

impl BackupDirName {
    /// Builds the name from the backup's start time (in UTC) and a 4–32 character `[0-9a-z]`
    /// short id.
    pub fn new(at: DateTime<Utc>, short_id: &str) -> Result<Self> {
        Self::new_in(at, Tz::UTC, short_id)
    }

    /// Builds the name from the backup's start time as the wall clock of `zone` shows it
    /// (setting `backup.name_time_zone`). The short id keeps names apart, not the time: in the
    /// hour a fall-back repeats, two backups can show the same time; and should two names ever
    /// meet, `backup.sh` refuses a directory another run claimed.
    pub fn new_in(at: DateTime<Utc>, zone: Tz, short_id: &str) -> Result<Self> {
        let local = at.with_timezone(&zone);
        Self::parse(&format!(
            "backup_{}_{short_id}",
            local.format("%Y%m%d_%H%M%S")
        ))
    }

    /// Accepts exactly `backup_` 8 digits `_` 6 digits `_` 4–32 of `[0-9a-z]`.
    pub fn parse(name: &str) -> Result<Self> {
        let ok = name.strip_prefix("backup_").is_some_and(|rest| {
            let b = rest.as_bytes();
            b.len() >= 8 + 1 + 6 + 1 + 4
                && b[..8].iter().all(u8::is_ascii_digit)
                && b[8] == b'_'
                && b[9..15].iter().all(u8::is_ascii_digit)
                && b[15] == b'_'
                && (4..=32).contains(&b[16..].len())
                && b[16..]
                    .iter()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
        });
        if !ok {
            return Err(HostScriptError::invalid(
                "backup_name",
                "must be backup_YYYYmmdd_HHMMSS_<4 to 32 of [0-9a-z]>",
            ));
        }
        Ok(Self(name.to_string()))
    }

    /// The name as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Encodes arguments for `script_param`: one standard-Base64 token per argument ("-" for an
/// empty one), separated by single spaces. The JOB client Base64-encodes the whole string again.
pub fn encode_script_param(args: &[&[u8]]) -> String {
    args.iter()
        .map(|a| {
            if a.is_empty() {
                "-".to_string()
            } else {
                STANDARD.encode(a)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `script_param` (or `bkb_args` value) for `search.sh`.
pub fn search_script_param(sel: &FileSelection, include_backups: bool, run: &RunId) -> String {
    let max = sel.max_files.to_string();
    let mut args: Vec<&[u8]> = vec![
        PROTOCOL,
        run.0.as_bytes(),
        sel.directory.as_bytes(),
        max.as_bytes(),
        if include_backups { b"1" } else { b"0" },
    ];
    args.extend(sel.suffixes.iter().map(|s| s.as_bytes()));
    encode_script_param(&args)
}

/// `script_param` (or `bkb_args` value) for `backup.sh`: every match is backed up, there is no
/// file limit.
pub fn backup_script_param(sel: &FileSelection, name: &BackupDirName, run: &RunId) -> String {
    backup_script_param_for(sel, name, run, None)
}

/// `script_param` for `backup.sh` of a backup `schedule` made (`None`: a manual backup, the
/// arguments [`backup_script_param`] gives). The schedule travels as the optional fifth
/// argument `schedule=<id>`, which no suffix can be (a suffix starts with `.`): an older
/// `backup.sh` refuses it as a bad suffix before touching anything.
pub fn backup_script_param_for(
    sel: &FileSelection,
    name: &BackupDirName,
    run: &RunId,
    schedule: Option<&ScheduleTag>,
) -> String {
    let tag = schedule.map(|s| format!("schedule={}", s.0));
    let mut args: Vec<&[u8]> = vec![
        PROTOCOL,
        run.0.as_bytes(),
        sel.directory.as_bytes(),
        name.0.as_bytes(),
    ];
    args.extend(tag.as_deref().map(str::as_bytes));
    args.extend(sel.suffixes.iter().map(|s| s.as_bytes()));
    encode_script_param(&args)
}

/// `script_param` (or `bkb_args` value) for `read.sh`: page `page` of the manifest `backup.sh`
/// wrote for `run` into `name` (the suffixes of `sel` are not needed).
pub fn read_script_param(
    sel: &FileSelection,
    name: &BackupDirName,
    run: &RunId,
    page: u32,
) -> String {
    read_script_param_at(sel, name, run, page, 0)
}

/// `script_param` for `read.sh` printing page `page` from its record `skip` on.
pub fn read_script_param_at(
    sel: &FileSelection,
    name: &BackupDirName,
    run: &RunId,
    page: u32,
    skip: u32,
) -> String {
    let (page, skip) = (page.to_string(), skip.to_string());
    encode_script_param(&[
        PROTOCOL,
        run.0.as_bytes(),
        sel.directory.as_bytes(),
        name.0.as_bytes(),
        page.as_bytes(),
        skip.as_bytes(),
    ])
}
