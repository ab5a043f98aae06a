//! Backups end to end: backup-service → job-gateway → bk-sim hosts running our scripts, with
//! records in Postgres. Each test gets its own database and its own simulator.

use std::collections::BTreeSet;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use e2e::flow::{full, host, records, run_backup, start, watch_to_end};
use e2e::stack::{Door, Stack};
use proto::backup::v1 as pb;
use sqlx::postgres::PgConnectOptions;
use tonic::Code;

/// Paths of the `.suffix` files under `dir` in a host tree (as the host sees them), skipping
/// `<dir>/backup`.
fn files_on_host(root: &Path, dir: &str, suffix: &str) -> BTreeSet<Vec<u8>> {
    fn walk(root: &Path, at: &Path, skip: &Path, suffix: &str, out: &mut BTreeSet<Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(at) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            let ft = e.file_type().unwrap();
            if ft.is_dir() && p != skip {
                walk(root, &p, skip, suffix, out);
            } else if ft.is_file()
                && p.extension()
                    .is_some_and(|x| x.as_bytes() == suffix.as_bytes())
            {
                let rel = p.strip_prefix(root).unwrap();
                let mut bytes = b"/".to_vec();
                bytes.extend_from_slice(rel.as_os_str().as_bytes());
                out.insert(bytes);
            }
        }
    }
    let base = root.join(dir.trim_start_matches('/'));
    let mut out = BTreeSet::new();
    walk(root, &base, &base.join("backup"), suffix, &mut out);
    out
}

fn on_host(root: &Path, path: &[u8]) -> std::path::PathBuf {
    root.join(std::ffi::OsStr::from_bytes(&path[1..]))
}

