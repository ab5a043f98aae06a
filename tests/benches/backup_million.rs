//! Benchmark of one backup of a very large directory end to end (issue 9): one host of the
//! demo world with `BENCH_FILES` (default 1,000,000) small `.log` files in 1,000 directories,
//! backed up through job-gateway and bk-sim by backup-service. Prints the wall time, records
//! per second, the JOB runs it took (the backup and the manifest page reads), the records
//! stored, and the process's peak resident memory. Figures, not a pass or fail.
//!
//! bk-sim, job-gateway and backup-service share this process; the host tree is on /dev/shm
//! when it exists. Postgres is the private cluster of `scripts/pg.sh`; the bench creates its
//! own database and drops it at the end.
//!
//! Run: `bash scripts/pg.sh start`, then
//! `DATABASE_URL=... cargo bench -p e2e --bench backup_million` (`BENCH_FILES=100000` for a
//! quicker run).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use e2e::bench;
use e2e::flow::{self, Client};
use proto::backup::v1 as pb;
use secrecy::SecretString;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

const HOST: i64 = 1001;
const DIR: &str = "/data/million";
/// Bound on the backup.
const BACKUP_BOUND: Duration = Duration::from_secs(3600);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    bench::init_tracing();
    let files: usize = std::env::var("BENCH_FILES")
        .ok()
        .map(|v| v.parse())
        .transpose()
        .context("BENCH_FILES is a number")?
        .unwrap_or(1_000_000);
    let base = std::env::var("DATABASE_URL")
        .context("DATABASE_URL is required: run `bash scripts/pg.sh start` and export it")?;
    let db_name = format!("bench_million_{}", std::process::id());
    let mut admin = PgConnection::connect(&base)
        .await
        .context("connect to DATABASE_URL")?;
    sqlx::query(&format!("CREATE DATABASE {db_name}"))
        .execute(&mut admin)
        .await?;
    let world = bk_sim::World::load(&e2e::stack::demo_world())?;
    let mut sim_settings = bk_sim::Settings::new(world);
    sim_settings.state_dir = bench::tmpfs_state_dir("million-bench");
    let state_dir = sim_settings.state_dir.clone();
    let outcome = run(sim_settings, &base, &db_name, files).await;
    if let Some(dir) = state_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    sqlx::query(&format!("DROP DATABASE {db_name} WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    outcome
}

/// Writes `n` files of 20-odd bytes into `<root><DIR>/d<i % 1000>/`.
fn make_tree(root: &Path, n: usize) -> anyhow::Result<()> {
    let base = root.join(DIR.trim_start_matches('/'));
    for d in 0..1000.min(n) {
        std::fs::create_dir_all(base.join(format!("d{d:03}")))?;
    }
    for i in 0..n {
        let p = base.join(format!("d{:03}/game_{i:07}.log", i % 1000));
        std::fs::write(p, format!("log line of file {i}\n"))?;
    }
    Ok(())
}

async fn run(
    sim_settings: bk_sim::Settings,
    base_url: &str,
    db_name: &str,
    files: usize,
) -> anyhow::Result<()> {
    let on_tmpfs = sim_settings.state_dir.is_some();
    let sim = bk_sim::spawn(sim_settings).await?;
    let t = Instant::now();
    make_tree(&sim.host_root(HOST).await?, files)?;
    let made = t.elapsed();

    let mut gw = e2e::job_gateway_settings(&sim.base_url());
    gw.bk.app_code = "bk-log-backup".to_owned();
    gw.bk.app_secret = Some(SecretString::from(e2e::stack::DEMO_SECRET.to_owned()));
    let gw = e2e::spawn_job_gateway(gw).await;
    let db = PgConnectOptions::new().database(db_name);
    let mut settings = e2e::backup_settings(&db, gw.addr);
    settings.worker = backup_service::config::WorkerConfig {
        claim_interval_ms: 200,
        ..Default::default()
    };
    let backup = e2e::spawn_backup_service(settings).await;
    println!(
        "backup of one host with {files} .log files (~22 bytes each) in 1,000 directories, \
         {} (written in {:.1} s, before timing)",
        bench::machine(on_tmpfs),
        made.as_secs_f64(),
    );
    let outcome = async {
        let mut client: Client = e2e::backup_client(&backup, Some("admin")).await;
        let calls_before = bench::sim_counts(&sim).await?;
        let peak = bench::PeakRss::start(Duration::from_millis(100))?;
        let started = Instant::now();
        let id = flow::start_backup(&mut client, flow::start(&[HOST], DIR, "log")).await;
        // Where the time goes: each change of the status message, as the poll below sees it.
        let mut timeline: Vec<String> = Vec::new();
        let mut last_message = String::new();
        let done = loop {
            let b = client
                .get_backup(pb::GetBackupRequest {
                    backup_id: id.clone(),
                    view: pb::BackupView::Basic as i32,
                })
                .await?
                .into_inner()
                .backup
                .context("backup")?;
            if b.status_message != last_message {
                last_message.clone_from(&b.status_message);
                let at = started.elapsed().as_secs_f64();
                timeline.push(format!("{at:.1} s {last_message}"));
            }
            if b.end_time.is_some() {
                break b;
            }
            if started.elapsed() > BACKUP_BOUND {
                bail!("backup not done within {BACKUP_BOUND:?}: {b:?}");
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        let wall = started.elapsed();
        let calls = bench::count_delta(&calls_before, &bench::sim_counts(&sim).await?);
        let mut conn = PgConnection::connect(&format!(
            "{}/{db_name}",
            base_url.rsplit_once('/').map_or(base_url, |(s, _)| s)
        ))
        .await?;
        let stored: i64 = sqlx::query_scalar("select count(*) from backup_records")
            .fetch_one(&mut conn)
            .await?;
        println!("timeline: {}", timeline.join("; "));
        let c = done.counts.unwrap_or_default();
        println!(
            "state {:?}: found {}, copied {}, failed {}, unknown {}; {stored} records stored",
            pb::BackupState::try_from(done.state).unwrap_or_default(),
            c.files_found,
            c.files_copied,
            c.files_failed,
            c.files_unknown,
        );
        println!(
            "wall {:.1} s, {:.0} records/s; JOB runs (fast_execute_script) {}, log reads {}, \
             peak RSS {} MiB",
            wall.as_secs_f64(),
            stored as f64 / wall.as_secs_f64(),
            calls.get("fast_execute_script").copied().unwrap_or(0),
            calls
                .get("batch_get_job_instance_ip_log")
                .copied()
                .unwrap_or(0),
            peak.peak_kib() / 1024,
        );
        anyhow::Ok(())
    }
    .await;
    backup.stop().await;
    gw.stop().await;
    sim.stop();
    outcome
}
