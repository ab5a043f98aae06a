//! Complete backups at any size: a directory of 100,000 files, a JOB log cut short, a run
//! killed by its timeout. In every terminal state each host counts found = copied + failed +
//! unknown, and no copy is left on a host without a record.

use std::collections::BTreeSet;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

use e2e::flow::{Client, assert_counts_add_up, get, records, start, start_backup, watch_for};
use e2e::stack::{Door, Stack};
use proto::backup::v1 as pb;
use proto::backup::v1::watch_backup_response::Event;
use sqlx::postgres::PgConnectOptions;

type Pool = sqlx::pool::PoolOptions<sqlx::Postgres>;

/// Lower-case hex sha256 of `bytes`.
fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes `n` files `<dir>/d<i % 100>/f<i>.log` of `content(i)` into host tree `root`.
fn make_tree(root: &Path, dir: &str, n: usize, content: impl Fn(usize) -> Vec<u8>) {
    let base = root.join(dir.trim_start_matches('/'));
    for d in 0..100.min(n) {
        std::fs::create_dir_all(base.join(format!("d{d:02}"))).unwrap();
    }
    for i in 0..n {
        let p = base.join(format!("d{:02}/f{i:06}.log", i % 100));
        std::fs::write(p, content(i)).unwrap();
    }
}

