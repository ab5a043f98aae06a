//! The frame of a host script's log: header, record lines and trailer (grammar in `parse.rs`).
//!
//! Decision: an unparsable final fragment (no trailer after it) means the log was cut short, so
//! it is reported as truncation rather than garbage.

use super::args::RunId;
use super::records::{Record, decode_b64, parse_record, unsigned};
use super::report::HostStatus;
use super::{HostScriptError, Result};

/// The complete records after a checked header, with their 1-based line numbers, and the
/// trailer (`None` when the log was cut short).
pub(crate) struct Frame {
    pub(crate) records: Vec<(usize, Record)>,
    pub(crate) trailer: Option<Trailer>,
}

/// The trailer, or [`HostScriptError::Truncated`] after `records` complete records.
pub(crate) fn require(trailer: Option<Trailer>, records: usize) -> Result<Trailer> {
    trailer.ok_or(HostScriptError::Truncated { records })
}

/// The trailer's counts.
pub(crate) struct Trailer {
    pub(crate) line: usize,
    pub(crate) status: HostStatus,
    pub(crate) files: u64,
    pub(crate) bytes: u64,
    pub(crate) truncated: bool,
    pub(crate) warnings: u64,
    pub(crate) resumed: Option<bool>,
}

impl Trailer {
    /// Checks the counts against the records, and that `ok` comes with files and nothing else does.
    pub(crate) fn check(&self, files: usize, bytes: u64, warnings: usize) -> Result<()> {
        for (field, expected, found) in [
            ("files", self.files, files as u64),
            ("bytes", self.bytes, bytes),
            ("warnings", self.warnings, warnings as u64),
        ] {
            if expected != found {
                return Err(HostScriptError::CountMismatch {
                    field,
                    expected,
                    found,
                });
            }
        }
        if (self.status == HostStatus::Ok) != (files > 0) {
            return Err(HostScriptError::Garbage { line: self.line });
        }
        Ok(())
    }
}

/// Finds header, records and trailer, and checks the frame belongs to this run.
pub(crate) fn frame(
    log: &[u8],
    kind: &str,
    dir: &[u8],
    name: Option<&str>,
    run: &RunId,
) -> Result<Frame> {
    let lines: Vec<&[u8]> = log.split(|b| *b == b'\n').map(strip_job_prefix).collect();
    let at = |i: usize| i + 1;
    let mut i = 0;
    let anonymous = loop {
        let Some(l) = lines.get(i) else {
            return Err(HostScriptError::MissingHeader);
        };
        i += 1;
        if l.starts_with(b"@bkb") {
            match header(l, at(i - 1), kind, dir, name, run) {
                Ok(anonymous) => break anonymous,
                Err(_) if i == lines.len() => return Err(HostScriptError::MissingHeader),
                Err(e) => return Err(e),
            }
        }
    };
    let mut records = Vec::new();
    let mut trailer = None;
    while let Some(l) = lines.get(i) {
        i += 1;
        // The last element is an unterminated fragment (or empty): a log cut short.
        let last = i == lines.len();
        if l.starts_with(b"@bkb") {
            match parse_trailer(l, at(i - 1), kind, run, anonymous) {
                Ok(t) => {
                    trailer = Some(t);
                    break;
                }
                Err(_) if last => {}
                Err(e) => return Err(e),
            }
        } else {
            match parse_record(l, at(i - 1)) {
                Ok(r) if !last => records.push((at(i - 1), r)),
                Err(e) if !last => return Err(e),
                _ => {}
            }
        }
    }
    if trailer.is_some()
        && let Some(j) = (i..lines.len()).find(|&j| !lines[j].trim_ascii().is_empty())
    {
        return Err(HostScriptError::MixedLog { line: at(j) });
    }
    Ok(Frame { records, trailer })
}

