//! What an operator reads in backup-service's log about one backup: each transition and every
//! failure names the backup, its operator and the reason.

use std::time::{Duration, Instant};

use proto::backup::v1 as pb;
use proto::backup::v1::backup_service_client::BackupServiceClient;
use secrecy::SecretString;
use service_kit::testing::spawn_service;
use sqlx::postgres::PgConnectOptions;
use tonic::Request;
use tonic::transport::Channel;

const BIN: &str = env!("CARGO_BIN_EXE_backup-service");
const TOKEN: &str = "logs-test-token-0123456789";

fn request<T>(msg: T) -> Request<T> {
    let mut req = Request::new(msg);
    let md = req.metadata_mut();
    md.insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    md.insert("x-bk-username", "alice".parse().unwrap());
    req
}

#[sqlx::test(migrations = false)]
async fn a_failed_backup_logs_its_transitions_and_its_end_with_operator_and_reason(
    _p: sqlx::pool::PoolOptions<sqlx::Postgres>,
    opts: PgConnectOptions,
) {
    let world = concat!(env!("CARGO_MANIFEST_DIR"), "/../bk-sim/worlds/demo.toml");
    let mut sim_settings = bk_sim::Settings::new(bk_sim::World::load(world.as_ref()).unwrap());
    sim_settings.dispatch_delay_ms = 20;
    let sim = bk_sim::spawn(sim_settings).await.unwrap();
    let mut gw_settings = job_gateway::config::Settings::default();
    gw_settings.bk.esb_url = sim.base_url();
    gw_settings.bk.job_web_url = sim.base_url();
    gw_settings.bk.app_secret = Some(SecretString::from("demo-secret".to_owned()));
    gw_settings.auth.tokens = vec![SecretString::from(TOKEN.to_owned())];
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gw = job_gateway::startup::Application::build(gw_settings, listener)
        .await
        .unwrap();
    let gw_url = format!("http://{}", gw.local_addr());
    tokio::spawn(gw.run_until(std::future::pending()));

    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let (server, _) = base.rsplit_once('/').expect("url with a database");
    let db_url = format!("{server}/{}", opts.get_database().expect("database name"));
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
