//! Retention end to end: scheduled backups made for real on bk-sim hosts (fires recorded with
//! `record_fire`, as the scheduler does, then run by the workers), then pruned by the
//! retention loop through job-gateway and `prune.sh`. Each test gets its own database and
//! simulator; the main service runs with retention off, so the test sets the hosts up before
//! the replicas that prune start.

use std::path::{Path, PathBuf};
use std::time::Duration;

use backup_service::domain::{OverlapPolicy, RetentionState, RunTrigger};
use backup_service::hostscript::BackupDirName;
use backup_service::store::backups::NewBackup;
use backup_service::store::schedule_fires::{self, Decision, Fire, Recorded};
use backup_service::store::schedules::{self, NewSchedule, NextFire, ScheduleFields, ScheduleRow};
use chrono::{DateTime, TimeDelta, Utc};
use e2e::flow::{full, records, run_backup, start, watch_to_end};
use e2e::stack::{Door, Stack};
use proto::backup::v1 as pb;
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;
use uuid::Uuid;

/// Nominal fire times far in the future, so no scheduler ever finds these schedules due.
fn nominal(k: i64) -> DateTime<Utc> {
    "2099-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap() + TimeDelta::minutes(k)
}

/// A schedule of business 3 backing up `/data/logs/*.log` on `hosts`, run by `admin`.
async fn schedule(
    pool: &PgPool,
    name: &str,
    keep_last: Option<i32>,
    keep_within_secs: Option<i64>,
) -> ScheduleRow {
    let fields = ScheduleFields {
        name: name.to_owned(),
        selector: serde_json::json!({"bk_host_ids": [1001, 1002]}),
        bk_file_dir: "/data/logs".into(),
        bk_file_suffix: "log".into(),
        cron: "0 0 * * *".into(),
        time_zone: "UTC".into(),
        start_time: None,
        end_time: None,
        jitter_ms: 0,
        overlap_policy: OverlapPolicy::AllowAll,
        catch_up_window_secs: 0,
        pause_after_failures: None,
        run_timeout_secs: 600,
        keep_last,
        keep_within_secs,
    };
    let new = NewSchedule {
        id: Uuid::new_v4(),
        bk_biz_id: 3,
        operator: "admin".into(),
        fields,
        next: Some(NextFire {
            fire_at: nominal(0),
            due_at: nominal(0),
        }),
    };
    schedules::create(pool, &new, Utc::now()).await.unwrap()
}

/// `n` scheduled backups of `row` on `hosts`, made an hour apart up to an hour ago, oldest
/// first (as [`fire`] returns them).
async fn hourly(
    stack: &Stack,
    pool: &PgPool,
    row: &ScheduleRow,
    n: i64,
    hosts: &[i64],
) -> Vec<(Uuid, String)> {
    let mut made = vec![];
    for k in 0..n {
        let at = Utc::now() - TimeDelta::hours(n - k);
        made.push(fire(stack, pool, row, k, hosts, at).await);
    }
    made
}

/// One scheduled backup: fire `k` of `row` on `hosts`, decided at `made_at`, run to its end.
/// Returns the backup id and its directory name.
async fn fire(
    stack: &Stack,
    pool: &PgPool,
    row: &ScheduleRow,
    k: i64,
    hosts: &[i64],
    made_at: DateTime<Utc>,
) -> (Uuid, String) {
    let id = Uuid::new_v4();
    let name = BackupDirName::new(made_at, &id.simple().to_string()[..12]).unwrap();
    let backup = NewBackup {
        id,
        request_id: None,
        bk_biz_id: 3,
        bk_host_ids: hosts.to_vec(),
        bk_file_dir: "/data/logs".into(),
        bk_file_suffix: "log".into(),
        operator: "admin".into(),
        job_timeout_secs: 300,
        backup_name: name.as_str().to_owned(),
        job_name: format!("bk-log-backup {id}"),
        deadline_at: Utc::now() + TimeDelta::minutes(10),
        retry_of: None,
        host_selector: None,
    };
    let f = Fire {
        schedule_id: row.id,
        version: row.version,
        scheduled_at: nominal(k),
        trigger: RunTrigger::Cron,
        decision: Decision::Fire(Box::new(backup)),
        resolved_host_ids: hosts.to_vec(),
        next: Some(NextFire {
            fire_at: nominal(k + 1),
            due_at: nominal(k + 1),
        }),
        now: made_at,
        triggered_by: String::new(),
        missed: Vec::new(),
        seen: None,
    };
    let Recorded::New(_) = schedule_fires::record_fire(pool, &f).await.unwrap() else {
        panic!("fire {k} recorded");
    };
    let mut client = stack.client("admin").await;
    watch_to_end(&mut client, &id.to_string()).await;
    (id, name.as_str().to_owned())
}

