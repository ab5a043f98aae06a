//! Which index each record listing reads, checked with EXPLAIN against a real Postgres: every
//! filter its own index, also when the planner's selectivity estimate argues for the time index.

use chrono::Duration;
use sqlx::PgPool;

use super::tests::{backup, numbers, query, record, t0};
use super::*;
use crate::records::RecordFilter;

/// One case per column filter with an index of its own: the index it must use, the filter.
fn column_filters(
    biz: i64,
    dir: &str,
    suffix: &str,
    operator: &str,
) -> Vec<(&'static str, RecordFilter)> {
    let f = RecordFilter::default;
    vec![
        (
            "backup_records_biz_idx",
            RecordFilter {
                bk_biz_id: Some(biz),
                ..f()
            },
        ),
        (
            "backup_records_dir_idx",
            RecordFilter {
                bk_file_dir: Some(dir.into()),
                ..f()
            },
        ),
        (
            "backup_records_suffix_idx",
            RecordFilter {
                bk_file_suffix: Some(suffix.into()),
                ..f()
            },
        ),
        (
            "backup_records_operator_idx",
            RecordFilter {
                operator: Some(operator.into()),
                ..f()
            },
        ),
    ]
}

/// Inserts `rows` and refreshes the planner's statistics, as autovacuum would on a real table.
async fn insert_and_analyze(pool: &PgPool, rows: &[NewRecord]) {
    let mut conn = pool.acquire().await.unwrap();
    insert(&mut conn, rows).await.unwrap();
    sqlx::query("analyze backup_records")
        .execute(pool)
        .await
        .unwrap();
}

/// The plan of a 100-row page for `filter`.
async fn plan(pool: &PgPool, filter: &RecordFilter) -> String {
    let lines: Vec<String> = statement("explain ", &query(filter.clone(), 100))
        .build_query_scalar()
        .fetch_all(pool)
        .await
        .unwrap();
    lines.join("\n")
}

#[sqlx::test(migrations = "../migrations")]
async fn every_filter_is_served_by_its_own_index(pool: PgPool) {
    // 20k ordinary rows plus 20 rare ones that every filter below singles out, so the planner
    // sees the selectivity a real 1M-row table has.
    let b = backup(&pool).await;
    let rare = backup(&pool).await;
    // A thousand hosts of 20 rows each, as a real fleet spreads them (the planner sizes a
    // per-host index range by the average rows per host).
    let mut rows: Vec<_> = (0..20_000)
        .map(|i| NewRecord {
            bk_host_id: 1000 + i % 1000,
            ..record(b, i)
        })
        .collect();
    rows.extend((0..20).map(|i| NewRecord {
        bk_biz_id: 77,
        bk_host_id: 555 + i % 2,
        bk_file_dir: "/rare".into(),
        bk_file_suffix: "rare".into(),
        bk_file_operator: "carol".into(),
        ..record(rare, 30_000 + i)
    }));
    insert_and_analyze(&pool, &rows).await;
    let f = RecordFilter::default;
    let mut cases = vec![
        ("backup_records_created_idx", f()),
        (
            "backup_records_host_idx",
            RecordFilter {
                bk_host_ids: vec![555, 556],
                ..f()
            },
        ),
        (
            "backup_records_created_idx",
            RecordFilter {
                created_from: Some(t0()),
                created_before: Some(t0() + Duration::seconds(50)),
                ..f()
            },
        ),
        (
            "backup_records_backup_idx",
            RecordFilter {
                backup_id: Some(rare),
                ..f()
            },
        ),
    ];
    cases.extend(column_filters(77, "/rare", "rare", "carol"));
    for (index, filter) in cases {
        let plan = plan(&pool, &filter).await;
        assert!(
            !plan.contains("Seq Scan"),
            "{filter:?} scans the table:\n{plan}"
        );
        assert!(
            plan.contains(index),
            "{filter:?} does not use {index}:\n{plan}"
        );
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_common_filter_whose_rows_are_all_old_still_uses_its_own_index(pool: PgPool) {
    // Half the rows belong to business 3, dir /old, operator "dave" — and all of them are
    // older than every other row. Judged by selectivity alone, walking the time index and
    // filtering looks cheap (one row in two matches), but it would read all 10k newer rows
    // before the first match; each filter must use its own index instead.
    let b = backup(&pool).await;
    let rows: Vec<_> = (0..20_000)
        .map(|i| {
            let old = i < 10_000;
            NewRecord {
                bk_biz_id: if old { 3 } else { 4 },
                bk_host_id: 1000 + i % 1000,
                bk_file_dir: if old { "/old" } else { "/new" }.into(),
                bk_file_suffix: if old { "old" } else { "new" }.into(),
                bk_file_operator: if old { "dave" } else { "erin" }.into(),
                ..record(b, i)
            }
        })
        .collect();
    insert_and_analyze(&pool, &rows).await;
    for (index, filter) in column_filters(3, "/old", "old", "dave") {
        let plan = plan(&pool, &filter).await;
        assert!(
            plan.contains(index),
            "{filter:?} does not use {index}:\n{plan}"
        );
        let page = list(&pool, &query(filter.clone(), 100)).await.unwrap();
        assert_eq!(
            numbers(&page.rows),
            (9_900..10_000).rev().collect::<Vec<_>>()
        );
    }
}
