//! Benchmark of job-gateway (issue 4), printing figures rather than passing or failing:
//!
//! 1. the same CMDB `list_biz_hosts` page fetched directly from bk-sim over HTTP (ESB, the
//!    body job-gateway itself sends) and through job-gateway's `CmdbService/ListHosts`, at
//!    concurrency 1, 8 and 32: throughput, p50/p99, their ratio and the gateway's added p50;
//! 2. 1, then 1,000 concurrent `WatchJobInstance` streams on one running job instance:
//!    upstream `get_job_instance_status` calls per poll tick and the growth of resident memory.
//!
//! bk-sim, job-gateway and the load generators share this one process (and its cores), so the
//! memory is the whole process's and both paths pay for bk-sim's own work.
//!
//! Run: `cargo bench -p e2e --bench gateway` (no database needed).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use e2e::Authed;
use e2e::bench::{self, Summary, ms, ms_diff};
use prometheus::Encoder;
use proto::jobgateway::v1 as pb;
use proto::jobgateway::v1::cmdb_service_client::CmdbServiceClient;
use proto::jobgateway::v1::job_service_client::JobServiceClient;
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

const BIZ: i64 = 3;
const HOSTS: u32 = 300;
const FIRST_HOST: i64 = 100_001;
const PAGE: i64 = 100;
const LEVELS: [usize; 3] = [1, 8, 32];
/// Direct and gateway rounds alternate, so a neighbour's load on the machine hits both.
const ROUNDS: usize = 3;
const ROUND: Duration = Duration::from_millis(1500);
const WARMUP: Duration = Duration::from_millis(300);
/// Streams per HTTP/2 connection, below any server's concurrent-stream limit.
const STREAMS_PER_CONNECTION: usize = 50;
const JOB_SECS: u64 = 15;

/// Host fields job-gateway asks CMDB for (`HOST_FIELDS` in job-gateway's `convert/cmdb.rs`).
const HOST_FIELDS: [&str; 11] = [
    "bk_host_id",
    "bk_cloud_id",
    "bk_host_innerip",
    "bk_host_innerip_v6",
    "bk_host_outerip",
    "bk_host_outerip_v6",
    "bk_host_name",
    "bk_os_type",
    "bk_os_name",
    "bk_agent_id",
    "operator",
];

type Cmdb = CmdbServiceClient<InterceptedService<Channel, Authed>>;
type Jobs = JobServiceClient<InterceptedService<Channel, Authed>>;

