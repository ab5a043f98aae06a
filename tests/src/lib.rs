//! The end-to-end harness: starts bk-sim, job-gateway and backup-service in-process on
//! `127.0.0.1:0`, each with settings built in code, so a test exercises the real servers over
//! real HTTP and gRPC against a real Postgres, and stops them cleanly.

pub mod bench;
pub mod contract;
pub mod flow;
pub mod scheduler;
pub mod schedules;
pub mod stack;

use std::net::SocketAddr;

use proto::backup::v1::backup_service_client::BackupServiceClient;
use proto::backup::v1::schedule_service_client::ScheduleServiceClient;
use secrecy::SecretString;
use sqlx::postgres::PgConnectOptions;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// The bearer token the harness configures and its clients present.
pub const TOKEN: &str = "e2e-token-0123456789abcdef";

/// Adds `authorization: Bearer TOKEN` (and an operator) to every call.
#[derive(Clone)]
pub struct Authed {
    /// `x-bk-username` to send, if any.
    pub username: Option<&'static str>,
}

impl tonic::service::Interceptor for Authed {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let md = req.metadata_mut();
        md.insert(
            "authorization",
            format!("Bearer {TOKEN}").parse().expect("ascii"),
        );
        if let Some(user) = self.username {
            md.insert("x-bk-username", user.parse().expect("ascii"));
        }
        Ok(req)
    }
}

/// Presents a person's BlueKing login token instead of a service token: as `x-bk-token`
/// metadata (as backupctl does) or as the `bk_token` cookie (as a browser does).
#[derive(Debug, Clone, Copy)]
pub struct LoggedIn {
    /// The token.
    pub bk_token: &'static str,
    /// Send it as the cookie rather than as metadata.
    pub as_cookie: bool,
}

impl tonic::service::Interceptor for LoggedIn {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let md = req.metadata_mut();
        if self.as_cookie {
            let cookie = format!("lang=en; bk_token={}", self.bk_token);
            md.insert("cookie", cookie.parse().expect("ascii"));
        } else {
            md.insert("x-bk-token", self.bk_token.parse().expect("ascii"));
        }
        Ok(req)
    }
}

/// An authenticated backup-service client acting as `username`.
pub async fn backup_client(
    svc: &RunningService,
    username: Option<&'static str>,
) -> BackupServiceClient<InterceptedService<Channel, Authed>> {
    BackupServiceClient::with_interceptor(svc.channel().await, Authed { username })
}

/// An authenticated schedule-service client (backup-service's `backup.v1.ScheduleService`)
/// acting as `username`.
pub async fn schedule_client(
    svc: &RunningService,
    username: Option<&'static str>,
) -> ScheduleServiceClient<InterceptedService<Channel, Authed>> {
    ScheduleServiceClient::with_interceptor(svc.channel().await, Authed { username })
}

/// A service running in this process; stopped (gracefully) by [`RunningService::stop`].
pub struct RunningService {
    /// The gRPC address.
    pub addr: SocketAddr,
    /// The address of `GET /metrics`, when `metrics_addr` was set.
    pub metrics: Option<SocketAddr>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl RunningService {
    /// The Prometheus text of `/metrics` (the service must have `metrics_addr` set).
    pub async fn metrics_text(&self) -> String {
        let addr = self.metrics.expect("metrics_addr is set");
        reqwest::get(format!("http://{addr}/metrics"))
            .await
            .expect("metrics answer")
            .text()
            .await
            .expect("metrics text")
    }

    /// The value of one sample (`name{labels}` exactly as rendered), 0 when absent.
    pub async fn metric(&self, sample: &str) -> f64 {
        metric_value(&self.metrics_text().await, sample)
    }

    /// A connected channel to the service.
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .expect("valid uri")
            .connect()
            .await
            .expect("connect to service")
    }

    /// Asks the service to shut down and waits for it; panics if it failed.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.expect("service task").expect("service ran");
    }
}

async fn bind() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.expect("bind")
}

/// job-gateway settings that pass validation, pointing BlueKing at `bk_url`.
pub fn job_gateway_settings(bk_url: &str) -> job_gateway::config::Settings {
    let mut s = job_gateway::config::Settings::default();
    s.bk.esb_url = bk_url.to_owned();
    s.bk.apigw_url = bk_url.to_owned();
    s.bk.job_web_url = bk_url.to_owned();
    s.bk.app_secret = Some(SecretString::from("e2e-secret".to_owned()));
    s.auth.tokens = vec![SecretString::from(TOKEN.to_owned())];
    s
}

/// Starts job-gateway with `settings` on a fresh port.
pub async fn spawn_job_gateway(settings: job_gateway::config::Settings) -> RunningService {
    let listener = bind().await;
    let app = job_gateway::startup::Application::build(settings, listener)
        .await
        .expect("build");
    let (addr, metrics) = (app.local_addr(), app.metrics_addr());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    RunningService {
        addr,
        metrics,
        stop,
        task,
    }
}

/// backup-service settings for the database `db` (from `#[sqlx::test]`) and job-gateway `gw`.
pub fn backup_settings(db: &PgConnectOptions, gw: SocketAddr) -> backup_service::config::Settings {
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL (run scripts/test.sh)");
    let (server, _) = base.rsplit_once('/').expect("url with a database");
    let url = format!("{server}/{}", db.get_database().expect("database name"));
    let mut s = backup_service::config::Settings::default();
    s.database.url = Some(SecretString::from(url));
    s.auth.tokens = vec![SecretString::from(TOKEN.to_owned())];
    s.job_gateway.url = format!("http://{gw}");
    s.job_gateway.token = Some(SecretString::from(TOKEN.to_owned()));
    s.worker.poll_initial_ms = 50;
    s.worker.poll_max_ms = 300;
    s.worker.claim_interval_ms = 200;
    s.worker.lease_ms = 3000;
    s.scheduler.tick_ms = 100;
    s
}

/// Starts backup-service (migrating its database first) on a fresh port.
pub async fn spawn_backup_service(settings: backup_service::config::Settings) -> RunningService {
    spawn_backup_service_with_clock(settings, backup_service::schedule::Clock::System).await
}

/// Like [`spawn_backup_service`], its scheduler running on `clock` (a manual clock in tests).
pub async fn spawn_backup_service_with_clock(
    settings: backup_service::config::Settings,
    clock: backup_service::schedule::Clock,
) -> RunningService {
    let listener = bind().await;
    let app = backup_service::startup::Application::build(settings, listener)
        .await
        .expect("build")
        .with_clock(clock);
    let (addr, metrics) = (app.local_addr(), app.metrics_addr());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    RunningService {
        addr,
        metrics,
        stop,
        task,
    }
}

/// The value of one sample line (`name{labels}` exactly as rendered) in `text`, 0 when absent.
pub fn metric_value(text: &str, sample: &str) -> f64 {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(sample)
                .and_then(|rest| rest.strip_prefix(' '))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0.0)
}
