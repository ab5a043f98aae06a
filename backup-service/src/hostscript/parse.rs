//! Parser of one host's log from `search.sh` / `backup.sh` / `read.sh` into a typed report
//! (`prune.sh`'s report is parsed in `prune.rs`, on the same frame).
//!
//! Decision: the log is trusted only whole. A missing header or trailer, a count that disagrees,
//! a line that is not a record, a repeated or unsafe path is an error, never a partial result.
//!
//! # Output format, protocol 2 (the contract is `docs/host-protocol.md`)
//!
//! One record per line, `\n`-terminated, tokens separated by single spaces, only printable ASCII.
//! `<b64>` is standard Base64 with padding; `-` means absent. `<path>` is `./<rel>` when every
//! byte of the relative path is in `[A-Za-z0-9._+@%=~,:/-]`, else the Base64 of the path,
//! possibly preceded by one or two `./` (the encoder pads each path to a multiple of 3 bytes so
//! one `base64` process encodes them all); the parser drops them.
//!
//! ```text
//! @bkb 2 begin search <run_id> <b64 directory>
//! @bkb 2 begin backup <run_id> <b64 directory> <backup name>
//! @bkb 2 begin read <run_id> <b64 directory> <backup name> <page>
//! F <size> <mtime> <path>                                     search: a listed file
//! C <path> <size> <mtime> <hex mode> <copy sha256> <source sha256 | ->
//!     a copy was made: copied (regular, same sha), changed (regular, the source hashed
//!     differently or not at all after the copy), not regular (any other mode)
//! X <path> <reason> <b64 detail | ->                          not copied
//!     vanished | not_regular | disk_full | permission_denied | read_only | io_error
//! W unreadable_dir <path> -                                   a directory that could not be entered
//! W find_error - <b64 message>                                a message find printed
//! E <b64 message>                                             at most once: why the status is not ok
//! @bkb 2 end <run> <status> found=<n> bytes=<n> listed=<k> warnings=<w>
//! @bkb 2 end <run> <status> found=<n> files=<m> pages=<p> listed=<k> warnings=<w> resumed=<0|1>
//! @bkb 2 end <run> <status> found=<n> files=<m> pages=<p> listed=<k> complete=<0|1> settled=<s>
//! ```
//!
//! When its arguments cannot be read the script prints its header with `-` for every field, an
//! `E` line and a `script_error` trailer with run `-`.
//!
//! Rules: lines before the header that do not start with `@bkb` are ignored (login banners); a
//! JOB line prefix `[<time>][PID:<n>] ` is stripped; every line between header and trailer must
//! be a record of the header's kind; only blank lines may follow the trailer; header and trailer
//! must carry the expected run id, directory, backup name and page; `listed` is the number of
//! records; `ok` needs a match and every other status lists nothing; paths are unique in a log.

use std::collections::HashSet;

use super::args::{BackupDirName, FileSelection, RunId};
use super::frame::{Expect, Frame, Kind, Trailer, frame, require};
use super::records::Record;
use super::report::{
    BackedUpFile, BackupReport, FoundFile, HostPath, HostStatus, PageReport, ReadStatus,
    SearchReport, Warning,
};
use super::{HostScriptError, Result};

