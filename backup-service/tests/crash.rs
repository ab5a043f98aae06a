//! A backup-service process killed with SIGKILL in the middle of a backup: a restarted process
//! resumes the backup from Postgres, follows the job the dead one launched instead of launching
//! another, and writes each record once.

use std::time::{Duration, Instant};

use proto::backup::v1 as pb;
use proto::backup::v1::backup_service_client::BackupServiceClient;
use serde_json::json;
use service_kit::testing::{ServiceProcess, spawn_service};
use sqlx::postgres::PgConnectOptions;
use tonic::Request;
use tonic::transport::Channel;

mod common;
use common::{TOKEN, Upstream, url_of};

const BIN: &str = env!("CARGO_BIN_EXE_backup-service");

fn start_service(db_url: &str, gateway: &str) -> ServiceProcess {
    spawn_service(
        BIN,
        &[],
        &[
            ("BACKUP_SERVICE__LISTEN_ADDR", "127.0.0.1:0".to_owned()),
            ("BACKUP_SERVICE__DATABASE__URL", db_url.to_owned()),
            ("BACKUP_SERVICE__AUTH__TOKENS", TOKEN.to_owned()),
            ("BACKUP_SERVICE__JOB_GATEWAY__URL", gateway.to_owned()),
            ("BACKUP_SERVICE__JOB_GATEWAY__TOKEN", TOKEN.to_owned()),
            ("BACKUP_SERVICE__WORKER__LEASE_MS", "1500".to_owned()),
            (
                "BACKUP_SERVICE__WORKER__CLAIM_INTERVAL_MS",
                "200".to_owned(),
            ),
            ("BACKUP_SERVICE__WORKER__POLL_INITIAL_MS", "50".to_owned()),
            ("BACKUP_SERVICE__WORKER__POLL_MAX_MS", "300".to_owned()),
        ],
    )
}

fn request<T>(msg: T) -> Request<T> {
    common::request(msg, "admin")
}

async fn client(svc: &ServiceProcess) -> BackupServiceClient<Channel> {
    BackupServiceClient::new(
        Channel::from_shared(svc.endpoint())
            .unwrap()
            .connect()
            .await
            .unwrap(),
    )
}

async fn get(svc: &ServiceProcess, id: &str) -> pb::Backup {
    client(svc)
        .await
        .get_backup(request(pb::GetBackupRequest {
            backup_id: id.to_owned(),
            view: pb::BackupView::Hosts as i32,
        }))
        .await
        .unwrap()
        .into_inner()
        .backup
        .unwrap()
}

#[sqlx::test(migrations = false)]
async fn a_backup_survives_a_sigkill_and_completes_after_restart_with_one_launch(
    pool_opts: sqlx::pool::PoolOptions<sqlx::Postgres>,
    opts: PgConnectOptions,
) {
    let upstream = Upstream::start(|_| {}).await;
    // Host 1007 hangs until JOB's timeout (4 s), so the backup is mid-job when we kill.
    upstream.fault("hosts/1007", json!({"kind": "hang"})).await;
    let gw_url = upstream.gw_url.clone();
    let db_url = url_of(&opts);
    let mut first = start_service(&db_url, &gw_url);
    let started = client(&first)
        .await
        .start_backup(request(pb::StartBackupRequest {
            bk_biz_id: 3,
            bk_host_ids: vec![1001, 1007],
            bk_file_dir: "/data/logs".to_owned(),
            bk_file_suffix: "log".to_owned(),
            // 8 s in all: JOB's step timeout is half of it (4 s), so the restarted process
            // (lease 1.5 s) still finds the backup within its deadline.
            timeout: Some(prost_types::Duration {
                seconds: 8,
                nanos: 0,
            }),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .backup
        .unwrap();
    let id = started.backup_id;
    let deadline = Instant::now() + Duration::from_secs(30);
    while get(&first, &id).await.job_instance_id == 0 {
        assert!(Instant::now() < deadline, "the job was never launched");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill9();
    assert!(
        !get_state_is_terminal(&pool_opts, &opts, &id).await,
        "killed before the end"
    );

    let second = start_service(&db_url, &gw_url);
    let deadline = Instant::now() + Duration::from_secs(60);
    let done = loop {
        let b = get(&second, &id).await;
        if [
            pb::BackupState::Succeeded,
            pb::BackupState::Partial,
            pb::BackupState::Failed,
            pb::BackupState::Cancelled,
        ]
        .iter()
        .any(|s| *s as i32 == b.state)
        {
            break b;
        }
        assert!(Instant::now() < deadline, "not resumed: {b:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(done.state, pb::BackupState::Partial as i32, "{done:?}");
    let counts: serde_json::Value =
        reqwest::get(format!("{}/_sim/requests/counts", upstream.sim.base_url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(
        counts["by_api"]["fast_execute_script"],
        json!(1),
        "{counts}"
    );
    let pool = pool_opts.connect_with(opts).await.unwrap();
    let (records, distinct): (i64, i64) = sqlx::query_as(
        "select count(*), count(distinct (bk_host_id, source_path_bytes)) from backup_records where backup_id = $1::uuid",
    )
    .bind(&id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(records > 0);
    assert_eq!(records, distinct, "no duplicate records");
    let attempts: i32 = sqlx::query_scalar("select attempt from backups where id = $1::uuid")
        .bind(&id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        attempts, 2,
        "the restarted process re-claimed the backup once"
    );
}

async fn get_state_is_terminal(
    pool_opts: &sqlx::pool::PoolOptions<sqlx::Postgres>,
    opts: &PgConnectOptions,
    id: &str,
) -> bool {
    let pool = pool_opts.clone().connect_with(opts.clone()).await.unwrap();
    let state: String = sqlx::query_scalar("select state from backups where id = $1::uuid")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    matches!(
        state.as_str(),
        "succeeded" | "partial" | "failed" | "cancelled"
    )
}
