//! Conversions between protobuf messages and domain types. Inbound requests are validated
//! here, once, by `TryFrom` impls that destructure every field, so a new proto field fails to
//! compile until it is handled.

mod backups;
pub mod hosts;
pub mod page_token;
mod records;
mod schedule_mask;
mod schedule_messages;
pub mod schedules;
mod start;

pub use backups::{backup_message, event_message, host_message, state_from};
pub use schedule_messages::schedule_state_from;
pub use start::{
    BackupRequest, backup_selection, client_request_id, file_selection, host_list, hosts,
    job_timeout_secs,
};

use chrono::{DateTime, Utc};
use prost_types::Timestamp;
use uuid::Uuid;

use crate::error::{BackupError, Result};

/// `Timestamp` from a chrono time.
pub fn timestamp(t: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

/// Chrono time from a request `Timestamp` named `field`.
pub fn from_timestamp(field: &str, t: Timestamp) -> Result<DateTime<Utc>> {
    u32::try_from(t.nanos)
        .ok()
        .and_then(|nanos| DateTime::from_timestamp(t.seconds, nanos))
        .ok_or_else(|| BackupError::invalid(field, "not a valid timestamp"))
}

pub(crate) fn optional_text(field: &str, value: String, max: usize) -> Result<Option<String>> {
    if value.is_empty() {
        return Ok(None);
    }
    if value.chars().count() > max {
        return Err(BackupError::invalid(
            field,
            format!("longer than {max} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(BackupError::invalid(field, "contains control characters"));
    }
    Ok(Some(value))
}

/// Parses a backup id (a UUID) from request field `field`.
pub fn backup_id(field: &str, value: &str) -> Result<Uuid> {
    Uuid::parse_str(value).map_err(|_| BackupError::invalid(field, "not a backup id (a UUID)"))
}

/// Page size per AIP-158: 0 means the default, above the maximum is coerced down.
pub fn page_size(value: i32, default: u32, max: u32) -> Result<u32> {
    match u32::try_from(value) {
        Err(_) => Err(BackupError::invalid("page_size", "must not be negative")),
        Ok(0) => Ok(default),
        Ok(n) => Ok(n.min(max)),
    }
}

/// Path bytes for a proto `bytes` field: set only when the text form lost information.
pub fn raw_if_not_utf8(bytes: &[u8]) -> Vec<u8> {
    if std::str::from_utf8(bytes).is_ok() {
        Vec::new()
    } else {
        bytes.to_vec()
    }
}
