//! ListBackups against a real Postgres: which index each listing reads (EXPLAIN), with the
//! shape that trapped the record listing (the filtered rows all older than the rest; see
//! migration 20261122000002). On the backups table the planner reads the filter's index even
//! then, so the time index needs no partial predicate here; this test notices if that changes.

use sqlx::PgPool;

use super::*;

/// 20,000 backups an hour apart: the older half of business 3 and operator "dave", the newer
/// half of business 4 and operator "erin".
async fn seed(pool: &PgPool) {
    sqlx::query(
        "insert into backups (id, bk_biz_id, bk_file_dir, bk_file_suffix, bk_host_ids, operator, \
           job_timeout_secs, backup_name, job_name, deadline_at, created_at) \
         select gen_random_uuid(), case when g <= 10000 then 3 else 4 end, '/data/logs', 'log', \
           array[g::int8], case when g <= 10000 then 'dave' else 'erin' end, 600, \
           'backup_' || g, 'job_' || g, now(), \
           timestamptz '2026-01-01' + g * interval '1 hour' \
         from generate_series(1, 20000) g",
    )
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("analyze backups").execute(pool).await.unwrap();
}

#[sqlx::test(migrations = "../migrations")]
async fn a_listing_by_business_operator_or_schedule_reads_its_own_index_when_its_rows_are_all_old(
    pool: PgPool,
) {
    seed(&pool).await;
    let f = BackupFilter::default;
    let cases = [
        ("backups_created_idx", f()),
        (
            "backups_biz_created_idx",
            BackupFilter {
                bk_biz_id: Some(3),
                ..f()
            },
        ),
        (
            "backups_operator_created_idx",
            BackupFilter {
                operator: Some("dave".into()),
                ..f()
            },
        ),
        (
            "backups_schedule_created_idx",
            BackupFilter {
                schedule_id: Some(uuid::Uuid::new_v4()),
                ..f()
            },
        ),
    ];
    for (index, filter) in cases {
        let plan: Vec<String> = statement("explain ", &filter, &Within::Any, None, 50)
            .build_query_scalar()
            .fetch_all(&pool)
            .await
            .unwrap();
        let plan = plan.join("\n");
        assert!(
            plan.contains(index),
            "{filter:?} does not use {index}:\n{plan}"
        );
    }
    let (rows, more) = list(
        &pool,
        &BackupFilter {
            bk_biz_id: Some(3),
            ..f()
        },
        &Within::Any,
        None,
        5,
    )
    .await
    .unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r.backup_name.as_str()).collect();
    assert_eq!(
        names,
        [
            "backup_10000",
            "backup_9999",
            "backup_9998",
            "backup_9997",
            "backup_9996"
        ]
    );
    assert!(more);
}