/// `<dir>/backup` of host `h`.
async fn backup_root(stack: &Stack, h: i64) -> PathBuf {
    stack.host_root(h).await.join("data/logs/backup")
}

/// The mark of backup `name` as its fields.
fn mark(root: &Path, name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(root.join(format!(".{name}.mark"))).unwrap();
    text.split_whitespace().map(str::to_owned).collect()
}

/// Rewrites field `i` of backup `name`'s mark.
fn edit_mark(root: &Path, name: &str, i: usize, value: &str) {
    let mut fields = mark(root, name);
    fields[i] = value.to_owned();
    std::fs::write(root.join(format!(".{name}.mark")), fields.join(" ") + "\n").unwrap();
}

/// The `backup_*` entries of a host's backup root (directories and symlinks alike).
fn entries(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("backup_"))
        .collect();
    names.sort();
    names
}

/// Waits (at most a minute) until no run of `schedule` owes a prune; the runs' retention.
async fn settled(pool: &PgPool, schedule: Uuid) -> Vec<(RetentionState, i32, i32, String)> {
    for _ in 0..600 {
        let pending: i64 = sqlx::query_scalar(
            "select count(*) from schedule_runs where schedule_id = $1 \
             and retention_state = 'pending'",
        )
        .bind(schedule)
        .fetch_one(pool)
        .await
        .unwrap();
        if pending == 0 {
            return sqlx::query_as(
                "select retention_state, retention_pruned, retention_failed, retention_message \
                 from schedule_runs where schedule_id = $1 order by scheduled_at",
            )
            .bind(schedule)
            .fetch_all(pool)
            .await
            .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("retention of schedule {schedule} did not finish within a minute");
}

/// Prune jobs bk-sim was asked to run.
async fn prune_jobs(stack: &Stack) -> usize {
    let log: serde_json::Value = reqwest::get(format!(
        "{}/_sim/requests?api=fast_execute_script",
        stack.sim.base_url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    log["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .filter(|r| {
            r["params"]["task_name"]
                .as_str()
                .is_some_and(|t| t.starts_with("bk-log-backup prune"))
        })
        .count()
}

async fn prune_time(client: &mut e2e::flow::Client, id: Uuid, h: i64) -> bool {
    let b = full(client, &id.to_string()).await;
    e2e::flow::host(&b, h).prune_time.is_some()
}

#[sqlx::test(migrations = false)]
async fn keep_last_leaves_the_newest_backups_of_the_schedule_and_touches_nothing_else(
    _p: sqlx::pool::PoolOptions<sqlx::Postgres>,
    db: PgConnectOptions,
) {
    let stack = Stack::start_with(&db, Door::Esb, |s| s.retention.enabled = false).await;
    let pool = stack.pool().await;
    let mut client = stack.client("admin").await;
    let ours = schedule(&pool, "keep two", Some(2), None).await;
    let other = schedule(&pool, "keeps all", None, None).await;
    let hosts = [1001, 1002];
    let made = hourly(&stack, &pool, &ours, 4, &hosts).await;
    let (_, other_name) = fire(&stack, &pool, &other, 0, &hosts, Utc::now()).await;
    let (manual_id, manual) = run_backup(&mut client, start(&hosts, "/data/logs", "log")).await;
    let manual_name = manual.bk_backup_name.clone();
    // The marks name the schedule (or none, for the manual backup).
    let root1 = backup_root(&stack, 1001).await;
    assert_eq!(mark(&root1, &made[3].1)[4], ours.id.to_string());
    assert_eq!(mark(&root1, &other_name)[4], other.id.to_string());
    assert_eq!(mark(&root1, &manual_name)[4], "-");
    // Lookalikes: a directory without a mark, and a symlink to a directory elsewhere.
    let elsewhere = stack.host_root(1001).await.join("data/elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("keep.log"), "mine\n").unwrap();
    std::fs::create_dir(root1.join("backup_fake")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, root1.join("backup_20200101_000000_aaaa")).unwrap();
    let before = entries(&root1);
    // On 1002 someone removed the oldest backup by hand: it is found gone, not pruned.
    let root2 = backup_root(&stack, 1002).await;
    std::fs::remove_dir_all(root2.join(&made[0].1)).unwrap();
    for e in std::fs::read_dir(&root2).unwrap().flatten() {
        if e.file_name()
            .to_string_lossy()
            .starts_with(&format!(".{}.", made[0].1))
        {
            std::fs::remove_file(e.path()).unwrap();
        }
    }

    // Two replicas prune on one database.
    let a = stack.replica_with(|s| s.retention.interval_ms = 50).await;
    let b = stack.replica_with(|s| s.retention.interval_ms = 50).await;
    let runs = settled(&pool, ours.id).await;
    assert!(
        runs.iter().all(|r| r.0 == RetentionState::Done && r.2 == 0),
        "{runs:?}"
    );
    assert_eq!(runs.iter().map(|r| r.1).sum::<i32>(), 3, "{runs:?}");
    // One job pruned both hosts; no run was pruned twice.
    assert_eq!(prune_jobs(&stack).await, 1);

    for h in hosts {
        let root = backup_root(&stack, h).await;
        let left = entries(&root);
        for (i, (id, name)) in made.iter().enumerate() {
            assert_eq!(left.contains(name), i >= 2, "host {h}: {name} in {left:?}");
            assert_eq!(root.join(format!(".{name}.mark")).exists(), i >= 2);
            assert_eq!(prune_time(&mut client, *id, h).await, i < 2);
        }
        assert!(left.contains(&other_name) && left.contains(&manual_name));
    }
    let mut expected = before.clone();
    expected.retain(|n| *n != made[0].1 && *n != made[1].1);
    assert_eq!(entries(&root1), expected);
    assert_eq!(
        std::fs::read(elsewhere.join("keep.log")).unwrap(),
        b"mine\n"
    );
    // Records stay, with the time their copy went.
    let pruned = records(&mut client, &made[0].0.to_string()).await;
    assert!(!pruned.is_empty() && pruned.iter().all(|r| r.prune_time.is_some()));
    let kept = records(&mut client, &made[3].0.to_string()).await;
    assert!(!kept.is_empty() && kept.iter().all(|r| r.prune_time.is_none()));
    assert!(
        records(&mut client, &manual_id)
            .await
            .iter()
            .all(|r| r.prune_time.is_none())
    );
    a.stop().await;
    b.stop().await;
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn keep_within_keeps_young_backups_and_the_newest_successful_one_even_after_failed_runs(
    _p: sqlx::pool::PoolOptions<sqlx::Postgres>,
    db: PgConnectOptions,
) {
    let stack = Stack::start_with(&db, Door::Esb, |s| s.retention.enabled = false).await;
    let pool = stack.pool().await;
    let ours = schedule(&pool, "two hours", None, Some(7200)).await;
    let hosts = [1001, 1002];
    let logs1 = stack.host_root(1001).await.join("data/logs");
    let away = stack.host_root(1001).await.join("data/logs.away");
    let now = Utc::now();
    let ages = [300, 240, 30, 10]; // minutes
    let mut made = vec![];
    for (k, age) in ages.into_iter().enumerate() {
        if k == 2 {
            // The last two runs fail on 1001: its directory is gone meanwhile.
            std::fs::rename(&logs1, &away).unwrap();
        }
        let at = now - TimeDelta::minutes(age);
        made.push(fire(&stack, &pool, &ours, k as i64, &hosts, at).await);
    }
    std::fs::rename(&away, &logs1).unwrap();
    // The hosts' marks tell the same ages (prune.sh reads its own clock).
    for h in hosts {
        let root = backup_root(&stack, h).await;
        for (i, (_, name)) in made.iter().enumerate() {
            if root.join(format!(".{name}.mark")).exists() {
                let started = (now - TimeDelta::minutes(ages[i])).timestamp();
                edit_mark(&root, name, 5, &started.to_string());
            }
        }
    }
    let mut client = stack.client("admin").await;
    let b = full(&mut client, &made[3].0.to_string()).await;
    assert_eq!(b.state, pb::BackupState::Partial as i32, "{b:?}");

    let r = stack.replica_with(|s| s.retention.interval_ms = 50).await;
    let runs = settled(&pool, ours.id).await;
    assert!(runs.iter().all(|r| r.0 == RetentionState::Done), "{runs:?}");
    // 1001: the 5-hour-old one goes; the 4-hour-old one is its newest successful backup.
    assert_eq!(
        entries(&backup_root(&stack, 1001).await),
        vec![made[1].1.clone()]
    );
    // 1002: both young ones stay, both old ones go.
    assert_eq!(
        entries(&backup_root(&stack, 1002).await),
        vec![made[2].1.clone(), made[3].1.clone()]
    );
    assert!(prune_time(&mut client, made[0].0, 1001).await);
    assert!(!prune_time(&mut client, made[1].0, 1001).await);
    assert!(prune_time(&mut client, made[1].0, 1002).await);
    r.stop().await;
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn a_host_that_refuses_or_fails_a_removal_fails_the_run_and_the_other_hosts_are_pruned(
    _p: sqlx::pool::PoolOptions<sqlx::Postgres>,
    db: PgConnectOptions,
) {
    let stack = Stack::start_with(&db, Door::Esb, |s| s.retention.enabled = false).await;
    let pool = stack.pool().await;
    let ours = schedule(&pool, "keep one", Some(1), None).await;
    let hosts = [1001, 1002];
    let made = hourly(&stack, &pool, &ours, 4, &hosts).await;
    // 1001: one mark names another schedule, one is gone, one directory is now a symlink.
    let root1 = backup_root(&stack, 1001).await;
    edit_mark(&root1, &made[0].1, 4, &Uuid::new_v4().to_string());
    std::fs::remove_file(root1.join(format!(".{}.mark", made[1].1))).unwrap();
    let moved = stack.host_root(1001).await.join("data/moved");
    std::fs::rename(root1.join(&made[2].1), &moved).unwrap();
    std::os::unix::fs::symlink(&moved, root1.join(&made[2].1)).unwrap();
    // 1002: the oldest backup holds a directory its files cannot be removed from.
    let root2 = backup_root(&stack, 1002).await;
    let stuck = root2.join(&made[0].1).join("stuck");
    std::fs::create_dir(&stuck).unwrap();
    std::fs::write(stuck.join("f"), "x").unwrap();
    std::fs::set_permissions(&stuck, std::os::unix::fs::PermissionsExt::from_mode(0o555)).unwrap();

    let r = stack.replica_with(|s| s.retention.interval_ms = 50).await;
    let runs = settled(&pool, ours.id).await;
    std::fs::set_permissions(&stuck, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let (state, pruned, failed, message) = runs[0].clone();
    assert_eq!(state, RetentionState::Failed, "{runs:?}");
    assert_eq!((pruned, failed), (2, 4), "{message}");
    for part in [
        format!("host 1001: {} refused: other_schedule", made[0].1),
        format!("host 1001: {} refused: not_marked", made[1].1),
        format!("host 1001: {} refused: not_a_directory", made[2].1),
        format!("host 1002: {} not removed: permission_denied", made[0].1),
    ] {
        assert!(message.contains(&part), "{part} not in {message}");
    }
    // Each later run's prune asked for the same directories again, once, and got the same
    // answers: nothing is retried in a loop, nothing more was removed.
    for r in &runs[1..] {
        assert_eq!((r.0, r.1, r.2), (RetentionState::Failed, 0, 4), "{r:?}");
    }
    assert_eq!(entries(&root1).len(), 4, "1001 is untouched");
    assert!(moved.join(".").exists());
    let left2 = entries(&root2);
    assert_eq!(left2, vec![made[0].1.clone(), made[3].1.clone()]);
    let mut client = stack.client("admin").await;
    assert!(!prune_time(&mut client, made[0].0, 1002).await);
    assert!(prune_time(&mut client, made[1].0, 1002).await);
    assert!(!prune_time(&mut client, made[1].0, 1001).await);
    r.stop().await;
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn in_plan_mode_scheduled_backups_mark_their_schedule_and_the_prune_runs_as_a_script(
    _p: sqlx::pool::PoolOptions<sqlx::Postgres>,
    db: PgConnectOptions,
) {
    // The demo world keeps search.sh, backup.sh and read.sh as plans 4101-4103; no plan holds
    // prune.sh.
    let plans = |s: &mut backup_service::config::Settings| {
        s.plan.enabled = true;
        s.plan.search_plan_id = 4101;
        s.plan.backup_plan_id = 4102;
        s.plan.read_plan_id = 4103;
    };
    let stack = Stack::start_with(&db, Door::Apigw, |s| {
        plans(s);
        s.retention.enabled = false;
    })
    .await;
    let pool = stack.pool().await;
    let ours = schedule(&pool, "plan mode", Some(1), None).await;
    let made = hourly(&stack, &pool, &ours, 2, &[1001]).await;
    assert!(stack.upstream_calls("execute_job_plan").await >= 2);
    assert_eq!(stack.upstream_calls("fast_execute_script").await, 0);
    let root = backup_root(&stack, 1001).await;
    for (_, name) in &made {
        assert_eq!(mark(&root, name)[4], ours.id.to_string());
    }

    let r = stack
        .replica_with(|s| {
            plans(s);
            s.retention.interval_ms = 50;
        })
        .await;
    let runs = settled(&pool, ours.id).await;
    assert!(runs.iter().all(|r| r.0 == RetentionState::Done), "{runs:?}");
    assert_eq!(prune_jobs(&stack).await, 1);
    assert_eq!(entries(&root), vec![made[1].1.clone()]);
    r.stop().await;
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn a_host_whose_agent_went_offline_fails_the_prune_there_and_the_other_host_is_pruned(
    _p: sqlx::pool::PoolOptions<sqlx::Postgres>,
    db: PgConnectOptions,
) {
    let stack = Stack::start_with(&db, Door::Esb, |s| s.retention.enabled = false).await;
    let pool = stack.pool().await;
    let ours = schedule(&pool, "keep one", Some(1), None).await;
    let hosts = [1001, 1002];
    let made = hourly(&stack, &pool, &ours, 2, &hosts).await;
    reqwest::Client::new()
        .put(format!("{}/_sim/hosts/1002/agent", stack.sim.base_url()))
        .json(&serde_json::json!({"alive": false}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();

    let r = stack.replica_with(|s| s.retention.interval_ms = 50).await;
    let runs = settled(&pool, ours.id).await;
    let (state, pruned, failed, message) = runs[0].clone();
    assert_eq!(
        (state, pruned, failed),
        (RetentionState::Failed, 1, 1),
        "{message}"
    );
    assert!(
        message.starts_with("host 1002: no prune report (JOB: HOST_STATUS_AGENT_ERROR)"),
        "{message}"
    );
    assert_eq!(
        entries(&backup_root(&stack, 1001).await),
        vec![made[1].1.clone()]
    );
    assert_eq!(entries(&backup_root(&stack, 1002).await).len(), 2);
    r.stop().await;
    stack.stop().await;
}
