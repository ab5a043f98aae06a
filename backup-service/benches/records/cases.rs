//! The latency cases of the listing table, with filter values taken from the generated
//! backups, and the gRPC request for a filter.

use chrono::{DateTime, Duration, Utc};
use proto::backup::v1 as pb;

use backup_service::records::RecordFilter;

use crate::data::{DIRS, OPERATORS, Plan, SUFFIXES};
use crate::{DEEP_ROWS, DEEPEST_ROWS, now};

/// One row of the latency table: filters cycled over the iterations, after `skip` rows; the
/// rows column reports the first filter's page.
pub struct Case {
    pub name: String,
    pub filters: Vec<RecordFilter>,
    pub skip: u32,
}

fn case(name: &str, filters: Vec<RecordFilter>) -> Case {
    Case {
        name: name.to_owned(),
        filters,
        skip: 0,
    }
}

fn deep(name: &str, filter: RecordFilter, skip: u32) -> Case {
    Case {
        name: name.to_owned(),
        filters: vec![filter],
        skip,
    }
}

fn path(needle: String) -> RecordFilter {
    RecordFilter {
        path_contains: Some(needle),
        ..Default::default()
    }
}

/// The listing cases, with filter values taken from the generated backups.
pub fn cases(plans: &[Plan]) -> Vec<Case> {
    let every = |n: usize| -> Vec<&Plan> { plans.iter().step_by(plans.len() / n).collect() };
    let biz = |b| RecordFilter {
        bk_biz_id: Some(b),
        ..Default::default()
    };
    let days: Vec<DateTime<Utc>> = (1..=30).map(|d| now() - Duration::days(d * 5)).collect();
    let all = RecordFilter::default();
    vec![
        case("no filter", vec![all.clone()]),
        case("biz (largest, ~40%)", vec![biz(1)]),
        case("biz (smallest, ~2%)", vec![biz(8)]),
        case(
            "one host",
            every(50)
                .iter()
                .map(|p| RecordFilter {
                    bk_host_ids: vec![p.first_host],
                    ..Default::default()
                })
                .collect(),
        ),
        case(
            "10 hosts",
            every(20)
                .iter()
                .map(|p| RecordFilter {
                    bk_host_ids: (p.first_host..p.first_host + 10).collect(),
                    ..Default::default()
                })
                .collect(),
        ),
        case(
            "dir",
            DIRS.iter()
                .map(|(_, d)| RecordFilter {
                    bk_file_dir: Some((*d).to_owned()),
                    ..Default::default()
                })
                .collect(),
        ),
        case(
            "suffix",
            SUFFIXES
                .iter()
                .map(|(_, s)| RecordFilter {
                    bk_file_suffix: Some((*s).to_owned()),
                    ..Default::default()
                })
                .collect(),
        ),
        case(
            "operator",
            OPERATORS
                .iter()
                .map(|o| RecordFilter {
                    operator: Some((*o).to_owned()),
                    ..Default::default()
                })
                .collect(),
        ),
        case(
            "time window (1 day)",
            days.iter()
                .map(|d| RecordFilter {
                    created_from: Some(*d),
                    created_before: Some(*d + Duration::days(1)),
                    ..Default::default()
                })
                .collect(),
        ),
        case(
            "backup id",
            every(100)
                .iter()
                .map(|p| RecordFilter {
                    backup_id: Some(p.id),
                    ..Default::default()
                })
                .collect(),
        ),
        case("path `error` (~15%)", vec![path("error".into())]),
        case("path `slow_query` (~5%)", vec![path("slow_query".into())]),
        case(
            "path date `YYYY-MM-DD` (~0.5%)",
            days.iter()
                .map(|d| path(d.format("%Y-%m-%d").to_string()))
                .collect(),
        ),
        case(
            "path `node-<host>/` (~0.05%)",
            every(50)
                .iter()
                .map(|p| path(format!("node-{}/", p.first_host)))
                .collect(),
        ),
        case("path absent `core_dump`", vec![path("core_dump".into())]),
        case(
            "biz 1 + operator",
            OPERATORS
                .iter()
                .map(|o| RecordFilter {
                    bk_biz_id: Some(1),
                    operator: Some((*o).to_owned()),
                    ..Default::default()
                })
                .collect(),
        ),
        deep("deep: no filter, after 49,900 rows", all.clone(), DEEP_ROWS),
        deep(
            "deep: no filter, after 900,000 rows",
            all.clone(),
            DEEPEST_ROWS,
        ),
        deep("deep: biz 1, after 49,900 rows", biz(1), DEEP_ROWS),
        deep(
            "deep: path `error`, after 49,900 rows",
            path("error".into()),
            DEEP_ROWS,
        ),
    ]
}

fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

/// The gRPC request for `filter`.
pub fn request(
    filter: &RecordFilter,
    page_size: u32,
    page_token: &str,
) -> pb::ListBackupRecordsRequest {
    let f = filter.clone();
    pb::ListBackupRecordsRequest {
        bk_biz_id: f.bk_biz_id.unwrap_or(0),
        bk_host_ids: f.bk_host_ids,
        bk_file_dir: f.bk_file_dir.unwrap_or_default(),
        bk_file_suffix: f.bk_file_suffix.unwrap_or_default(),
        bk_file_operator: f.operator.unwrap_or_default(),
        create_time_start: f.created_from.map(timestamp),
        create_time_end: f.created_before.map(timestamp),
        backup_id: f.backup_id.map(|id| id.to_string()).unwrap_or_default(),
        path_contains: f.path_contains.unwrap_or_default(),
        page_size: page_size as i32,
        page_token: page_token.to_owned(),
    }
}
