//! Record storage against a real Postgres: bulk insert, every filter, keyset paging under
//! concurrent inserts, and index use for each filter.

use chrono::{DateTime, Duration, TimeZone, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::*;
use crate::records::{Cursor, RecordFilter};

pub(super) async fn backup(pool: &PgPool) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query(
        "insert into backups (id, bk_biz_id, bk_file_dir, bk_file_suffix, bk_host_ids, operator, \
         job_timeout_secs, backup_name, job_name, deadline_at) \
         values ($1, 3, '/data/logs', 'log', '{1}', 'alice', 600, 'backup_x', 'job_x', now())",
    )
    .bind(id)
    .execute(pool)
    .await
    .unwrap();
    id
}

pub(super) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 14, 12, 3, 0).unwrap()
}

pub(super) fn record(backup_id: Uuid, n: i64) -> NewRecord {
    NewRecord {
        backup_id,
        bk_biz_id: 3 + n % 2,
        bk_host_id: 100 + n % 10,
        bk_cloud_id: 0,
        host_ip: format!("10.0.0.{}", n % 10).into(),
        bk_file_dir: if n % 3 == 0 {
            "/project".into()
        } else {
            "/data/logs".into()
        },
        bk_file_suffix: if n % 4 == 0 {
            "txt".into()
        } else {
            "log".into()
        },
        source_path_bytes: format!("/data/logs/game_{n}.log").into_bytes(),
        bk_backup_name: "backup_20260514_120300_1f3c9a2b".into(),
        backup_path_bytes: format!(
            "/data/logs/backup/backup_20260514_120300_1f3c9a2b/game_{n}.log"
        )
        .into_bytes(),
        size_bytes: n * 10,
        sha256: format!("{:064x}", n),
        source_mtime: Some(t0()),
        bk_file_create_time: t0() + Duration::seconds(n),
        bk_file_operator: if n % 5 == 0 {
            "bob".into()
        } else {
            "alice".into()
        },
        job_instance_id: 9000 + n,
        bk_job_link: format!("http://job.example/api_execute/{}", 9000 + n).into(),
    }
}

async fn seed(pool: &PgPool, n: i64) -> Uuid {
    let b = backup(pool).await;
    let rows: Vec<_> = (0..n).map(|i| record(b, i)).collect();
    let mut conn = pool.acquire().await.unwrap();
    assert_eq!(insert(&mut conn, &rows).await.unwrap(), n as u64);
    b
}

pub(super) fn query(filter: RecordFilter, page_size: u32) -> RecordQuery {
    RecordQuery {
        filter,
        page_size,
        after: None,
        within: crate::store::Within::Any,
    }
}

pub(super) fn numbers(rows: &[Record]) -> Vec<i64> {
    rows.iter().map(|r| r.job_instance_id - 9000).collect()
}

