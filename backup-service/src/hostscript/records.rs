//! One record line of the host scripts' output → a typed record (grammar in `parse.rs`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::report::{CopyStatus, FailReason, WarningKind};
use super::{HostScriptError, Result};

/// `st_mode` file-type bits and the regular-file type.
const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;

/// A body line.
#[derive(Debug)]
pub(crate) enum Record {
    Found {
        rel: Vec<u8>,
        size: u64,
        mtime: i64,
    },
    /// A `C` or `X` manifest record.
    Copy {
        status: CopyStatus,
        rel: Vec<u8>,
        size: Option<u64>,
        mtime: Option<i64>,
        mode: Option<u32>,
        sha256: Option<String>,
        detail: Option<String>,
    },
    Warn {
        kind: WarningKind,
        rel: Option<Vec<u8>>,
        detail: Option<String>,
    },
    Error(String),
    /// `backup.sh`'s progress: records in the manifest so far.
    Progress(u64),
    /// `read.sh`'s summary of the manifest, printed before the page's records so a log cut
    /// short still tells it.
    Summary(Summary),
    /// `prune.sh`: what became of one candidate, as words (interpreted in `prune.rs`).
    Prune {
        name: Vec<u8>,
        outcome: Vec<u8>,
        reason: Vec<u8>,
        detail: Option<String>,
    },
}

/// The manifest as `read.sh` describes it in its `S` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Summary {
    pub(crate) found: u64,
    pub(crate) files: u64,
    pub(crate) pages: u64,
    pub(crate) complete: bool,
    pub(crate) settled: u64,
}

/// Parses one body line (`line` is 1-based, for errors).
pub(crate) fn parse_record(text: &[u8], line: usize) -> Result<Record> {
    let garbage = || HostScriptError::Garbage { line };
    let t: Vec<&[u8]> = text.split(|b| *b == b' ').collect();
    match t.as_slice() {
        [b"F", size, mtime, path] => Ok(Record::Found {
            rel: rel_path(path, line)?,
            size: unsigned(size).ok_or_else(garbage)?,
            mtime: seconds(mtime).ok_or_else(garbage)?,
        }),
        [b"C", path, size, mtime, mode, copy_sha, source_sha] => {
            let rel = rel_path(path, line)?;
            let sha = sha256(copy_sha).ok_or_else(garbage)?;
            let source = match *source_sha {
                b"-" => None,
                s => Some(sha256(s).ok_or_else(garbage)?),
            };
            let mode = std::str::from_utf8(mode)
                .ok()
                .filter(|m| {
                    !m.is_empty() && m.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                })
                .and_then(|m| u32::from_str_radix(m, 16).ok())
                .ok_or_else(garbage)?;
            let status = if mode & S_IFMT != S_IFREG {
                CopyStatus::Failed(FailReason::NotRegular)
            } else if source.as_deref() == Some(sha.as_str()) {
                CopyStatus::Copied
            } else {
                CopyStatus::Changed
            };
            let copied = status != CopyStatus::Failed(FailReason::NotRegular);
            Ok(Record::Copy {
                status,
                rel,
                size: Some(unsigned(size).ok_or_else(garbage)?).filter(|_| copied),
                mtime: Some(seconds(mtime).ok_or_else(garbage)?).filter(|_| copied),
                mode: Some(mode),
                sha256: Some(sha).filter(|_| copied),
                detail: None,
            })
        }
        [b"X", path, reason, detail] => Ok(Record::Copy {
            status: not_copied(reason).ok_or_else(garbage)?,
            rel: rel_path(path, line)?,
            size: None,
            mtime: None,
            mode: None,
            sha256: None,
            detail: text_field(detail).ok_or_else(garbage)?,
        }),
        [b"W", kind, path, detail] => {
            let kind = match *kind {
                b"unreadable_dir" => WarningKind::UnreadableDir,
                b"find_error" => WarningKind::FindError,
                _ => return Err(garbage()),
            };
            let rel = match *path {
                b"-" => None,
                p => Some(rel_path(p, line)?),
            };
            Ok(Record::Warn {
                kind,
                rel,
                detail: text_field(detail).ok_or_else(garbage)?,
            })
        }
        [b"P", files] => Ok(Record::Progress(unsigned(files).ok_or_else(garbage)?)),
        [b"S", found, files, pages, complete, settled] => {
            let num = |tok: &[u8], key: &[u8]| {
                tok.strip_prefix(key)
                    .and_then(|r| r.strip_prefix(b"="))
                    .and_then(unsigned)
                    .ok_or_else(garbage)
            };
            let complete = num(complete, b"complete")?;
            if complete > 1 {
                return Err(garbage());
            }
            Ok(Record::Summary(Summary {
                found: num(found, b"found")?,
                files: num(files, b"files")?,
                pages: num(pages, b"pages")?,
                complete: complete == 1,
                settled: num(settled, b"settled")?,
            }))
        }
        [b"R", name, outcome, reason, detail] => Ok(Record::Prune {
            name: name.to_vec(),
            outcome: outcome.to_vec(),
            reason: reason.to_vec(),
            detail: text_field(detail).ok_or_else(garbage)?,
        }),
        [b"E", detail] => Ok(Record::Error(
            text_field(detail).flatten().ok_or_else(garbage)?,
        )),
        _ => Err(garbage()),
    }
}

