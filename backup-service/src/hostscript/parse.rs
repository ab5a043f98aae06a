//! Parser of one host's log from `search.sh` / `backup.sh` into a typed report.
//!
//! Decision: the log is trusted only whole. A missing header or trailer, a count that disagrees,
//! a line that is not a record, a repeated or unsafe path is an error, never a partial result.
//!
//! # Output format, protocol 1
//!
//! One record per line, `\n`-terminated, tokens separated by single spaces, only printable ASCII.
//! `<b64>` is standard Base64 with padding; `-` means absent. `<path>` is the Base64 of a path
//! relative to the directory, possibly preceded by one or two `./` (the encoder pads each path to
//! a multiple of 3 bytes so one `base64` process encodes them all); the parser drops them.
//!
//! ```text
//! @bkb 1 begin search <run_id> <b64 directory>
//! @bkb 1 begin backup <run_id> <b64 directory> <backup name>
//! F <path> <size> <mtime>                                search: one line per file
//! C <status> <path> <size> <mtime> <sha256> <reason> <b64 detail>
//!                                                        backup: one line per file
//!     copied | changed   size, mtime (epoch s) and lowercase-hex sha256 of the copy; reason and
//!                        detail `-`. changed = the source hashed differently after the copy
//!     vanished           all `-`: the file was gone when its turn came
//!     failed             size, mtime, sha256 `-`; reason disk_full | permission_denied |
//!                        read_only | not_regular | io_error; detail = the tool's message or `-`
//! W unreadable_dir <path> -                              a directory that could not be entered
//! W find_error - <b64 message>                           a message find printed
//! E <b64 message>                                        at most once: why the status is not ok
//! @bkb 1 end <run_id> <status> files=<n> bytes=<n> truncated=<0|1> warnings=<n>[ resumed=<0|1>]
//!     status  ok | no_files | dir_missing | not_a_directory | permission_denied |
//!             backup_exists | script_error
//!     files = F/C lines, bytes = sum of F sizes (search) or copied/changed sizes (backup),
//!     warnings = W lines (at most 100), resumed = backup only
//! ```
//!
//! When its arguments cannot be read the script prints `@bkb 1 begin <kind> - -` (and `-` for
//! the backup name), an `E` line and a `script_error` trailer with run `-`.
//!
//! Rules: lines before the header that do not start with `@bkb` are ignored (login banners); a
//! JOB line prefix `[<time>][PID:<n>] ` is stripped; every line between header and trailer must
//! be a record of the header's kind; only blank lines may follow the trailer; header and trailer
//! must carry the expected run id, directory and backup name; `ok` needs at least one file and
//! every other status none; paths are unique.

use std::collections::HashSet;

use super::args::{BackupDirName, FileSelection, RunId};
use super::frame::{Frame, frame, require};
use super::records::Record;
use super::report::{BackedUpFile, BackupReport, FoundFile, HostPath, SearchReport, Warning};
use super::{HostScriptError, Result};

/// Parses one host's `search.sh` log, checking it belongs to `run` over `sel`.
pub fn parse_search_output(log: &[u8], sel: &FileSelection, run: &RunId) -> Result<SearchReport> {
    let dir = sel.directory().as_bytes();
    let Frame { records, trailer } = frame(log, "search", dir, None, run)?;
    let trailer = require(trailer, records.len())?;
    let mut body = Body::new(dir);
    let mut files = Vec::new();
    for (line, record) in records {
        match record {
            Record::Found { rel, size, mtime } => {
                body.unique(&rel, line)?;
                files.push(FoundFile {
                    path: HostPath::join(&[dir, &rel]),
                    size,
                    mtime,
                });
            }
            other => body.common(other, line)?,
        }
    }
    let total_bytes = files.iter().fold(0u64, |acc, f| acc.saturating_add(f.size));
    trailer.check(files.len(), total_bytes, body.warnings.len())?;
    Ok(SearchReport {
        status: trailer.status,
        files,
        total_bytes,
        truncated: trailer.truncated,
        warnings: body.warnings,
        error: body.error,
    })
}