struct Gateway {
    addr: std::net::SocketAddr,
    registry: prometheus::Registry,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Gateway {
    async fn channel(&self) -> anyhow::Result<Channel> {
        Ok(Channel::from_shared(format!("http://{}", self.addr))?
            .connect()
            .await?)
    }

    /// The value of a counter or gauge without labels.
    fn metric(&self, name: &str) -> anyhow::Result<f64> {
        let mut text = vec![];
        prometheus::TextEncoder::new().encode(&self.registry.gather(), &mut text)?;
        String::from_utf8(text)?
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .with_context(|| format!("metric {name} not found"))
    }
}

async fn start_gateway(bk_url: &str) -> anyhow::Result<Gateway> {
    let mut s = e2e::job_gateway_settings(bk_url);
    s.bk.app_code = "bk-log-backup".to_owned();
    s.bk.app_secret = Some(SecretString::from(bench::APP_SECRET.to_owned()));
    // No throttling: the bench measures the gateway's own cost, not its limits.
    s.bk.rate_per_second = 0.0;
    s.bk.biz_rate_per_second = 0.0;
    s.bk.max_concurrency = 1024;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let app = job_gateway::startup::Application::build(s, listener).await?;
    let (addr, registry) = (app.local_addr(), app.registry().clone());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    Ok(Gateway {
        addr,
        registry,
        stop,
        task,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    bench::init_tracing();
    let mut sim_settings = bk_sim::Settings::new(bench::bulk_world(HOSTS, FIRST_HOST, 0)?);
    sim_settings.state_dir = bench::tmpfs_state_dir("gateway-bench");
    let state_dir = sim_settings.state_dir.clone();
    let sim = bk_sim::spawn(sim_settings).await?;
    let gw = start_gateway(&sim.base_url()).await?;
    println!(
        "job-gateway bench: {HOSTS} hosts in business {BIZ}, page of {PAGE}, {} cores, {} build",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
    );
    let outcome = async {
        watchers(&sim, &gw).await?;
        throughput(&sim, &gw).await
    }
    .await;
    let _ = gw.stop.send(());
    gw.task.await??;
    sim.stop();
    if let Some(dir) = state_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    outcome
}

/// Part 1: list_biz_hosts directly and through the gateway.
async fn throughput(sim: &bk_sim::RunningSim, gw: &Gateway) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let url = format!("{}/api/c/compapi/v2/cc/list_biz_hosts/", sim.base_url());
    // What job-gateway's ESB transport sends for ListHosts { bk_biz_id: 3, page_size: 100 }.
    let body = Arc::new(json!({
        "bk_biz_id": BIZ,
        "fields": HOST_FIELDS,
        "page": {"start": 0, "limit": PAGE, "sort": "bk_host_id"},
        "bk_app_code": "bk-log-backup",
        "bk_app_secret": bench::APP_SECRET,
        "bk_username": "admin",
    }));
    let direct = move || {
        let (http, url, body) = (http.clone(), url.clone(), Arc::clone(&body));
        async move {
            let resp: Value = http
                .post(url)
                .header("Accept", "application/json")
                .header("Blueking-Language", "en")
                .json(&*body)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            let n = resp["data"]["info"].as_array().map_or(0, Vec::len);
            ensure!(
                resp["result"] == true && n as i64 == PAGE,
                "unexpected answer: {resp}"
            );
            Ok(())
        }
    };
    let client: Cmdb = CmdbServiceClient::with_interceptor(
        gw.channel().await?,
        Authed {
            username: Some("admin"),
        },
    );
    let via_gateway = move || {
        let mut client = client.clone();
        async move {
            let page = client
                .list_hosts(pb::ListHostsRequest {
                    bk_biz_id: BIZ,
                    page_size: PAGE as i32,
                    ..Default::default()
                })
                .await?
                .into_inner();
            ensure!(page.hosts.len() as i64 == PAGE, "short page: {page:?}");
            Ok(())
        }
    };

    println!();
    println!(
        "list_biz_hosts, {ROUNDS} alternating rounds of {} ms per path and level:",
        ROUND.as_millis()
    );
    println!(
        "{:>5} | {:>10} {:>8} {:>8} | {:>10} {:>8} {:>8} | {:>6} | {:>9}",
        "conc",
        "direct r/s",
        "p50 ms",
        "p99 ms",
        "gw r/s",
        "p50 ms",
        "p99 ms",
        "ratio",
        "added p50"
    );
    for level in LEVELS {
        if level == 1 {
            floor(gw).await?;
        }
        load(level, WARMUP, direct.clone()).await?;
        load(level, WARMUP, via_gateway.clone()).await?;
        let (mut d, mut g) = ((vec![], Duration::ZERO), (vec![], Duration::ZERO));
        for _ in 0..ROUNDS {
            let (lat, took) = load(level, ROUND, direct.clone()).await?;
            d.0.extend(lat);
            d.1 += took;
            let (lat, took) = load(level, ROUND, via_gateway.clone()).await?;
            g.0.extend(lat);
            g.1 += took;
        }
        let (d, g) = (Summary::of(d.0, d.1), Summary::of(g.0, g.1));
        println!(
            "{level:>5} | {:>10.0} {:>8} {:>8} | {:>10.0} {:>8} {:>8} | {:>6.2} | {:>9}",
            d.per_second,
            ms(d.p50),
            ms(d.p99),
            g.per_second,
            ms(g.p50),
            ms(g.p99),
            g.per_second / d.per_second,
            ms_diff(g.p50, d.p50),
        );
    }
    Ok(())
}

/// The gRPC hop alone, for reading the added p50: `grpc.health.v1.Health/Check` on the
/// gateway (no BlueKing call, no auth, an empty answer) at concurrency 1, same rounds.
async fn floor(gw: &Gateway) -> anyhow::Result<()> {
    let health = tonic_health::pb::health_client::HealthClient::new(gw.channel().await?);
    let check = move || {
        let mut health = health.clone();
        async move {
            health
                .check(tonic_health::pb::HealthCheckRequest::default())
                .await?;
            Ok(())
        }
    };
    load(1, WARMUP, check.clone()).await?;
    let (mut lat, mut took) = (vec![], Duration::ZERO);
    for _ in 0..ROUNDS {
        let (l, t) = load(1, ROUND, check.clone()).await?;
        lat.extend(l);
        took += t;
    }
    let s = Summary::of(lat, took);
    println!(
        "{:>5} | gRPC hop alone (Health/Check on the gateway): {:.0} r/s, p50 {} ms, p99 {} ms",
        1,
        s.per_second,
        ms(s.p50),
        ms(s.p99)
    );
    Ok(())
}

/// Runs `call` from `concurrency` tasks for `duration`; latencies of every call and the time
/// the whole run took (the last calls finish after `duration`).
async fn load<F, Fut>(
    concurrency: usize,
    duration: Duration,
    call: F,
) -> anyhow::Result<(Vec<Duration>, Duration)>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let start = Instant::now();
    let end = start + duration;
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let call = call.clone();
            tokio::spawn(async move {
                let mut lat = vec![];
                while Instant::now() < end {
                    let t = Instant::now();
                    call().await?;
                    lat.push(t.elapsed());
                }
                anyhow::Ok(lat)
            })
        })
        .collect();
    let mut all = vec![];
    for t in tasks {
        all.extend(t.await??);
    }
    Ok((all, start.elapsed()))
}

