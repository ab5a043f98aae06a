//! Both services start together in-process and answer over real gRPC: callers must
//! authenticate (probes stay open), bad input is INVALID_ARGUMENT naming the field, and RPCs
//! whose capability has not landed say exactly what is missing instead of returning made-up
//! data.

use e2e::{
    backup_client, backup_settings, job_gateway_settings, spawn_backup_service, spawn_job_gateway,
};
use proto::backup::v1::backup_service_client::BackupServiceClient;
use proto::backup::v1::{ListBackupRecordsRequest, StartBackupRequest};
use proto::jobgateway::v1::ListBusinessesRequest;
use proto::jobgateway::v1::cmdb_service_client::CmdbServiceClient;
use sqlx::postgres::PgConnectOptions;
use tonic::Code;
use tonic_types::StatusExt;

#[sqlx::test(migrations = false)]
async fn the_stack_boots_and_unbuilt_rpcs_name_the_missing_capability(
    _pool: sqlx::pool::PoolOptions<sqlx::Postgres>,
    db: PgConnectOptions,
) {
    let gw = spawn_job_gateway(job_gateway_settings("http://127.0.0.1:9")).await;
    let backup = spawn_backup_service(backup_settings(&db, gw.addr)).await;

    let err = CmdbServiceClient::new(gw.channel().await)
        .list_businesses(ListBusinessesRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);
    assert_eq!(
        err.message(),
        "ListBusinesses is not available yet: it needs the BlueKing CMDB client"
    );

    let err = backup_client(&backup, Some("alice"))
        .await
        .start_backup(StartBackupRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);
    assert_eq!(
        err.message(),
        "StartBackup is not available yet: it needs the durable backup engine"
    );

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
    assert_eq!(err.message(), "missing authorization metadata");
    backup.stop().await;
}

#[sqlx::test(migrations = false)]
async fn listing_records_validates_every_field_and_pages_an_empty_store(
    _pool: sqlx::pool::PoolOptions<sqlx::Postgres>,
    db: PgConnectOptions,
) {
    let backup = spawn_backup_service(backup_settings(&db, "127.0.0.1:9".parse().unwrap())).await;
    let mut client = backup_client(&backup, None).await;

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
    backup.stop().await;
}
