//! Benchmark of the scheduler (issue 11), printing figures rather than passing or failing:
//! 10,000 active schedules, 1,000 of them due in the same second.
//!
//! 1. statements per idle tick: 100 ticks with nothing due, counted as transactions of the
//!    bench's own database (each of the tick's statements is one; nothing else uses it);
//! 2. scheduler CPU while nothing is due: the loop (`scheduler.tick_ms` 250) runs 10 s, CPU
//!    time of this process read from `/proc/self/stat`;
//! 3. fire delay: the 1,000 fires of one second, each resolving its selector through
//!    job-gateway and bk-sim and storing its backup; delay = the backup's `created_at` (queued)
//!    minus the scheduled time, p50/p99/max, on the system clock.
//!
//! The scheduler runs alone here (no gRPC server, no backup workers): the figures are its own.
//! bk-sim and job-gateway share this process. Postgres is the one DATABASE_URL points at; the
//! bench creates its own database and drops it at the end.
//!
//! Every schedule selects host 1001 as `admin`, so the fires of one tick share one resolution
//! (`schedule/shared.rs`); `BENCH_DISTINCT_SELECTORS=1` gives each due schedule a selector of its
//! own (a different subset of hosts 1001–1010), so each fire resolves its own.
//!
//! Run: `DATABASE_URL=... cargo bench -p e2e --bench scheduler`; `BENCH_BK_UNLIMITED=1` lifts
//! job-gateway's rate limits, `BENCH_CONCURRENCY` and `BENCH_TICK_MS` override the settings.

use std::time::{Duration, Instant};

use anyhow::Context;
use backup_service::gateway::{Gateway, Runner};
use backup_service::schedule::{self, Clock, Engine, FireLimits, SchedulerSettings};
use backup_service::worker::Wakeup;
use chrono::{DateTime, TimeDelta, Timelike, Utc};
use secrecy::SecretString;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::{Connection, PgPool};
use tokio_util::sync::CancellationToken;

