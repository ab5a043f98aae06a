//! Both services start together in-process and answer over real gRPC: callers must
//! authenticate, bad input is INVALID_ARGUMENT naming the field, and an unreachable BlueKing
//! is UNAVAILABLE rather than a hang or an internal error.

use e2e::stack::{Door, Stack};
use e2e::{
    Authed, backup_client, backup_settings, job_gateway_settings, spawn_backup_service,
    spawn_job_gateway,
};
use proto::backup::v1::backup_service_client::BackupServiceClient;
use proto::backup::v1::{ListBackupRecordsRequest, ListBackupsRequest};
use proto::jobgateway::v1::ListBusinessesRequest;
use proto::jobgateway::v1::cmdb_service_client::CmdbServiceClient;
use sqlx::postgres::PgConnectOptions;
use tonic::Code;
use tonic_types::StatusExt;

#[sqlx::test(migrations = false)]
async fn with_blueking_unreachable_the_stack_still_boots_and_says_unavailable(
    _pool: sqlx::pool::PoolOptions<sqlx::Postgres>,
    db: PgConnectOptions,
) {
    // Nothing listens on port 9: job-gateway cannot reach "BlueKing".
    let gw = spawn_job_gateway(job_gateway_settings("http://127.0.0.1:9")).await;
    let backup = spawn_backup_service(backup_settings(&db, gw.addr)).await;

    let mut cmdb = CmdbServiceClient::with_interceptor(
        gw.channel().await,
        Authed {
            username: Some("admin"),
        },
    );
    let err = cmdb
        .list_businesses(ListBusinessesRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");

    // Which businesses alice may see is BlueKing's answer: without it even a listing is
    // UNAVAILABLE, never an empty page that would claim she has no backups.
    let listed = backup_client(&backup, Some("alice"))
        .await
        .list_backups(ListBackupsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(listed.code(), Code::Unavailable, "{listed:?}");

    backup.stop().await;
    gw.stop().await;
}

#[sqlx::test(migrations = false)]
async fn backup_calls_without_a_valid_token_are_unauthenticated(
    _pool: sqlx::pool::PoolOptions<sqlx::Postgres>,
    db: PgConnectOptions,
) {
    let backup = spawn_backup_service(backup_settings(&db, "127.0.0.1:9".parse().unwrap())).await;
    let err = BackupServiceClient::new(backup.channel().await)
        .list_backup_records(ListBackupRecordsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    assert!(
        err.message()
            .contains("a service sends `authorization: Bearer <token>`"),
        "{err:?}"
    );
    backup.stop().await;
}

#[sqlx::test(migrations = false)]
async fn listing_records_validates_every_field_and_pages_an_empty_store(
    _pool: sqlx::pool::PoolOptions<sqlx::Postgres>,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    let mut client = stack.client("alice").await;

    let page = client
        .list_backup_records(ListBackupRecordsRequest {
            bk_biz_id: 3,
            page_size: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(page.records.is_empty());
    assert_eq!(page.next_page_token, "");

    let err = client
        .list_backup_records(ListBackupRecordsRequest {
            bk_host_ids: vec![5, -1],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let details = err.get_error_details();
    let violation = &details
        .bad_request()
        .expect("bad request details")
        .field_violations[0];
    assert_eq!(violation.field, "bk_host_ids[1]");
    assert_eq!(violation.description, "must be positive");
    stack.stop().await;
}
