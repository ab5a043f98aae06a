//! What an operator reads in backup-service's log about one backup: each transition and every
//! failure names the backup, its operator and the reason.

use std::time::{Duration, Instant};

use proto::backup::v1 as pb;
use proto::backup::v1::backup_service_client::BackupServiceClient;
use service_kit::testing::spawn_service;
use sqlx::postgres::PgConnectOptions;
use tonic::Request;
use tonic::transport::Channel;

mod common;
use common::{TOKEN, Upstream, url_of};

const BIN: &str = env!("CARGO_BIN_EXE_backup-service");

fn request<T>(msg: T) -> Request<T> {
    common::request(msg, "alice")
}

#[sqlx::test(migrations = false)]
async fn a_failed_backup_logs_its_transitions_and_its_end_with_operator_and_reason(
    _p: sqlx::pool::PoolOptions<sqlx::Postgres>,
    opts: PgConnectOptions,
) {
    let upstream = Upstream::start(|_| {}).await;
    let (gw_url, db_url) = (upstream.gw_url.clone(), url_of(&opts));
    let svc = spawn_service(
        BIN,
        &[],
        &[
            ("BACKUP_SERVICE__LISTEN_ADDR", "127.0.0.1:0".to_owned()),
            ("BACKUP_SERVICE__DATABASE__URL", db_url),
            ("BACKUP_SERVICE__AUTH__TOKENS", TOKEN.to_owned()),
            ("BACKUP_SERVICE__JOB_GATEWAY__URL", gw_url),
            ("BACKUP_SERVICE__JOB_GATEWAY__TOKEN", TOKEN.to_owned()),
        ],
    );
    let channel = Channel::from_shared(svc.endpoint())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = BackupServiceClient::new(channel);
    // Host 1009's agent is down: the backup ends FAILED (all hosts failed) before launch.
    let id = client
        .start_backup(request(pb::StartBackupRequest {
            bk_biz_id: 3,
            bk_host_ids: vec![1009],
            bk_file_dir: "/data/logs".to_owned(),
            bk_file_suffix: "log".to_owned(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .backup
        .unwrap()
        .backup_id;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut lines = vec![];
    let ended = loop {
        lines.extend(svc.drain_log());
        let ours: Vec<&String> = lines.iter().filter(|l| l.contains(&id)).collect();
        if let Some(end) = ours.iter().find(|l| l.contains("backup ended")) {
            break (*end).clone();
        }
        assert!(Instant::now() < deadline, "no end logged: {ours:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for needle in [
        "operator=alice",
        "state=\"failed\"",
        "failure_reason=\"all_hosts_failed\"",
        "every host was skipped (agent offline or not in the business): nothing was sent",
    ] {
        assert!(ended.contains(needle), "{needle} missing from: {ended}");
    }
    let ours: Vec<&String> = lines.iter().filter(|l| l.contains(&id)).collect();
    for step in ["backup claimed", "checking agents"] {
        assert!(
            ours.iter()
                .any(|l| l.contains(step) && l.contains("operator=alice")),
            "{step}: {ours:#?}"
        );
    }
}
