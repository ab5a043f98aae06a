//! Record benchmarks of issue 5: the worker's bulk insert of 100k records, and ListBackupRecords
//! latency at 1M records, measured at the store and through the real gRPC server.
//!
//! `DATABASE_URL=... cargo bench -p backup-service --bench records` (see docs/benchmarks.md).
//! The bench creates its own database `bench_records_<pid>` on that server and drops it at the
//! end (`BENCH_KEEP_DB=1` keeps it for EXPLAIN). It prints figures and asserts no timing: a
//! shared 2-core machine makes timing assertions flaky, so the targets are read off the table.
//!
//! The 1M rows are generated server-side (`INSERT … SELECT`) with the secondary indexes dropped
//! and rebuilt from their own definitions, because that is the fastest honest way to reach the
//! shape the listing is measured on; the 100k insert itself always goes through
//! `store::records::insert` with every index in place, as the worker runs it.

use std::str::FromStr;

use anyhow::Context as _;
use chrono::{DateTime, TimeZone, Utc};
use proto::backup::v1::backup_service_client::BackupServiceClient;
use secrecy::SecretString;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use tonic::transport::Channel;

use backup_service::config::{DatabaseSettings, Settings};
use backup_service::records::{Cursor, RecordQuery};
use backup_service::startup::Application;
use backup_service::store;

use measure::{fill, insert_runs, measure, walk};
use rng::Rng;

mod cases;
mod data;
mod measure;
mod rng;

const TOKEN: &str = "bench-token-0123456789abcdef";
/// Records in the listing table.
const TABLE_ROWS: i64 = 1_000_000;
/// Records in one benchmarked insert: 1,000 hosts × 100 files.
const INSERT_ROWS: usize = 100_000;
/// Rows skipped before a deep page: page 500 at page size 100.
const DEEP_ROWS: u32 = 49_900;
/// Rows skipped before the deepest page measured.
const DEEPEST_ROWS: u32 = 900_000;