fn sha256(token: &[u8]) -> Option<String> {
    let ok = token.len() == 64 && token.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    ok.then(|| String::from_utf8_lossy(token).into_owned())
}

fn not_copied(reason: &[u8]) -> Option<CopyStatus> {
    let fail = |r: FailReason| Some(CopyStatus::Failed(r));
    match reason {
        b"vanished" => Some(CopyStatus::Vanished),
        b"disk_full" => fail(FailReason::DiskFull),
        b"permission_denied" => fail(FailReason::PermissionDenied),
        b"read_only" => fail(FailReason::ReadOnly),
        b"not_regular" => fail(FailReason::NotRegular),
        b"io_error" => fail(FailReason::Io),
        _ => None,
    }
}

/// Standard Base64 with padding; `-` is not Base64.
pub(crate) fn decode_b64(token: &[u8]) -> Option<Vec<u8>> {
    STANDARD.decode(token).ok()
}

/// `-` → `Some(None)`; Base64 → `Some(Some(lossy text))`; anything else → `None`.
fn text_field(token: &[u8]) -> Option<Option<String>> {
    if token == b"-" {
        return Some(None);
    }
    decode_b64(token).map(|b| Some(String::from_utf8_lossy(&b).into_owned()))
}

/// Whether every byte may travel raw (`./<rel>`): `[A-Za-z0-9._+@%=~,:/-]`.
fn safe_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"._+@%=~,:/-".contains(&b)
}

/// A path token: `./<rel>` with only safe bytes, or Base64 of `<rel>` behind up to two `./`
/// (the encoder pads each path to a multiple of 3 bytes; they are dropped). The path must be
/// non-empty, relative, without NUL and without empty, `.` or `..` segments.
fn rel_path(token: &[u8], line: usize) -> Result<Vec<u8>> {
    let rel = if let Some(raw) = token.strip_prefix(b"./") {
        if !raw.iter().all(|b| safe_byte(*b)) {
            return Err(HostScriptError::UnsafePath { line });
        }
        raw.to_vec()
    } else {
        let bytes = decode_b64(token).ok_or(HostScriptError::Garbage { line })?;
        let mut rel = bytes.as_slice();
        for _ in 0..2 {
            rel = rel.strip_prefix(b"./").unwrap_or(rel);
        }
        rel.to_vec()
    };
    let clean = !rel.is_empty()
        && !rel.contains(&0)
        && rel
            .split(|b| *b == b'/')
            .all(|seg| !seg.is_empty() && seg != b"." && seg != b"..");
    if !clean {
        return Err(HostScriptError::UnsafePath { line });
    }
    Ok(rel)
}

/// Decimal digits only (no sign, no `+`).
pub(crate) fn unsigned(token: &[u8]) -> Option<u64> {
    if token.is_empty() || !token.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(token).ok()?.parse().ok()
}

/// Epoch seconds, optionally negative, optionally followed by `.` and digits (ignored).
fn seconds(token: &[u8]) -> Option<i64> {
    let (neg, digits) = match token.strip_prefix(b"-") {
        Some(d) => (true, d),
        None => (false, token),
    };
    let (whole, fraction) = match digits.iter().position(|b| *b == b'.') {
        Some(dot) => (&digits[..dot], &digits[dot + 1..]),
        None => (digits, &b"0"[..]),
    };
    unsigned(fraction)?;
    let v = i64::try_from(unsigned(whole)?).ok()?;
    Some(if neg { -v } else { v })
}
