//! The frame of a host script's log: header, record lines and trailer (grammar in `parse.rs`).
//!
//! Decision: an unparsable final fragment (no trailer after it) means the log was cut short, so
//! it is reported as truncation rather than garbage.

use super::args::RunId;
use super::records::{Record, decode_b64, parse_record, unsigned};
use super::{HostScriptError, Result};

/// The protocol word of header and trailer.
const PROTOCOL: &[u8] = b"2";

/// Which script's log, and what its header must name.
pub(crate) struct Expect<'a> {
    pub(crate) kind: Kind,
    pub(crate) dir: &'a [u8],
    /// The backup name (backup, read) or the schedule (prune).
    pub(crate) name: Option<&'a str>,
    pub(crate) page: Option<u32>,
    /// Records of the page skipped (read only).
    pub(crate) skip: Option<u32>,
    pub(crate) run: &'a RunId,
}

/// The four scripts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Search,
    Backup,
    Read,
    Prune,
}

impl Kind {
    fn word(self) -> &'static [u8] {
        match self {
            Self::Search => b"search",
            Self::Backup => b"backup",
            Self::Read => b"read",
            Self::Prune => b"prune",
        }
    }

    /// The trailer's counters, in order.
    fn keys(self) -> &'static [&'static str] {
        match self {
            Self::Search => &["found", "bytes", "listed", "warnings"],
            Self::Backup => &["found", "files", "pages", "listed", "warnings", "resumed"],
            Self::Read => &["found", "files", "pages", "listed", "complete", "settled"],
            Self::Prune => &["candidates", "pruned", "gone", "kept", "failed"],
        }
    }
}

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

/// The trailer: its status word and counters (named by [`Kind::keys`]).
pub(crate) struct Trailer {
    pub(crate) line: usize,
    pub(crate) status: Vec<u8>,
    keys: &'static [&'static str],
    values: Vec<u64>,
}

impl Trailer {
    /// The counter `key` (one of the kind's keys).
    pub(crate) fn get(&self, key: &str) -> u64 {
        let i = self.keys.iter().position(|k| *k == key);
        i.map_or(0, |i| self.values[i])
    }

    /// Whether the kind's trailer has the counter `key`.
    pub(crate) fn has(&self, key: &str) -> bool {
        self.keys.contains(&key)
    }

    /// A `0`/`1` counter as a flag.
    pub(crate) fn flag(&self, key: &str) -> bool {
        self.get(key) == 1
    }

    /// [`HostScriptError::CountMismatch`] unless `key` says `found`.
    pub(crate) fn expect(&self, key: &'static str, found: u64) -> Result<()> {
        let expected = self.get(key);
        if expected != found {
            return Err(HostScriptError::CountMismatch {
                field: key,
                expected,
                found,
            });
        }
        Ok(())
    }

    /// [`HostScriptError::Garbage`] at the trailer unless `ok`.
    pub(crate) fn require(&self, ok: bool) -> Result<()> {
        if ok {
            Ok(())
        } else {
            Err(HostScriptError::Garbage { line: self.line })
        }
    }
}

/// Finds header, records and trailer, and checks the frame belongs to this run.
pub(crate) fn frame(log: &[u8], want: &Expect<'_>) -> Result<Frame> {
    let lines: Vec<&[u8]> = log.split(|b| *b == b'\n').map(strip_job_prefix).collect();
    let at = |i: usize| i + 1;
    let mut i = 0;
    let anonymous = loop {
        let Some(l) = lines.get(i) else {
            return Err(HostScriptError::MissingHeader);
        };
        i += 1;
        if l.starts_with(b"@bkb") {
            match header(l, at(i - 1), want) {
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
            match parse_trailer(l, at(i - 1), want, anonymous) {
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

/// Checks `@bkb 2 begin <kind> <run> <dir> [<name> [<page> <skip>]]`; returns whether the run is
/// anonymous (`-`: the script could not read its arguments).
fn header(l: &[u8], line: usize, want: &Expect<'_>) -> Result<bool> {
    let t: Vec<&[u8]> = l.split(|b| *b == b' ').collect();
    if t.first() != Some(&&b"@bkb"[..]) || t.len() < 3 {
        return Err(HostScriptError::Garbage { line });
    }
    if t[1] != PROTOCOL {
        return Err(HostScriptError::UnsupportedVersion(
            String::from_utf8_lossy(t[1]).into_owned(),
        ));
    }
    if t[2] != b"begin" {
        return Err(HostScriptError::MissingHeader);
    }
    if t.get(3) != Some(&want.kind.word()) {
        return Err(HostScriptError::Mismatch { field: "script" });
    }
    let arity = match want.kind {
        Kind::Search => 6,
        Kind::Backup | Kind::Prune => 7,
        Kind::Read => 9,
    };
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
    if t[4] != want.run.as_str().as_bytes() {
        return Err(HostScriptError::Mismatch { field: "run_id" });
    }
    if decode_b64(t[5]).as_deref() != Some(want.dir) {
        return Err(HostScriptError::Mismatch { field: "directory" });
    }
    if let Some(name) = want.name
        && t[6] != name.as_bytes()
    {
        let field = if want.kind == Kind::Prune {
            "schedule"
        } else {
            "backup_name"
        };
        return Err(HostScriptError::Mismatch { field });
    }
    if let Some(page) = want.page
        && t[7] != page.to_string().as_bytes()
    {
        return Err(HostScriptError::Mismatch { field: "page" });
    }
    if let Some(skip) = want.skip
        && t[8] != skip.to_string().as_bytes()
    {
        return Err(HostScriptError::Mismatch { field: "skip" });
    }
    Ok(false)
}

/// Parses `@bkb 2 end <run> <status> <key>=<n>…` with the kind's keys in order.
fn parse_trailer(l: &[u8], line: usize, want: &Expect<'_>, anonymous: bool) -> Result<Trailer> {
    let garbage = || HostScriptError::Garbage { line };
    let t: Vec<&[u8]> = l.split(|b| *b == b' ').collect();
    if t.get(2) == Some(&&b"begin"[..]) {
        return Err(HostScriptError::MixedLog { line });
    }
    let keys = want.kind.keys();
    if t.len() != 5 + keys.len() || t[0] != b"@bkb" || t[1] != PROTOCOL || t[2] != b"end" {
        return Err(garbage());
    }
    let expected_run = if anonymous { "-" } else { want.run.as_str() };
    if t[3] != expected_run.as_bytes() {
        return Err(HostScriptError::Mismatch { field: "run_id" });
    }
    if anonymous && t[4] != b"script_error" {
        return Err(garbage());
    }
    let values = keys
        .iter()
        .zip(&t[5..])
        .map(|(key, tok)| {
            tok.strip_prefix(key.as_bytes())
                .and_then(|r| r.strip_prefix(b"="))
                .and_then(unsigned)
                .ok_or_else(garbage)
        })
        .collect::<Result<Vec<u64>>>()?;
    Ok(Trailer {
        line,
        status: t[4].to_vec(),
        keys,
        values,
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
