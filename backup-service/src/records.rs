//! Backup records: the domain types of ListBackupRecords — the validated filter, the page
//! cursor and its opaque token — independent of SQL and of protobuf.
//!
//! A page token carries the last row's sort key (creation time, id) and a fingerprint of the
//! filter it was issued for, so a token replayed with different filters is rejected instead of
//! silently paging through another result set. Keyset paging (not OFFSET) keeps deep pages as
//! cheap as the first and never skips or repeats a row when new records arrive meanwhile.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use std::sync::Arc;

use uuid::Uuid;

/// Rows per page when the caller does not say.
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// Largest page; larger requests are coerced down (AIP-158).
pub const MAX_PAGE_SIZE: u32 = 1000;
/// Shortest `path_contains`: trigram indexes cannot serve fewer than three characters.
pub const MIN_PATH_CONTAINS: usize = 3;

/// Which records to list. `None`/empty means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordFilter {
    /// Business.
    pub bk_biz_id: Option<i64>,
    /// Any of these hosts.
    pub bk_host_ids: Vec<i64>,
    /// Exact searched directory.
    pub bk_file_dir: Option<String>,
    /// Exact suffix.
    pub bk_file_suffix: Option<String>,
    /// Exact operator.
    pub operator: Option<String>,
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created strictly before.
    pub created_before: Option<DateTime<Utc>>,
    /// One backup.
    pub backup_id: Option<Uuid>,
    /// Case-sensitive substring of the source path.
    pub path_contains: Option<String>,
}

impl RecordFilter {
    /// A stable fingerprint (FNV-1a over a canonical form), bound into page tokens.
    pub fn fingerprint(&self) -> u64 {
        let mut hosts = self.bk_host_ids.clone();
        hosts.sort_unstable();
        hosts.dedup();
        let canonical = format!(
            "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
            self.bk_biz_id,
            hosts,
            self.bk_file_dir,
            self.bk_file_suffix,
            self.operator,
            self.created_from.map(|t| t.timestamp_micros()),
            self.created_before.map(|t| t.timestamp_micros()),
            self.backup_id,
            self.path_contains,
        );
        fnv1a(&canonical)
    }
}

/// FNV-1a of `text`: a hash that is the same on every replica and every build, for binding
/// page tokens to the filters they were issued for.
pub fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Position after which the next page starts: the last row's sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// `bk_file_create_time` of the last row, in microseconds (Postgres' precision).
    pub created_micros: i64,
    /// `id` of the last row.
    pub id: i64,
}

/// Why a page token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a token this service issued.
    #[error("page_token is malformed")]
    Malformed,
    /// Issued for other filters.
    #[error("page_token was issued for different filters")]
    FilterMismatch,
}

impl Cursor {
    /// The opaque token for this cursor under `filter`.
    pub fn encode(&self, filter: &RecordFilter) -> String {
        let raw = format!(
            "v1:{}:{}:{:016x}",
            self.created_micros,
            self.id,
            filter.fingerprint()
        );
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Decodes `token`, checking it was issued for `filter`.
    pub fn decode(token: &str, filter: &RecordFilter) -> Result<Self, TokenError> {
        let raw = URL_SAFE_NO_PAD
            .decode(token)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or(TokenError::Malformed)?;
        let mut parts = raw.split(':');
        let (Some("v1"), Some(created), Some(id), Some(fp), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(TokenError::Malformed);
        };
        let created_micros = created.parse().map_err(|_| TokenError::Malformed)?;
        let id = id.parse().map_err(|_| TokenError::Malformed)?;
        let fp = u64::from_str_radix(fp, 16).map_err(|_| TokenError::Malformed)?;
        if fp != filter.fingerprint() {
            return Err(TokenError::FilterMismatch);
        }
        Ok(Self { created_micros, id })
    }
}

/// One page request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordQuery {
    /// Filters.
    pub filter: RecordFilter,
    /// Rows wanted (1..=MAX_PAGE_SIZE).
    pub page_size: u32,
    /// Continue after this row.
    pub after: Option<Cursor>,
    /// The businesses the caller may see (not a filter: page tokens do not carry it).
    pub within: crate::store::Within,
}

