//! What the worker makes of BlueKing's refusals around a launch, through both front doors: a
//! rate limit proves the launch never arrived and is sent again after the delay job-gateway's
//! `RetryInfo` names; a permanent refusal ends the backup at once with BlueKing's own words.

use e2e::flow::{run_backup, start};
use e2e::stack::{Door, Stack};
use proto::backup::v1 as pb;
use serde_json::{Value, json};
use sqlx::postgres::PgConnectOptions;

type Pool = sqlx::pool::PoolOptions<sqlx::Postgres>;

async fn requests(stack: &Stack, api: &str) -> Vec<Value> {
    let log: Value = reqwest::get(format!("{}/_sim/requests?api={api}", stack.sim.base_url()))
        .await
        .expect("bk-sim admin answers")
        .json()
        .await
        .expect("json");
    log["requests"].as_array().expect("requests").clone()
}

fn at(r: &Value) -> chrono::DateTime<chrono::Utc> {
    r["at"].as_str().expect("at").parse().expect("rfc 3339")
}

async fn a_rate_limited_launch_waits_for_the_retry_delay(db: PgConnectOptions, door: Door) {
    // job-gateway passes the refusal on instead of retrying it itself.
    let stack = Stack::start_custom(&db, door, |gw| gw.bk.retry_max_attempts = 1, |_| {}).await;
    let refusal = json!({"fail_next": 2, "error": {"kind": "rate_limited"}});
    stack.fault("apis/fast_execute_script", refusal).await;
    let mut client = stack.client("admin").await;
    let (_, done) = run_backup(&mut client, start(&[1001], "/data/logs", "log")).await;
    assert_eq!(done.state, pb::BackupState::Succeeded as i32, "{done:?}");

    let launches = requests(&stack, "fast_execute_script").await;
    let codes: Vec<i64> = launches
        .iter()
        .map(|r| r["code"].as_i64().unwrap())
        .collect();
    let limited = match door {
        Door::Esb => 1_306_429,
        Door::Apigw => 1_642_903,
    };
    assert_eq!(codes, [limited, limited, 0], "{launches:?}");
    // No Retry-After from BlueKing: job-gateway's RetryInfo names its default, 1 s. The
    // worker's own backoff would have tried again after 50 ms.
    for pair in launches.windows(2) {
        let gap = at(&pair[1]) - at(&pair[0]);
        assert!(
            gap >= chrono::Duration::milliseconds(950),
            "{gap:?}: {launches:?}"
        );
    }
    // A refusal that proves nothing arrived is not looked for as an uncertain launch would be.
    let lookups = requests(&stack, "get_job_instance_list").await.len();
    assert!(lookups <= 3, "{lookups} lookups");
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn a_rate_limited_launch_is_sent_again_after_the_retry_delay_over_esb(
    _p: Pool,
    db: PgConnectOptions,
) {
    a_rate_limited_launch_waits_for_the_retry_delay(db, Door::Esb).await;
}

#[sqlx::test(migrations = false)]
async fn a_rate_limited_launch_is_sent_again_after_the_retry_delay_over_the_api_gateway(
    _p: Pool,
    db: PgConnectOptions,
) {
    a_rate_limited_launch_waits_for_the_retry_delay(db, Door::Apigw).await;
}

/// A backup of a business BlueKing does not know (accepted, say, before the business was
/// removed) ends FAILED at its first refusal, with the refusal in its message, instead of
/// being retried after every lease until its deadline.
async fn a_business_blueking_does_not_know_fails_at_once(
    pool_opts: Pool,
    db: PgConnectOptions,
    door: Door,
) {
    let stack = Stack::start(&db, door).await;
    let pool = pool_opts.connect_with(db.clone()).await.unwrap();
    let id = uuid::Uuid::new_v4();
    let new = backup_service::store::backups::NewBackup {
        id,
        request_id: None,
        bk_biz_id: 99,
        bk_host_ids: vec![1001],
        bk_file_dir: "/data/logs".into(),
        bk_file_suffix: "log".into(),
        operator: "admin".into(),
        job_timeout_secs: 600,
        backup_name: "backup_20261205_120000_abcd1234".into(),
        job_name: format!("bk-log-backup {id}"),
        deadline_at: chrono::Utc::now() + chrono::Duration::minutes(15),
        retry_of: None,
        host_selector: None,
    };
    backup_service::store::backups::create(&pool, &new)
        .await
        .unwrap();
    // No one may read it through the API now (BlueKing knows no business 99 to authorize):
    // its end is read from the database.
    let (state, reason, message) = e2e::contract::stored_end(&db, &id.to_string()).await;
    assert_eq!(
        (state.as_str(), reason.as_deref()),
        ("failed", Some("launch_rejected"))
    );
    assert!(message.contains("business [99] not exist"), "{message}");
    let attempt: i32 = sqlx::query_scalar("select attempt from backups where id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(attempt, 1, "claimed once, never retried after a lease");
    assert_eq!(stack.upstream_calls("fast_execute_script").await, 0);
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn a_backup_of_a_business_blueking_does_not_know_fails_at_once_over_esb(
    pool_opts: Pool,
    db: PgConnectOptions,
) {
    a_business_blueking_does_not_know_fails_at_once(pool_opts, db, Door::Esb).await;
}

#[sqlx::test(migrations = false)]
async fn a_backup_of_a_business_blueking_does_not_know_fails_at_once_over_the_api_gateway(
    pool_opts: Pool,
    db: PgConnectOptions,
) {
    a_business_blueking_does_not_know_fails_at_once(pool_opts, db, Door::Apigw).await;
}
