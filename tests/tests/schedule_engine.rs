//! The scheduler's engine against the whole stack (bk-sim, job-gateway, backup-service,
//! Postgres), its clock a manual one the test moves: a fire starts a backup on the hosts its
//! selector has at that moment, catch-up after downtime, pause after failed runs, fires across
//! DST in two zones, and two replicas on one database making each fire once (the overlap
//! policies are in `schedule_overlap.rs`). Schedules are stored directly: these tests are of
//! the engine, not of ScheduleService.

use backup_service::domain::{OverlapPolicy, RunDecision, RunTrigger, ScheduleState};
use backup_service::store::schedule_fires::fire_request_id;
use backup_service::store::schedules::{self, StateChange};
use chrono::{DateTime, TimeDelta, Utc};
use e2e::scheduler::{
    counted, create, ended, fields, get, hosts, pool, real_now, runs, runs_reach,
};
use e2e::stack::{Door, Stack};
use serde_json::json;
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;

type Pool = sqlx::pool::PoolOptions<sqlx::Postgres>;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

async fn move_host(stack: &Stack, host: i64, modules: &[i64]) {
    reqwest::Client::new()
        .put(format!(
            "{}/_sim/hosts/{host}/modules",
            stack.sim.base_url()
        ))
        .json(&json!({ "bk_module_ids": modules }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .expect("host moved");
}

#[sqlx::test(migrations = false)]
async fn a_fire_starts_one_backup_on_the_hosts_its_module_has_at_that_fire_bounded_by_the_run_timeout(
    _p: Pool,
    db: PgConnectOptions,
) {
    let t0 = real_now();
    let (stack, clock) = Stack::start_with_clock(&db, Door::Esb, t0, |s| {
        s.metrics_addr = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let pool = pool(&db).await;
    let mut f = fields("gamesvr", json!({ "bk_module_ids": [3001] }));
    f.run_timeout_secs = 120;
    let s = create(&pool, f, "admin", t0).await;
    let t1 = s.next_fire_at.unwrap();
    clock.set(t1);
    let r = runs_reach(&pool, s.id, 1).await;
    assert_eq!(
        (r[0].scheduled_at, r[0].trigger, r[0].decision),
        (t1, RunTrigger::Cron, RunDecision::Fired)
    );
    assert_eq!(r[0].resolved_host_ids, [1001, 1002, 1009]);
    let backup = r[0].backup_id.unwrap();
    let (schedule_id, request_id, host_ids, operator, deadline, job_timeout): (
        Option<uuid::Uuid>,
        Option<String>,
        Vec<i64>,
        String,
        DateTime<Utc>,
        i32,
    ) = sqlx::query_as(
        "select schedule_id, request_id, bk_host_ids, operator, deadline_at, job_timeout_secs \
         from backups where id = $1",
    )
    .bind(backup)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(schedule_id, Some(s.id));
    assert_eq!(request_id, Some(fire_request_id(s.id, t1)));
    assert_eq!(
        (host_ids, operator),
        (vec![1001, 1002, 1009], "admin".to_owned())
    );
    // The run's timeout bounds the backup: its deadline, and its JOB step (the slack, at most
    // half, kept for launching and reading results).
    assert_eq!(deadline, t1 + TimeDelta::seconds(120));
    assert_eq!(job_timeout, 60);
    assert_eq!(
        get(&pool, s.id).await.next_fire_at,
        Some(t1 + TimeDelta::minutes(1))
    );
    ended(&pool, backup).await;
    // A host joins the module: the next fire backs it up too.
    move_host(&stack, 1003, &[3001]).await;
    clock.set(t1 + TimeDelta::minutes(1));
    let r = runs_reach(&pool, s.id, 2).await;
    assert_eq!(r[1].decision, RunDecision::Fired);
    assert_eq!(r[1].resolved_host_ids, [1001, 1002, 1003, 1009]);
    let m = &stack.backup;
    assert_eq!(
        m.metric("schedule_fires_total{decision=\"fired\"}").await,
        2.0
    );
    assert_eq!(m.metric("schedule_fire_delay_seconds_count").await, 2.0);
    assert_eq!(m.metric("schedules{state=\"active\"}").await, 1.0);
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn after_hours_of_downtime_the_latest_fire_is_made_within_the_window_and_older_ones_are_missed(
    _p: Pool,
    db: PgConnectOptions,
) {
    let t0 = real_now();
    let (stack, clock) = Stack::start_with_clock(&db, Door::Esb, t0, |_| {}).await;
    let pool = pool(&db).await;
    let hourly = |name: &str, window: i64| {
        let mut f = fields(name, hosts(&[1004]));
        f.cron = "0 * * * *".into();
        f.catch_up_window_secs = window;
        f
    };
    let wide = create(&pool, hourly("wide", 3600), "admin", t0).await;
    let narrow = create(&pool, hourly("narrow", 600), "admin", t0).await;
    let h1 = wide.next_fire_at.unwrap();
    // No replica ran from before h1 until 3 h 20 min after it.
    clock.set(h1 + TimeDelta::minutes(200));
    let latest = h1 + TimeDelta::hours(3);
    let made = runs_reach(&pool, wide.id, 4).await;
    let decisions: Vec<_> = made.iter().map(|r| (r.scheduled_at, r.decision)).collect();
    assert_eq!(
        decisions,
        [
            (h1, RunDecision::Missed),
            (h1 + TimeDelta::hours(1), RunDecision::Missed),
            (h1 + TimeDelta::hours(2), RunDecision::Missed),
            (latest, RunDecision::Fired),
        ]
    );
    let instead = format!(
        "a later fire ({}) was made instead",
        latest.format("%Y-%m-%dT%H:%M:%SZ")
    );
    assert!(made[..3].iter().all(|r| r.reason == instead), "{made:?}");
    let missed = runs_reach(&pool, narrow.id, 4).await;
    assert!(missed.iter().all(|r| r.decision == RunDecision::Missed));
    assert_eq!(missed[3].scheduled_at, latest);
    assert_eq!(
        missed[3].reason,
        "past the catch-up window: 1200s late, the window is 600s"
    );
    assert!(
        missed[..3]
            .iter()
            .all(|r| r.reason == "past the catch-up window")
    );
    for s in [&wide, &narrow] {
        assert_eq!(
            get(&pool, s.id).await.next_fire_at,
            Some(h1 + TimeDelta::hours(4))
        );
    }
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn a_schedule_whose_runs_fail_is_paused_at_its_limit_with_the_last_reason_as_note(
    _p: Pool,
    db: PgConnectOptions,
) {
    let t0 = real_now();
    let (stack, clock) = Stack::start_with_clock(&db, Door::Esb, t0, |_| {}).await;
    let pool = pool(&db).await;
    let mut f = fields("bobs", hosts(&[1004]));
    f.pause_after_failures = Some(2);
    // bob may not see business 3: CMDB refuses every resolution as bob.
    let s = create(&pool, f, "bob", t0).await;
    let t1 = s.next_fire_at.unwrap();
    clock.set(t1);
    let r = runs_reach(&pool, s.id, 1).await;
    assert_eq!(r[0].decision, RunDecision::FailedToStart);
    assert!(!r[0].reason.is_empty());
    counted(&pool, r[0].id).await;
    let once = get(&pool, s.id).await;
    assert_eq!(
        (once.state, once.consecutive_failures),
        (ScheduleState::Active, 1)
    );
    clock.set(t1 + TimeDelta::minutes(1));
    let r = runs_reach(&pool, s.id, 2).await;
    assert_eq!(r[1].decision, RunDecision::FailedToStart);
    counted(&pool, r[1].id).await;
    let paused = get(&pool, s.id).await;
    assert_eq!(paused.state, ScheduleState::Paused);
    assert_eq!(
        paused.pause_note,
        format!(
            "paused after 2 failed runs in a row; the last: {}",
            r[1].reason
        )
    );
    assert_eq!(paused.version, once.version + 1);
    assert_eq!(paused.updated_by, "bob");
    stack.stop().await;
}

/// Moves the clock to schedule `id`'s next fire `n` times; the runs' scheduled times.
async fn follow(
    pool: &PgPool,
    clock: &backup_service::schedule::ManualClock,
    id: uuid::Uuid,
    n: usize,
) -> Vec<DateTime<Utc>> {
    for k in 1..=n {
        let next = get(pool, id).await.next_fire_at.unwrap();
        clock.set(next);
        runs_reach(pool, id, k).await;
    }
    let r = runs(pool, id).await;
    assert!(r.iter().all(|r| r.decision == RunDecision::Fired), "{r:?}");
    r.iter().map(|r| r.scheduled_at).collect()
}

#[sqlx::test(migrations = false)]
async fn fires_cross_spring_forward_in_new_york_and_fall_back_in_berlin_once_each(
    _p: Pool,
    db: PgConnectOptions,
) {
    let start = at("2027-03-13T00:00:00Z");
    let (stack, clock) = Stack::start_with_clock(&db, Door::Esb, start, |_| {}).await;
    let pool = pool(&db).await;
    let zoned = |name: &str, zone: &str| {
        let mut f = fields(name, hosts(&[1004]));
        f.cron = "30 2 * * *".into();
        f.time_zone = zone.into();
        f.overlap_policy = OverlapPolicy::AllowAll;
        f
    };
    let ny = create(&pool, zoned("new-york", "America/New_York"), "admin", start).await;
    assert_eq!(
        follow(&pool, &clock, ny.id, 3).await,
        [
            at("2027-03-13T07:30:00Z"),
            // 02:30 does not exist on the 14th: once, when the gap ends (03:00 EDT).
            at("2027-03-14T07:00:00Z"),
            at("2027-03-15T06:30:00Z"),
        ]
    );
    schedules::change_state(
        &pool,
        ny.id,
        None,
        &StateChange::Delete,
        "admin",
        clock.now(),
    )
    .await
    .unwrap();
    let autumn = at("2027-10-30T00:00:00Z");
    clock.set(autumn);
    let berlin = create(&pool, zoned("berlin", "Europe/Berlin"), "admin", autumn).await;
    assert_eq!(
        follow(&pool, &clock, berlin.id, 3).await,
        [
            at("2027-10-30T00:30:00Z"),
            // 02:30 happens twice on the 31st: once, the first time (CEST).
            at("2027-10-31T00:30:00Z"),
            at("2027-11-01T01:30:00Z"),
        ]
    );
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn two_replicas_on_one_database_make_each_fire_exactly_once(_p: Pool, db: PgConnectOptions) {
    let t0 = real_now();
    let (stack, clock) = Stack::start_with_clock(&db, Door::Esb, t0, |_| {}).await;
    let second = stack.replica_with_clock(&clock).await;
    let pool = pool(&db).await;
    let mut ids = Vec::new();
    for (i, host) in [1004, 1005, 1006].into_iter().enumerate() {
        let mut f = fields(&format!("every-second-{i}"), hosts(&[host]));
        f.cron = "* * * * * *".into();
        f.overlap_policy = OverlapPolicy::AllowAll;
        ids.push(create(&pool, f, "admin", t0).await.id);
    }
    let steps = 8;
    for k in 1..=steps {
        clock.set(t0 + TimeDelta::seconds(k));
        for id in &ids {
            runs_reach(&pool, *id, k as usize).await;
        }
    }
    for id in &ids {
        let r = runs(&pool, *id).await;
        let times: Vec<_> = r.iter().map(|r| r.scheduled_at).collect();
        let expected: Vec<_> = (1..=steps).map(|k| t0 + TimeDelta::seconds(k)).collect();
        assert_eq!(times, expected);
        assert!(r.iter().all(|r| r.decision == RunDecision::Fired));
        let backups: i64 =
            sqlx::query_scalar("select count(*) from backups where schedule_id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(backups, steps);
    }
    second.stop().await;
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn fires_of_one_tick_over_the_same_selector_and_operator_resolve_it_once(
    _p: Pool,
    db: PgConnectOptions,
) {
    let t0 = real_now();
    let (stack, clock) = Stack::start_with_clock(&db, Door::Esb, t0, |_| {}).await;
    let pool = pool(&db).await;
    let gamesvr = json!({ "bk_module_ids": [3001] });
    let a = create(&pool, fields("a", gamesvr.clone()), "admin", t0).await;
    let b = create(&pool, fields("b", gamesvr.clone()), "admin", t0).await;
    let c = create(
        &pool,
        fields("c", json!({ "bk_module_ids": [3002] })),
        "admin",
        t0,
    )
    .await;
    let d = create(&pool, fields("d", gamesvr), "alice", t0).await;
    // Only a selector's resolution reads the business topology.
    let topology = || stack.upstream_calls("search_biz_inst_topo");
    let before = topology().await;
    clock.set(a.next_fire_at.unwrap());
    for s in [&a, &b, &c, &d] {
        let r = runs_reach(&pool, s.id, 1).await;
        assert_eq!(r[0].decision, RunDecision::Fired, "{r:?}");
    }
    assert_eq!(
        topology().await - before,
        3,
        "a and b share one resolution; another module or another operator asks again"
    );
    stack.stop().await;
}
