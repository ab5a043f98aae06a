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
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{DateTime, TimeZone, Utc};
use proto::backup::v1::backup_service_client::BackupServiceClient;
use secrecy::SecretString;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, PgPool};
use tonic::transport::Channel;

use backup_service::config::{DatabaseSettings, Settings};
use backup_service::records::{Cursor, RecordFilter, RecordQuery};
use backup_service::startup::Application;
use backup_service::store::{self, records::NewRecord};

use data::{Plan, Rng};

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

    // The service as deployed (its listener as `main` binds it), and the same service on a
    // listener with TCP_NODELAY, which accepted sockets inherit on Linux: the difference is
    // what Nagle's algorithm costs a small response.
    let (mut client, stop, server) = serve(url, false).await?;
    let (quick, quick_stop, quick_server) = serve(url, true).await?;

    let iterations = env_usize("BENCH_ITERATIONS", 500);
    let cases = data::cases(&plans);
    println!(
        "\n## ListBackupRecords at {TABLE_ROWS} records ({iterations} calls per cell, values \
         cycled; ms; load {})\n",
        load()
    );
    println!(
        "| case | page | rows | store p50 | store p99 | gRPC p50 | gRPC p99 | \
         gRPC+nodelay p50 | gRPC+nodelay p99 |"
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
                    };
                    let rows = store::records::list(pool, &query).await?.rows;
                    Ok(rows.len())
                }
            })
            .await?;
            let mut grpc = Vec::new();
            for client in [&client, &quick] {
                let samples = measure(iterations, case, |filter| {
                    let mut client = client.clone();
                    let request = data::request(&filter, size, &token);
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
    for (stop, server) in [(stop, server), (quick_stop, quick_server)] {
        let _ = stop.send(());
        server.await??;
    }

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
    Client,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<anyhow::Result<()>>,
);

/// Starts backup-service on the bench database and connects an authenticated client.
async fn serve(url: &str, nodelay: bool) -> anyhow::Result<Running> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_nodelay(nodelay)?;
    socket.bind(([127, 0, 0, 1], 0).into())?;
    let listener = socket.listen(128)?;
    let mut settings = Settings::default();
    settings.database.url = Some(SecretString::from(url.to_owned()));
    settings.auth.tokens = vec![SecretString::from(TOKEN.to_owned())];
    let app = Application::build(settings, listener).await?;
    let addr = app.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    let channel = Channel::from_shared(format!("http://{addr}"))?
        .connect()
        .await?;
    let client = BackupServiceClient::with_interceptor(channel, authed as fn(_) -> _)
        .max_decoding_message_size(64 << 20);
    Ok((client, stop, server))
}

/// The 1-minute load average, so a reader can judge how busy the shared machine was.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "n/a".to_owned())
}

/// Inserts `runs` backups of 100k records, each in its own transaction; sorted durations.
async fn insert_runs(pool: &PgPool, rng: &mut Rng, runs: usize) -> anyhow::Result<Vec<Duration>> {
    let mut took = Vec::with_capacity(runs);
    for run in 1..=runs {
        let plan = Plan::insert_bench(rng, run);
        data::insert_backups(pool, std::slice::from_ref(&plan)).await?;
        let rows: Vec<NewRecord> = data::records(&plan);
        let before: i64 = sqlx::query_scalar("select count(*) from backup_records")
            .fetch_one(pool)
            .await?;
        let started = Instant::now();
        let mut tx = pool.begin().await?;
        let inserted = store::records::insert(&mut tx, &rows).await?;
        tx.commit().await?;
        let elapsed = started.elapsed();
        anyhow::ensure!(inserted == INSERT_ROWS as u64, "inserted {inserted} rows");
        println!(
            "run {run}: {inserted} records in {:.3} s (table had {before} rows; load {})",
            elapsed.as_secs_f64(),
            load()
        );
        took.push(elapsed);
    }
    took.sort();
    Ok(took)
}

