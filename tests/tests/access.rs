//! Per-business authorization asked of BlueKing (bk-sim's CMDB with IAM) through job-gateway,
//! as the user: bob may act on business 5 only, alice on 3, admin on all; a refusal is
//! BlueKing's PERMISSION_DENIED with the permission to apply for; answers are remembered for
//! the configured time and asked again without it.

use std::time::Duration;

use backup_service::access::Access;
use backup_service::config::JobGatewaySettings;
use backup_service::gateway::{Gateway, Runner};
use e2e::stack::{Door, Stack};
use secrecy::SecretString;
use sqlx::postgres::PgConnectOptions;
use tonic::Code;
use tonic_types::StatusExt;

type Pool = sqlx::pool::PoolOptions<sqlx::Postgres>;

fn access(stack: &Stack, ttl: Duration) -> Access {
    let settings = JobGatewaySettings {
        url: format!("http://{}", stack.gw.addr),
        token: Some(SecretString::from(e2e::TOKEN.to_owned())),
        ..JobGatewaySettings::default()
    };
    Access::new(Gateway::new(&settings, Runner::Script).unwrap(), ttl)
}

fn status(err: backup_service::error::BackupError) -> tonic::Status {
    err.into()
}

#[sqlx::test(migrations = false)]
async fn each_user_may_act_only_on_the_businesses_blueking_grants_and_a_refusal_says_which_permission(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    let access = access(&stack, Duration::from_secs(60));
    access.check("bob", 5).await.unwrap();
    access.check("alice", 3).await.unwrap();
    for biz in [3, 4, 5] {
        access.check("admin", biz).await.unwrap();
    }
    let denied = status(access.check("bob", 3).await.unwrap_err());
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    let info = denied.get_details_error_info().expect("ErrorInfo");
    assert_eq!(info.reason, "BK_PERMISSION_DENIED");
    assert!(info.metadata["permission"].contains("\"3\""), "{info:?}");
    let missing = status(access.check("admin", 999).await.unwrap_err());
    assert_eq!(missing.code(), Code::NotFound, "{missing:?}");
    assert_eq!(*access.businesses("bob").await.unwrap(), [5]);
    assert_eq!(*access.businesses("alice").await.unwrap(), [3]);
    let all = access.businesses("admin").await.unwrap();
    assert!(
        all.contains(&3) && all.contains(&4) && all.contains(&5),
        "{all:?}"
    );
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn answers_are_remembered_for_the_configured_time_refusals_included_and_asked_again_without_it(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    let cached = access(&stack, Duration::from_secs(60));
    let asked = || stack.upstream_calls("list_biz_hosts");
    let before = asked().await;
    for _ in 0..3 {
        cached.check("bob", 5).await.unwrap();
        let again = status(cached.check("bob", 3).await.unwrap_err());
        assert_eq!(again.code(), Code::PermissionDenied);
        assert!(
            again.get_details_error_info().is_some(),
            "a remembered refusal keeps its details"
        );
    }
    assert_eq!(
        asked().await - before,
        1,
        "a listed business needs no probe; a refused one is probed once"
    );
    let listed = || stack.upstream_calls("search_business");
    let before = listed().await;
    cached.businesses("alice").await.unwrap();
    cached.businesses("alice").await.unwrap();
    assert_eq!(listed().await - before, 1);
    let uncached = access(&stack, Duration::ZERO);
    let before = listed().await;
    uncached.check("bob", 5).await.unwrap();
    uncached.check("bob", 5).await.unwrap();
    assert_eq!(
        listed().await - before,
        2,
        "without a cache every check asks"
    );
    let before = asked().await;
    uncached.check("bob", 3).await.unwrap_err();
    uncached.check("bob", 3).await.unwrap_err();
    assert_eq!(
        asked().await - before,
        2,
        "and every refusal is probed again"
    );
    stack.stop().await;
}
