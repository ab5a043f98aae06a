//! Test harness: bk-sim on 127.0.0.1:0 with a small world built in code, job-gateway
//! in-process on 127.0.0.1:0 pointed at it (either transport), authenticated gRPC clients and
//! bk-sim's admin API (request log, counters, faults).
#![allow(dead_code)]

mod world;

pub use world::WORLD;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use job_gateway::config::{GseVersion, Settings, Transport};
use job_gateway::startup::Application;
use proto::jobgateway::v1 as pb;
use proto::jobgateway::v1::cmdb_service_client::CmdbServiceClient;
use proto::jobgateway::v1::job_service_client::JobServiceClient;
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tonic::Request;
use tonic::transport::Channel;

pub const TOKEN: &str = "test-token-0123456789";
pub const GAME_BIZ: i64 = 3;

/// A simulator with the test world and a 20 ms dispatch delay.
pub async fn sim() -> Sim {
    sim_with_world(WORLD).await
}

/// A simulator with `world` (TOML) and a 20 ms dispatch delay.
pub async fn sim_with_world(world: &str) -> Sim {
    let file = toml::from_str(world).expect("test world parses");
    let world = bk_sim::World::from_file(file, None).expect("test world is valid");
    let mut settings = bk_sim::Settings::new(world);
    settings.dispatch_delay_ms = 20;
    let sim = bk_sim::spawn(settings).await.expect("bk-sim starts");
    let base = sim.base_url();
    Sim {
        _sim: sim,
        base,
        http: reqwest::Client::new(),
    }
}

/// A running simulator and its admin API.
pub struct Sim {
    _sim: bk_sim::RunningSim,
    pub base: String,
    http: reqwest::Client,
}

impl Sim {
    /// Gateway settings pointing at this simulator over `transport`, with quick retries.
    pub fn settings(&self, transport: Transport) -> Settings {
        let mut s = Settings {
            listen_addr: ([127, 0, 0, 1], 0).into(),
            metrics_addr: Some(([127, 0, 0, 1], 0).into()),
            ..Settings::default()
        };
        s.bk.transport = transport;
        s.bk.esb_url = self.base.clone();
        s.bk.apigw_url = self.base.clone();
        s.bk.job_web_url = self.base.clone();
        s.bk.app_code = "bk-log-backup".to_owned();
        s.bk.app_secret = Some(SecretString::from("demo-secret".to_owned()));
        s.bk.retry_base_ms = 5;
        s.bk.retry_max_ms = 20;
        s.bk.rate_per_second = 0.0;
        s.bk.biz_rate_per_second = 0.0;
        s.auth.tokens = vec![SecretString::from(TOKEN.to_owned())];
        s.watch.initial_interval_ms = 30;
        s.watch.max_interval_ms = 120;
        s
    }

    /// Every logged BlueKing request of `api`.
    pub async fn requests(&self, api: &str) -> Vec<Value> {
        let v: Value = self.admin_get(&format!("/requests?api={api}")).await;
        v.as_array()
            .cloned()
            .unwrap_or_else(|| v["requests"].as_array().cloned().unwrap_or_default())
    }

    /// The exact number of requests of `api` since the last clear.
    pub async fn count(&self, api: &str) -> u64 {
        self.admin_get("/requests/counts").await["by_api"][api]
            .as_u64()
            .unwrap_or(0)
    }

    pub async fn clear_requests(&self) {
        let r = self
            .http
            .delete(format!("{}/_sim/requests", self.base))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }

    /// Sets one API's fault (`*` for all).
    pub async fn fault(&self, api: &str, fault: Value) {
        let url = format!("{}/_sim/faults/apis/{api}", self.base);
        let r = self.http.put(url).json(&fault).send().await.unwrap();
        assert!(r.status().is_success(), "fault refused: {}", r.status());
    }

    pub async fn clear_fault(&self, api: &str) {
        let url = format!("{}/_sim/faults/apis/{api}", self.base);
        self.http.delete(url).send().await.unwrap();
    }

