//! Benchmark of the whole backup stack (issue 5), printing figures rather than passing or
//! failing:
//!
//! 1. a backup of 1,000 hosts (three small `.log` files each) followed by ONE WatchBackup
//!    stream: wall time, bk-sim's upstream calls by API, records written;
//! 2. the same backup again followed by 1,000 concurrent WatchBackup streams: resident memory
//!    and upstream calls, to compare with (1): watchers must not cost upstream calls.
//!
//! bk-sim, job-gateway, backup-service and the watchers share this one process (and its
//! cores); memory figures are the whole process's. Postgres is the private cluster of
//! `scripts/pg.sh`; the bench creates its own database and drops it at the end.
//!
//! Run: `bash scripts/pg.sh start`, then `DATABASE_URL=... cargo bench -p e2e --bench backup_stack`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use e2e::bench;
use e2e::flow::{self, Client};
use proto::backup::v1 as pb;
use proto::backup::v1::backup_service_client::BackupServiceClient;
use secrecy::SecretString;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

const HOSTS: u32 = 1000;
const FIRST_HOST: i64 = 100_001;
const FILES_PER_HOST: u32 = 3;
const WATCHERS: usize = 1000;
/// Streams per HTTP/2 connection, below any server's concurrent-stream limit.
const STREAMS_PER_CONNECTION: usize = 50;
/// Bound on one backup, watchers included.
const BACKUP_BOUND: Duration = Duration::from_secs(300);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    bench::init_tracing();
    let base = std::env::var("DATABASE_URL")
        .context("DATABASE_URL is required: run `bash scripts/pg.sh start` and export it")?;
    let db_name = format!("bench_backup_{}", std::process::id());
    let mut admin = PgConnection::connect(&base)
        .await
        .context("connect to DATABASE_URL")?;
    sqlx::query(&format!("CREATE DATABASE {db_name}"))
        .execute(&mut admin)
        .await?;

    let mut sim_settings =
        bk_sim::Settings::new(bench::bulk_world(HOSTS, FIRST_HOST, FILES_PER_HOST)?);
    sim_settings.state_dir = bench::tmpfs_state_dir("backup-bench");
    let state_dir = sim_settings.state_dir.clone();
    let outcome = run(sim_settings, &db_name).await;

    if let Some(dir) = state_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    sqlx::query(&format!("DROP DATABASE {db_name} WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    outcome
}

async fn run(sim_settings: bk_sim::Settings, db_name: &str) -> anyhow::Result<()> {
    let on_tmpfs = sim_settings.state_dir.is_some();
    let sim = bk_sim::spawn(sim_settings).await?;
    let t = Instant::now();
    let hosts: Vec<i64> = (FIRST_HOST..FIRST_HOST + i64::from(HOSTS)).collect();
    for h in &hosts {
        sim.host_root(*h).await?;
    }
    let materialised = t.elapsed();

    let mut gw = e2e::job_gateway_settings(&sim.base_url());
    gw.bk.app_code = "bk-log-backup".to_owned();
    gw.bk.app_secret = Some(SecretString::from(bench::APP_SECRET.to_owned()));
    let gw = e2e::spawn_job_gateway(gw).await;
    let db = PgConnectOptions::new().database(db_name);
    let mut settings = e2e::backup_settings(&db, gw.addr);
    // The production poll schedule: upstream status calls depend on it.
    settings.worker = backup_service::config::WorkerConfig {
        claim_interval_ms: 200,
        ..Default::default()
    };
    let (poll_initial, poll_max) = (settings.worker.poll_initial_ms, settings.worker.poll_max_ms);
    // Its /metrics tells how often WatchBackup read the event table.
    let metrics_addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    settings.metrics_addr = Some(metrics_addr);
    let metrics_url = format!("http://{metrics_addr}/metrics");
    let backup = e2e::spawn_backup_service(settings).await;

    println!(
        "backup-service bench: {HOSTS} hosts x {FILES_PER_HOST} .log files (200-2,000 bytes), \
         {} (materialised in {:.1} s, before timing), \
         worker status poll {poll_initial} ms x1.5 up to {poll_max} ms, bk-sim max_parallel_hosts 16",
        bench::machine(on_tmpfs),
        materialised.as_secs_f64(),
    );
    let outcome = async {
        let one = backup_once(&sim, &backup, &metrics_url, &hosts, 1).await?;
        println!("1-watcher backup done in {:.2} s", one.wall.as_secs_f64());
        let many = backup_once(&sim, &backup, &metrics_url, &hosts, WATCHERS).await?;
        report(&one, &many);
        anyhow::Ok(())
    }
    .await;
    backup.stop().await;
    gw.stop().await;
    sim.stop();
    outcome
}

/// What one backup cost.
struct Run {
    watchers: usize,
    wall: Duration,
    state: String,
    hosts_succeeded: i32,
    files_copied: i64,
    records: usize,
    calls: BTreeMap<String, u64>,
    /// Watchers whose stream ended with an error, by error.
    failed: BTreeMap<String, usize>,
    messages_per_watcher: (usize, usize),
    rss_before: u64,
    rss_open: u64,
    rss_peak: u64,
    /// Reads of the event table by WatchBackup: (shared feed, watcher catch-up).
    event_reads: (u64, u64),
}

/// WatchBackup's reads of the event table so far: (shared feed, watcher catch-up).
async fn event_reads(metrics_url: &str) -> anyhow::Result<(u64, u64)> {
    // The metrics server binds as the service starts running: wait for it, briefly.
    let deadline = Instant::now() + Duration::from_secs(10);
    let response = loop {
        match reqwest::get(metrics_url).await {
            Ok(r) => break r,
            Err(e) if e.is_connect() && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => return Err(e.into()),
        }
    };
    let text = response.error_for_status()?.text().await?;
    let read = |reader: &str| {
        let prefix = format!("backup_watch_event_reads_total{{reader=\"{reader}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix)?.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Ok((read("shared"), read("catch_up")))
}

async fn backup_once(
    sim: &bk_sim::RunningSim,
    backup: &e2e::RunningService,
    metrics_url: &str,
    hosts: &[i64],
    watchers: usize,
) -> anyhow::Result<Run> {
    let authed = e2e::Authed {
        username: Some("admin"),
    };
    let mut channels = vec![];
    for _ in 0..watchers.div_ceil(STREAMS_PER_CONNECTION) {
        channels.push(backup.channel().await);
    }
    let mut client: Client =
        BackupServiceClient::with_interceptor(channels[0].clone(), authed.clone());
    let calls_before = bench::sim_counts(sim).await?;
    let reads_before = event_reads(metrics_url).await?;
    let rss_before = bench::rss_kib()?;
    let peak = bench::PeakRss::start(Duration::from_millis(50))?;

    let started = Instant::now();
    let id = client
        .start_backup(flow::start(hosts, "/data/logs", ".log"))
        .await?
        .into_inner()
        .backup
        .context("StartBackup returned no backup")?
        .backup_id;
    let (opened_tx, mut opened) = tokio::sync::mpsc::channel::<()>(watchers);
    let streams: Vec<_> = (0..watchers)
        .map(|i| {
            let mut client: Client = BackupServiceClient::with_interceptor(
                channels[i / STREAMS_PER_CONNECTION].clone(),
                authed.clone(),
            );
            let (id, opened_tx) = (id.clone(), opened_tx.clone());
            tokio::spawn(async move {
                let mut stream = client
                    .watch_backup(pb::WatchBackupRequest {
                        backup_id: id,
                        after_seq: 0,
                    })
                    .await?
                    .into_inner();
                opened_tx.send(()).await?;
                let mut messages = 0;
                // A stream that fails mid-way is counted and reported, not fatal: how watchers
                // fare under load is part of what this bench measures.
                let ended = loop {
                    match stream.message().await {
                        Ok(Some(_)) => messages += 1,
                        Ok(None) => break Ok(()),
                        Err(e) => break Err(e),
                    }
                };
                anyhow::Ok((messages, ended))
            })
        })
        .collect();
    drop(opened_tx);
    for _ in 0..watchers {
        if opened.recv().await.is_none() {
            // A watcher ended before opening: its task holds the error.
            for s in streams {
                let (_, ended) = s.await??;
                ended?;
            }
            bail!("a watcher ended before opening");
        }
    }
    let rss_open = bench::rss_kib()?;
    let (mut messages, mut failed) = (vec![], BTreeMap::<String, usize>::new());
    let all_ended = async {
        for s in streams {
            let (n, ended) = s.await??;
            messages.push(n);
            if let Err(e) = ended {
                *failed
                    .entry(format!("{:?}: {}", e.code(), e.message()))
                    .or_default() += 1;
            }
        }
        let terminal = [
            pb::BackupState::Succeeded,
            pb::BackupState::Partial,
            pb::BackupState::Failed,
            pb::BackupState::Cancelled,
        ];
        while !terminal.contains(&flow::full(&mut client, &id).await.state()) {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        anyhow::Ok(())
    };
    tokio::time::timeout(BACKUP_BOUND, all_ended)
        .await
        .context("the backup did not end within the bound")??;
    let wall = started.elapsed();

    let done = flow::full(&mut client, &id).await;
    let counts = done.counts.unwrap_or_default();
    let records = flow::records(&mut client, &id).await.len();
    let calls = bench::count_delta(&calls_before, &bench::sim_counts(sim).await?);
    let reads = event_reads(metrics_url).await?;
    Ok(Run {
        watchers,
        wall,
        state: done.state().as_str_name().to_owned(),
        hosts_succeeded: counts.hosts_succeeded,
        files_copied: counts.files_copied,
        records,
        calls,
        failed,
        messages_per_watcher: (
            messages.iter().copied().min().unwrap_or(0),
            messages.iter().copied().max().unwrap_or(0),
        ),
        rss_before,
        rss_open,
        rss_peak: peak.peak_kib(),
        event_reads: (reads.0 - reads_before.0, reads.1 - reads_before.1),
    })
}

fn report(one: &Run, many: &Run) {
    let runs = [one, many];
    println!();
    println!(
        "{:<42} | {:>14} | {:>14}",
        "",
        format!("{} watcher", one.watchers),
        format!("{} watchers", many.watchers)
    );
    let row = |label: &str, f: &dyn Fn(&Run) -> String| {
        println!("{label:<42} | {:>14} | {:>14}", f(runs[0]), f(runs[1]));
    };
    row("wall time, StartBackup to last stream end", &|r| {
        format!("{:.2} s", r.wall.as_secs_f64())
    });
    row("final state", &|r| r.state.clone());
    row("hosts succeeded", &|r| r.hosts_succeeded.to_string());
    row("files copied (counts)", &|r| r.files_copied.to_string());
    row("records listed (ListBackupRecords)", &|r| {
        r.records.to_string()
    });
    row("messages per watcher (min..max)", &|r| {
        format!("{}..{}", r.messages_per_watcher.0, r.messages_per_watcher.1)
    });
    row("watchers whose stream failed", &|r| {
        r.failed.values().sum::<usize>().to_string()
    });
    let mut apis: Vec<&String> = one.calls.keys().chain(many.calls.keys()).collect();
    apis.sort();
    apis.dedup();
    for api in apis {
        row(&format!("upstream {api}"), &|r| {
            r.calls.get(api).copied().unwrap_or(0).to_string()
        });
    }
    row("event-table reads: shared feed", &|r| {
        r.event_reads.0.to_string()
    });
    row("event-table reads: watcher catch-up", &|r| {
        r.event_reads.1.to_string()
    });
    row("RSS before the backup", &|r| {
        format!("{} KiB", r.rss_before)
    });
    row("RSS with every watcher open", &|r| {
        format!("{} KiB", r.rss_open)
    });
    row("RSS peak during the backup", &|r| {
        format!("{} KiB", r.rss_peak)
    });
    row("RSS growth to peak", &|r| {
        format!("{} KiB", r.rss_peak.saturating_sub(r.rss_before))
    });
    for r in runs {
        for (error, n) in &r.failed {
            println!("{} watchers: {n} streams ended with {error}", r.watchers);
        }
    }
}