#[sqlx::test(migrations = "../migrations")]
async fn records_list_newest_first_and_a_replayed_insert_is_refused_whole(pool: PgPool) {
    let b = seed(&pool, 5).await;
    let mut again: Vec<_> = (5..8).map(|i| record(b, i)).collect();
    again.push(record(b, 2));
    let mut conn = pool.acquire().await.unwrap();
    let err = insert(&mut conn, &again).await.unwrap_err().to_string();
    assert!(
        err.contains("backup_records_backup_id_bk_host_id_source_path_bytes_key"),
        "{err}"
    );
    let page = list(&pool, &query(RecordFilter::default(), 10))
        .await
        .unwrap();
    let (rows, more) = (page.rows, page.next.is_some());
    assert_eq!(numbers(&rows), [4, 3, 2, 1, 0]);
    assert!(!more);
    assert_eq!(rows[0].source_path_bytes, b"/data/logs/game_4.log");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_file_listed_twice_for_a_host_is_recorded_once(pool: PgPool) {
    let b = backup(&pool).await;
    let rows = vec![record(b, 1), record(b, 2), record(b, 1)];
    let mut conn = pool.acquire().await.unwrap();
    assert_eq!(insert(&mut conn, &rows).await.unwrap(), 2);
    let page = list(&pool, &query(RecordFilter::default(), 10))
        .await
        .unwrap();
    assert_eq!(numbers(&page.rows), [2, 1]);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_digest_that_is_not_64_lowercase_hex_digits_is_refused(pool: PgPool) {
    let b = backup(&pool).await;
    for bad in [
        "A".repeat(64),
        "0".repeat(63),
        "g".repeat(64),
        format!("{}\n", "0".repeat(63)),
    ] {
        let mut row = record(b, 1);
        row.sha256 = bad.clone();
        let mut conn = pool.acquire().await.unwrap();
        let err = match insert(&mut conn, &[row]).await {
            Ok(_) => panic!("{bad:?} was accepted"),
            Err(e) => e.to_string(),
        };
        // Refused by the check, or by `decode` inside it for a non-hex digit.
        assert!(
            err.contains("backup_records_sha256_check") || err.contains("invalid hexadecimal"),
            "{bad:?} refused for another reason: {err}"
        );
    }
    let mut conn = pool.acquire().await.unwrap();
    assert_eq!(insert(&mut conn, &[record(b, 1)]).await.unwrap(), 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn each_filter_selects_exactly_its_records(pool: PgPool) {
    let b = seed(&pool, 40).await;
    let other = seed(&pool, 0).await;
    let all = |f: RecordFilter| {
        let pool = pool.clone();
        async move {
            let rows = list(&pool, &query(f, 1000)).await.unwrap().rows;
            let mut n = numbers(&rows);
            n.sort_unstable();
            n
        }
    };
    let expect = |p: fn(i64) -> bool| (0..40).filter(|n| p(*n)).collect::<Vec<_>>();
    let f = RecordFilter::default;
    assert_eq!(
        all(RecordFilter {
            bk_biz_id: Some(4),
            ..f()
        })
        .await,
        expect(|n| n % 2 == 1)
    );
    assert_eq!(
        all(RecordFilter {
            bk_host_ids: vec![101, 103],
            ..f()
        })
        .await,
        expect(|n| n % 10 == 1 || n % 10 == 3)
    );
    assert_eq!(
        all(RecordFilter {
            bk_file_dir: Some("/project".into()),
            ..f()
        })
        .await,
        expect(|n| n % 3 == 0)
    );
    assert_eq!(
        all(RecordFilter {
            bk_file_suffix: Some("txt".into()),
            ..f()
        })
        .await,
        expect(|n| n % 4 == 0)
    );
    assert_eq!(
        all(RecordFilter {
            operator: Some("bob".into()),
            ..f()
        })
        .await,
        expect(|n| n % 5 == 0)
    );
    assert_eq!(
        all(RecordFilter {
            created_from: Some(t0() + Duration::seconds(10)),
            created_before: Some(t0() + Duration::seconds(20)),
            ..f()
        })
        .await,
        (10..20).collect::<Vec<_>>()
    );
    assert_eq!(
        all(RecordFilter {
            backup_id: Some(b),
            ..f()
        })
        .await
        .len(),
        40
    );
    assert!(
        all(RecordFilter {
            backup_id: Some(other),
            ..f()
        })
        .await
        .is_empty()
    );
    assert_eq!(
        all(RecordFilter {
            path_contains: Some("game_1".into()),
            ..f()
        })
        .await,
        [1, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]
    );
    // Case-sensitive, as the API says.
    assert!(
        all(RecordFilter {
            path_contains: Some("GAME_1".into()),
            ..f()
        })
        .await
        .is_empty()
    );
    // LIKE wildcards in user text match literally.
    assert!(
        all(RecordFilter {
            path_contains: Some("game%1".into()),
            ..f()
        })
        .await
        .is_empty()
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn several_hosts_page_newest_first_across_hosts_without_gaps(pool: PgPool) {
    seed(&pool, 60).await;
    let filter = RecordFilter {
        bk_host_ids: vec![103, 101, 107],
        ..Default::default()
    };
    let mut q = query(filter.clone(), 4);
    let mut seen = vec![];
    loop {
        let page = list(&pool, &q).await.unwrap();
        seen.extend(numbers(&page.rows));
        if page.next.is_none() {
            break;
        }
        q.after = page.next;
    }
    let expected: Vec<i64> = (0..60)
        .rev()
        .filter(|n| [1, 3, 7].contains(&(n % 10)))
        .collect();
    assert_eq!(seen, expected);
}

#[sqlx::test(migrations = "../migrations")]
async fn paging_neither_skips_nor_repeats_while_records_are_inserted(pool: PgPool) {
    let b = seed(&pool, 250).await;
    let mut seen = vec![];
    let mut q = query(RecordFilter::default(), 100);
    let mut extra = 1000;
    loop {
        let page = list(&pool, &q).await.unwrap();
        let (rows, more) = (page.rows, page.next.is_some());
        seen.extend(numbers(&rows));
        // Newer records land between pages, as they would from a running backup.
        let newer: Vec<_> = (extra..extra + 30).map(|i| record(b, i)).collect();
        extra += 30;
        let mut conn = pool.acquire().await.unwrap();
        insert(&mut conn, &newer).await.unwrap();
        if !more {
            break;
        }
        let token = rows.last().unwrap().cursor().encode(&q.filter);
        q.after = Some(Cursor::decode(&token, &q.filter).unwrap());
    }
    assert_eq!(seen, (0..250).rev().collect::<Vec<_>>());
}

#[sqlx::test(migrations = "../migrations")]
async fn a_path_search_scans_a_bounded_window_and_continues_with_a_token(pool: PgPool) {
    // 25k records; only the 5 oldest match. Each call examines at most PATH_SCAN_ROWS rows, so
    // the first pages are empty but carry a token, and following them finds exactly the 5.
    let b = backup(&pool).await;
    let rows: Vec<_> = (0..25_000)
        .map(|i| NewRecord {
            source_path_bytes: if i < 5 {
                format!("/data/logs/needle_{i}.log").into_bytes()
            } else {
                format!("/data/logs/hay_{i}.log").into_bytes()
            },
            ..record(b, i)
        })
        .collect();
    let mut conn = pool.acquire().await.unwrap();
    insert(&mut conn, &rows).await.unwrap();
    let mut q = query(
        RecordFilter {
            path_contains: Some("needle_".into()),
            ..Default::default()
        },
        100,
    );
    let (mut found, mut calls) = (vec![], 0);
    loop {
        let page = list(&pool, &q).await.unwrap();
        calls += 1;
        found.extend(numbers(&page.rows));
        match page.next {
            Some(next) => q.after = Some(next),
            None => break,
        }
    }
    assert_eq!(found, [4, 3, 2, 1, 0]);
    assert_eq!(calls, (25_000 / PATH_SCAN_ROWS as usize) + 1);
}
