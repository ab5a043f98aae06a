//! Conversions of ListBackupRecords: the validated query and the record message.

use proto::backup::v1 as pb;

use super::{backup_id, from_timestamp, optional_text, page_size, raw_if_not_utf8, timestamp};
use crate::error::{BackupError, Result};
use crate::records::{
    Cursor, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, MIN_PATH_CONTAINS, Record, RecordFilter, RecordQuery,
    TokenError, display_path,
};

/// Most host ids one filter may name.
pub const MAX_FILTER_HOSTS: usize = 500;

impl TryFrom<pb::ListBackupRecordsRequest> for RecordQuery {
    type Error = BackupError;

    fn try_from(req: pb::ListBackupRecordsRequest) -> Result<Self> {
        let pb::ListBackupRecordsRequest {
            bk_biz_id,
            bk_host_ids,
            bk_file_dir,
            bk_file_suffix,
            bk_file_operator,
            create_time_start,
            create_time_end,
            backup_id: backup,
            path_contains,
            page_size: size,
            page_token,
        } = req;
        if bk_biz_id < 0 {
            return Err(BackupError::invalid("bk_biz_id", "must be positive"));
        }
        if bk_host_ids.len() > MAX_FILTER_HOSTS {
            return Err(BackupError::invalid(
                "bk_host_ids",
                format!("at most {MAX_FILTER_HOSTS} ids"),
            ));
        }
        if let Some(i) = bk_host_ids.iter().position(|id| *id <= 0) {
            return Err(BackupError::invalid(
                format!("bk_host_ids[{i}]"),
                "must be positive",
            ));
        }
        let created_from = create_time_start
            .map(|t| from_timestamp("create_time_start", t))
            .transpose()?;
        let created_before = create_time_end
            .map(|t| from_timestamp("create_time_end", t))
            .transpose()?;
        if let (Some(a), Some(b)) = (created_from, created_before)
            && a >= b
        {
            return Err(BackupError::invalid(
                "create_time_end",
                "must be after create_time_start",
            ));
        }
        let path_contains = optional_text("path_contains", path_contains, 256)?;
        if path_contains
            .as_ref()
            .is_some_and(|p| p.chars().count() < MIN_PATH_CONTAINS)
        {
            return Err(BackupError::invalid(
                "path_contains",
                format!("needs at least {MIN_PATH_CONTAINS} characters"),
            ));
        }
        let filter = RecordFilter {
            bk_biz_id: (bk_biz_id > 0).then_some(bk_biz_id),
            bk_host_ids,
            bk_file_dir: optional_text("bk_file_dir", bk_file_dir, 4096)?,
            // Stored without its leading dot, as StartBackup stores it.
            bk_file_suffix: optional_text(
                "bk_file_suffix",
                bk_file_suffix
                    .strip_prefix('.')
                    .map(str::to_owned)
                    .unwrap_or(bk_file_suffix),
                64,
            )?,
            operator: optional_text("bk_file_operator", bk_file_operator, 64)?,
            created_from,
            created_before,
            backup_id: (!backup.is_empty())
                .then(|| backup_id("backup_id", &backup))
                .transpose()?,
            path_contains,
        };
        let after = if page_token.is_empty() {
            None
        } else {
            Some(Cursor::decode(&page_token, &filter).map_err(|e| match e {
                TokenError::Malformed | TokenError::FilterMismatch => {
                    BackupError::invalid("page_token", e.to_string())
                }
            })?)
        };
        Ok(RecordQuery {
            filter,
            page_size: page_size(size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?,
            after,
            within: crate::store::Within::Any,
        })
    }
}

impl From<Record> for pb::BackupRecord {
    fn from(r: Record) -> Self {
        pb::BackupRecord {
            id: r.id,
            bk_host_id: r.bk_host_id,
            bk_file_dir: r.bk_file_dir,
            bk_file_suffix: r.bk_file_suffix,
            bk_backup_name: r.bk_backup_name,
            bk_file_create_time: Some(timestamp(r.bk_file_create_time)),
            bk_file_operator: r.bk_file_operator,
            bk_job_link: r.bk_job_link,
            bk_biz_id: r.bk_biz_id,
            bk_cloud_id: r.bk_cloud_id,
            host_ip: r.host_ip,
            source_path: display_path(&r.source_path_bytes),
            source_path_bytes: raw_if_not_utf8(&r.source_path_bytes),
            backup_path: display_path(&r.backup_path_bytes),
            backup_path_bytes: raw_if_not_utf8(&r.backup_path_bytes),
            size_bytes: r.size_bytes,
            sha256: r.sha256,
            source_mtime: r.source_mtime.map(timestamp),
            backup_id: r.backup_id.to_string(),
            job_instance_id: r.job_instance_id,
            prune_time: r.pruned_at.map(timestamp),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_types::Timestamp;

    fn req() -> pb::ListBackupRecordsRequest {
        pb::ListBackupRecordsRequest::default()
    }

    fn field_of(r: pb::ListBackupRecordsRequest) -> String {
        match RecordQuery::try_from(r) {
            Err(BackupError::InvalidArgument { field, .. }) => field,
            other => panic!("expected invalid argument, got {other:?}"),
        }
    }

    #[test]
    fn an_empty_request_lists_everything_with_the_default_page() {
        let q = RecordQuery::try_from(req()).unwrap();
        assert_eq!(q.filter, RecordFilter::default());
        assert_eq!(q.page_size, DEFAULT_PAGE_SIZE);
        assert_eq!(q.after, None);
    }

    #[test]
    fn page_sizes_above_the_maximum_are_coerced_and_negative_ones_rejected() {
        let q = RecordQuery::try_from(pb::ListBackupRecordsRequest {
            page_size: 5000,
            ..req()
        })
        .unwrap();
        assert_eq!(q.page_size, MAX_PAGE_SIZE);
        assert_eq!(
            field_of(pb::ListBackupRecordsRequest {
                page_size: -1,
                ..req()
            }),
            "page_size"
        );
    }

    #[test]
    fn each_bad_field_is_named() {
        assert_eq!(
            field_of(pb::ListBackupRecordsRequest {
                bk_biz_id: -3,
                ..req()
            }),
            "bk_biz_id"
        );
        assert_eq!(
            field_of(pb::ListBackupRecordsRequest {
                bk_host_ids: vec![1, 0],
                ..req()
            }),
            "bk_host_ids[1]"
        );
        assert_eq!(
            field_of(pb::ListBackupRecordsRequest {
                backup_id: "nope".into(),
                ..req()
            }),
            "backup_id"
        );
        assert_eq!(
            field_of(pb::ListBackupRecordsRequest {
                path_contains: "ab".into(),
                ..req()
            }),
            "path_contains"
        );
        assert_eq!(
            field_of(pb::ListBackupRecordsRequest {
                page_token: "zz".into(),
                ..req()
            }),
            "page_token"
        );
        assert_eq!(
            field_of(pb::ListBackupRecordsRequest {
                create_time_start: Some(Timestamp {
                    seconds: 10,
                    nanos: 0
                }),
                create_time_end: Some(Timestamp {
                    seconds: 10,
                    nanos: 0
                }),
                ..req()
            }),
            "create_time_end"
        );
    }

    #[test]
    fn at_most_500_host_ids_are_accepted() {
        let ids = |n: i64| pb::ListBackupRecordsRequest {
            bk_host_ids: (1..=n).collect(),
            ..req()
        };
        assert_eq!(
            RecordQuery::try_from(ids(500))
                .unwrap()
                .filter
                .bk_host_ids
                .len(),
            500
        );
        assert_eq!(field_of(ids(501)), "bk_host_ids");
    }

    #[test]
    fn a_suffix_filter_matches_with_or_without_its_leading_dot() {
        let q = |s: &str| {
            RecordQuery::try_from(pb::ListBackupRecordsRequest {
                bk_file_suffix: s.into(),
                ..req()
            })
            .unwrap()
            .filter
            .bk_file_suffix
        };
        assert_eq!(q(".log"), Some("log".to_owned()));
        assert_eq!(q("log"), Some("log".to_owned()));
        assert_eq!(q(""), None);
    }

    #[test]
    fn non_utf8_paths_keep_their_exact_bytes() {
        assert!(raw_if_not_utf8(b"/data/ok.log").is_empty());
        assert_eq!(raw_if_not_utf8(b"/data/\xff.log"), b"/data/\xff.log");
    }
}