/// Checks `@bkb 1 begin <kind> <run> <dir> [<name>]`; returns whether the run is anonymous (`-`).
fn header(
    l: &[u8],
    line: usize,
    kind: &str,
    dir: &[u8],
    name: Option<&str>,
    run: &RunId,
) -> Result<bool> {
    let t: Vec<&[u8]> = l.split(|b| *b == b' ').collect();
    if t.first() != Some(&&b"@bkb"[..]) || t.len() < 3 {
        return Err(HostScriptError::Garbage { line });
    }
    if t[1] != b"1" {
        return Err(HostScriptError::UnsupportedVersion(
            String::from_utf8_lossy(t[1]).into_owned(),
        ));
    }
    if t[2] != b"begin" {
        return Err(HostScriptError::MissingHeader);
    }
    if t.get(3) != Some(&kind.as_bytes()) {
        return Err(HostScriptError::Mismatch { field: "script" });
    }
    let arity = if name.is_some() { 7 } else { 6 };
    if t.len() != arity {
        return Err(HostScriptError::Garbage { line });
    }
    if t[4] == b"-" {
        return if t[5..].iter().all(|x| *x == b"-") {
            Ok(true)
        } else {
            Err(HostScriptError::Garbage { line })
        };
    }
    if t[4] != run.as_str().as_bytes() {
        return Err(HostScriptError::Mismatch { field: "run_id" });
    }
    if decode_b64(t[5]).as_deref() != Some(dir) {
        return Err(HostScriptError::Mismatch { field: "directory" });
    }
    if let Some(name) = name
        && t[6] != name.as_bytes()
    {
        return Err(HostScriptError::Mismatch {
            field: "backup_name",
        });
    }
    Ok(false)
}

/// Parses `@bkb 1 end <run> <status> files= bytes= truncated= warnings= [resumed=]`.
fn parse_trailer(
    l: &[u8],
    line: usize,
    kind: &str,
    run: &RunId,
    anonymous: bool,
) -> Result<Trailer> {
    let garbage = || HostScriptError::Garbage { line };
    let t: Vec<&[u8]> = l.split(|b| *b == b' ').collect();
    if t.get(2) == Some(&&b"begin"[..]) {
        return Err(HostScriptError::MixedLog { line });
    }
    let backup = kind == "backup";
    let arity = if backup { 10 } else { 9 };
    if t.len() != arity || t[0] != b"@bkb" || t[1] != b"1" || t[2] != b"end" {
        return Err(garbage());
    }
    let expected_run = if anonymous { "-" } else { run.as_str() };
    if t[3] != expected_run.as_bytes() {
        return Err(HostScriptError::Mismatch { field: "run_id" });
    }
    let status = HostStatus::from_wire(t[4]).ok_or_else(garbage)?;
    if anonymous && status != HostStatus::ScriptError {
        return Err(garbage());
    }
    let num = |i: usize, key: &[u8]| t[i].strip_prefix(key).and_then(unsigned);
    let flag = |i: usize, key: &[u8]| match t[i].strip_prefix(key) {
        Some(b"0") => Some(false),
        Some(b"1") => Some(true),
        _ => None,
    };
    Ok(Trailer {
        line,
        status,
        files: num(5, b"files=").ok_or_else(garbage)?,
        bytes: num(6, b"bytes=").ok_or_else(garbage)?,
        truncated: flag(7, b"truncated=").ok_or_else(garbage)?,
        warnings: num(8, b"warnings=").ok_or_else(garbage)?,
        resumed: if backup {
            Some(flag(9, b"resumed=").ok_or_else(garbage)?)
        } else {
            None
        },
    })
}

/// Drops a JOB line prefix `[<anything>][PID:<digits>] ` or `[<anything>] `.
fn strip_job_prefix(l: &[u8]) -> &[u8] {
    let Some(rest) = l.strip_prefix(b"[") else {
        return l;
    };
    let Some(end) = rest.iter().position(|b| *b == b']') else {
        return l;
    };
    let mut rest = &rest[end + 1..];
    if let Some(pid) = rest.strip_prefix(b"[PID:")
        && let Some(e) = pid.iter().position(|b| *b == b']')
        && e > 0
        && pid[..e].iter().all(u8::is_ascii_digit)
    {
        rest = &pid[e + 1..];
    }
    rest.strip_prefix(b" ").unwrap_or(l)
}
