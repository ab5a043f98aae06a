//! Opaque keyset page tokens: the last row's time and key, bound to the filters they were
//! issued for, so a token used with other filters (or edited) is INVALID_ARGUMENT rather than
//! a page of something else.

use std::fmt::Debug;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

use crate::error::{BackupError, Result};

/// A kind of page token, told apart by its tag (`b1` for backups, `a1` for audit events, …).
#[derive(Debug, Clone, Copy)]
pub struct Keyset(pub &'static str);

fn fingerprint(filter: &impl Debug) -> u64 {
    crate::records::fnv1a(&format!("{filter:?}"))
}

impl Keyset {
    /// The token of the page after the row at `(at, key)` listed with `filter`.
    pub fn encode(self, at: DateTime<Utc>, key: &str, filter: &impl Debug) -> String {
        let raw = format!(
            "{}:{}:{key}:{:016x}",
            self.0,
            at.timestamp_micros(),
            fingerprint(filter)
        );
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// The `(at, key)` of a token issued for `filter`.
    pub fn decode(self, token: &str, filter: &impl Debug) -> Result<(DateTime<Utc>, String)> {
        let bad = || {
            BackupError::invalid(
                "page_token",
                "page_token is malformed or was issued for different filters",
            )
        };
        let raw = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
        let raw = String::from_utf8(raw).map_err(|_| bad())?;
        let parts: Vec<&str> = raw.split(':').collect();
        let [tag, micros, key, fp] = parts.as_slice() else {
            return Err(bad());
        };
        if *tag != self.0 || u64::from_str_radix(fp, 16).ok() != Some(fingerprint(filter)) {
            return Err(bad());
        }
        let at = micros
            .parse()
            .ok()
            .and_then(DateTime::from_timestamp_micros)
            .ok_or_else(bad)?;
        Ok((at, (*key).to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_reads_back_only_with_its_own_kind_and_filters() {
        let at: DateTime<Utc> = "2026-12-05T04:00:00.123456Z".parse().unwrap();
        let t = Keyset("a1").encode(at, "42", &("biz", 3));
        assert_eq!(
            Keyset("a1").decode(&t, &("biz", 3)).unwrap(),
            (at, "42".to_owned())
        );
        assert!(Keyset("a1").decode(&t, &("biz", 5)).is_err());
        assert!(Keyset("b1").decode(&t, &("biz", 3)).is_err());
        assert!(Keyset("a1").decode("not a token", &("biz", 3)).is_err());
    }
}
