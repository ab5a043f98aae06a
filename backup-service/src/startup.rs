//! Builds the service from settings and a bound listener, and runs it until shutdown: the gRPC
//! server, the backup workers, the scheduler, the progress listener, the database probe behind
//! health and (optionally) the metrics endpoint. Migrations are applied before anything serves.
//!
//! Every call passes CORS and grpc-web translation (`console`), then the metrics layer, then the
//! edge layer (deadline, honest codes); the server's limits (`[server]`) bound what one
//! connection can hold. The same port speaks HTTP/1.1 for browsers and serves the web console's
//! files at `/`.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use proto::backup::v1::audit_service_server::AuditServiceServer;
use proto::backup::v1::backup_service_server::BackupServiceServer;
use proto::backup::v1::host_service_server::HostServiceServer;
use proto::backup::v1::schedule_service_server::ScheduleServiceServer;
use service_kit::auth::BearerAuth;
use service_kit::edge::EdgeLayer;
use service_kit::grpc::{incoming, routes_with_probes, serve_until, served_methods};
use service_kit::metrics::GrpcMetrics;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::codec::CompressionEncoding;
use tonic::server::NamedService;
use tonic::service::interceptor::InterceptedService;

use crate::access::Access;
use crate::audit::Audit;
use crate::config::Settings;
use crate::console;
use crate::gateway::{Gateway, PlanIds, Runner};
use crate::grpc::{AuditApi, BackupApi, Guard, HostApi, Limits, ScheduleApi};
use crate::health::probe_database;
use crate::metrics::BackupMetrics;
use crate::progress::Progress;
use crate::schedule::retention::{self, RetentionSettings};
use crate::schedule::{self, Clock, Engine, FireLimits, ScheduleMetrics, SchedulerSettings};
use crate::store;
use crate::worker::{self, Wakeup, WorkerSettings};

/// A backup-service ready to serve.
pub struct Application {
    settings: Settings,
    listener: TcpListener,
    local_addr: SocketAddr,
    metrics_listener: Option<TcpListener>,
    pool: PgPool,
    gateway: Gateway,
    clock: Clock,
}

