//! Page tokens. Keyset tokens of the listings sorted by `(time desc, id desc)`: ListBackups,
//! ListSchedules, ListScheduleRuns and ListAuditEvents ([`encode`]); and tokens carrying one
//! opaque key ([`encode_key`]): HostService's listings, whose key is job-gateway's own token
//! or the last host id. A token is opaque to clients (URL-safe base64) and carries a kind, the
//! key and a hash of the filters it was issued for, so a token used with other filters, or on
//! another listing, is INVALID_ARGUMENT `page_token`.

use std::fmt::{Debug, Display};
use std::str::FromStr;

use base64::Engine as _;
use chrono::{DateTime, Utc};

use crate::error::{BackupError, Result};

/// The hash a token carries of `filter` (its `Debug` text; the same on every replica).
fn fingerprint(filter: &impl Debug) -> u64 {
    crate::records::fnv1a(&format!("{filter:?}"))
}

/// The token of the page after the row sorted at `(at, id)` of a listing of `kind` (a short
/// tag, no `:`) under `filter`.
pub fn encode(kind: &str, at: DateTime<Utc>, id: impl Display, filter: &impl Debug) -> String {
    let raw = format!(
        "{kind}:{}:{id}:{:016x}",
        at.timestamp_micros(),
        fingerprint(filter)
    );
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// The token of the page after `key` (any text) of a listing of `kind` under `filter`.
pub fn encode_key(kind: &str, key: &str, filter: &impl Debug) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let raw = format!("{kind}:{}:{:016x}", b64.encode(key), fingerprint(filter));
    b64.encode(raw)
}

/// The key `token` holds, if it was issued by [`encode_key`] for `kind` and `filter`.
pub fn decode_key(kind: &str, token: &str, filter: &impl Debug) -> Result<String> {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).ok();
    let raw = b64
        .decode(token)
        .ok()
        .and_then(text)
        .ok_or_else(bad_token)?;
    let parts: Vec<&str> = raw.split(':').collect();
    let [tag, key, fp] = parts.as_slice() else {
        return Err(bad_token());
    };
    if *tag != kind || u64::from_str_radix(fp, 16).ok() != Some(fingerprint(filter)) {
        return Err(bad_token());
    }
    b64.decode(key).ok().and_then(text).ok_or_else(bad_token)
}

fn bad_token() -> BackupError {
    BackupError::invalid(
        "page_token",
        "page_token is malformed or was issued for different filters",
    )
}

/// The sort key `token` holds, if it was issued by [`encode`] for `kind` and `filter`.
pub fn decode<K: FromStr>(
    kind: &str,
    token: &str,
    filter: &impl Debug,
) -> Result<(DateTime<Utc>, K)> {
    let bad = bad_token;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let parts: Vec<&str> = raw.split(':').collect();
    let [tag, micros, id, fp] = parts.as_slice() else {
        return Err(bad());
    };
    if *tag != kind || u64::from_str_radix(fp, 16).ok() != Some(fingerprint(filter)) {
        return Err(bad());
    }
    let at = micros
        .parse()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(bad)?;
    let id = id.parse().map_err(|_| bad())?;
    Ok((at, id))
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    #[test]
    fn a_token_reads_back_only_for_its_own_kind_and_filter() {
        let at = DateTime::from_timestamp_micros(1_796_000_000_123_456).unwrap();
        let id = Uuid::new_v4();
        let token = encode("s1", at, id, &Some(3));
        assert_eq!(decode("s1", &token, &Some(3)).unwrap(), (at, id));
        for (kind, filter) in [("s1", Some(4)), ("b1", Some(3))] {
            let err = decode::<Uuid>(kind, &token, &filter).unwrap_err();
            assert!(
                matches!(err, BackupError::InvalidArgument { ref field, .. } if field == "page_token")
            );
        }
        assert!(decode::<Uuid>("s1", "not base64!", &Some(3)).is_err());
        let audit = encode("a1", at, 42_i64, &Some(3));
        assert_eq!(decode::<i64>("a1", &audit, &Some(3)).unwrap(), (at, 42));
        assert!(decode::<i64>("a1", &token, &Some(3)).is_err());
    }

    #[test]
    fn a_key_token_reads_back_only_for_its_own_kind_and_filter() {
        let token = encode_key("hh", "MTAwLmFi:c", &(3, "x"));
        assert_eq!(decode_key("hh", &token, &(3, "x")).unwrap(), "MTAwLmFi:c");
        assert!(decode_key("hh", &token, &(4, "x")).is_err());
        assert!(decode_key("ho", &token, &(3, "x")).is_err());
        let keyset = encode("hh", DateTime::UNIX_EPOCH, 7, &(3, "x"));
        assert!(decode_key("hh", &keyset, &(3, "x")).is_err());
        assert!(decode::<i64>("hh", &token, &(3, "x")).is_err());
    }
}
