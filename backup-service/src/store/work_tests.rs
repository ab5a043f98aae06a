//! The recorded decision to launch against a real Postgres: fenced by the attempt, refused
//! once the lease ran out or the backup is being cancelled, visible to the next claim.

use std::time::Duration;

use chrono::Utc;
use uuid::Uuid;

use super::*;
use crate::store::backups::{self, NewBackup};
use crate::store::cancel;

fn new_backup() -> NewBackup {
    NewBackup {
        id: Uuid::new_v4(),
        request_id: None,
        bk_biz_id: 3,
        bk_host_ids: vec![1001],
        bk_file_dir: "/data/logs".into(),
        bk_file_suffix: "log".into(),
        operator: "alice".into(),
        job_timeout_secs: 600,
        backup_name: "backup_20261205_120000_abcd1234".into(),
        job_name: "bk-log-backup intent".into(),
        deadline_at: Utc::now() + chrono::Duration::hours(1),
        retry_of: None,
        host_selector: None,
    }
}

async fn claimed(pool: &PgPool, lease: Duration) -> Fence {
    let row = claim(pool, "test", lease)
        .await
        .unwrap()
        .expect("claimable");
    Fence {
        id: row.id,
        attempt: row.attempt,
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_recorded_intent_names_its_attempt_and_a_re_claimed_worker_can_no_longer_record_one(
    pool: PgPool,
) {
    backups::create(&pool, &new_backup()).await.unwrap();
    let first = claimed(&pool, Duration::from_millis(300)).await;
    assert_eq!(launch_intent(&pool, first.id).await.unwrap(), None);
    let intent = intend_launch(&pool, first, Duration::from_millis(300)).await;
    assert_eq!(intent.unwrap(), Intent::Recorded);
    assert_eq!(launch_intent(&pool, first.id).await.unwrap(), Some(1));

    tokio::time::sleep(Duration::from_millis(400)).await;
    let second = claimed(&pool, Duration::from_secs(30)).await;
    assert_eq!(second.attempt, 2);
    assert!(matches!(
        intend_launch(&pool, first, Duration::from_secs(30)).await,
        Err(StoreError::Fenced(_))
    ));
    assert_eq!(launch_intent(&pool, second.id).await.unwrap(), Some(1));
}

#[sqlx::test(migrations = "../migrations")]
async fn no_intent_is_recorded_once_the_lease_ran_out_even_before_anyone_re_claimed(pool: PgPool) {
    backups::create(&pool, &new_backup()).await.unwrap();
    let fence = claimed(&pool, Duration::from_millis(200)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(matches!(
        intend_launch(&pool, fence, Duration::from_secs(30)).await,
        Err(StoreError::Fenced(_))
    ));
    assert_eq!(launch_intent(&pool, fence.id).await.unwrap(), None);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_backup_cancelled_while_launching_records_no_intent(pool: PgPool) {
    backups::create(&pool, &new_backup()).await.unwrap();
    let fence = claimed(&pool, Duration::from_secs(30)).await;
    set_phase(&pool, fence, Phase::Launching, "launching")
        .await
        .unwrap();
    cancel::request(&pool, fence.id, "alice")
        .await
        .unwrap()
        .unwrap();
    let intent = intend_launch(&pool, fence, Duration::from_secs(30)).await;
    assert_eq!(intent.unwrap(), Intent::Cancelling);
    // The row is free the moment the answer is back: the cancel's end must not wait for it.
    let mut other = pool.begin().await.unwrap();
    sqlx::query("select 1 from backups where id = $1 for update nowait")
        .bind(fence.id)
        .execute(&mut *other)
        .await
        .expect("the row is not left locked");
    other.rollback().await.unwrap();
    assert_eq!(launch_intent(&pool, fence.id).await.unwrap(), None);
}