impl Application {
    /// Connects to Postgres, applies migrations and prepares the server on `listener`.
    pub async fn build(settings: Settings, listener: TcpListener) -> anyhow::Result<Self> {
        settings.validate_serving()?;
        let pool = store::pool(settings.connect_options()?, &settings.database);
        store::migrate(&pool)
            .await
            .context("cannot apply database migrations")?;
        let p = &settings.plan;
        let runner = if p.enabled {
            Runner::Plan(PlanIds {
                search_plan_id: p.search_plan_id,
                backup_plan_id: p.backup_plan_id,
                read_plan_id: (p.read_plan_id > 0).then_some(p.read_plan_id),
                args_variable: p.args_variable.clone(),
                hosts_variable: p.hosts_variable.clone(),
            })
        } else {
            Runner::Script
        };
        let gateway =
            Gateway::new(&settings.job_gateway, runner).context("invalid job_gateway.url")?;
        let local_addr = listener.local_addr()?;
        let metrics_listener = match settings.metrics_addr {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot bind metrics_addr {addr}"))?,
            ),
            None => None,
        };
        Ok(Self {
            settings,
            listener,
            local_addr,
            metrics_listener,
            pool,
            gateway,
            clock: Clock::System,
        })
    }

    /// Runs the scheduler on `clock` instead of the system clock (tests).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The address of `GET /metrics`, when `metrics_addr` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    /// The address the server accepts connections on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The database pool (tests inspect state through it).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    fn worker_settings(&self, metrics: BackupMetrics) -> WorkerSettings {
        let w = &self.settings.worker;
        WorkerSettings {
            concurrency: w.concurrency,
            lease: Duration::from_millis(w.lease_ms),
            claim_interval: Duration::from_millis(w.claim_interval_ms),
            poll_initial: Duration::from_millis(w.poll_initial_ms),
            poll_max: Duration::from_millis(w.poll_max_ms),
            launch_settle: Duration::from_millis(w.launch_settle_ms),
            owner: format!("{}:{}", hostname(), self.local_addr),
            metrics,
        }
    }

    fn scheduler_settings(&self) -> SchedulerSettings {
        let s = &self.settings.scheduler;
        SchedulerSettings {
            enabled: s.enabled,
            tick: Duration::from_millis(s.tick_ms),
            batch: s.batch,
            concurrency: s.concurrency,
            lease: chrono::TimeDelta::milliseconds(s.claim_lease_ms as i64),
        }
    }

    fn fire_limits(&self) -> FireLimits {
        let b = &self.settings.backup;
        FireLimits {
            max_hosts: b.max_hosts,
            name_zone: b.name_zone(),
            deadline_slack_secs: b.deadline_slack_secs,
            grace: chrono::TimeDelta::milliseconds(self.settings.scheduler.grace_ms as i64),
            ..FireLimits::default()
        }
    }

    fn retention_settings(&self) -> RetentionSettings {
        let r = &self.settings.retention;
        RetentionSettings {
            enabled: r.enabled,
            interval: Duration::from_millis(r.interval_ms),
            batch: i64::from(r.batch),
            prune_timeout: Duration::from_secs(r.prune_timeout_secs),
        }
    }

    fn limits(&self) -> Limits {
        let b = &self.settings.backup;
        Limits {
            max_hosts: b.max_hosts,
            default_timeout_secs: b.default_timeout_secs,
            deadline_slack_secs: b.deadline_slack_secs,
            max_files_per_host: b.max_files_per_host,
            name_zone: b.name_zone(),
        }
    }

    /// Serves until `shutdown` resolves, then shuts down gracefully: health goes NOT_SERVING,
    /// calls get the grace period, workers stop (their leases let another replica resume).
    pub async fn run_until(mut self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let services = [
            <BackupServiceServer<BackupApi> as NamedService>::NAME,
            <AuditServiceServer<AuditApi> as NamedService>::NAME,
            <ScheduleServiceServer<ScheduleApi> as NamedService>::NAME,
            <HostServiceServer<HostApi> as NamedService>::NAME,
        ];
        let registry = service_kit::metrics::new_registry();
        let metrics = GrpcMetrics::register(&registry)?;
        let backup_metrics = BackupMetrics::register(
            &registry,
            self.pool.clone(),
            self.settings.database.max_connections,
        )?;
        let schedule_metrics = ScheduleMetrics::register(&registry, self.pool.clone())?;
        let methods = served_methods(&[proto::FILE_DESCRIPTOR_SET], &services);
        let mut server = self
            .settings
            .server
            .builder()
            .accept_http1(true)
            .layer(console::cors(&self.settings.console))
            .layer(console::BrowserLayer)
            .layer(metrics.layer(methods))
            .layer(EdgeLayer);
        let (health, routes) = routes_with_probes(&[proto::FILE_DESCRIPTOR_SET], &services)?;
        let stop = CancellationToken::new();
        if let Some(listener) = self.metrics_listener.take() {
            tracing::info!(addr = ?listener.local_addr().ok(), "metrics at /metrics");
            let (backups, schedules) = (backup_metrics.refresher(), schedule_metrics.clone());
            let refresh: service_kit::metrics::Refresh = std::sync::Arc::new(move || {
                let (backups, schedules) = (backups.clone(), schedules.clone());
                Box::pin(async move {
                    backups().await;
                    schedules.refresh().await;
                })
            });
            tokio::spawn(service_kit::metrics::serve_with(
                listener,
                registry.clone(),
                Some(refresh),
                stop.clone().cancelled_owned(),
            ));
        }
        let db_up = probe_database(
            self.pool.clone(),
            Duration::from_millis(self.settings.database.probe_interval_ms),
            stop.clone(),
        );
        let wakeup = Wakeup::default();
        let progress = Progress::start(
            self.pool.clone(),
            Duration::from_secs(self.settings.watch.lifetime_secs),
            self.settings.watch.max_streams_per_caller,
            &registry,
        )?;
        let mut workers = AbortOnDrop(tokio::spawn(worker::run(
            self.pool.clone(),
            self.gateway.clone(),
            self.worker_settings(backup_metrics),
            wakeup.clone(),
            stop.clone(),
        )));
        let engine = Engine::new(
            self.pool.clone(),
            self.gateway.clone(),
            self.clock.clone(),
            wakeup.clone(),
        )
        .with_limits(self.fire_limits())
        .with_metrics(schedule_metrics);
        let mut scheduler = AbortOnDrop(tokio::spawn(schedule::run(
            engine.clone(),
            self.scheduler_settings(),
            stop.clone(),
        )));
        let access = Access::new(
            self.gateway.clone(),
            Duration::from_millis(self.settings.access.cache_ms),
        );
        let guard = Guard::new(
            self.gateway.clone(),
            access,
            self.settings.default_operator.clone(),
        );
        let schedules = ScheduleApi::new(
            self.pool.clone(),
            self.gateway.clone(),
            engine.clone(),
            self.limits(),
            Audit::new(self.pool.clone()),
            guard.clone(),
        );
        let _retention = AbortOnDrop(tokio::spawn(retention::run(
            self.pool.clone(),
            self.gateway.clone(),
            self.clock.clone(),
            self.retention_settings(),
            stop.clone(),
        )));
        let api = BackupApi::new(
            self.pool.clone(),
            self.gateway.clone(),
            progress,
            wakeup,
            self.limits(),
            Audit::new(self.pool.clone()),
            guard.clone(),
        );
        let backup = BackupServiceServer::new(api)
            .max_decoding_message_size(self.settings.server.max_message_bytes)
            .accept_compressed(CompressionEncoding::Gzip)
            .send_compressed(CompressionEncoding::Gzip);
        let schedules = ScheduleServiceServer::new(schedules)
            .max_decoding_message_size(self.settings.server.max_message_bytes)
            .accept_compressed(CompressionEncoding::Gzip)
            .send_compressed(CompressionEncoding::Gzip);
        let host_api = HostServiceServer::new(HostApi::new(self.gateway.clone(), guard.clone()))
            .accept_compressed(CompressionEncoding::Gzip)
            .send_compressed(CompressionEncoding::Gzip);
        let auth = BearerAuth::new(&self.settings.auth).admitting_people();
        let _reloader = auth.spawn_reloader();
        let audit_api = AuditApi::new(self.pool.clone(), guard);
        let routes = routes
            .add_service(InterceptedService::new(backup, auth.clone()))
            .add_service(InterceptedService::new(
                AuditServiceServer::new(audit_api),
                auth.clone(),
            ))
            .add_service(InterceptedService::new(host_api, auth.clone()))
            .add_service(InterceptedService::new(schedules, auth));
        let router = server.add_routes(console::with_console(routes, &self.settings.console));
        // The message stays `backup-service serving` first, then `addr=`: tests and scripts
        // wait for that line.
        tracing::info!(
            addr = %self.local_addr,
            console = self.settings.console.enabled,
            console_built = console::assets::built(),
            console_url = %format_args!("http://{}/", self.local_addr),
            "backup-service serving"
        );
        let incoming = incoming(self.listener);
        let served = serve_until(
            move |stop| {
                router.serve_with_incoming_shutdown(incoming, async move {
                    let _ = stop.await;
                })
            },
            health,
            &services,
            Some(db_up),
            shutdown,
            self.settings.shutdown_grace(),
        )
        .await;
        stop.cancel();
        let _ = (&mut workers.0).await;
        let _ = (&mut scheduler.0).await;
        self.pool.close().await;
        served?;
        tracing::info!("backup-service stopped");
        Ok(())
    }
}

/// Aborts the task when dropped: if `run_until` itself is dropped mid-flight (a crash, in
/// tests), the workers die with it instead of running on detached.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "backup-service".to_owned())
}
