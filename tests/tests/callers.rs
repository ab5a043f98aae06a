//! Who calls backup-service: named tokens from `auth.tokens_file`, end to end through
//! job-gateway to bk-sim. A token acting as a fixed BlueKing user cannot name another
//! (PERMISSION_DENIED, nothing is started or launched); it starts backups as its user, and a
//! delegator starts them as the user it names; a delegator naming nobody is INVALID_ARGUMENT
//! rather than a default operator.

use std::path::PathBuf;

use e2e::flow::start;
use e2e::stack::{Door, Stack};
use proto::backup::v1 as pb;
use proto::backup::v1::backup_service_client::BackupServiceClient;
use sqlx::postgres::PgConnectOptions;
type Pool = sqlx::pool::PoolOptions<sqlx::Postgres>;
use tonic::transport::Channel;
use tonic::{Code, Request};

const CRON: &str = "cron-token-0123456789";
const SAAS: &str = "saas-token-0123456789";

/// The token file: `cron` acts as alice, `saas` is a delegator. Removed on drop.
struct TokenFile(PathBuf);

impl TokenFile {
    fn new() -> Self {
        let path = std::env::temp_dir().join(format!("bklb-tokens-{}.toml", uuid::Uuid::new_v4()));
        let text = service_kit::testing::token_file_text(&[
            ("cron", CRON, "user = \"alice\""),
            ("saas", SAAS, "delegator = true"),
        ]);
        std::fs::write(&path, text).unwrap();
        Self(path)
    }
}

impl Drop for TokenFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

async fn stack(db: &PgConnectOptions, tokens: &TokenFile) -> Stack {
    let path = tokens.0.clone();
    Stack::start_with(db, Door::Esb, move |s| {
        s.auth.tokens.clear();
        s.auth.tokens_file = Some(path);
    })
    .await
}

fn call<T>(message: T, token: &str, user: Option<&str>) -> Request<T> {
    let mut r = Request::new(message);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    if let Some(u) = user {
        r.metadata_mut().insert("x-bk-username", u.parse().unwrap());
    }
    r
}

async fn started_by(client: &mut BackupServiceClient<Channel>, operator: &str) -> Vec<String> {
    let list = pb::ListBackupsRequest {
        operator: operator.to_owned(),
        ..Default::default()
    };
    let mut ids: Vec<String> = client
        .list_backups(call(list, SAAS, Some("admin")))
        .await
        .unwrap()
        .into_inner()
        .backups
        .into_iter()
        .map(|b| b.backup_id)
        .collect();
    ids.sort();
    ids
}

#[sqlx::test(migrations = false)]
async fn a_fixed_user_token_naming_someone_else_is_permission_denied_and_nothing_starts(
    _p: Pool,
    db: PgConnectOptions,
) {
    let tokens = TokenFile::new();
    let stack = stack(&db, &tokens).await;
    let mut client = BackupServiceClient::new(stack.backup.channel().await);
    let err = client
        .start_backup(call(start(&[1001], "/data/logs", "log"), CRON, Some("bob")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert!(
        err.message().contains("`cron` acts as `alice`"),
        "{}",
        err.message()
    );
    assert!(started_by(&mut client, "").await.is_empty());
    assert!(started_by(&mut client, "bob").await.is_empty());
    assert_eq!(stack.upstream_calls("fast_execute_script").await, 0);
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn a_fixed_user_token_starts_as_its_user_and_a_delegator_as_the_user_it_names(
    _p: Pool,
    db: PgConnectOptions,
) {
    let tokens = TokenFile::new();
    let stack = stack(&db, &tokens).await;
    let mut client = BackupServiceClient::new(stack.backup.channel().await);
    let id = |r: tonic::Response<pb::StartBackupResponse>| r.into_inner().backup.unwrap().backup_id;
    let by_cron = client
        .start_backup(call(start(&[1001], "/data/logs", "log"), CRON, None))
        .await
        .map(id)
        .unwrap();
    let by_saas = client
        .start_backup(call(
            start(&[1002], "/data/logs", "log"),
            SAAS,
            Some("admin"),
        ))
        .await
        .map(id)
        .unwrap();
    assert_eq!(started_by(&mut client, "alice").await, [by_cron]);
    assert_eq!(started_by(&mut client, "admin").await, [by_saas]);

    let err = client
        .start_backup(call(start(&[1002], "/data/logs", "log"), SAAS, None))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(
        err.message().contains("`saas` is a delegator"),
        "{}",
        err.message()
    );
    assert_eq!(started_by(&mut client, "").await.len(), 2);
    stack.stop().await;
}