    /// Sets a host fault (`hang`, ...).
    pub async fn host_fault(&self, host: i64, kind: &str) {
        let url = format!("{}/_sim/faults/hosts/{host}", self.base);
        let r = self
            .http
            .put(url)
            .json(&json!({"kind": kind}))
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success(),
            "host fault refused: {}",
            r.status()
        );
    }

    pub async fn admin_get(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}/_sim{path}", self.base))
            .send()
            .await
            .unwrap();
        r.json().await.expect("admin json")
    }
}

/// A job-gateway serving in the background; stops when dropped.
pub struct Gateway {
    pub addr: SocketAddr,
    pub metrics: Option<SocketAddr>,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Starts job-gateway with `settings`.
pub async fn gateway(settings: Settings) -> Gateway {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = Application::build(settings, listener)
        .await
        .expect("gateway builds");
    let (addr, metrics) = (app.local_addr(), app.metrics_addr());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    Gateway {
        addr,
        metrics,
        stop: Some(stop),
    }
}

impl Gateway {
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .connect()
            .await
            .expect("gateway accepts connections")
    }

    pub async fn cmdb(&self) -> CmdbServiceClient<Channel> {
        CmdbServiceClient::new(self.channel().await)
    }

    pub async fn job(&self) -> JobServiceClient<Channel> {
        JobServiceClient::new(self.channel().await)
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics_text(&self) -> String {
        let addr = self.metrics.expect("metrics_addr is set");
        reqwest::get(format!("http://{addr}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The value of one sample line (`name{labels}` exactly as rendered), 0 when absent.
    pub async fn metric(&self, sample: &str) -> f64 {
        metric_value(&self.metrics_text().await, sample)
    }

    /// Waits (bounded) until `sample` has `value`.
    pub async fn wait_metric(&self, sample: &str, value: f64) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let now = self.metric(sample).await;
            if now == value {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{sample} stayed {now}, expected {value}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

pub fn metric_value(text: &str, sample: &str) -> f64 {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(sample)
                .and_then(|rest| rest.strip_prefix(' '))
        })
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

/// A request with the bearer token (a delegator) naming the caller's BlueKing username: `user`,
/// or `admin` for tests that do not care who calls.
pub fn req<T>(message: T, user: Option<&str>) -> Request<T> {
    let mut r = bare(message);
    let user = user.unwrap_or("admin");
    r.metadata_mut()
        .insert("x-bk-username", user.parse().unwrap());
    r
}

/// A request with the bearer token and no `x-bk-username`.
pub fn bare<T>(message: T) -> Request<T> {
    let mut r = Request::new(message);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    r
}

pub fn biz(id: i64) -> Option<pb::Scope> {
    Some(pb::Scope {
        bk_scope_type: pb::ScopeType::Biz as i32,
        bk_scope_id: id,
    })
}

/// A shell script on `hosts` of business 3, as root.
pub fn script(content: &str, hosts: &[i64]) -> pb::ExecuteScriptRequest {
    use pb::execute_script_request::{Account, Script};
    pb::ExecuteScriptRequest {
        scope: biz(GAME_BIZ),
        script: Some(Script::ScriptContent(content.to_owned())),
        script_language: pb::ScriptLanguage::Shell as i32,
        account: Some(Account::AccountAlias("root".to_owned())),
        target: Some(pb::ExecuteTarget {
            bk_host_ids: hosts.to_vec(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Follows a job with WatchJobInstance until the stream ends; returns every snapshot.
pub async fn follow(gw: &Gateway, job_instance_id: i64) -> Vec<pb::WatchJobInstanceResponse> {
    let mut client = gw.job().await;
    let request = pb::WatchJobInstanceRequest {
        scope: biz(GAME_BIZ),
        job_instance_id,
        with_host_results: true,
    };
    let mut stream = client
        .watch_job_instance(req(request, None))
        .await
        .expect("watch starts")
        .into_inner();
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while let Some(m) = tokio::time::timeout_at(deadline.into(), stream.message())
        .await
        .expect("job finishes within 30 s")
        .expect("watch stream ok")
    {
        seen.push(m);
    }
    seen
}

/// Both transports, for tests whose upstream path differs by front door.
pub const TRANSPORTS: [Transport; 2] = [Transport::Esb, Transport::Apigw];

/// Both GSE generations.
pub const GSE: [GseVersion; 2] = [GseVersion::V1, GseVersion::V2];