/// A record as stored: one file really copied.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Record {
    /// Record id.
    pub id: i64,
    /// Backup that copied it.
    pub backup_id: Uuid,
    /// Business.
    pub bk_biz_id: i64,
    /// Host.
    pub bk_host_id: i64,
    /// Control area.
    pub bk_cloud_id: i64,
    /// Host IP.
    pub host_ip: String,
    /// Searched directory.
    pub bk_file_dir: String,
    /// Suffix.
    pub bk_file_suffix: String,
    /// Source path, exact bytes.
    pub source_path_bytes: Vec<u8>,
    /// Backup directory name.
    pub bk_backup_name: String,
    /// Copy's full path, exact bytes.
    pub backup_path_bytes: Vec<u8>,
    /// Size in bytes.
    pub size_bytes: i64,
    /// Lowercase hex sha256 of the copy.
    pub sha256: String,
    /// Source mtime.
    pub source_mtime: Option<DateTime<Utc>>,
    /// When the record was written.
    pub bk_file_create_time: DateTime<Utc>,
    /// Operator.
    pub bk_file_operator: String,
    /// JOB instance.
    pub job_instance_id: i64,
    /// Link to the JOB execution page.
    pub bk_job_link: String,
    /// When retention removed the copy (its whole backup directory) from the host.
    pub pruned_at: Option<DateTime<Utc>>,
}

impl Record {
    /// The cursor positioned at this record.
    pub fn cursor(&self) -> Cursor {
        Cursor {
            created_micros: self.bk_file_create_time.timestamp_micros(),
            id: self.id,
        }
    }
}

/// Text form of a path whose bytes may not be UTF-8 (invalid bytes become U+FFFD).
pub fn display_path(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter() -> RecordFilter {
        RecordFilter {
            bk_biz_id: Some(3),
            bk_host_ids: vec![2, 1],
            ..Default::default()
        }
    }

    #[test]
    fn a_token_round_trips_under_the_same_filter() {
        let c = Cursor {
            created_micros: 1_700_000_000_123_456,
            id: 42,
        };
        assert_eq!(Cursor::decode(&c.encode(&filter()), &filter()), Ok(c));
    }

    #[test]
    fn host_order_does_not_change_the_fingerprint() {
        let mut other = filter();
        other.bk_host_ids = vec![1, 2, 2];
        assert_eq!(filter().fingerprint(), other.fingerprint());
    }

    #[test]
    fn a_token_used_with_other_filters_is_refused() {
        let c = Cursor {
            created_micros: 1,
            id: 1,
        };
        let mut other = filter();
        other.bk_file_suffix = Some("log".into());
        assert_eq!(
            Cursor::decode(&c.encode(&filter()), &other),
            Err(TokenError::FilterMismatch)
        );
    }

    #[test]
    fn garbage_tokens_are_malformed() {
        for t in ["", "!!", "djE6MTox", &URL_SAFE_NO_PAD.encode("v2:1:1:0")] {
            assert_eq!(
                Cursor::decode(t, &filter()),
                Err(TokenError::Malformed),
                "{t}"
            );
        }
    }
}

/// A record to write: one file the backup really copied. The text every record of a host or a
/// backup repeats is shared (`Arc<str>`): a million records hold one copy of it.
#[derive(Debug, Clone)]
pub struct NewRecord {
    /// Backup that copied it.
    pub backup_id: Uuid,
    /// Business.
    pub bk_biz_id: i64,
    /// Host.
    pub bk_host_id: i64,
    /// Control area.
    pub bk_cloud_id: i64,
    /// Host IP.
    pub host_ip: Arc<str>,
    /// Searched directory.
    pub bk_file_dir: Arc<str>,
    /// Suffix.
    pub bk_file_suffix: Arc<str>,
    /// Source path, exact bytes.
    pub source_path_bytes: Vec<u8>,
    /// Backup directory name.
    pub bk_backup_name: Arc<str>,
    /// Copy's full path, exact bytes.
    pub backup_path_bytes: Vec<u8>,
    /// Size in bytes.
    pub size_bytes: i64,
    /// Lowercase hex sha256.
    pub sha256: String,
    /// Source mtime.
    pub source_mtime: Option<DateTime<Utc>>,
    /// When the record is written.
    pub bk_file_create_time: DateTime<Utc>,
    /// Operator.
    pub bk_file_operator: Arc<str>,
    /// JOB instance.
    pub job_instance_id: i64,
    /// Link to the JOB execution page.
    pub bk_job_link: Arc<str>,
}