type Client = BackupServiceClient<
    tonic::service::interceptor::InterceptedService<
        Channel,
        fn(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status>,
    >,
>;

fn authed(mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
    let md = req.metadata_mut();
    md.insert(
        "authorization",
        format!("Bearer {TOKEN}").parse().expect("ascii"),
    );
    md.insert("x-bk-username", "bench".parse().expect("ascii"));
    Ok(req)
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let base = std::env::var("DATABASE_URL")
        .context("DATABASE_URL must name a Postgres server (bash scripts/pg.sh start)")?;
    let name = format!("bench_records_{}", std::process::id());
    let mut admin = PgConnection::connect(&base)
        .await
        .context("cannot connect to DATABASE_URL")?;
    sqlx::raw_sql(&format!("create database {name}"))
        .execute(&mut admin)
        .await
        .context("cannot create the bench database")?;
    let mut url = url::Url::parse(&base).context("DATABASE_URL is not a URL")?;
    url.set_path(&format!("/{name}"));
    let result = run(url.as_str()).await;
    if std::env::var("BENCH_KEEP_DB").is_ok_and(|v| v == "1") {
        println!("\nkept database {name}");
    } else {
        sqlx::raw_sql(&format!("drop database {name} with (force)"))
            .execute(&mut admin)
            .await
            .context("cannot drop the bench database")?;
    }
    result
}

async fn run(url: &str) -> anyhow::Result<()> {
    let options = PgConnectOptions::from_str(url)?;
    let pool = store::pool(options, &DatabaseSettings::default());
    store::migrate(&pool).await.context("cannot migrate")?;
    let settings: Vec<(String, String)> = sqlx::query_as(
        "select name, setting from pg_settings where name in \
         ('server_version', 'synchronous_commit', 'fsync', 'shared_buffers', 'work_mem') \
         order by name",
    )
    .fetch_all(&pool)
    .await?;
    println!("# backup-service record benchmarks");
    println!(
        "cpus: {}; postgres: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        settings
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut rng = Rng(0x5eed_2026);

    println!("\n## insert of {INSERT_ROWS} records in one transaction (store::records::insert)");
    let runs = env_usize("BENCH_INSERT_RUNS", 5);
    let empty = insert_runs(&pool, &mut rng, runs).await?;
    sqlx::raw_sql("truncate backup_records; delete from backups")
        .execute(&pool)
        .await?;

    println!("\n## growing backup_records to {TABLE_ROWS} rows");
    let plans = data::plan(&mut rng, TABLE_ROWS);
    fill(&pool, &plans).await?;

    // The service as deployed, read by a client with tonic's defaults (a 64 KiB HTTP/2
    // window, so a 1,000-row answer of ≈ 350 KB waits for several WINDOW_UPDATEs) and by one
    // with a 1 MiB window: the difference is what flow control costs a large page.
    let (addr, stop, server) = serve(url).await?;
    let mut client = connect(addr, None).await?;
    let wide = connect(addr, Some(1 << 20)).await?;

    let iterations = env_usize("BENCH_ITERATIONS", 500);
    let cases = cases::cases(&plans);
    println!(
        "\n## ListBackupRecords at {TABLE_ROWS} records ({iterations} calls per cell, values \
         cycled; ms; load {})\n",
        load()
    );
    println!(
        "| case | page | rows | store p50 | store p99 | gRPC p50 | gRPC p99 | \
         gRPC 1 MiB window p50 | gRPC 1 MiB window p99 |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for case in &cases {
        for size in [100, 1000] {
            let token = match case.skip {
                0 => String::new(),
                skip => walk(&mut client, &case.filters[0], skip).await?,
            };
            let at_store = measure(iterations, case, |filter| {
                let pool = &pool;
                let token = token.clone();
                async move {
                    let after = (!token.is_empty())
                        .then(|| Cursor::decode(&token, &filter))
                        .transpose()?;
                    let query = RecordQuery {
                        filter,
                        page_size: size,
                        after,
                        within: backup_service::store::Within::Any,
                    };
                    let rows = store::records::list(pool, &query).await?.rows;
                    Ok(rows.len())
                }
            })
            .await?;
            let mut grpc = Vec::new();
            for client in [&client, &wide] {
                let samples = measure(iterations, case, |filter| {
                    let mut client = client.clone();
                    let request = cases::request(&filter, size, &token);
                    async move {
                        let page = client.list_backup_records(request).await?.into_inner();
                        Ok(page.records.len())
                    }
                })
                .await?;
                anyhow::ensure!(samples.rows == at_store.rows, "layers disagree");
                grpc.push(samples);
            }
            println!(
                "| {} | {size} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
                case.name,
                at_store.rows,
                at_store.quantile(0.50),
                at_store.quantile(0.99),
                grpc[0].quantile(0.50),
                grpc[0].quantile(0.99),
                grpc[1].quantile(0.50),
                grpc[1].quantile(0.99),
            );
        }
    }
    drop((client, wide));
    let _ = stop.send(());
    server.await??;

    println!("\n## insert of {INSERT_ROWS} records into the {TABLE_ROWS}-row table");
    let full = insert_runs(&pool, &mut rng, env_usize("BENCH_FULL_INSERT_RUNS", 3)).await?;
    println!("\n| table before | runs | min s | median s |\n|---|---:|---:|---:|");
    for (label, runs) in [("empty (grows 100k per run)", &empty), ("1M rows", &full)] {
        let median = runs.get(runs.len() / 2).copied().unwrap_or_default();
        let min = runs.first().copied().unwrap_or_default();
        println!(
            "| {label} | {} | {:.2} | {:.2} |",
            runs.len(),
            min.as_secs_f64(),
            median.as_secs_f64()
        );
    }
    pool.close().await;
    Ok(())
}

type Running = (
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<anyhow::Result<()>>,
);

/// Starts backup-service on the bench database, on a listener bound as `main` binds it.
async fn serve(url: &str) -> anyhow::Result<Running> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let mut settings = Settings::default();
    settings.database.url = Some(SecretString::from(url.to_owned()));
    settings.auth.tokens = vec![SecretString::from(TOKEN.to_owned())];
    let app = Application::build(settings, listener).await?;
    let addr = app.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    Ok((addr, stop, server))
}

/// An authenticated client of `addr`; `window` sets its HTTP/2 stream and connection windows.
async fn connect(addr: std::net::SocketAddr, window: Option<u32>) -> anyhow::Result<Client> {
    let channel = Channel::from_shared(format!("http://{addr}"))?
        .initial_stream_window_size(window)
        .initial_connection_window_size(window)
        .connect()
        .await?;
    Ok(
        BackupServiceClient::with_interceptor(channel, authed as fn(_) -> _)
            .max_decoding_message_size(64 << 20),
    )
}

/// The 1-minute load average, so a reader can judge how busy the shared machine was.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "n/a".to_owned())
}

/// The fixed "now" of the generated data, so runs are comparable.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap()
}
