//! The backup-service binary as an operator runs it: migrations on start, probes, settings
//! errors, the `migrate` subcommand, SIGTERM.

use std::time::{Duration, Instant};

use service_kit::testing::{health_status, reflected_services, run_to_exit, spawn_service};
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;
use tonic_health::ServingStatus;

mod common;
use common::url_of;

const BIN: &str = env!("CARGO_BIN_EXE_backup-service");

async fn migration_count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from _sqlx_migrations where success")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = false)]
async fn the_service_migrates_serves_probes_and_stops_on_sigterm_with_exit_zero(
    pool_opts: sqlx::pool::PoolOptions<sqlx::Postgres>,
    opts: PgConnectOptions,
) {
    let url = url_of(&opts);
    let mut svc = spawn_service(
        BIN,
        &[],
        &[
            ("BACKUP_SERVICE__LISTEN_ADDR", "127.0.0.1:0".to_owned()),
            ("BACKUP_SERVICE__DATABASE__URL", url),
            (
                "BACKUP_SERVICE__AUTH__TOKENS",
                "process-test-token-0123".to_owned(),
            ),
        ],
    );
    let endpoint = svc.endpoint();
    let pool = pool_opts.connect_with(opts).await.unwrap();
    assert_eq!(
        migration_count(&pool).await as usize,
        backup_service::store::MIGRATOR.iter().count()
    );

    assert_eq!(health_status(&endpoint, "").await, ServingStatus::Serving);
    assert_eq!(
        health_status(&endpoint, "backup.v1.BackupService").await,
        ServingStatus::Serving
    );
    assert_eq!(
        health_status(&endpoint, "backup.v1.AuditService").await,
        ServingStatus::Serving
    );
    assert_eq!(
        health_status(&endpoint, "backup.v1.ScheduleService").await,
        ServingStatus::Serving
    );
    assert_eq!(
        health_status(&endpoint, "backup.v1.HostService").await,
        ServingStatus::Serving
    );
    assert_eq!(
        reflected_services(&endpoint).await,
        [
            "backup.v1.AuditService",
            "backup.v1.BackupService",
            "backup.v1.HostService",
            "backup.v1.ScheduleService",
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
        ]
    );

    let started = Instant::now();
    svc.terminate();
    let status = svc
        .wait_for_exit(Duration::from_secs(5))
        .await
        .expect("backup-service still running 5 s after SIGTERM");
    assert!(status.success(), "exit status {status}");
    // Well inside the 4 s grace period: nothing was in flight, so nothing was waited for.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[sqlx::test(migrations = false)]
async fn the_migrate_subcommand_applies_migrations_and_exits(
    pool_opts: sqlx::pool::PoolOptions<sqlx::Postgres>,
    opts: PgConnectOptions,
) {
    let url = url_of(&opts);
    let (status, stderr) =
        run_to_exit(BIN, &["migrate"], &[("BACKUP_SERVICE__DATABASE__URL", url)]);
    assert!(status.success(), "{stderr}");
    let pool = pool_opts.connect_with(opts).await.unwrap();
    assert_eq!(
        migration_count(&pool).await as usize,
        backup_service::store::MIGRATOR.iter().count()
    );
}

#[test]
fn a_malformed_database_url_stops_start_up_with_one_line_naming_it() {
    let (status, stderr) = run_to_exit(
        BIN,
        &[],
        &[(
            "BACKUP_SERVICE__DATABASE__URL",
            "postgres://u:pw@host:notaport/db".to_owned(),
        )],
    );
    assert_eq!(status.code(), Some(2));
    assert_eq!(
        stderr.trim_end(),
        "backup-service: invalid setting `database.url` (env BACKUP_SERVICE__DATABASE__URL): is not a valid postgres URL"
    );
}

#[test]
fn an_unknown_backup_name_time_zone_stops_start_up_naming_the_setting() {
    let (status, stderr) = run_to_exit(
        BIN,
        &[],
        &[
            (
                "BACKUP_SERVICE__DATABASE__URL",
                "postgres://u@127.0.0.1:1/db".to_owned(),
            ),
            (
                "BACKUP_SERVICE__BACKUP__NAME_TIME_ZONE",
                "Asia/Beijing".to_owned(),
            ),
        ],
    );
    assert_eq!(status.code(), Some(2));
    assert_eq!(
        stderr.trim_end(),
        "backup-service: invalid setting `backup.name_time_zone` (env BACKUP_SERVICE__BACKUP__NAME_TIME_ZONE): `Asia/Beijing` is not an IANA time zone (e.g. UTC, Asia/Shanghai)"
    );
}

#[test]
fn an_unreachable_database_fails_start_up_with_a_clear_error() {
    let (status, stderr) = run_to_exit(
        BIN,
        &[],
        &[
            (
                "BACKUP_SERVICE__DATABASE__URL",
                "postgres://u@127.0.0.1:1/db".to_owned(),
            ),
            (
                "BACKUP_SERVICE__DATABASE__CONNECT_TIMEOUT_MS",
                "2000".to_owned(),
            ),
            ("BACKUP_SERVICE__LISTEN_ADDR", "127.0.0.1:0".to_owned()),
            (
                "BACKUP_SERVICE__AUTH__ALLOW_UNAUTHENTICATED",
                "true".to_owned(),
            ),
        ],
    );
    assert_eq!(status.code(), Some(1));
    assert!(
        stderr.contains("backup-service: cannot apply database migrations"),
        "{stderr}"
    );
}

#[sqlx::test(migrations = false)]
async fn sighup_makes_the_service_reread_its_token_file_and_a_broken_file_keeps_the_tokens_in_force(
    _pool_opts: sqlx::pool::PoolOptions<sqlx::Postgres>,
    opts: PgConnectOptions,
) {
    use proto::backup::v1 as pb;
    use proto::backup::v1::schedule_service_client::ScheduleServiceClient;
    use tonic::Code;

    const OLD: &str = "old-token-0123456789";
    const NEW: &str = "new-token-0123456789";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.toml");
    let write = |secret: &str| {
        let text = service_kit::testing::token_file_text(&[("cron", secret, "user = \"alice\"")]);
        std::fs::write(&path, text).unwrap();
    };
    write(OLD);
    let svc = spawn_service(
        BIN,
        &[],
        &[
            ("BACKUP_SERVICE__LISTEN_ADDR", "127.0.0.1:0".to_owned()),
            ("BACKUP_SERVICE__DATABASE__URL", url_of(&opts)),
            (
                "BACKUP_SERVICE__AUTH__TOKENS_FILE",
                path.display().to_string(),
            ),
            // No polling: only SIGHUP reloads.
            (
                "BACKUP_SERVICE__AUTH__TOKENS_FILE_POLL_SECS",
                "0".to_owned(),
            ),
        ],
    );
    // PreviewSchedule names no business, so an admitted token answers OK without job-gateway.
    let mut client = ScheduleServiceClient::connect(svc.endpoint())
        .await
        .unwrap();
    let mut code = async |token: &str| {
        let mut r = tonic::Request::new(pb::PreviewScheduleRequest {
            spec: Some(pb::ScheduleSpec {
                cron: "0 3 * * *".into(),
                time_zone: "UTC".into(),
                ..Default::default()
            }),
            ..Default::default()
        });
        r.metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        match client.preview_schedule(r).await {
            Ok(_) => Code::Ok,
            Err(e) => e.code(),
        }
    };
    assert_eq!(
        (code(OLD).await, code(NEW).await),
        (Code::Ok, Code::Unauthenticated)
    );

    write(NEW);
    svc.hangup();
    let started = Instant::now();
    while (code(OLD).await, code(NEW).await) != (Code::Unauthenticated, Code::Ok) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no reload within 10 s of SIGHUP"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A broken file is logged on the next SIGHUP and the tokens in force stay.
    std::fs::write(&path, "[[token]]\nname = ").unwrap();
    svc.hangup();
    let started = Instant::now();
    while !svc
        .drain_log()
        .iter()
        .any(|l| l.contains("token file unusable") && l.contains("SIGHUP"))
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no reload logged"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(code(NEW).await, Code::Ok);
}

#[test]
fn an_unusable_token_file_stops_start_up_with_one_line_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.toml");
    std::fs::write(
        &path,
        "[[token]]\nname = \"x\"\nsecret = \"short\"\ndelegator = true\n",
    )
    .unwrap();
    let (status, stderr) = run_to_exit(
        BIN,
        &[],
        &[
            (
                "BACKUP_SERVICE__DATABASE__URL",
                "postgres://u@127.0.0.1:1/db".to_owned(),
            ),
            (
                "BACKUP_SERVICE__AUTH__TOKENS_FILE",
                path.display().to_string(),
            ),
        ],
    );
    assert_eq!(status.code(), Some(2));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("backup-service: invalid setting `auth.tokens_file` (env BACKUP_SERVICE__AUTH__TOKENS_FILE): "),
        "{stderr}"
    );
    assert!(
        stderr.contains("token `x`: secret must be at least 16 characters"),
        "{stderr}"
    );
}
