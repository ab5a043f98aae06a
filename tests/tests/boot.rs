//! Both services start together in-process and answer over real gRPC; RPCs whose capability
//! has not landed say exactly what is missing instead of returning made-up data.

use e2e::{backup_settings, job_gateway_settings, spawn_backup_service, spawn_job_gateway};
use proto::backup::v1::ListBackupRecordsRequest;
use proto::backup::v1::backup_service_client::BackupServiceClient;
use proto::jobgateway::v1::ListBusinessesRequest;
use proto::jobgateway::v1::cmdb_service_client::CmdbServiceClient;
use sqlx::postgres::PgConnectOptions;

#[sqlx::test(migrations = false)]
async fn unbuilt_rpcs_answer_unimplemented_naming_the_missing_capability(
    _pool: sqlx::pool::PoolOptions<sqlx::Postgres>,
    db: PgConnectOptions,
) {
    let gw = spawn_job_gateway(job_gateway_settings("http://127.0.0.1:9")).await;
    let backup = spawn_backup_service(backup_settings(&db, gw.addr)).await;

    let err = CmdbServiceClient::new(gw.channel().await)
        .list_businesses(ListBusinessesRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unimplemented);
    assert_eq!(
        err.message(),
        "ListBusinesses is not available yet: it needs the BlueKing CMDB client"
    );

    let err = BackupServiceClient::new(backup.channel().await)
        .list_backup_records(ListBackupRecordsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unimplemented);
    assert_eq!(
        err.message(),
        "ListBackupRecords is not available yet: it needs the backup record store"
    );

    backup.stop().await;
    gw.stop().await;
}
