//! `search`, `backup start|get|list|watch|cancel|retry` and `records list` run as the real
//! binary against the demo world (host 1009's agent is down): per-host results, a PARTIAL
//! backup exiting 3, records in every format with `--all` and `--limit`, cancel and retry, and
//! a watch that outlives its stream.

mod common;

use std::time::{Duration, Instant};

use common::{Ctl, Run, json, json_lines};
use e2e::stack::{Door, Stack};
use serde_json::json;
use sqlx::postgres::PgConnectOptions;

type Pool = sqlx::pool::PoolOptions<sqlx::Postgres>;

const ZONE1_GAMESVR: [&str; 8] = [
    "--biz",
    "3",
    "--module",
    "gs-zone-1/gamesvr",
    "--dir",
    "/data/logs",
    "--suffix",
    "log",
];

fn args<'a>(head: &[&'a str], tail: &[&'a str]) -> Vec<&'a str> {
    head.iter().chain(tail).copied().collect()
}

/// The id on the `backup:` line of a backup's table.
fn backup_id(run: &Run) -> String {
    run.stdout
        .lines()
        .find_map(|l| l.strip_prefix("backup:"))
        .map(|id| id.trim().to_owned())
        .unwrap_or_else(|| panic!("no backup line: {run:#?}"))
}

#[sqlx::test(migrations = false)]
async fn a_module_is_searched_and_backed_up_by_name_and_a_partial_backup_exits_3(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    let ctl = Ctl::new(&stack);
    let search = ctl
        .expect(0, "alice", &args(&["search"], &ZONE1_GAMESVR))
        .await;
    let rows: Vec<Vec<&str>> = search
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["HOST", "IP", "STATUS", "FILES", "SIZE", "NOTE"]);
    assert_eq!(
        rows[1][..4],
        ["1001", "10.0.1.11", "found", "12"],
        "{}",
        search.stdout
    );
    assert_eq!(
        rows[3][..4],
        ["1009", "10.0.1.19", "skipped", "0"],
        "{}",
        search.stdout
    );
    assert!(search.stdout.contains("agent offline"), "{}", search.stdout);
    assert!(search.stdout.contains("\n24 files, "), "{}", search.stdout);
    let doc = json(
        &ctl.expect(0, "alice", &args(&["search", "-o", "json"], &ZONE1_GAMESVR))
            .await,
    );
    assert_eq!(doc["total_file_count"], 24);
    let by_host = args(
        &[
            "search",
            "--biz",
            "3",
            "--hosts",
            "gs1-game-02,0:10.0.1.11",
            "--dir",
            "/data/logs",
        ],
        &["--suffix", "log", "--files"],
    );
    let files = ctl.expect(0, "alice", &by_host).await;
    assert_eq!(
        files
            .stdout
            .lines()
            .filter(|l| l.contains("/data/logs/gamesvr_"))
            .count(),
        24
    );

    let started = ctl
        .expect(
            3,
            "alice",
            &args(&["backup", "start", "--wait"], &ZONE1_GAMESVR),
        )
        .await;
    assert!(
        started.stdout.contains("\nstate:    partial: "),
        "{started:#?}"
    );
    assert!(
        started
            .stderr
            .contains("host 1001 10.0.1.11: succeeded · 12 files"),
        "{}",
        started.stderr
    );
    assert!(
        started.stderr.ends_with("retries its failed hosts\n"),
        "{}",
        started.stderr
    );
    let id = backup_id(&started);
    let summary: Vec<&str> = started
        .stdout
        .lines()
        .filter(|l| l.starts_with("10"))
        .collect();
    assert_eq!(summary.len(), 3, "{}", started.stdout);
    assert!(
        summary[2].starts_with("1009  10.0.1.19  skipped"),
        "{}",
        started.stdout
    );

    let got = json(
        &ctl.expect(0, "alice", &["backup", "get", &id, "-o", "json"])
            .await,
    );
    assert_eq!(got["state"], "BACKUP_STATE_PARTIAL");
    let copied = got["counts"]["files_copied"].as_i64().unwrap();
    assert_eq!(copied, 24);
    let listed = json(
        &ctl.expect(0, "alice", &["backup", "list", "--biz", "3", "-o", "json"])
            .await,
    );
    assert_eq!(listed["backups"][0]["backup_id"], id.as_str());
    let partial = ctl
        .expect(0, "alice", &["backup", "list", "--state", "partial,failed"])
        .await;
    assert!(partial.stdout.contains(&id), "{}", partial.stdout);
    let none = ctl
        .expect(0, "alice", &["backup", "list", "--state", "succeeded"])
        .await;
    assert_eq!(none.stdout.lines().count(), 1, "{}", none.stdout);
    ctl.expect(2, "alice", &["backup", "list", "--state", "done"])
        .await;

    let all = ctl
        .expect(
            0,
            "alice",
            &["records", "list", "--backup", &id, "--all", "-o", "csv"],
        )
        .await;
    let lines: Vec<&str> = all.stdout.lines().collect();
    assert_eq!(lines.len(), 1 + 24, "{}", all.stdout);
    assert!(lines[0].starts_with("id,bk_biz_id,bk_host_id,bk_cloud_id,host_ip,source_path"));
    assert!(
        lines[1].contains(",http"),
        "the JOB link is a column: {}",
        lines[1]
    );
    let limited = ctl
        .expect(
            0,
            "alice",
            &[
                "records", "list", "--backup", &id, "--limit", "3", "-o", "csv",
            ],
        )
        .await;
    assert_eq!(limited.stdout.lines().count(), 4);
    let host = json_lines(
        &ctl.expect(
            0,
            "alice",
            &[
                "records", "list", "--biz", "3", "--host", "1002", "--all", "-o", "jsonl",
            ],
        )
        .await,
    );
    assert_eq!(host.len(), 12);
    assert!(host.iter().all(|r| r["bk_host_id"] == 1002));
    let filtered = ctl
        .expect(
            0,
            "alice",
            &[
                "records",
                "list",
                "--biz",
                "3",
                "--path-contains",
                "gamesvr_",
                "--dir",
                "/data/logs",
                "--suffix",
                "log",
                "--operator",
                "alice",
                "--since",
                "2000-01-01",
                "--until",
                "2999-01-01",
            ],
        )
        .await;
    assert!(
        filtered.stdout.ends_with("\n24 records\n"),
        "{}",
        filtered.stdout
    );
    for (flag, value, count) in [
        ("--path-contains", "gamesvr_0001", 2),
        ("--operator", "bob", 0),
        ("--until", "2000-01-01", 0),
        ("--dir", "/project", 0),
        ("--suffix", "txt", 0),
    ] {
        let run = ctl
            .expect(
                0,
                "alice",
                &["records", "list", "--biz", "3", flag, value, "-o", "jsonl"],
            )
            .await;
        assert_eq!(
            run.stdout.lines().count(),
            count,
            "{flag} {value}: {}",
            run.stdout
        );
    }
    ctl.expect(2, "alice", &["records", "list", "--since", "last week"])
        .await;
    let table = ctl
        .expect(
            0,
            "alice",
            &["records", "list", "--backup", &id, "--limit", "1"],
        )
        .await;
    assert!(table.stdout.starts_with("ID "), "{}", table.stdout);
    assert!(table.stdout.contains("job "), "{}", table.stdout);

    // Watching an ended backup prints its summary and exits as it ended.
    let watched = ctl.expect(3, "alice", &["backup", "watch", &id]).await;
    assert_eq!(backup_id(&watched), id);

    // With 1009's agent back, a retry of the failed host succeeds.
    stack.sim.state.set_agent(1009, true);
    let retried = ctl
        .expect(0, "alice", &["backup", "retry", &id, "--wait"])
        .await;
    assert!(
        retried.stderr.contains("queued on hosts 1009"),
        "{}",
        retried.stderr
    );
    assert!(
        retried.stdout.contains(&format!("retry of: {id}")),
        "{}",
        retried.stdout
    );
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn a_backup_started_without_waiting_can_be_cancelled_and_its_watch_exits_1(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    stack.fault("hosts/1001", json!({"kind": "hang"})).await;
    let ctl = Ctl::new(&stack);
    let start = [
        "backup",
        "start",
        "--biz",
        "3",
        "--hosts",
        "1001,10.0.1.12",
        "--dir",
        "/data/logs",
    ];
    let started = ctl.expect(0, "alice", &start).await;
    let id = backup_id(&started);
    assert!(
        started
            .stdout
            .contains(&format!("follow it: backupctl backup watch {id}"))
    );
    let cancelled = ctl.expect(0, "alice", &["backup", "cancel", &id]).await;
    assert!(
        cancelled.stdout.starts_with("cancel: "),
        "{}",
        cancelled.stdout
    );
    let watched = ctl.expect(1, "alice", &["backup", "watch", &id]).await;
    assert_eq!(
        watched.stderr.lines().last(),
        Some(format!("backupctl: backup {id} cancelled").as_str())
    );
    let again = json(
        &ctl.expect(0, "alice", &["backup", "cancel", &id, "-o", "json"])
            .await,
    );
    assert_eq!(again["outcome"], "CANCEL_OUTCOME_ALREADY_CANCELLED");
    let missing = ctl
        .expect(
            4,
            "alice",
            &["backup", "get", "00000000-0000-0000-0000-000000000000"],
        )
        .await;
    assert!(
        missing.stderr.starts_with("backupctl: not found: "),
        "{}",
        missing.stderr
    );
    let bad = ctl.expect(1, "alice", &["backup", "get", "nope"]).await;
    assert_eq!(
        bad.stderr,
        "backupctl: invalid argument: `backup_id`: not a backup id (a UUID)\n"
    );
    let bad_dir = ctl
        .expect(
            1,
            "alice",
            &[
                "backup", "start", "--biz", "3", "--hosts", "1001", "--dir", "data",
            ],
        )
        .await;
    assert!(
        bad_dir
            .stderr
            .starts_with("backupctl: invalid argument: `bk_file_dir`: "),
        "{}",
        bad_dir.stderr
    );
    ctl.expect(
        2,
        "alice",
        &["backup", "start", "--biz", "3", "--dir", "/data"],
    )
    .await;
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn a_watch_outlives_the_servers_stream_lifetime_by_resuming_after_its_last_event(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start_with(&db, Door::Esb, |s| s.watch.lifetime_secs = 1).await;
    // Host 1002 hangs until JOB's step timeout (half of the 4 s): the backup outlives several
    // one-second streams and ends PARTIAL.
    stack.fault("hosts/1002", json!({"kind": "hang"})).await;
    let ctl = Ctl::new(&stack);
    let begun = Instant::now();
    let start = [
        "backup",
        "start",
        "--wait",
        "-o",
        "jsonl",
        "--biz",
        "3",
        "--hosts",
        "1001,1002",
        "--dir",
        "/data/logs",
        "--timeout",
        "4s",
    ];
    let run = ctl.expect(3, "alice", &start).await;
    assert!(
        begun.elapsed() > Duration::from_secs(2),
        "the backup took {:?}",
        begun.elapsed()
    );
    let events = json_lines(&run);
    let snapshots = events
        .iter()
        .filter(|e| e.get("snapshot").is_some_and(|s| !s.is_null()))
        .count();
    // Resumed after its last event, not from the start: one snapshot, no event twice.
    assert_eq!(snapshots, 1);
    let seqs: Vec<i64> = events
        .iter()
        .filter(|e| e.get("snapshot").is_none_or(|s| s.is_null()))
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "no event twice: {seqs:?}"
    );
    let last = events.last().unwrap();
    assert_eq!(
        last["state_changed"]["state"], "BACKUP_STATE_PARTIAL",
        "{last}"
    );
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn ctrl_c_detaches_from_a_watch_without_cancelling_and_says_how_to_reattach(
    _p: Pool,
    db: PgConnectOptions,
) {
    use std::io::BufRead;

    let stack = Stack::start(&db, Door::Esb).await;
    stack.fault("hosts/1001", json!({"kind": "hang"})).await;
    let ctl = Ctl::new(&stack);
    let start = [
        "backup",
        "start",
        "--biz",
        "3",
        "--hosts",
        "1001",
        "--dir",
        "/data/logs",
    ];
    let id = backup_id(&ctl.expect(0, "alice", &start).await);
    let mut cmd = ctl.command("alice", &["backup", "watch", &id, "-o", "jsonl"]);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let detached = tokio::task::spawn_blocking(move || {
        let mut child = cmd.spawn().expect("backupctl starts");
        // The first event printed means the watch (and its Ctrl-C handler) is running.
        let mut first = String::new();
        let mut events = std::io::BufReader::new(child.stdout.take().unwrap());
        events.read_line(&mut first).unwrap();
        assert!(first.contains("\"snapshot\""), "{first}");
        // bash's own `kill`: no procps needed.
        let interrupted = std::process::Command::new("bash")
            .args(["-c", &format!("kill -INT {}", child.id())])
            .status()
            .unwrap();
        assert!(interrupted.success());
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut events, &mut rest).unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let run = Run::from(detached);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(
        run.stderr,
        format!("detached: backup {id} goes on. Re-attach with: backupctl backup watch {id}\n")
    );
    let still = json(
        &ctl.expect(0, "alice", &["backup", "get", &id, "-o", "json"])
            .await,
    );
    assert_eq!(
        still["state"], "BACKUP_STATE_RUNNING",
        "not cancelled: {still}"
    );
    ctl.expect(0, "alice", &["backup", "cancel", &id]).await;
    stack.stop().await;
}