/// Parses one host's `search.sh` log, checking it belongs to `run` over `sel`.
pub fn parse_search_output(log: &[u8], sel: &FileSelection, run: &RunId) -> Result<SearchReport> {
    let dir = sel.directory().as_bytes();
    let want = Expect {
        kind: Kind::Search,
        dir,
        name: None,
        page: None,
        skip: None,
        run,
    };
    let Frame { records, trailer } = frame(log, &want)?;
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
    let status = host_status(&trailer)?;
    let (found, total_bytes) = (trailer.get("found"), trailer.get("bytes"));
    let listed_bytes = files.iter().fold(0u64, |acc, f| acc.saturating_add(f.size));
    body.counts(&trailer, files.len())?;
    trailer.require(listed_bytes <= total_bytes && files.len() as u64 <= found)?;
    trailer.require((status == HostStatus::Ok) == (found > 0))?;
    Ok(SearchReport {
        status,
        truncated: (files.len() as u64) < found,
        files,
        found,
        total_bytes,
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
    let (files, body) = copy_records(records, sel, &root)?;
    let status = host_status(&trailer)?;
    body.counts(&trailer, files.len())?;
    let (found, manifest_files) = (trailer.get("found"), trailer.get("files"));
    let pages = pages(&trailer)?;
    trailer.require(trailer.get("resumed") <= 1 && files.len() as u64 <= manifest_files)?;
    match status {
        HostStatus::Ok => trailer.require(found > 0 && manifest_files == found && pages > 0)?,
        HostStatus::NoFiles => trailer.require(found == 0 && manifest_files == 0)?,
        HostStatus::DiskFull => trailer.require(manifest_files <= found)?,
        _ => trailer.require(manifest_files == 0 && pages == 0)?,
    }
    Ok(BackupReport {
        status,
        backup_dir: HostPath::from_bytes(root),
        files,
        found,
        manifest_files,
        pages,
        resumed: trailer.flag("resumed"),
        warnings: body.warnings,
        error: body.error,
    })
}

/// The records a backup log carries even when it was cut short (job cancelled or timed out):
/// `backup.sh` prints page 0 only after every record in it was verified, so every complete
/// line is a fact. A complete log is checked as by [`parse_backup_output`]; any error other
/// than the missing trailer still fails. The manifest on the host holds the rest
/// ([`parse_read_output`]).
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
    Ok(copy_records(records, sel, &root)?.0)
}

/// Parses one host's `read.sh` log of page `page` of the backup `name` of `run`.
pub fn parse_read_output(
    log: &[u8],
    sel: &FileSelection,
    name: &BackupDirName,
    run: &RunId,
    page: u32,
) -> Result<PageReport> {
    parse_read_output_at(log, sel, name, run, page, 0)
}

/// Parses one host's `read.sh` log of page `page` from its record `skip` on. A log cut short
/// after its summary (`S`) line is not an error: the report is `cut`, with the complete
/// records before the cut, so the next read can start after them.
pub fn parse_read_output_at(
    log: &[u8],
    sel: &FileSelection,
    name: &BackupDirName,
    run: &RunId,
    page: u32,
    skip: u32,
) -> Result<PageReport> {
    let dir = sel.directory().as_bytes();
    let want = Expect {
        kind: Kind::Read,
        dir,
        name: Some(name.as_str()),
        page: Some(page),
        skip: Some(skip),
        run,
    };
    let Frame {
        mut records,
        trailer,
    } = frame(log, &want)?;
    // The summary comes first, right after the header, when there is one.
    let summary = match records.first() {
        Some((_, Record::Summary(s))) => Some(*s),
        _ => None,
    };
    if summary.is_some() {
        records.remove(0);
    }
    let Some(trailer) = trailer else {
        let Some(s) = summary else {
            return Err(HostScriptError::Truncated {
                records: records.len(),
            });
        };
        let (files, body) = copy_records(records, sel, &backup_root(sel, name))?;
        if !body.warnings.is_empty() || body.error.is_some() {
            return Err(HostScriptError::Truncated {
                records: files.len(),
            });
        }
        return Ok(PageReport {
            status: ReadStatus::Ok,
            files,
            found: s.found,
            manifest_files: s.files,
            pages: u32::try_from(s.pages).unwrap_or(u32::MAX),
            complete: s.complete,
            settled: s.settled,
            error: None,
            cut: true,
        });
    };
    let (files, body) = copy_records(records, sel, &backup_root(sel, name))?;
    if !body.warnings.is_empty() {
        return Err(HostScriptError::Garbage { line: trailer.line });
    }
    let status = ReadStatus::from_wire(&trailer.status)
        .ok_or(HostScriptError::Garbage { line: trailer.line })?;
    body.counts(&trailer, files.len())?;
    let (found, manifest_files) = (trailer.get("found"), trailer.get("files"));
    let pages = pages(&trailer)?;
    let complete = trailer.flag("complete");
    let settled = trailer.get("settled");
    trailer.require(trailer.get("complete") <= 1 && files.len() as u64 <= manifest_files)?;
    if let Some(s) = summary {
        let same = (s.found, s.files, u64::from(pages), s.complete, s.settled)
            == (found, manifest_files, u64::from(pages), complete, settled)
            && s.pages == u64::from(pages);
        trailer.require(same && status == ReadStatus::Ok)?;
    }
    if status == ReadStatus::Ok {
        trailer.require(page < pages && summary.is_some())?;
    } else {
        trailer.require(files.is_empty())?;
    }
    Ok(PageReport {
        status,
        files,
        found,
        manifest_files,
        pages,
        complete,
        settled,
        error: body.error,
        cut: false,
    })
}

fn host_status(trailer: &Trailer) -> Result<HostStatus> {
    HostStatus::from_wire(&trailer.status).ok_or(HostScriptError::Garbage { line: trailer.line })
}

fn pages(trailer: &Trailer) -> Result<u32> {
    u32::try_from(trailer.get("pages")).map_err(|_| HostScriptError::Garbage { line: trailer.line })
}

fn backup_root(sel: &FileSelection, name: &BackupDirName) -> Vec<u8> {
    let dir = sel.directory().as_bytes();
    [dir, b"backup", name.as_str().as_bytes()].join(&b"/"[..])
}

fn backup_frame(
    log: &[u8],
    sel: &FileSelection,
    name: &BackupDirName,
    run: &RunId,
) -> Result<(Vec<u8>, Frame)> {
    let mut frame = frame(log, &backup_expect(sel, name, run))?;
    // Progress lines say how far the run had got; the manifest's records are the facts.
    frame
        .records
        .retain(|(_, r)| !matches!(r, Record::Progress(_)));
    Ok((backup_root(sel, name), frame))
}

/// What the header of `run`'s backup of `sel` into `name` must say.
fn backup_expect<'a>(
    sel: &'a FileSelection,
    name: &'a BackupDirName,
    run: &'a RunId,
) -> Expect<'a> {
    Expect {
        kind: Kind::Backup,
        dir: sel.directory().as_bytes(),
        name: Some(name.as_str()),
        page: None,
        skip: None,
        run,
    }
}

/// How many files a running `backup.sh` has copied and recorded so far: its last `P` line, if
/// its log (of this run, header checked) has one yet.
pub fn backup_progress(
    log: &[u8],
    sel: &FileSelection,
    name: &BackupDirName,
    run: &RunId,
) -> Option<u64> {
    frame(log, &backup_expect(sel, name, run))
        .ok()?
        .records
        .iter()
        .rev()
        .find_map(|(_, r)| match r {
            Record::Progress(n) => Some(*n),
            _ => None,
        })
}

fn copy_records<'a>(
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
                mode,
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
                    mode,
                    sha256,
                    detail,
                });
            }
            other => body.common(other, line)?,
        }
    }
    Ok((files, body))
}

/// Warnings, the error line and path uniqueness, shared by all kinds.
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

    /// The trailer's `listed` (and `warnings`, where the kind has them) against the lines.
    fn counts(&self, trailer: &Trailer, listed: usize) -> Result<()> {
        trailer.expect("listed", listed as u64)?;
        if trailer.has("warnings") {
            trailer.expect("warnings", self.warnings.len() as u64)?;
        }
        Ok(())
    }
}
