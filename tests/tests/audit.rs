//! The audit trail end to end: every StartBackup, CancelBackup and RetryBackup writes one event
//! with the token's name, the BlueKing user, the business, the backup and the result, refusals
//! included; a business's users read it through AuditService, and a user BlueKing keeps out of
//! the business is PERMISSION_DENIED.

use e2e::flow::{run_backup, start};
use e2e::stack::{Door, Stack};
use e2e::{Authed, backup_client};
use proto::backup::v1 as pb;
use proto::backup::v1::audit_service_client::AuditServiceClient;
use sqlx::postgres::PgConnectOptions;
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

type Pool = sqlx::pool::PoolOptions<sqlx::Postgres>;

async fn audit_client(
    stack: &Stack,
    user: &'static str,
) -> AuditServiceClient<InterceptedService<Channel, Authed>> {
    AuditServiceClient::with_interceptor(
        stack.backup.channel().await,
        Authed {
            username: Some(user),
        },
    )
}

fn list(bk_biz_id: i64) -> pb::ListAuditEventsRequest {
    pb::ListAuditEventsRequest {
        bk_biz_id,
        ..Default::default()
    }
}

#[sqlx::test(migrations = false)]
async fn every_mutation_writes_one_event_that_the_business_users_read_and_outsiders_cannot(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    let mut alice = backup_client(&stack.backup, Some("alice")).await;
    let (id, _) = run_backup(&mut alice, start(&[1001], "/project", "log")).await;
    let refused = alice
        .start_backup(start(&[1001], "/project/../etc", "log"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    alice
        .cancel_backup(pb::CancelBackupRequest {
            backup_id: id.clone(),
        })
        .await
        .unwrap();
    // It succeeded: nothing to retry, and the refusal is audited too.
    let retried = alice
        .retry_backup(pb::RetryBackupRequest {
            backup_id: id.clone(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(retried.code(), Code::FailedPrecondition);
    let events = audit_client(&stack, "alice")
        .await
        .list_audit_events(list(3))
        .await
        .unwrap()
        .into_inner()
        .events;
    let seen: Vec<(&str, &str, &str, &str, &str)> = events
        .iter()
        .map(|e| {
            (
                e.action.as_str(),
                e.code.as_str(),
                e.target.as_str(),
                e.bk_username.as_str(),
                e.token_name.as_str(),
            )
        })
        .collect();
    let id = id.as_str();
    assert_eq!(
        seen,
        [
            ("RetryBackup", "FAILED_PRECONDITION", id, "alice", "token#1"),
            ("CancelBackup", "OK", id, "alice", "token#1"),
            ("StartBackup", "INVALID_ARGUMENT", "", "alice", "token#1"),
            ("StartBackup", "OK", id, "alice", "token#1"),
        ]
    );
    assert!(events.iter().all(|e| e.bk_biz_id == 3));
    assert!(events[2].message.contains("bk_file_dir"), "{:?}", events[2]);
    // bob may not act on business 3: BlueKing says so, and he reads nothing.
    let denied = audit_client(&stack, "bob")
        .await
        .list_audit_events(list(3))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    let bobs = audit_client(&stack, "bob")
        .await
        .list_audit_events(list(5))
        .await
        .unwrap()
        .into_inner();
    assert!(bobs.events.is_empty());
    stack.stop().await;
}