/// Part 2: 1 and then 1,000 watchers, each time on a fresh job instance.
async fn watchers(sim: &bk_sim::RunningSim, gw: &Gateway) -> anyhow::Result<()> {
    println!();
    println!(
        "WatchJobInstance on one running instance (script `sleep {JOB_SECS}` on one host, \
         default watch backoff 200 ms x1.5 up to 5 s):"
    );
    println!(
        "{:>8} | {:>10} | {:>14} | {:>10} | {:>8} | {:>12} | {:>12} | {:>13} | {:>11}",
        "watchers",
        "poll ticks",
        "status calls",
        "calls/tick",
        "pollers",
        "RSS before",
        "RSS all open",
        "RSS growth",
        "per watcher"
    );
    for n in [1, 1000] {
        watch_once(sim, gw, n).await?;
    }
    Ok(())
}

async fn watch_once(sim: &bk_sim::RunningSim, gw: &Gateway, n: usize) -> anyhow::Result<()> {
    let authed = Authed {
        username: Some("admin"),
    };
    let mut jobs: Jobs = JobServiceClient::with_interceptor(gw.channel().await?, authed.clone());
    let scope = Some(pb::Scope {
        bk_scope_type: pb::ScopeType::Biz as i32,
        bk_scope_id: BIZ,
    });
    let launched = jobs
        .execute_script(pb::ExecuteScriptRequest {
            scope,
            script: Some(pb::execute_script_request::Script::ScriptContent(format!(
                "sleep {JOB_SECS}"
            ))),
            script_language: pb::ScriptLanguage::Shell as i32,
            account: Some(pb::execute_script_request::Account::AccountAlias(
                "root".to_owned(),
            )),
            target: Some(pb::ExecuteTarget {
                bk_host_ids: vec![FIRST_HOST],
                ..Default::default()
            }),
            task_name: format!("bench-watch-{n}"),
            ..Default::default()
        })
        .await?
        .into_inner();
    let calls_before = status_calls(sim).await?;
    let ticks_before = gw.metric("job_watch_polls_total")?;
    let rss_before = bench::rss_kib()?;

    let mut channels = vec![];
    for _ in 0..n.div_ceil(STREAMS_PER_CONNECTION) {
        channels.push(gw.channel().await?);
    }
    let (opened_tx, mut opened) = tokio::sync::mpsc::channel::<()>(n);
    let streams: Vec<_> = (0..n)
        .map(|i| {
            let mut client: Jobs = JobServiceClient::with_interceptor(
                channels[i / STREAMS_PER_CONNECTION].clone(),
                authed.clone(),
            );
            let opened_tx = opened_tx.clone();
            tokio::spawn(async move {
                let mut stream = client
                    .watch_job_instance(pb::WatchJobInstanceRequest {
                        scope,
                        job_instance_id: launched.job_instance_id,
                        with_host_results: true,
                    })
                    .await?
                    .into_inner();
                opened_tx.send(()).await?;
                let (mut messages, mut finished) = (0, false);
                while let Some(m) = stream.message().await? {
                    messages += 1;
                    finished = m.job_instance.is_some_and(|j| j.finished);
                }
                anyhow::Ok((messages, finished))
            })
        })
        .collect();
    drop(opened_tx);
    for _ in 0..n {
        if opened.recv().await.is_none() {
            // A watcher ended before opening: its task holds the error.
            for s in streams {
                s.await??;
            }
            bail!("a watcher ended before opening");
        }
    }
    let rss_open = bench::rss_kib()?;
    let pollers = gw.metric("job_watch_pollers")?;
    let open_watchers = gw.metric("job_watch_watchers")?;
    ensure!(
        open_watchers as usize == n,
        "{open_watchers} watchers open, expected {n}"
    );
    for s in streams {
        let (messages, finished) = s.await??;
        if !finished || messages < 2 {
            bail!("a watcher saw {messages} messages, finished: {finished}");
        }
    }
    // The poller ends with the finished snapshot; let its last call land in bk-sim's counts.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let calls = status_calls(sim).await? - calls_before;
    let ticks = gw.metric("job_watch_polls_total")? - ticks_before;
    let growth = rss_open.saturating_sub(rss_before);
    println!(
        "{n:>8} | {ticks:>10} | {calls:>14} | {:>10.2} | {pollers:>8} | {:>9} KiB | {:>9} KiB | {:>9} KiB | {:>7.1} KiB",
        calls as f64 / ticks,
        rss_before,
        rss_open,
        growth,
        growth as f64 / n as f64,
    );
    Ok(())
}

async fn status_calls(sim: &bk_sim::RunningSim) -> anyhow::Result<u64> {
    Ok(bench::sim_counts(sim)
        .await?
        .get("get_job_instance_status")
        .copied()
        .unwrap_or(0))
}
