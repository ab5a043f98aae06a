//! Who may do what, end to end: every BackupService and ScheduleService RPC checks that the
//! caller's BlueKing user may act on the business (bob may see business 5 only), listings
//! without a business filter show only the caller's businesses, people call with their
//! BlueKing login token (metadata or cookie) and an expired one is UNAUTHENTICATED naming the
//! login page, and a schedule whose owner loses the business fails its run and is paused.

use e2e::flow::{run_backup, start};
use e2e::scheduler::{get, real_now, runs_reach};
use e2e::schedules::{Schedules, create, nightly};
use e2e::stack::{Door, Stack};
use e2e::{LoggedIn, schedule_client};
use proto::backup::v1 as pb;
use proto::backup::v1::audit_service_client::AuditServiceClient;
use proto::backup::v1::backup_service_client::BackupServiceClient;
use sqlx::postgres::PgConnectOptions;
use tonic::{Code, Status};
use tonic_types::StatusExt;

type Pool = sqlx::pool::PoolOptions<sqlx::Postgres>;

/// Bob's backup of business 5's host 2001.
fn payments() -> pb::StartBackupRequest {
    pb::StartBackupRequest {
        bk_biz_id: 5,
        ..start(&[2001], "/project", "log")
    }
}

/// Asserts `s` is BlueKing's refusal: PERMISSION_DENIED with the permission to apply for.
fn denied(what: &str, s: Status) {
    assert_eq!(s.code(), Code::PermissionDenied, "{what}: {s:?}");
    assert!(
        s.get_details_error_info().is_some(),
        "{what}: the refusal carries BlueKing's permission details: {s:?}"
    );
}