/// Parses one host's `backup.sh` log, checking it belongs to `run` backing up `sel` into `name`.
pub fn parse_backup_output(
    log: &[u8],
    sel: &FileSelection,
    name: &BackupDirName,
    run: &RunId,
) -> Result<BackupReport> {
    let (root, Frame { records, trailer }) = backup_frame(log, sel, name, run)?;
    let trailer = require(trailer, records.len())?;
    let (files, body) = backup_files(records, sel, &root)?;
    let copied_bytes = files
        .iter()
        .filter_map(|f| f.size)
        .fold(0u64, u64::saturating_add);
    trailer.check(files.len(), copied_bytes, body.warnings.len())?;
    Ok(BackupReport {
        status: trailer.status,
        backup_dir: HostPath::from_bytes(root),
        files,
        copied_bytes,
        truncated: trailer.truncated,
        resumed: trailer.resumed == Some(true),
        warnings: body.warnings,
        error: body.error,
    })
}

/// The files a backup log reports even when it was cut short (job cancelled or timed out, log
/// capped): `backup.sh` prints a `C` line only after the copy was made and hashed, so every
/// complete line is a fact. A complete log is checked as by [`parse_backup_output`]; any error
/// other than the missing trailer still fails.
pub fn parse_partial_backup_output(
    log: &[u8],
    sel: &FileSelection,
    name: &BackupDirName,
    run: &RunId,
) -> Result<Vec<BackedUpFile>> {
    let (root, Frame { records, trailer }) = backup_frame(log, sel, name, run)?;
    if trailer.is_some() {
        return parse_backup_output(log, sel, name, run).map(|r| r.files);
    }
    Ok(backup_files(records, sel, &root)?.0)
}

fn backup_frame(
    log: &[u8],
    sel: &FileSelection,
    name: &BackupDirName,
    run: &RunId,
) -> Result<(Vec<u8>, Frame)> {
    let dir = sel.directory().as_bytes();
    let frame = frame(log, "backup", dir, Some(name.as_str()), run)?;
    Ok((
        [dir, b"backup", name.as_str().as_bytes()].join(&b"/"[..]),
        frame,
    ))
}

fn backup_files<'a>(
    records: Vec<(usize, Record)>,
    sel: &'a FileSelection,
    root: &[u8],
) -> Result<(Vec<BackedUpFile>, Body<'a>)> {
    let dir = sel.directory().as_bytes();
    let mut body = Body::new(dir);
    let mut files = Vec::new();
    for (line, record) in records {
        match record {
            Record::Copy {
                status,
                rel,
                size,
                mtime,
                sha256,
                detail,
            } => {
                body.unique(&rel, line)?;
                files.push(BackedUpFile {
                    source: HostPath::join(&[dir, &rel]),
                    backup: HostPath::join(&[root, &rel]),
                    status,
                    size,
                    mtime,
                    sha256,
                    detail,
                });
            }
            other => body.common(other, line)?,
        }
    }
    Ok((files, body))
}

/// Warnings, the error line and path uniqueness, shared by both kinds.
struct Body<'a> {
    dir: &'a [u8],
    seen: HashSet<Vec<u8>>,
    warnings: Vec<Warning>,
    error: Option<String>,
}

impl<'a> Body<'a> {
    fn new(dir: &'a [u8]) -> Self {
        Self {
            dir,
            seen: HashSet::new(),
            warnings: Vec::new(),
            error: None,
        }
    }

    fn unique(&mut self, rel: &[u8], line: usize) -> Result<()> {
        if !self.seen.insert(rel.to_vec()) {
            return Err(HostScriptError::DuplicatePath { line });
        }
        Ok(())
    }

    /// `W` and `E` lines; a record of the other kind is garbage.
    fn common(&mut self, record: Record, line: usize) -> Result<()> {
        match record {
            Record::Warn { kind, rel, detail } => self.warnings.push(Warning {
                kind,
                path: rel.map(|r| HostPath::join(&[self.dir, &r])),
                detail,
            }),
            Record::Error(e) if self.error.is_none() => self.error = Some(e),
            _ => return Err(HostScriptError::Garbage { line }),
        }
        Ok(())
    }
}