const SCHEDULES: i64 = 10_000;
const DUE: i64 = 1_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    e2e::bench::init_tracing();
    let base = std::env::var("DATABASE_URL").context("DATABASE_URL is required")?;
    let db_name = format!("bench_scheduler_{}", std::process::id());
    let mut admin = PgConnection::connect(&base).await?;
    sqlx::query(&format!("CREATE DATABASE {db_name}"))
        .execute(&mut admin)
        .await?;
    let outcome = run(&db_name).await;
    sqlx::query(&format!("DROP DATABASE {db_name} WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    outcome
}

async fn transactions(pool: &PgPool) -> anyhow::Result<i64> {
    // Idle backends flush their statistics to pg_stat_database within 10 s.
    tokio::time::sleep(Duration::from_millis(11_000)).await;
    Ok(sqlx::query_scalar(
        "select (xact_commit + xact_rollback)::bigint from pg_stat_database \
         where datname = current_database()",
    )
    .fetch_one(pool)
    .await?)
}

fn cpu_ticks() -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let after = &stat[stat.rfind(')').context("stat")? + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    Ok(f[11].parse::<u64>()? + f[12].parse::<u64>()?)
}

async fn run(db_name: &str) -> anyhow::Result<()> {
    let world = bk_sim::World::load(&e2e::stack::demo_world())?;
    let mut sim_settings = bk_sim::Settings::new(world);
    sim_settings.dispatch_delay_ms = 20;
    let sim = bk_sim::spawn(sim_settings).await?;
    let mut gw = e2e::job_gateway_settings(&sim.base_url());
    gw.bk.app_code = "bk-log-backup".to_owned();
    gw.bk.app_secret = Some(SecretString::from(e2e::stack::DEMO_SECRET.to_owned()));
    // BENCH_BK_UNLIMITED=1 lifts job-gateway's rate limits toward BlueKing (by default 50 calls/s,
    // 20/s per business): the scheduler's own capacity instead of BlueKing's.
    let unlimited = std::env::var_os("BENCH_BK_UNLIMITED").is_some();
    if unlimited {
        gw.bk.rate_per_second = 0.0;
        gw.bk.biz_rate_per_second = 0.0;
    }
    let gw = e2e::spawn_job_gateway(gw).await;
    let db = PgConnectOptions::new().database(db_name);
    let settings = e2e::backup_settings(&db, gw.addr);
    let pool = PgPoolOptions::new()
        .max_connections(10)
        .connect_with(settings.connect_options()?)
        .await?;
    backup_service::store::migrate(&pool).await?;
    // 1,000 schedules fire daily at T (a whole second a minute ahead, after the idle figures), 9,000 twelve hours later.
    let t: DateTime<Utc> = DateTime::from_timestamp(Utc::now().timestamp() + 60, 0).unwrap();
    let distinct = std::env::var_os("BENCH_DISTINCT_SELECTORS").is_some();
    let later = t + TimeDelta::hours(12);
    let cron = |at: DateTime<Utc>| format!("{} {} {} * * *", at.second(), at.minute(), at.hour());
    sqlx::query(
        "insert into schedules (id, bk_biz_id, name, operator, updated_by, selector, \
           bk_file_dir, bk_file_suffix, cron, time_zone, run_timeout_secs, overlap_policy, \
           next_fire_at, next_due_at, created_at, updated_at) \
         select gen_random_uuid(), 3, 's' || g, 'admin', 'admin', \
           case when $7 then (select jsonb_build_object('bk_host_ids', jsonb_agg(1001 + b)) \
             from generate_series(0, 9) b where (g % 1023 + 1) & (1 << b) <> 0) \
           else '{\"bk_host_ids\": [1001]}' end, \
           '/data/logs', 'log', case when g <= $1 then $2 else $3 end, 'UTC', 600, 'allow_all', \
           case when g <= $1 then $4 else $5 end, case when g <= $1 then $4 else $5 end, \
           now(), now() \
         from generate_series(1, $6) g",
    )
    .bind(DUE)
    .bind(cron(t))
    .bind(cron(later))
    .bind(t)
    .bind(later)
    .bind(SCHEDULES)
    .bind(distinct)
    .execute(&pool)
    .await?;
    sqlx::query("analyze schedules").execute(&pool).await?;
    let gateway = Gateway::new(&settings.job_gateway, Runner::Script)?;
    let engine = Engine::new(pool.clone(), gateway, Clock::System, Wakeup::default())
        .with_limits(FireLimits::default());
    // BENCH_CONCURRENCY overrides `scheduler.concurrency` (fires decided at once).
    let mut sched = SchedulerSettings::default();
    if let Some(n) = std::env::var("BENCH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        sched.concurrency = n;
    }
    // BENCH_TICK_MS overrides `scheduler.tick_ms`.
    if let Some(ms) = std::env::var("BENCH_TICK_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        sched.tick = Duration::from_millis(ms);
    }
    println!(
        "scheduler bench: {SCHEDULES} active schedules, {DUE} due at {t}; tick {} ms, batch {}, \
         concurrency {}; job-gateway rate limits {}; selectors {}; {} cores, {} build",
        sched.tick.as_millis(),
        sched.batch,
        sched.concurrency,
        if unlimited {
            "lifted"
        } else {
            "default (50/s, 20/s per business)"
        },
        if distinct {
            "one per due schedule"
        } else {
            "all the same (one resolution per tick)"
        },
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
    );

    // 1. Statements per idle tick.
    let before = transactions(&pool).await?;
    let ticks = 100;
    for _ in 0..ticks {
        schedule::tick(&engine, &sched).await?;
    }
    let after = transactions(&pool).await?;
    // The stats read itself is one transaction.
    let per_tick = (after - before - 1) as f64 / f64::from(ticks);
    println!("idle tick: {per_tick:.2} statements per tick ({ticks} ticks, nothing due)");

    // 2. Idle CPU of the running loop.
    let stop = CancellationToken::new();
    let looping = tokio::spawn(schedule::run(engine.clone(), sched.clone(), stop.clone()));
    let hz = 100.0; // USER_HZ
    let (cpu0, w0) = (cpu_ticks()?, Instant::now());
    tokio::time::sleep(Duration::from_secs(10)).await;
    let (cpu1, w1) = (cpu_ticks()?, Instant::now());
    let idle_cpu = (cpu1 - cpu0) as f64 / hz / (w1 - w0).as_secs_f64() * 100.0;
    println!(
        "idle CPU (whole process, bk-sim and job-gateway idle too): {idle_cpu:.2}% of a core over {:.1} s",
        (w1 - w0).as_secs_f64()
    );

    // 3. The 1,000 fires of one second.
    let wait_until = t + TimeDelta::seconds(120);
    loop {
        let fired: i64 =
            sqlx::query_scalar("select count(*) from schedule_runs where decision = 'fired'")
                .fetch_one(&pool)
                .await?;
        if fired >= DUE || Utc::now() > wait_until {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.cancel();
    let _ = looping.await;
    let (n, p50, p99, max, decisions): (i64, f64, f64, f64, String) = sqlx::query_as(
        "select count(*), \
           percentile_cont(0.5) within group (order by d), \
           percentile_cont(0.99) within group (order by d), max(d), \
           (select string_agg(decision || ' ' || n, ', ') from \
             (select decision, count(*) n from schedule_runs group by decision) x) \
         from (select extract(epoch from b.created_at - r.scheduled_at)::float8 d \
           from schedule_runs r join backups b on b.id = r.backup_id) y",
    )
    .fetch_one(&pool)
    .await?;
    println!(
        "fire delay (scheduled -> backup queued) of {n} fires: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; runs: {decisions}",
        p50 * 1e3,
        p99 * 1e3,
        max * 1e3
    );
    pool.close().await;
    gw.stop().await;
    sim.stop();
    Ok(())
}
