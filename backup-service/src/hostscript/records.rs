//! One record line of the host scripts' output → a typed record (grammar in `parse.rs`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::report::{CopyStatus, FailReason, WarningKind};
use super::{HostScriptError, Result};

/// A body line.
#[derive(Debug)]
pub(crate) enum Record {
    Found {
        rel: Vec<u8>,
        size: u64,
        mtime: i64,
    },
    Copy {
        status: CopyStatus,
        rel: Vec<u8>,
        size: Option<u64>,
        mtime: Option<i64>,
        sha256: Option<String>,
        detail: Option<String>,
    },
    Warn {
        kind: WarningKind,
        rel: Option<Vec<u8>>,
        detail: Option<String>,
    },
    Error(String),
}

/// Parses one body line (`line` is 1-based, for errors).
pub(crate) fn parse_record(text: &[u8], line: usize) -> Result<Record> {
    let garbage = || HostScriptError::Garbage { line };
    let t: Vec<&[u8]> = text.split(|b| *b == b' ').collect();
    match t.as_slice() {
        [b"F", path, size, mtime] => Ok(Record::Found {
            rel: rel_path(path, line)?,
            size: unsigned(size).ok_or_else(garbage)?,
            mtime: signed(mtime).ok_or_else(garbage)?,
        }),
        [b"C", status, path, size, mtime, sha, reason, detail] => {
            let rel = rel_path(path, line)?;
            let status = copy_status(status, reason).ok_or_else(garbage)?;
            let copied = matches!(status, CopyStatus::Copied | CopyStatus::Changed);
            let (size, mtime, sha256) = if copied {
                let sha = std::str::from_utf8(sha)
                    .ok()
                    .filter(|s| {
                        s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                    })
                    .ok_or_else(garbage)?;
                let size = unsigned(size).ok_or_else(garbage)?;
                let mtime = signed(mtime).ok_or_else(garbage)?;
                (Some(size), Some(mtime), Some(sha.to_string()))
            } else if [*size, *mtime, *sha] == [b"-"; 3] {
                (None, None, None)
            } else {
                return Err(garbage());
            };
            if copied && *reason != b"-" {
                return Err(garbage());
            }
            Ok(Record::Copy {
                status,
                rel,
                size,
                mtime,
                sha256,
                detail: text_field(detail).ok_or_else(garbage)?,
            })
        }
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
        [b"E", detail] => Ok(Record::Error(
            text_field(detail).flatten().ok_or_else(garbage)?,
        )),
        _ => Err(garbage()),
    }
}

fn copy_status(status: &[u8], reason: &[u8]) -> Option<CopyStatus> {
    let fail = |r: FailReason| Some(CopyStatus::Failed(r));
    match (status, reason) {
        (b"copied", _) => Some(CopyStatus::Copied),
        (b"changed", _) => Some(CopyStatus::Changed),
        (b"vanished", b"-") => Some(CopyStatus::Vanished),
        (b"failed", b"disk_full") => fail(FailReason::DiskFull),
        (b"failed", b"permission_denied") => fail(FailReason::PermissionDenied),
        (b"failed", b"read_only") => fail(FailReason::ReadOnly),
        (b"failed", b"not_regular") => fail(FailReason::NotRegular),
        (b"failed", b"io_error") => fail(FailReason::Io),
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

/// A path relative to the directory: up to two leading `./` (encoder padding) are dropped; the
/// rest must be non-empty, relative, without NUL and without empty, `.` or `..` segments.
fn rel_path(token: &[u8], line: usize) -> Result<Vec<u8>> {
    let bytes = decode_b64(token).ok_or(HostScriptError::Garbage { line })?;
    let mut rel = bytes.as_slice();
    for _ in 0..2 {
        rel = rel.strip_prefix(b"./").unwrap_or(rel);
    }
    let clean = !rel.is_empty()
        && !rel.contains(&0)
        && rel
            .split(|b| *b == b'/')
            .all(|seg| !seg.is_empty() && seg != b"." && seg != b"..");
    if !clean {
        return Err(HostScriptError::UnsafePath { line });
    }
    Ok(rel.to_vec())
}

/// Decimal digits only (no sign, no `+`).
pub(crate) fn unsigned(token: &[u8]) -> Option<u64> {
    if token.is_empty() || !token.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(token).ok()?.parse().ok()
}

fn signed(token: &[u8]) -> Option<i64> {
    let (neg, digits) = match token.strip_prefix(b"-") {
        Some(d) => (true, d),
        None => (false, token),
    };
    let v = i64::try_from(unsigned(digits)?).ok()?;
    Some(if neg { -v } else { v })
}