/// Business `biz`'s audit events (of `user`, when not empty), read as admin.
async fn audit_events(stack: &Stack, biz: i64, user: &str) -> Vec<pb::AuditEvent> {
    let admin = e2e::Authed {
        username: Some("admin"),
    };
    AuditServiceClient::with_interceptor(stack.backup.channel().await, admin)
        .list_audit_events(pb::ListAuditEventsRequest {
            bk_biz_id: biz,
            bk_username: user.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events
}

fn businesses(backups: &[pb::Backup]) -> Vec<i64> {
    let mut b: Vec<i64> = backups.iter().map(|b| b.bk_biz_id).collect();
    b.dedup();
    b
}

#[sqlx::test(migrations = false)]
async fn bob_can_neither_read_start_cancel_retry_nor_watch_business_3s_backups(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    let mut admin = stack.client("admin").await;
    let mut bob = stack.client("bob").await;
    let (id, _) = run_backup(&mut admin, start(&[1001], "/project", "log")).await;

    let get = pb::GetBackupRequest {
        backup_id: id.clone(),
        ..Default::default()
    };
    denied("get", bob.get_backup(get).await.unwrap_err());
    let watch = pb::WatchBackupRequest {
        backup_id: id.clone(),
        after_seq: 0,
    };
    denied("watch", bob.watch_backup(watch).await.unwrap_err());
    let cancel = pb::CancelBackupRequest {
        backup_id: id.clone(),
    };
    denied("cancel", bob.cancel_backup(cancel).await.unwrap_err());
    let retry = pb::RetryBackupRequest {
        backup_id: id.clone(),
        ..Default::default()
    };
    denied("retry", bob.retry_backup(retry).await.unwrap_err());
    let search = pb::SearchFilesRequest {
        bk_biz_id: 3,
        bk_host_ids: vec![1001],
        bk_file_dir: "/project".into(),
        bk_file_suffix: "log".into(),
        ..Default::default()
    };
    denied("search", bob.search_files(search).await.unwrap_err());
    let started = bob
        .start_backup(start(&[1001], "/project", "log"))
        .await
        .unwrap_err();
    denied("start", started);
    let listed = pb::ListBackupsRequest {
        bk_biz_id: 3,
        ..Default::default()
    };
    denied("list of 3", bob.list_backups(listed).await.unwrap_err());
    let records = pb::ListBackupRecordsRequest {
        bk_biz_id: 3,
        ..Default::default()
    };
    denied(
        "records of 3",
        bob.list_backup_records(records).await.unwrap_err(),
    );

    // Nothing bob tried was stored: business 3 still has admin's one backup.
    let all = admin
        .list_backups(pb::ListBackupsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .backups;
    assert_eq!(all.len(), 1);
    // Each refused mutation is an audit event of business 3, as bob, PERMISSION_DENIED.
    let events = audit_events(&stack, 3, "bob").await;
    let mut actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    actions.sort_unstable();
    assert_eq!(actions, ["CancelBackup", "RetryBackup", "StartBackup"]);
    assert!(events.iter().all(|e| e.code == "PERMISSION_DENIED"));
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn listings_without_a_business_filter_show_only_the_callers_businesses(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    let mut admin = stack.client("admin").await;
    let mut bob = stack.client("bob").await;
    run_backup(&mut admin, start(&[1001], "/project", "log")).await;
    run_backup(&mut bob, payments()).await;

    let seen = |c: &mut e2e::flow::Client| {
        let mut c = c.clone();
        async move {
            c.list_backups(pb::ListBackupsRequest::default())
                .await
                .unwrap()
                .into_inner()
                .backups
        }
    };
    assert_eq!(businesses(&seen(&mut bob).await), [5]);
    let mut both = businesses(&seen(&mut admin).await);
    both.sort_unstable();
    assert_eq!(both, [3, 5]);
    let records = bob
        .list_backup_records(pb::ListBackupRecordsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .records;
    assert!(!records.is_empty());
    assert!(records.iter().all(|r| r.bk_biz_id == 5), "{records:?}");

    let mut alice: Schedules = schedule_client(&stack.backup, Some("alice")).await;
    let mut bobs: Schedules = schedule_client(&stack.backup, Some("bob")).await;
    let theirs = create(&mut alice, nightly("gamesvr nightly")).await;
    let mut pay = nightly("payments nightly");
    pay.bk_biz_id = 5;
    pay.selector = Some(pb::HostSelector {
        bk_module_ids: vec![5001],
        ..Default::default()
    });
    let mine = create(&mut bobs, pay).await;
    let listed = bobs
        .list_schedules(pb::ListSchedulesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .schedules;
    let ids: Vec<&str> = listed.iter().map(|s| s.schedule_id.as_str()).collect();
    assert_eq!(ids, [mine.schedule_id.as_str()]);
    let get = pb::GetScheduleRequest {
        schedule_id: theirs.schedule_id.clone(),
    };
    denied("get schedule", bobs.get_schedule(get).await.unwrap_err());
    let pause = pb::PauseScheduleRequest {
        schedule_id: theirs.schedule_id.clone(),
        ..Default::default()
    };
    denied(
        "pause schedule",
        bobs.pause_schedule(pause).await.unwrap_err(),
    );
    let runs = pb::ListScheduleRunsRequest {
        schedule_id: theirs.schedule_id.clone(),
        ..Default::default()
    };
    denied("runs", bobs.list_schedule_runs(runs).await.unwrap_err());
    stack.stop().await;
}

fn person(stack: &Stack, bk_token: &'static str, as_cookie: bool) -> impl Future<Output = People> {
    let addr = stack.backup.channel();
    async move {
        BackupServiceClient::with_interceptor(
            addr.await,
            LoggedIn {
                bk_token,
                as_cookie,
            },
        )
    }
}

type People = BackupServiceClient<
    tonic::service::interceptor::InterceptedService<tonic::transport::Channel, LoggedIn>,
>;

#[sqlx::test(migrations = false)]
async fn a_person_calls_with_their_login_token_and_an_expired_one_is_unauthenticated_naming_the_login_page(
    _p: Pool,
    db: PgConnectOptions,
) {
    // job-gateway asks BlueKing every time, so an expiry shows at once.
    let stack = Stack::start_custom(&db, Door::Esb, |g| g.bk.login_cache_ms = 0, |_| {}).await;
    let mut bob = person(&stack, "tkn-bob", false).await;
    let started = bob.start_backup(payments()).await.unwrap().into_inner();
    let backup = started.backup.unwrap();
    assert_eq!(backup.operator, "bob", "the verified user is the operator");
    let listed = bob
        .list_backups(pb::ListBackupsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .backups;
    assert_eq!(businesses(&listed), [5]);
    let theirs = bob
        .start_backup(start(&[1001], "/project", "log"))
        .await
        .unwrap_err();
    denied("a person is authorized as themself", theirs);

    // A browser sends the cookie.
    let mut alice = person(&stack, "tkn-alice", true).await;
    let get = pb::GetBackupRequest {
        backup_id: backup.backup_id.clone(),
        ..Default::default()
    };
    denied("alice on 5", alice.get_backup(get).await.unwrap_err());
    alice
        .list_backups(pb::ListBackupsRequest {
            bk_biz_id: 3,
            ..Default::default()
        })
        .await
        .unwrap();

    stack.expire_login("tkn-bob").await;
    let expired = bob
        .list_backups(pb::ListBackupsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(expired.code(), Code::Unauthenticated, "{expired:?}");
    assert!(
        expired.message().contains("/login/"),
        "names the page to log in at: {expired:?}"
    );
    let mut stranger = person(&stack, "tkn-nobody", false).await;
    let unknown = stranger
        .list_backups(pb::ListBackupsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::Unauthenticated);

    // The person's start is audited as the verified user, through their login.
    let events = audit_events(&stack, 5, "").await;
    let start = events
        .iter()
        .find(|e| e.action == "StartBackup" && e.code == "OK")
        .expect("bob's start is audited");
    assert_eq!(
        (start.bk_username.as_str(), start.token_name.as_str()),
        ("bob", ""),
        "a person presents no service token"
    );
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn a_call_with_no_credentials_at_all_is_unauthenticated_and_says_what_to_send(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    let mut bare = BackupServiceClient::new(stack.backup.channel().await);
    let s = bare
        .list_backups(pb::ListBackupsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(s.code(), Code::Unauthenticated);
    assert!(s.message().contains("x-bk-token"), "{s:?}");
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn a_schedule_whose_owner_loses_the_business_fails_its_run_with_the_reason_and_is_paused(
    _p: Pool,
    db: PgConnectOptions,
) {
    let t0 = real_now();
    let (stack, clock) = Stack::start_with_clock(&db, Door::Esb, t0, |_| {}).await;
    let mut alice: Schedules = schedule_client(&stack.backup, Some("alice")).await;
    let mut s = nightly("gamesvr hourly");
    if let Some(spec) = s.spec.as_mut() {
        spec.cron = "0 * * * *".into();
    }
    s.pause_after_failures = 1;
    let s = create(&mut alice, s).await;
    let id: uuid::Uuid = s.schedule_id.parse().unwrap();
    stack.set_permission("alice", 3, false).await;
    let pool = stack.pool().await;
    clock.set(get(&pool, id).await.next_fire_at.unwrap());
    let runs = runs_reach(&pool, id, 1).await;
    assert_eq!(
        runs[0].decision,
        backup_service::domain::RunDecision::FailedToStart
    );
    assert!(
        runs[0].reason.to_lowercase().contains("permission"),
        "the run says why: {:?}",
        runs[0].reason
    );
    let paused = e2e::scheduler::eventually("the schedule is paused", || {
        let pool = pool.clone();
        async move {
            let row = get(&pool, id).await;
            (row.state == backup_service::domain::ScheduleState::Paused).then_some(row)
        }
    })
    .await;
    assert!(
        paused.pause_note.contains("permission"),
        "{}",
        paused.pause_note
    );
    stack.stop().await;
}
