//! `schedule create|list|get|update|pause|resume|trigger|preview|runs|delete` run as the real
//! binary: a schedule of the gamesvr module made, changed, paused and resumed, fired by hand,
//! and deleted.

mod common;

use common::{Ctl, json};
use e2e::stack::{Door, Stack};
use sqlx::postgres::PgConnectOptions;

type Pool = sqlx::pool::PoolOptions<sqlx::Postgres>;

#[sqlx::test(migrations = false)]
async fn a_schedule_is_created_changed_paused_resumed_triggered_and_deleted(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    let ctl = Ctl::new(&stack);
    let create = [
        "schedule",
        "create",
        "--biz",
        "3",
        "--name",
        "nightly-gamesvr",
        "--module",
        "gs-zone-1/gamesvr",
        "--dir",
        "/data/logs",
        "--suffix",
        "log",
        "--cron",
        "0 3 * * *",
        "--tz",
        "Asia/Shanghai",
        "--keep-last",
        "7",
        "--overlap",
        "skip",
        "-o",
        "json",
    ];
    let created = json(&ctl.expect(0, "alice", &create).await);
    let id = created["schedule_id"].as_str().unwrap().to_owned();
    assert_eq!(created["state"], "SCHEDULE_STATE_ACTIVE");
    assert_eq!(
        created["selector"]["bk_module_ids"],
        serde_json::json!([3001])
    );
    assert_eq!(created["retention"]["keep_last"], 7);
    assert_eq!(created["overlap_policy"], "OVERLAP_POLICY_SKIP");

    let listed = ctl
        .expect(0, "alice", &["schedule", "list", "--biz", "3", "--utc"])
        .await;
    let row: Vec<&str> = listed
        .stdout
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(
        row[..4],
        [id.as_str(), "nightly-gamesvr", "active", "0"],
        "{}",
        listed.stdout
    );
    let got = ctl.expect(0, "alice", &["schedule", "get", &id]).await;
    assert!(
        got.stdout.contains("0 3 * * * Asia/Shanghai"),
        "{}",
        got.stdout
    );

    let update = [
        "schedule",
        "update",
        &id,
        "--cron",
        "30 4 * * *",
        "-o",
        "json",
    ];
    let updated = json(&ctl.expect(0, "alice", &update).await);
    assert_eq!(updated["spec"]["cron"], "30 4 * * *");
    assert_eq!(
        updated["spec"]["time_zone"], "Asia/Shanghai",
        "other fields are kept"
    );
    assert_eq!(updated["retention"]["keep_last"], 7);
    ctl.expect(2, "alice", &["schedule", "update", &id]).await;

    let paused = ctl
        .expect(
            0,
            "alice",
            &["schedule", "pause", &id, "--note", "disk migration"],
        )
        .await;
    assert!(paused.stdout.contains(" paused "), "{}", paused.stdout);
    assert!(
        paused.stdout.contains("paused: disk migration"),
        "{}",
        paused.stdout
    );
    let only_paused = json(
        &ctl.expect(
            0,
            "alice",
            &["schedule", "list", "--state", "paused", "-o", "json"],
        )
        .await,
    );
    assert_eq!(only_paused["schedules"].as_array().unwrap().len(), 1);
    let resumed = json(
        &ctl.expect(0, "alice", &["schedule", "resume", &id, "-o", "json"])
            .await,
    );
    assert_eq!(resumed["state"], "SCHEDULE_STATE_ACTIVE");

    let fired = json(
        &ctl.expect(0, "alice", &["schedule", "trigger", &id, "-o", "json"])
            .await,
    );
    assert_eq!(fired["run"]["trigger"], "SCHEDULE_RUN_TRIGGER_MANUAL");
    assert_eq!(fired["run"]["decision"], "SCHEDULE_RUN_DECISION_FIRED");
    let runs = ctl.expect(0, "alice", &["schedule", "runs", &id]).await;
    let lines: Vec<&str> = runs.stdout.lines().collect();
    assert!(lines[0].starts_with("SCHEDULED"), "{}", runs.stdout);
    assert!(
        lines[1].contains("manual") && lines[1].contains("fired"),
        "{}",
        runs.stdout
    );

    let preview = [
        "schedule",
        "preview",
        "--cron",
        "0 3 * * *",
        "--tz",
        "Asia/Shanghai",
        "--count",
        "3",
        "--utc",
    ];
    let fires = ctl.expect(0, "alice", &preview).await;
    let fires: Vec<&str> = fires.stdout.lines().skip(1).collect();
    assert_eq!(fires.len(), 3);
    assert!(fires.iter().all(|f| f.contains(" 19:00:00Z")), "{fires:?}");
    let bad = ctl
        .expect(1, "alice", &["schedule", "preview", "--cron", "61 * * * *"])
        .await;
    assert!(
        bad.stderr
            .starts_with("backupctl: invalid argument: `spec.cron`"),
        "{}",
        bad.stderr
    );

    let deleted = json(
        &ctl.expect(0, "alice", &["schedule", "delete", &id, "-o", "json"])
            .await,
    );
    assert_eq!(deleted["state"], "SCHEDULE_STATE_DELETED");
    let denied = ctl
        .expect(5, "bob", &["schedule", "list", "--biz", "3"])
        .await;
    assert!(
        denied.stderr.starts_with("backupctl: permission denied: "),
        "{}",
        denied.stderr
    );
    stack.stop().await;
}