/// Follows backup `id` with GetBackup (HOSTS view) until it is terminal, at most `limit`.
async fn until_done(client: &mut Client, id: &str, limit: Duration) -> pb::Backup {
    let end = Instant::now() + limit;
    loop {
        let b = get(client, id, pb::BackupView::Hosts).await;
        let terminal = [
            pb::BackupState::Succeeded,
            pb::BackupState::Partial,
            pb::BackupState::Failed,
            pb::BackupState::Cancelled,
        ]
        .iter()
        .any(|s| *s as i32 == b.state);
        if terminal {
            return b;
        }
        assert!(Instant::now() < end, "backup not terminal in time: {b:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The relative paths of the files under `<dir>/backup/<name>/` in host tree `root`.
fn copies_on_host(root: &Path, dir: &str, name: &str) -> BTreeSet<Vec<u8>> {
    fn walk(at: &Path, base: &Path, out: &mut BTreeSet<Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(at) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                walk(&p, base, out);
            } else {
                let rel = p.strip_prefix(base).unwrap().as_os_str().as_bytes();
                out.insert(rel.to_vec());
            }
        }
    }
    let base = root
        .join(dir.trim_start_matches('/'))
        .join("backup")
        .join(name);
    let mut out = BTreeSet::new();
    walk(&base, &base, &mut out);
    out
}

/// Every copy on the host has a record and every record a copy; on failure prints a few of
/// the differences and the backup (not the whole sets).
fn assert_copies_match_records(root: &Path, dir: &str, b: &pb::Backup, recs: &[pb::BackupRecord]) {
    let on_host = copies_on_host(root, dir, &b.bk_backup_name);
    let recorded = recorded_copies(recs, dir, &b.bk_backup_name);
    let show = |set: Vec<&Vec<u8>>| -> Vec<String> {
        set.iter()
            .take(5)
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect()
    };
    let unrecorded: Vec<&Vec<u8>> = on_host.difference(&recorded).collect();
    let missing: Vec<&Vec<u8>> = recorded.difference(&on_host).collect();
    assert!(
        unrecorded.is_empty() && missing.is_empty(),
        "{} copies without a record (e.g. {:?}), {} records without a copy (e.g. {:?}); {} copies, {} records; {b:?}",
        unrecorded.len(),
        show(unrecorded.clone()),
        missing.len(),
        show(missing.clone()),
        on_host.len(),
        recorded.len(),
    );
}

/// The copies the records of `recs` name, relative to the backup directory.
fn recorded_copies(recs: &[pb::BackupRecord], dir: &str, name: &str) -> BTreeSet<Vec<u8>> {
    let prefix = format!("{dir}/backup/{name}/");
    recs.iter()
        .map(|r| {
            r.backup_path
                .strip_prefix(&prefix)
                .expect("copy under the backup directory")
                .as_bytes()
                .to_vec()
        })
        .collect()
}

#[sqlx::test(migrations = false)]
async fn a_directory_of_100000_files_is_backed_up_with_a_verified_record_for_each(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Apigw).await;
    let root = stack.host_root(1001).await;
    let content = |i: usize| format!("line {i}\n").into_bytes();
    make_tree(&root, "/data/big", 100_000, content);
    let mut client = stack.client("admin").await;
    let id = start_backup(&mut client, start(&[1001], "/data/big", "log")).await;
    let mut watcher = stack.client("admin").await;
    let stream = {
        let id = id.clone();
        tokio::spawn(async move { watch_for(&mut watcher, &id, 0, Duration::from_secs(600)).await })
    };
    let done = until_done(&mut client, &id, Duration::from_secs(600)).await;
    assert_eq!(done.state, pb::BackupState::Succeeded as i32, "{done:?}");
    // While it ran (twenty batches of 5,000), watchers saw how many files it had done.
    let done_so_far: Vec<i64> = stream
        .await
        .unwrap()
        .iter()
        .filter_map(|m| match &m.event {
            Some(Event::HostProgress(p)) if p.files_done > 0 => Some(p.files_done),
            _ => None,
        })
        .collect();
    assert!(
        done_so_far.iter().any(|n| *n < 100_000) && done_so_far.is_sorted(),
        "{done_so_far:?}"
    );
    assert_counts_add_up(&done);
    let c = done.counts.unwrap();
    assert_eq!(
        (
            c.files_found,
            c.files_copied,
            c.files_failed,
            c.files_unknown
        ),
        (100_000, 100_000, 0, 0)
    );
    let recs = records(&mut client, &id).await;
    assert_eq!(recs.len(), 100_000);
    let mut seen = BTreeSet::new();
    for r in &recs {
        let i: usize = r.source_path.rsplit_once("/f").unwrap().1[..6]
            .parse()
            .unwrap();
        assert!(seen.insert(i), "{} recorded twice", r.source_path);
        assert_eq!(r.sha256, sha256_hex(&content(i)), "{}", r.source_path);
        assert_eq!(r.size_bytes as usize, content(i).len());
    }
    assert_copies_match_records(&root, "/data/big", &done, &recs);
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn a_backup_whose_job_log_was_cut_off_still_accounts_for_every_file(
    _p: Pool,
    db: PgConnectOptions,
) {
    // A JOB that keeps only 4 KiB of log per host: far less than 300 records need.
    let stack = Stack::start_all(
        &db,
        Door::Esb,
        |sim| sim.log_cap_bytes = 4096,
        |_| {},
        |_| {},
    )
    .await;
    let root = stack.host_root(1002).await;
    make_tree(&root, "/data/cut", 300, |i| vec![b'x'; i]);
    let mut client = stack.client("admin").await;
    let id = start_backup(&mut client, start(&[1002], "/data/cut", "log")).await;
    let done = until_done(&mut client, &id, Duration::from_secs(120)).await;
    assert_eq!(done.state, pb::BackupState::Succeeded as i32, "{done:?}");
    assert_counts_add_up(&done);
    let c = done.counts.unwrap();
    assert_eq!((c.files_found, c.files_copied), (300, 300));
    let recs = records(&mut client, &id).await;
    assert_eq!(recs.len(), 300);
    assert_copies_match_records(&root, "/data/cut", &done, &recs);
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn a_backup_cut_by_its_timeout_leaves_no_unrecorded_copy_and_counts_what_it_never_reached(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Apigw).await;
    let root = stack.host_root(1001).await;
    // Enough work that a 3 s JOB timeout always cuts the copy short (a 6 s bound on the
    // backup's total time gives its JOB step half).
    make_tree(&root, "/data/slow", 60_000, |i| vec![b'y'; 2048 + i % 7]);
    let mut client = stack.client("admin").await;
    let mut req = start(&[1001], "/data/slow", "log");
    req.timeout = Some(prost_types::Duration {
        seconds: 6,
        nanos: 0,
    });
    let id = start_backup(&mut client, req).await;
    let done = until_done(&mut client, &id, Duration::from_secs(300)).await;
    assert_counts_add_up(&done);
    assert_ne!(done.state, pb::BackupState::Succeeded as i32, "{done:?}");
    let h = &done.host_results[0];
    assert_eq!(h.reason, pb::HostFailureReason::Timeout as i32, "{h:?}");
    assert!(h.files_copied < 60_000, "{h:?}");
    let recs = records(&mut client, &id).await;
    assert_eq!(recs.len() as i64, h.files_copied);
    // Every copy on the host is vouched for by a record: the interrupted batch was removed.
    assert_copies_match_records(&root, "/data/slow", &done, &recs);
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn a_search_counts_every_match_beyond_its_listing_and_lists_the_first_by_path(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Apigw).await;
    let root = stack.host_root(1002).await;
    make_tree(&root, "/data/many", 250, |i| vec![b'z'; 10 + i]);
    let mut client = stack.client("admin").await;
    let search = || pb::SearchFilesRequest {
        bk_biz_id: 3,
        bk_host_ids: vec![1002],
        bk_file_dir: "/data/many".to_owned(),
        bk_file_suffix: "log".to_owned(),
        max_files_per_host: 10,
        ..Default::default()
    };
    let first = client.search_files(search()).await.unwrap().into_inner();
    let all_sizes: i64 = (0..250).map(|i| 10 + i as i64).sum();
    assert_eq!(
        (first.total_file_count, first.total_size_bytes),
        (250, all_sizes)
    );
    let h = &first.host_results[0];
    assert_eq!(
        (h.file_count, h.total_size_bytes, h.truncated, h.files.len()),
        (250, all_sizes, true, 10)
    );
    // The first ten in byte order of the path: d00/f000000 … d00/f000900, then d01/….
    let mut expected: Vec<String> = (0..250)
        .map(|i| format!("/data/many/d{:02}/f{i:06}.log", i % 100))
        .collect();
    expected.sort();
    expected.truncate(10);
    let listed: Vec<String> = h.files.iter().map(|f| f.path.clone()).collect();
    assert_eq!(listed, expected);
    let again = client.search_files(search()).await.unwrap().into_inner();
    let relisted: Vec<String> = again.host_results[0]
        .files
        .iter()
        .map(|f| f.path.clone())
        .collect();
    assert_eq!(relisted, listed, "two searches list the same files");
    stack.stop().await;
}
