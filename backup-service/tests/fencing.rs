//! Launch fencing with real processes: a replica frozen (SIGSTOP) past its lease while its
//! lookups of launched jobs are slow must not launch once it resumes (SIGCONT), after another
//! replica re-claimed its backups. bk-sim's request log must show exactly one launch per
//! backup.
//!
//! Twenty backups run at once: the freeze finds each of them looking the job up before its
//! launch, the moment the field saw go wrong. And a replica frozen just after it sent slow
//! launches: the replica that re-claims them finds their recorded decision to launch and
//! waits for those jobs instead of launching its own.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use proto::backup::v1 as pb;
use proto::backup::v1::backup_service_client::BackupServiceClient;
use rustix::process::{Pid, Signal, kill_process};
use serde_json::json;
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;
use tonic::Request;
use tonic::transport::Channel;

mod common;
use common::{TOKEN, Upstream, url_of};

const BIN: &str = env!("CARGO_BIN_EXE_backup-service");
const BACKUPS: usize = 20;
const LEASE_MS: u64 = 1500;

/// A backup-service process whose pid the test signals.
struct Replica {
    child: Child,
    addr: SocketAddr,
}

impl Replica {
    fn start(db_url: &str, gateway: &str, settle_ms: u64) -> Self {
        let mut child = Command::new(BIN)
            .envs([
                ("BACKUP_SERVICE__LISTEN_ADDR", "127.0.0.1:0".to_owned()),
                ("BACKUP_SERVICE__DATABASE__URL", db_url.to_owned()),
                ("BACKUP_SERVICE__AUTH__TOKENS", TOKEN.to_owned()),
                ("BACKUP_SERVICE__JOB_GATEWAY__URL", gateway.to_owned()),
                ("BACKUP_SERVICE__JOB_GATEWAY__TOKEN", TOKEN.to_owned()),
                ("BACKUP_SERVICE__WORKER__CONCURRENCY", BACKUPS.to_string()),
                ("BACKUP_SERVICE__WORKER__LEASE_MS", LEASE_MS.to_string()),
                (
                    "BACKUP_SERVICE__WORKER__CLAIM_INTERVAL_MS",
                    "100".to_owned(),
                ),
                ("BACKUP_SERVICE__WORKER__POLL_INITIAL_MS", "50".to_owned()),
                ("BACKUP_SERVICE__WORKER__POLL_MAX_MS", "300".to_owned()),
                (
                    "BACKUP_SERVICE__WORKER__LAUNCH_SETTLE_MS",
                    settle_ms.to_string(),
                ),
                ("RUST_LOG", "info".to_owned()),
                ("NO_COLOR", "1".to_owned()),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start backup-service");
        let stderr = child.stderr.take().expect("piped");
        let (tx, rx) = std::sync::mpsc::channel();
        let pid = child.id();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[replica {pid}] {line}");
                if let Some(rest) = line.split("serving addr=").nth(1)
                    && let Some(addr) = rest.split_whitespace().next()
                {
                    let _ = tx.send(addr.parse::<SocketAddr>().expect("address"));
                }
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => addr,
            Err(e) => {
                // Not left running (on the test's database) when the test fails here.
                let _ = child.kill();
                let _ = child.wait();
                panic!("backup-service reports its address: {e}");
            }
        };
        Self { child, addr }
    }

    fn signal(&self, signal: Signal) {
        let pid = Pid::from_child(&self.child);
        kill_process(pid, signal).expect("send signal");
    }

    async fn client(&self) -> BackupServiceClient<Channel> {
        let channel = Channel::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .connect()
            .await
            .unwrap();
        BackupServiceClient::new(channel)
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn request<T>(msg: T) -> Request<T> {
    common::request(msg, "admin")
}

/// Polls `check` every 50 ms until it holds; panics after `limit`.
async fn until<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

/// bk-sim with `api` answering after `latency_ms`, job-gateway over ESB, and the database.
struct Rig {
    sim: bk_sim::RunningSim,
    gw_url: String,
    db_url: String,
    pool: PgPool,
}

impl Rig {
    async fn start(
        pool_opts: sqlx::pool::PoolOptions<sqlx::Postgres>,
        opts: PgConnectOptions,
        api: &str,
        latency_ms: u64,
    ) -> Self {
        let upstream = Upstream::start(|gw| {
            // No rate limits of job-gateway's own: a launch it held back would blur the race.
            gw.bk.rate_per_second = 0.0;
            gw.bk.biz_rate_per_second = 0.0;
        })
        .await;
        upstream
            .fault(&format!("apis/{api}"), json!({ "latency_ms": latency_ms }))
            .await;
        let (sim, gw_url, db_url) = (upstream.sim, upstream.gw_url, url_of(&opts));
        let pool = pool_opts.connect_with(opts).await.unwrap();
        Self {
            sim,
            gw_url,
            db_url,
            pool,
        }
    }

    fn replica(&self, settle_ms: u64) -> Replica {
        Replica::start(&self.db_url, &self.gw_url, settle_ms)
    }

    /// Starts `n` backups through `replica`; returns their ids by JOB task name.
    async fn start_backups(&self, replica: &Replica, n: usize) -> HashMap<String, String> {
        let mut client = replica.client().await;
        let mut ids = HashMap::new();
        for i in 0..n {
            let started = client
                .start_backup(request(pb::StartBackupRequest {
                    bk_biz_id: 3,
                    bk_host_ids: vec![[1001, 1002, 1003][i % 3]],
                    bk_file_dir: "/data/logs".to_owned(),
                    bk_file_suffix: "log".to_owned(),
                    ..Default::default()
                }))
                .await
                .unwrap()
                .into_inner()
                .backup
                .unwrap();
            let job_name: String =
                sqlx::query_scalar("select job_name from backups where id = $1::uuid")
                    .bind(&started.backup_id)
                    .fetch_one(&self.pool)
                    .await
                    .unwrap();
            ids.insert(job_name, started.backup_id);
        }
        ids
    }

    /// Waits until `sql` (a count) reaches `n`.
    async fn until_count(&self, what: &str, n: usize, sql: &str) {
        until(Duration::from_secs(30), what, || {
            count(&self.pool, sql).map_fut(|c| c == n as i64)
        })
        .await;
    }

    /// Waits until every backup ended, then checks bk-sim received exactly one launch for
    /// each and each succeeded.
    async fn assert_one_launch_each(&self, ids: &HashMap<String, String>) {
        let n = ids.len();
        let ended = "select count(*) from backups where finished_at is not null";
        self.until_count("every backup ends", n, ended).await;
        // Whatever a resumed replica still had in flight has had time to reach bk-sim.
        tokio::time::sleep(Duration::from_millis(LEASE_MS)).await;
        let log: serde_json::Value = reqwest::get(format!(
            "{}/_sim/requests?api=fast_execute_script",
            self.sim.base_url()
        ))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        let mut launches: HashMap<String, usize> = HashMap::new();
        for r in log["requests"].as_array().expect("request list") {
            let name = r["params"]["task_name"].as_str().unwrap_or_default();
            let id = ids.get(name).cloned().unwrap_or(format!("? {name}"));
            *launches.entry(id).or_default() += 1;
        }
        let twice: Vec<_> = launches.iter().filter(|(_, n)| **n != 1).collect();
        assert!(twice.is_empty(), "launched more than once: {twice:?}");
        assert_eq!(launches.len(), n, "one launch per backup: {launches:?}");
        let succeeded = "select count(*) from backups where state = 'succeeded'";
        assert_eq!(count(&self.pool, succeeded).await, n as i64);
    }
}

#[sqlx::test(migrations = false)]
async fn a_replica_frozen_past_its_lease_never_launches_a_second_job_for_a_re_claimed_backup(
    pool_opts: sqlx::pool::PoolOptions<sqlx::Postgres>,
    opts: PgConnectOptions,
) {
    let rig = Rig::start(pool_opts, opts, "get_job_instance_list", 1000).await;
    let first = rig.replica(2000);
    let ids = rig.start_backups(&first, BACKUPS).await;
    // Frozen while it looks for jobs launched earlier (slowly) before launching each backup.
    let launching = "select count(*) from backups where phase = 'launching'";
    rig.until_count("every backup is launching", BACKUPS, launching)
        .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    first.signal(Signal::STOP);
    let frozen = Instant::now();
    let second = rig.replica(2000);
    // Resumed only once the other replica has re-claimed and launched (or found) every job.
    let relaunched = "select count(*) from backups \
         where (attempt >= 2 and job_instance_id is not null) or finished_at is not null";
    rig.until_count(
        "every unfinished backup is re-launched",
        BACKUPS,
        relaunched,
    )
    .await;
    assert!(frozen.elapsed() > Duration::from_millis(LEASE_MS));
    // On SIGCONT the frozen replica's heartbeat and its launch race; in the field the launch
    // won by 1 ms. Holding the table locked for a moment makes the heartbeat (a query) lose
    // every time, so only the launch path's own checks can stop the launch.
    let mut lock = rig.pool.begin().await.unwrap();
    sqlx::query("lock table backups in access exclusive mode")
        .execute(&mut *lock)
        .await
        .unwrap();
    first.signal(Signal::CONT);
    tokio::time::sleep(Duration::from_millis(500)).await;
    lock.rollback().await.unwrap();
    rig.assert_one_launch_each(&ids).await;
    drop(second);
    drop(first);
}

#[sqlx::test(migrations = false)]
async fn a_claim_that_finds_an_earlier_decision_to_launch_waits_for_that_job_instead_of_launching(
    pool_opts: sqlx::pool::PoolOptions<sqlx::Postgres>,
    opts: PgConnectOptions,
) {
    // JOB takes 2.5 s to create a job: longer than the lease (1.5 s), shorter than the settle
    // period (4 s) that bounds the launch call.
    let rig = Rig::start(pool_opts, opts, "fast_execute_script", 2500).await;
    let first = rig.replica(4000);
    let ids = rig.start_backups(&first, 5).await;
    // Frozen with every launch decided, recorded and sent, none yet answered.
    let decided = "select count(*) from backups where launch_intent_attempt is not null";
    rig.until_count("every launch is decided", 5, decided).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    first.signal(Signal::STOP);
    let second = rig.replica(4000);
    let taken = "select count(*) from backups where attempt >= 2 and job_instance_id is not null";
    rig.until_count("every backup is taken over with its job", 5, taken)
        .await;
    first.signal(Signal::CONT);
    rig.assert_one_launch_each(&ids).await;
    drop(second);
    drop(first);
}

/// `fut.map_fut(f)`: a tiny adapter so `until` closures read as one expression.
trait MapFut: std::future::Future + Sized {
    fn map_fut<T>(self, f: impl FnOnce(Self::Output) -> T) -> impl std::future::Future<Output = T> {
        async move { f(self.await) }
    }
}

impl<F: std::future::Future> MapFut for F {}