async fn backs_up_every_log_file_and_records_each_copy(db: PgConnectOptions, door: Door) {
    let stack = Stack::start(&db, door).await;
    let mut client = stack.client("admin").await;
    let backup = client
        .start_backup(start(&[1001, 1002], "/data/logs", "log"))
        .await
        .expect("start")
        .into_inner()
        .backup
        .unwrap();
    assert_eq!(backup.state, pb::BackupState::Queued as i32);
    let events = watch_to_end(&mut client, &backup.backup_id).await;
    assert!(matches!(
        events[0].event,
        Some(pb::watch_backup_response::Event::Snapshot(_))
    ));
    let done = full(&mut client, &backup.backup_id).await;
    assert_eq!(done.state, pb::BackupState::Succeeded as i32, "{done:?}");
    let recs = records(&mut client, &backup.backup_id).await;
    let mut expected_total = 0;
    for h in [1001, 1002] {
        let root = stack.host_root(h).await;
        let expected = files_on_host(&root, "/data/logs", "log");
        assert!(
            !expected.is_empty(),
            "the demo world gives host {h} log files"
        );
        let got: BTreeSet<Vec<u8>> = recs
            .iter()
            .filter(|r| r.bk_host_id == h)
            .map(|r| r.source_path.clone().into_bytes())
            .collect();
        assert_eq!(got, expected, "host {h}");
        expected_total += expected.len();
        for r in recs.iter().filter(|r| r.bk_host_id == h) {
            let copy =
                std::fs::read(on_host(&root, r.backup_path.as_bytes())).expect("the copy exists");
            let source = std::fs::read(on_host(&root, r.source_path.as_bytes())).unwrap();
            assert_eq!(copy, source, "{}", r.backup_path);
            assert_eq!(r.size_bytes as usize, copy.len());
            assert!(
                r.backup_path
                    .starts_with(&format!("/data/logs/backup/{}/", done.bk_backup_name))
            );
            assert_eq!(
                r.bk_job_link,
                format!(
                    "{}/api_execute/{}",
                    stack.sim.base_url(),
                    done.job_instance_id
                )
            );
            assert_eq!(r.bk_file_operator, "admin");
            assert_eq!(
                (r.bk_file_dir.as_str(), r.bk_file_suffix.as_str()),
                ("/data/logs", "log")
            );
        }
    }
    assert_eq!(recs.len(), expected_total);
    assert_eq!(done.counts.unwrap().files_copied as usize, expected_total);
    assert_eq!(stack.upstream_calls("fast_execute_script").await, 1);
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn a_backup_through_esb_copies_every_log_file_and_records_each_copy(
    _p: sqlx::pool::PoolOptions<sqlx::Postgres>,
    db: PgConnectOptions,
) {
    backs_up_every_log_file_and_records_each_copy(db, Door::Esb).await;
}

#[sqlx::test(migrations = false)]
async fn a_backup_through_the_api_gateway_copies_every_log_file_and_records_each_copy(
    _p: sqlx::pool::PoolOptions<sqlx::Postgres>,
    db: PgConnectOptions,
) {
    backs_up_every_log_file_and_records_each_copy(db, Door::Apigw).await;
}

#[sqlx::test(migrations = false)]
async fn injection_attempts_are_rejected_naming_the_field_and_nothing_is_launched(
    _p: sqlx::pool::PoolOptions<sqlx::Postgres>,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    let mut client = stack.client("admin").await;
    let cases = [
        (start(&[1001], "/data/logs; rm -rf /", "log"), "bk_file_dir"),
        (start(&[1001], "/data/logs\n/etc", "log"), "bk_file_dir"),
        (start(&[1001], "/data/../etc", "log"), "bk_file_dir"),
        (start(&[1001], "data/logs", "log"), "bk_file_dir"),
        (start(&[1001], "/", "log"), "bk_file_dir"),
        (start(&[1001], "/data/logs", "log;reboot"), "bk_file_suffix"),
        (start(&[1001], "/data/logs", "l`id`"), "bk_file_suffix"),
        (start(&[1001, -2], "/data/logs", "log"), "bk_host_ids[1]"),
        (start(&[], "/data/logs", "log"), "bk_host_ids"),
    ];
    for (req, field) in cases {
        let err = client.start_backup(req.clone()).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{req:?}");
        let details = tonic_types::StatusExt::get_error_details(&err);
        assert_eq!(
            details.bad_request().unwrap().field_violations[0].field,
            field,
            "{req:?}"
        );
        let search = pb::SearchFilesRequest {
            bk_biz_id: req.bk_biz_id,
            bk_host_ids: req.bk_host_ids.clone(),
            bk_file_dir: req.bk_file_dir.clone(),
            bk_file_suffix: req.bk_file_suffix.clone(),
            ..Default::default()
        };
        assert_eq!(
            client.search_files(search).await.unwrap_err().code(),
            Code::InvalidArgument
        );
    }
    assert_eq!(stack.upstream_calls("fast_execute_script").await, 0);
    let listed = client
        .list_backups(pb::ListBackupsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.backups.is_empty());
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn each_failing_host_is_reported_with_its_own_reason_and_the_rest_is_backed_up(
    _p: sqlx::pool::PoolOptions<sqlx::Postgres>,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    // 1002: directory missing; 1003: directory unreadable; 1009: agent offline (demo world).
    std::fs::remove_dir_all(stack.host_root(1002).await.join("data/logs")).unwrap();
    let locked = stack.host_root(1003).await.join("data/logs");
    std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();
    let mut client = stack.client("admin").await;
    let (id, done) = run_backup(
        &mut client,
        start(&[1001, 1002, 1003, 1009], "/data/logs", "log"),
    )
    .await;
    std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    assert_eq!(done.state, pb::BackupState::Partial as i32, "{done:?}");
    let status = |h| (host(&done, h).status, host(&done, h).reason);
    use pb::HostBackupStatus as S;
    use pb::HostFailureReason as R;
    assert_eq!(status(1001), (S::Succeeded as i32, R::Unspecified as i32));
    assert_eq!(status(1002), (S::Failed as i32, R::DirectoryMissing as i32));
    assert_eq!(status(1003), (S::Failed as i32, R::PermissionDenied as i32));
    assert_eq!(status(1009), (S::Skipped as i32, R::AgentOffline as i32));
    let recs = records(&mut client, &id).await;
    assert!(!recs.is_empty() && recs.iter().all(|r| r.bk_host_id == 1001));
    // The offline host was never sent to JOB.
    let jobs: serde_json::Value = reqwest::get(format!(
        "{}/_sim/requests?api=fast_execute_script",
        stack.sim.base_url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    // Exactly one launch, and it targets the three online hosts only.
    assert_eq!(jobs["count"], serde_json::json!(1), "{jobs}");
    assert_eq!(
        jobs["requests"][0]["params"]["target_server"]["host_id_list"],
        serde_json::json!([1001, 1002, 1003]),
        "{jobs}"
    );
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn shell_syntax_in_names_is_taken_literally_and_nasty_files_are_copied_byte_exact(
    _p: sqlx::pool::PoolOptions<sqlx::Postgres>,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    let root = stack.host_root(1001).await;
    let dir = "/data/$(touch /tmp/pwned)";
    let on_disk = root.join("data/$(touch /tmp/pwned)");
    std::fs::create_dir_all(&on_disk).unwrap();
    let nasty: [&[u8]; 7] = [
        b"with space.log",
        b"tab\there.log",
        b"new\nline.log",
        b"quote'\"s.log",
        b"$(reboot)`id`.log",
        b"-leading-dash.log",
        b"latin1-\xe9\xff.log",
    ];
    for (i, name) in nasty.iter().enumerate() {
        std::fs::write(
            on_disk.join(std::ffi::OsStr::from_bytes(name)),
            format!("content {i}\n"),
        )
        .unwrap();
    }
    let mut client = stack.client("admin").await;

    let found = client
        .search_files(pb::SearchFilesRequest {
            bk_biz_id: 3,
            bk_host_ids: vec![1001],
            bk_file_dir: dir.to_owned(),
            bk_file_suffix: "log".to_owned(),
            ..Default::default()
        })
        .await
        .expect("search")
        .into_inner();
    let result = &found.host_results[0];
    assert_eq!(
        result.status,
        pb::HostSearchStatus::Found as i32,
        "{result:?}"
    );
    let found_paths: BTreeSet<Vec<u8>> = result
        .files
        .iter()
        .map(|f| {
            if f.path_bytes.is_empty() {
                f.path.clone().into_bytes()
            } else {
                f.path_bytes.clone()
            }
        })
        .collect();
    let expected: BTreeSet<Vec<u8>> = nasty
        .iter()
        .map(|n| [dir.as_bytes(), b"/", n].concat())
        .collect();
    assert_eq!(found_paths, expected);

    let (id, done) = run_backup(&mut client, start(&[1001], dir, "log")).await;
    assert_eq!(done.state, pb::BackupState::Succeeded as i32, "{done:?}");
    let recs = records(&mut client, &id).await;
    assert_eq!(recs.len(), nasty.len());
    for r in &recs {
        let src = if r.source_path_bytes.is_empty() {
            r.source_path.clone().into_bytes()
        } else {
            r.source_path_bytes.clone()
        };
        let dst = if r.backup_path_bytes.is_empty() {
            r.backup_path.clone().into_bytes()
        } else {
            r.backup_path_bytes.clone()
        };
        assert!(expected.contains(&src));
        assert_eq!(
            std::fs::read(on_host(&root, &dst)).unwrap(),
            std::fs::read(on_host(&root, &src)).unwrap()
        );
    }
    assert!(
        !root.join("tmp/pwned").exists(),
        "a name was executed as shell"
    );
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn an_unreadable_subdirectory_is_reported_and_makes_the_host_partial(
    _p: sqlx::pool::PoolOptions<sqlx::Postgres>,
    db: PgConnectOptions,
) {
    // The demo world's host 1004 has an unreadable /project/logs/private.
    let stack = Stack::start(&db, Door::Esb).await;
    let mut client = stack.client("admin").await;
    let found = client
        .search_files(pb::SearchFilesRequest {
            bk_biz_id: 3,
            bk_host_ids: vec![1004],
            bk_file_dir: "/project".to_owned(),
            bk_file_suffix: "log".to_owned(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let r = &found.host_results[0];
    assert_eq!(
        (r.status, r.unreadable_count),
        (pb::HostSearchStatus::Found as i32, 1),
        "{r:?}"
    );
    assert!(r.files.iter().all(|f| !f.path.contains("/private/")));
    assert_eq!(r.file_count as usize, r.files.len());

    let (id, done) = run_backup(&mut client, start(&[1004], "/project", "log")).await;
    let h = host(&done, 1004);
    assert_eq!(
        (done.state, h.status, h.reason),
        (
            pb::BackupState::Partial as i32,
            pb::HostBackupStatus::Partial as i32,
            pb::HostFailureReason::PermissionDenied as i32
        ),
        "{h:?}"
    );
    assert!(h.log_excerpt.contains("/project/logs/private"), "{h:?}");
    assert_eq!(records(&mut client, &id).await.len() as i64, h.files_copied);
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn in_plan_mode_search_and_backup_run_the_plans_kept_in_job_with_the_same_results(
    _p: sqlx::pool::PoolOptions<sqlx::Postgres>,
    db: PgConnectOptions,
) {
    // The demo world keeps our scripts as plans 4101 (search), 4102 (backup) and 4103 (read);
    // a JOB keeping 4 KiB of log per host makes the backup read its manifest back.
    let stack = Stack::start_all(
        &db,
        Door::Apigw,
        |sim| sim.log_cap_bytes = 4096,
        |_| {},
        |s| {
            s.plan.enabled = true;
            s.plan.search_plan_id = 4101;
            s.plan.backup_plan_id = 4102;
            s.plan.read_plan_id = 4103;
        },
    )
    .await;
    let mut client = stack.client("admin").await;
    let found = client
        .search_files(pb::SearchFilesRequest {
            bk_biz_id: 3,
            bk_host_ids: vec![1001, 1002],
            bk_file_dir: "/data/logs".to_owned(),
            bk_file_suffix: "log".to_owned(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    for r in &found.host_results {
        let expected = files_on_host(&stack.host_root(r.bk_host_id).await, "/data/logs", "log");
        let got: BTreeSet<Vec<u8>> = r
            .files
            .iter()
            .map(|f| f.path.clone().into_bytes())
            .collect();
        assert_eq!(got, expected, "host {}", r.bk_host_id);
    }
    // More records than 4 KiB of log can carry.
    let extra = stack.host_root(1001).await.join("data/logs/extra");
    std::fs::create_dir_all(&extra).unwrap();
    for i in 0..60 {
        std::fs::write(extra.join(format!("more_{i:02}.log")), format!("{i}\n")).unwrap();
    }
    let (id, done) = run_backup(&mut client, start(&[1001, 1002], "/data/logs", "log")).await;
    assert_eq!(done.state, pb::BackupState::Succeeded as i32, "{done:?}");
    let copied = done.counts.unwrap().files_copied;
    assert!(copied > 60, "{done:?}");
    assert_eq!(records(&mut client, &id).await.len() as i64, copied);
    // A search, a backup, and at least one read of the manifest, all as plans.
    assert!(stack.upstream_calls("execute_job_plan").await >= 3);
    assert_eq!(stack.upstream_calls("fast_execute_script").await, 0);
    stack.stop().await;
}