/// Loads `plans` server-side with the secondary indexes dropped, rebuilds them, and ANALYZEs.
async fn fill(pool: &PgPool, plans: &[Plan]) -> anyhow::Result<()> {
    let started = Instant::now();
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "select i.relname::text, pg_get_indexdef(x.indexrelid) from pg_index x \
         join pg_class i on i.oid = x.indexrelid \
         where x.indrelid = 'backup_records'::regclass \
           and not exists (select 1 from pg_constraint c where c.conindid = x.indexrelid)",
    )
    .fetch_all(pool)
    .await?;
    for (name, _) in &indexes {
        sqlx::raw_sql(&format!("drop index {name}"))
            .execute(pool)
            .await?;
    }
    data::insert_backups(pool, plans).await?;
    // Two lanes of 200-backup statements keep both cores busy.
    let shared = std::sync::Arc::new(plans.to_vec());
    let mut tasks = tokio::task::JoinSet::new();
    for lane in 0..2 {
        let (pool, plans) = (pool.clone(), shared.clone());
        tasks.spawn(async move {
            for chunk in plans.chunks(200).skip(lane).step_by(2) {
                data::generate_records(&pool, chunk).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    let loaded = started.elapsed();
    let mut tasks = tokio::task::JoinSet::new();
    for (_, def) in indexes {
        let pool = pool.clone();
        // One simple-query message: the `set` applies to the session that builds the index.
        let sql = format!("set maintenance_work_mem = '256MB'; {def}");
        tasks.spawn(async move {
            sqlx::raw_sql(&sql).execute(&pool).await?;
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    let indexed = started.elapsed();
    sqlx::raw_sql("analyze backups; analyze backup_records")
        .execute(pool)
        .await?;
    let (rows, size): (i64, String) = sqlx::query_as(
        "select count(*), pg_size_pretty(pg_total_relation_size('backup_records')) \
         from backup_records",
    )
    .fetch_one(pool)
    .await?;
    println!(
        "{rows} records in {} backups ({size} with indexes): rows {:.1} s, indexes {:.1} s, \
         analyze {:.1} s",
        plans.len(),
        loaded.as_secs_f64(),
        (indexed - loaded).as_secs_f64(),
        (started.elapsed() - indexed).as_secs_f64()
    );
    anyhow::ensure!(rows == TABLE_ROWS, "table has {rows} rows");
    Ok(())
}

/// Follows page tokens through gRPC until `skip` rows are behind; the token of the next page.
async fn walk(client: &mut Client, filter: &RecordFilter, skip: u32) -> anyhow::Result<String> {
    let mut token = String::new();
    let mut left = skip;
    let mut last: Option<(i64, i32, i64)> = None;
    while left > 0 {
        let size = left.min(1000);
        let page = client
            .list_backup_records(data::request(filter, size, &token))
            .await?
            .into_inner();
        // A path search may return short pages (one bounded window per call); any other
        // filter fills every page but the last.
        anyhow::ensure!(
            !page.next_page_token.is_empty()
                && (page.records.len() == size as usize || filter.path_contains.is_some()),
            "the result ended before {skip} rows"
        );
        for r in &page.records {
            let t = r.bk_file_create_time.unwrap_or_default();
            let key = (t.seconds, t.nanos, r.id);
            anyhow::ensure!(last.is_none_or(|l| key < l), "pages out of order");
            last = Some(key);
        }
        token = page.next_page_token;
        left -= page.records.len() as u32;
    }
    Ok(token)
}

/// Latencies of one case at one layer.
struct Samples {
    took: Vec<Duration>,
    rows: usize,
}

impl Samples {
    fn quantile(&self, q: f64) -> f64 {
        let i = ((q * self.took.len() as f64).ceil() as usize).clamp(1, self.took.len()) - 1;
        self.took[i].as_secs_f64() * 1e3
    }
}

/// Runs `call` `iterations` times (after a warm-up; at most ~10 s), cycling the case's filters.
async fn measure<F, Fut>(iterations: usize, case: &data::Case, call: F) -> anyhow::Result<Samples>
where
    F: Fn(RecordFilter) -> Fut,
    Fut: Future<Output = anyhow::Result<usize>>,
{
    // The first filter's page size is the one reported; the warm-up also fills the caches.
    let rows = call(case.filters[0].clone()).await?;
    for filter in case.filters.iter().cycle().take(20) {
        call(filter.clone()).await?;
    }
    let budget = Instant::now();
    let mut took = Vec::with_capacity(iterations);
    for filter in case.filters.iter().cycle().take(iterations) {
        let started = Instant::now();
        call(filter.clone()).await?;
        took.push(started.elapsed());
        if took.len() >= 50 && budget.elapsed() > Duration::from_secs(10) {
            break;
        }
    }
    took.sort();
    Ok(Samples { took, rows })
}

/// The fixed "now" of the generated data, so runs are comparable.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap()
}

/// The generated data: backups with realistic shapes, their records, and the listing cases.
mod data {
    use chrono::{DateTime, Duration, Utc};
    use proto::backup::v1 as pb;
    use sqlx::PgPool;
    use uuid::Uuid;

    use backup_service::records::RecordFilter;
    use backup_service::store::records::NewRecord;

    use super::{DEEP_ROWS, DEEPEST_ROWS, now};

    /// Businesses: (weight, id, host pool size). Hosts of business `b` are `b * 10_000 + 1..`.
    const BIZ: [(u64, i64, i64); 8] = [
        (40, 1, 800),
        (20, 2, 400),
        (15, 3, 300),
        (10, 4, 200),
        (6, 5, 120),
        (4, 6, 80),
        (3, 7, 60),
        (2, 8, 40),
    ];
    const DIRS: [(u64, &str); 8] = [
        (25, "/data/logs/game"),
        (15, "/var/log/nginx"),
        (15, "/project"),
        (10, "/data/app/payment/logs"),
        (10, "/opt/bk/logs"),
        (10, "/var/log/app"),
        (8, "/data/mysql/log"),
        (7, "/home/user00/logs"),
    ];
    const SUFFIXES: [(u64, &str); 6] = [
        (55, "log"),
        (15, "txt"),
        (10, "out"),
        (8, "err"),
        (7, "gz"),
        (5, "json"),
    ];
    /// Operators, most active first.
    const OPERATORS: [&str; 30] = [
        "admin",
        "alice",
        "bob",
        "carol",
        "dave",
        "erin",
        "frank",
        "grace",
        "heidi",
        "ivan",
        "judy",
        "mallory",
        "niaj",
        "olivia",
        "peggy",
        "rupert",
        "sybil",
        "trent",
        "victor",
        "walter",
        "xiao_ming",
        "li_lei",
        "han_meimei",
        "zhang_wei",
        "wang_fang",
        "liu_yang",
        "chen_jie",
        "yang_li",
        "zhao_min",
        "sun_hao",
    ];
    /// File name stems, repeated by frequency: `error` is 15%, `slow_query` 5%.
    const NAMES: [&str; 20] = [
        "app",
        "app",
        "app",
        "app",
        "app",
        "access",
        "access",
        "access",
        "access",
        "error",
        "error",
        "error",
        "debug",
        "debug",
        "gc",
        "game_server",
        "login",
        "chat",
        "audit",
        "slow_query",
    ];
    /// Days the backups are spread over, ending at `now()`.
    const DAYS: i64 = 180;

    /// splitmix64: deterministic, dependency-free.
    pub struct Rng(pub u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        fn weighted<T: Copy>(&mut self, items: &[(u64, T)]) -> T {
            let mut pick = self.below(items.iter().map(|(w, _)| w).sum());
            for (w, item) in items {
                if pick < *w {
                    return *item;
                }
                pick -= w;
            }
            items[0].1
        }

        fn uuid(&mut self) -> Uuid {
            uuid::Builder::from_random_bytes(
                (u128::from(self.next()) << 64 | u128::from(self.next())).to_le_bytes(),
            )
            .into_uuid()
        }
    }

    /// One backup: `hosts` consecutive hosts from `first_host`, `files` records per host.
    #[derive(Debug, Clone)]
    pub struct Plan {
        pub id: Uuid,
        pub biz: i64,
        pub dir: &'static str,
        pub suffix: &'static str,
        pub operator: &'static str,
        pub first_host: i64,
        pub hosts: i64,
        pub files: i32,
        pub created: DateTime<Utc>,
        pub job_instance_id: i64,
    }

    impl Plan {
        /// The 100k-record backup the insert benchmark writes: 1,000 hosts × 100 files.
        pub fn insert_bench(rng: &mut Rng, run: usize) -> Self {
            Self {
                id: rng.uuid(),
                biz: 1,
                dir: "/data/logs/game",
                suffix: "log",
                operator: "admin",
                first_host: 90_001,
                hosts: 1000,
                files: 100,
                created: now() + Duration::minutes(run as i64),
                job_instance_id: 9_000_000 + run as i64,
            }
        }

        fn name(&self) -> String {
            let short = self.id.simple().to_string();
            format!(
                "backup_{}_{}",
                self.finished().format("%Y%m%d_%H%M%S"),
                &short[..8]
            )
        }

        /// When the worker wrote the records: `bk_file_create_time` of all of them.
        fn finished(&self) -> DateTime<Utc> {
            self.created + Duration::minutes(5)
        }
    }

    /// Backups adding up to exactly `rows` records, oldest first (ids grow with time).
    pub fn plan(rng: &mut Rng, rows: i64) -> Vec<Plan> {
        let mut plans = Vec::new();
        let mut total = 0;
        while total < rows {
            let (biz, pool) = rng.weighted(&BIZ.map(|(w, b, p)| (w, (b, p))));
            let mut hosts = 1 + rng.below(40) as i64;
            hosts = hosts.min(pool);
            let first_host = biz * 10_000 + 1 + rng.below((pool - hosts + 1) as u64) as i64;
            let mut files = 1 + rng.below(30) as i32;
            if total + hosts * i64::from(files) > rows {
                hosts = 1;
                files = (rows - total) as i32;
            }
            total += hosts * i64::from(files);
            let u = (rng.below(1_000_000) as f64) / 1e6;
            plans.push(Plan {
                id: rng.uuid(),
                biz,
                dir: rng.weighted(&DIRS),
                suffix: rng.weighted(&SUFFIXES),
                operator: OPERATORS[(u * u * OPERATORS.len() as f64) as usize],
                first_host,
                hosts,
                files,
                created: now() - Duration::days(DAYS)
                    + Duration::seconds(rng.below((DAYS * 86_400) as u64) as i64),
                job_instance_id: 0,
            });
        }
        plans.sort_by_key(|p| p.created);
        for (i, p) in plans.iter_mut().enumerate() {
            p.job_instance_id = 1_000_000 + i as i64;
        }
        plans
    }

    /// Inserts the `backups` rows of `plans`, already SUCCEEDED so no worker picks them up.
    pub async fn insert_backups(pool: &PgPool, plans: &[Plan]) -> sqlx::Result<()> {
        for chunk in plans.chunks(1000) {
            sqlx::query(
                "insert into backups (id, bk_biz_id, bk_file_dir, bk_file_suffix, bk_host_ids, \
                   operator, state, job_timeout_secs, backup_name, job_name, job_instance_id, \
                   deadline_at, created_at, started_at, finished_at, updated_at) \
                 select p.id, p.biz, p.dir, p.suffix, \
                   array(select generate_series(p.first_host, p.first_host + p.hosts - 1)), \
                   p.operator, 'succeeded', 600, p.name, 'bklb-backup-' || p.id, p.jid, \
                   p.created + interval '1 hour', p.created, p.created, p.finished, p.finished \
                 from unnest($1::uuid[], $2::int8[], $3::text[], $4::text[], $5::int8[], \
                   $6::int8[], $7::text[], $8::text[], $9::int8[], $10::timestamptz[], \
                   $11::timestamptz[]) \
                   as p(id, biz, dir, suffix, first_host, hosts, operator, name, jid, created, \
                   finished)",
            )
            .bind(chunk.iter().map(|p| p.id).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.biz).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.dir).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.suffix).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.first_host).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.hosts).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.operator).collect::<Vec<_>>())
            .bind(chunk.iter().map(Plan::name).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.job_instance_id).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.created).collect::<Vec<_>>())
            .bind(chunk.iter().map(Plan::finished).collect::<Vec<_>>())
            .execute(pool)
            .await?;
        }
        Ok(())
    }

    /// Path relative to the searched directory, e.g. `node-10023/2026-10-03/error_7.log`.
    fn relative(plan: &Plan, host: i64, n: i32) -> String {
        let day = plan.finished() - Duration::days(i64::from(n % 7));
        let stem = NAMES[((i64::from(n) * 7 + host) % 20) as usize];
        format!(
            "node-{host}/{}/{stem}_{n}.{}",
            day.format("%Y-%m-%d"),
            plan.suffix
        )
    }

    /// The records a worker would write for `plan`, built in memory.
    pub fn records(plan: &Plan) -> Vec<NewRecord> {
        let name = plan.name();
        let link = format!(
            "https://bk.example.com/job/api_execute/{}",
            plan.job_instance_id
        );
        let mut rows = Vec::with_capacity((plan.hosts * i64::from(plan.files)) as usize);
        for host in plan.first_host..plan.first_host + plan.hosts {
            for n in 1..=plan.files {
                let rel = relative(plan, host, n);
                rows.push(NewRecord {
                    backup_id: plan.id,
                    bk_biz_id: plan.biz,
                    bk_host_id: host,
                    bk_cloud_id: 0,
                    host_ip: format!("10.{}.{}.{}", plan.biz, host / 256 % 256, host % 256),
                    bk_file_dir: plan.dir.to_owned(),
                    bk_file_suffix: plan.suffix.to_owned(),
                    source_path_bytes: format!("{}/{rel}", plan.dir).into_bytes(),
                    bk_backup_name: name.clone(),
                    backup_path_bytes: format!("{}/backup/{name}/{rel}", plan.dir).into_bytes(),
                    size_bytes: (host * 7919 + i64::from(n) * 104_729) % 50_000_000,
                    sha256: format!("{:016x}{:048x}", host, i64::from(n) * 2_654_435_761),
                    source_mtime: Some(plan.finished() - Duration::days(i64::from(n % 7))),
                    bk_file_create_time: plan.finished(),
                    bk_file_operator: plan.operator.to_owned(),
                    job_instance_id: plan.job_instance_id,
                    bk_job_link: link.clone(),
                });
            }
        }
        rows
    }

    /// Generates the records of `plans` server-side, with the same shapes as [`records`].
    pub async fn generate_records(pool: &PgPool, plans: &[Plan]) -> sqlx::Result<()> {
        sqlx::query(
            "insert into backup_records (backup_id, bk_biz_id, bk_host_id, bk_cloud_id, host_ip, \
               bk_file_dir, bk_file_suffix, source_path, source_path_bytes, bk_backup_name, \
               backup_path, backup_path_bytes, size_bytes, sha256, source_mtime, \
               bk_file_create_time, bk_file_operator, job_instance_id, bk_job_link) \
             select b.id, b.bk_biz_id, h.host, 0, \
               '10.' || b.bk_biz_id || '.' || (h.host / 256 % 256) || '.' || (h.host % 256), \
               b.bk_file_dir, b.bk_file_suffix, b.bk_file_dir || '/' || r.rel, \
               convert_to(b.bk_file_dir || '/' || r.rel, 'UTF8'), b.backup_name, \
               b.bk_file_dir || '/backup/' || b.backup_name || '/' || r.rel, \
               convert_to(b.bk_file_dir || '/backup/' || b.backup_name || '/' || r.rel, 'UTF8'), \
               (h.host * 7919 + f.n * 104729) % 50000000, \
               encode(sha256(convert_to(b.id::text || '/' || h.host || '/' || f.n, 'UTF8')), 'hex'), \
               b.finished_at - (f.n % 7) * interval '1 day', b.finished_at, b.operator, \
               b.job_instance_id, 'https://bk.example.com/job/api_execute/' || b.job_instance_id \
             from unnest($1::uuid[], $2::int4[]) as p(id, files) \
             join backups b on b.id = p.id \
             cross join lateral unnest(b.bk_host_ids) as h(host) \
             cross join lateral generate_series(1, p.files) as f(n) \
             cross join lateral (select 'node-' || h.host || '/' || \
               to_char(b.finished_at - (f.n % 7) * interval '1 day', 'YYYY-MM-DD') || '/' || \
               ($3::text[])[1 + (f.n * 7 + h.host) % 20] || '_' || f.n || '.' || \
               b.bk_file_suffix as rel) r \
             order by b.finished_at, h.host, f.n",
        )
        .bind(plans.iter().map(|p| p.id).collect::<Vec<_>>())
        .bind(plans.iter().map(|p| p.files).collect::<Vec<_>>())
        .bind(NAMES.to_vec())
        .execute(pool)
        .await?;
        Ok(())
    }

    /// One row of the latency table: filters cycled over the iterations, after `skip` rows; the
    /// rows column reports the first filter's page.
    pub struct Case {
        pub name: String,
        pub filters: Vec<RecordFilter>,
        pub skip: u32,
    }

    fn case(name: &str, filters: Vec<RecordFilter>) -> Case {
        Case {
            name: name.to_owned(),
            filters,
            skip: 0,
        }
    }

    fn deep(name: &str, filter: RecordFilter, skip: u32) -> Case {
        Case {
            name: name.to_owned(),
            filters: vec![filter],
            skip,
        }
    }

    fn path(needle: String) -> RecordFilter {
        RecordFilter {
            path_contains: Some(needle),
            ..Default::default()
        }
    }

    /// The listing cases, with filter values taken from the generated backups.
    pub fn cases(plans: &[Plan]) -> Vec<Case> {
        let every = |n: usize| -> Vec<&Plan> { plans.iter().step_by(plans.len() / n).collect() };
        let biz = |b| RecordFilter {
            bk_biz_id: Some(b),
            ..Default::default()
        };
        let days: Vec<DateTime<Utc>> = (1..=30).map(|d| now() - Duration::days(d * 5)).collect();
        let all = RecordFilter::default();
        vec![
            case("no filter", vec![all.clone()]),
            case("biz (largest, ~40%)", vec![biz(1)]),
            case("biz (smallest, ~2%)", vec![biz(8)]),
            case(
                "one host",
                every(50)
                    .iter()
                    .map(|p| RecordFilter {
                        bk_host_ids: vec![p.first_host],
                        ..Default::default()
                    })
                    .collect(),
            ),
            case(
                "10 hosts",
                every(20)
                    .iter()
                    .map(|p| RecordFilter {
                        bk_host_ids: (p.first_host..p.first_host + 10).collect(),
                        ..Default::default()
                    })
                    .collect(),
            ),
            case(
                "dir",
                DIRS.iter()
                    .map(|(_, d)| RecordFilter {
                        bk_file_dir: Some((*d).to_owned()),
                        ..Default::default()
                    })
                    .collect(),
            ),
            case(
                "suffix",
                SUFFIXES
                    .iter()
                    .map(|(_, s)| RecordFilter {
                        bk_file_suffix: Some((*s).to_owned()),
                        ..Default::default()
                    })
                    .collect(),
            ),
            case(
                "operator",
                OPERATORS
                    .iter()
                    .map(|o| RecordFilter {
                        operator: Some((*o).to_owned()),
                        ..Default::default()
                    })
                    .collect(),
            ),
            case(
                "time window (1 day)",
                days.iter()
                    .map(|d| RecordFilter {
                        created_from: Some(*d),
                        created_before: Some(*d + Duration::days(1)),
                        ..Default::default()
                    })
                    .collect(),
            ),
            case(
                "backup id",
                every(100)
                    .iter()
                    .map(|p| RecordFilter {
                        backup_id: Some(p.id),
                        ..Default::default()
                    })
                    .collect(),
            ),
            case("path `error` (~15%)", vec![path("error".into())]),
            case("path `slow_query` (~5%)", vec![path("slow_query".into())]),
            case(
                "path date `YYYY-MM-DD` (~0.5%)",
                days.iter()
                    .map(|d| path(d.format("%Y-%m-%d").to_string()))
                    .collect(),
            ),
            case(
                "path `node-<host>/` (~0.05%)",
                every(50)
                    .iter()
                    .map(|p| path(format!("node-{}/", p.first_host)))
                    .collect(),
            ),
            case("path absent `core_dump`", vec![path("core_dump".into())]),
            case(
                "biz 1 + operator",
                OPERATORS
                    .iter()
                    .map(|o| RecordFilter {
                        bk_biz_id: Some(1),
                        operator: Some((*o).to_owned()),
                        ..Default::default()
                    })
                    .collect(),
            ),
            deep("deep: no filter, after 49,900 rows", all.clone(), DEEP_ROWS),
            deep(
                "deep: no filter, after 900,000 rows",
                all.clone(),
                DEEPEST_ROWS,
            ),
            deep("deep: biz 1, after 49,900 rows", biz(1), DEEP_ROWS),
            deep(
                "deep: path `error`, after 49,900 rows",
                path("error".into()),
                DEEP_ROWS,
            ),
        ]
    }

    fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
        prost_types::Timestamp {
            seconds: t.timestamp(),
            nanos: t.timestamp_subsec_nanos() as i32,
        }
    }

    /// The gRPC request for `filter`.
    pub fn request(
        filter: &RecordFilter,
        page_size: u32,
        page_token: &str,
    ) -> pb::ListBackupRecordsRequest {
        let f = filter.clone();
        pb::ListBackupRecordsRequest {
            bk_biz_id: f.bk_biz_id.unwrap_or(0),
            bk_host_ids: f.bk_host_ids,
            bk_file_dir: f.bk_file_dir.unwrap_or_default(),
            bk_file_suffix: f.bk_file_suffix.unwrap_or_default(),
            bk_file_operator: f.operator.unwrap_or_default(),
            create_time_start: f.created_from.map(timestamp),
            create_time_end: f.created_before.map(timestamp),
            backup_id: f.backup_id.map(|id| id.to_string()).unwrap_or_default(),
            path_contains: f.path_contains.unwrap_or_default(),
            page_size: page_size as i32,
            page_token: page_token.to_owned(),
        }
    }
}
