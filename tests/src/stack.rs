//! The whole stack for one test: bk-sim with the demo world (its hosts' trees are real
//! directories the test can read and write), job-gateway over ESB or the API gateway, and
//! backup-service on the test's own database.

use std::path::PathBuf;

use backup_service::schedule::{Clock, ManualClock};
use chrono::{DateTime, Utc};

use proto::backup::v1::backup_service_client::BackupServiceClient;
use secrecy::SecretString;
use sqlx::postgres::PgConnectOptions;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::{Authed, RunningService, backup_client, backup_settings, job_gateway_settings};

/// The demo world's app secret.
pub const DEMO_SECRET: &str = "demo-secret";

/// Which BlueKing front door job-gateway uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    /// ESB.
    Esb,
    /// API gateway.
    Apigw,
}

/// A running stack.
pub struct Stack {
    /// The simulator.
    pub sim: bk_sim::RunningSim,
    /// job-gateway.
    pub gw: RunningService,
    /// backup-service.
    pub backup: RunningService,
    db: PgConnectOptions,
}

/// The demo world's file.
pub fn demo_world() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../bk-sim/worlds/demo.toml"
    ))
}

impl Stack {
    /// Starts everything on database `db`, job-gateway using `door`.
    pub async fn start(db: &PgConnectOptions, door: Door) -> Self {
        Self::start_with(db, door, |_| {}).await
    }

    /// Like [`Stack::start`], letting the test adjust backup-service's settings.
    pub async fn start_with(
        db: &PgConnectOptions,
        door: Door,
        adjust: impl FnOnce(&mut backup_service::config::Settings),
    ) -> Self {
        Self::start_custom(db, door, |_| {}, adjust).await
    }

    /// Like [`Stack::start`], letting the test adjust both services' settings.
    pub async fn start_custom(
        db: &PgConnectOptions,
        door: Door,
        adjust_gateway: impl FnOnce(&mut job_gateway::config::Settings),
        adjust: impl FnOnce(&mut backup_service::config::Settings),
    ) -> Self {
        Self::start_all(db, door, |_| {}, adjust_gateway, adjust).await
    }

    /// Like [`Stack::start_with`], backup-service's scheduler on a manual clock reading
    /// `start`; the clock, which the test moves.
    pub async fn start_with_clock(
        db: &PgConnectOptions,
        door: Door,
        start: DateTime<Utc>,
        adjust: impl FnOnce(&mut backup_service::config::Settings),
    ) -> (Self, ManualClock) {
        let (clock, manual) = Clock::manual(start);
        let stack = Self::start_inner(db, door, |_| {}, |_| {}, adjust, clock).await;
        (stack, manual)
    }

    /// Like [`Stack::start_custom`], letting the test adjust bk-sim's settings too.
    pub async fn start_all(
        db: &PgConnectOptions,
        door: Door,
        adjust_sim: impl FnOnce(&mut bk_sim::Settings),
        adjust_gateway: impl FnOnce(&mut job_gateway::config::Settings),
        adjust: impl FnOnce(&mut backup_service::config::Settings),
    ) -> Self {
        Self::start_inner(db, door, adjust_sim, adjust_gateway, adjust, Clock::System).await
    }

    async fn start_inner(
        db: &PgConnectOptions,
        door: Door,
        adjust_sim: impl FnOnce(&mut bk_sim::Settings),
        adjust_gateway: impl FnOnce(&mut job_gateway::config::Settings),
        adjust: impl FnOnce(&mut backup_service::config::Settings),
        clock: Clock,
    ) -> Self {
        // RUST_LOG=info shows every service's log in the test's output.
        if std::env::var_os("RUST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
                .with_test_writer()
                .try_init();
        }
        let world = bk_sim::World::load(&demo_world()).expect("demo world loads");
        let mut sim_settings = bk_sim::Settings::new(world);
        sim_settings.dispatch_delay_ms = 20;
        adjust_sim(&mut sim_settings);
        let sim = bk_sim::spawn(sim_settings).await.expect("bk-sim starts");
        let mut gw = job_gateway_settings(&sim.base_url());
        gw.bk.app_code = "bk-log-backup".to_owned();
        gw.bk.app_secret = Some(SecretString::from(DEMO_SECRET.to_owned()));
        gw.bk.transport = match door {
            Door::Esb => job_gateway::config::Transport::Esb,
            Door::Apigw => job_gateway::config::Transport::Apigw,
        };
        adjust_gateway(&mut gw);
        let gw = crate::spawn_job_gateway(gw).await;
        let mut settings = backup_settings(db, gw.addr);
        adjust(&mut settings);
        let backup = crate::spawn_backup_service_with_clock(settings, clock).await;
        Self {
            sim,
            gw,
            backup,
            db: db.clone(),
        }
    }

    /// A backup-service client acting as `user`.
    pub async fn client(
        &self,
        user: &'static str,
    ) -> BackupServiceClient<InterceptedService<Channel, Authed>> {
        backup_client(&self.backup, Some(user)).await
    }

    /// Starts another backup-service replica on the same database.
    pub async fn replica(&self) -> RunningService {
        crate::spawn_backup_service(backup_settings(&self.db, self.gw.addr)).await
    }

    /// Starts another backup-service replica on the same database, its scheduler on `clock`.
    pub async fn replica_with_clock(&self, clock: &ManualClock) -> RunningService {
        crate::spawn_backup_service_with_clock(
            backup_settings(&self.db, self.gw.addr),
            Clock::Manual(clock.clone()),
        )
        .await
    }

    /// The settings of this stack's backup-service (for an engine built by the test).
    pub fn backup_settings(&self) -> backup_service::config::Settings {
        backup_settings(&self.db, self.gw.addr)
    }

    /// Like [`Stack::replica`], letting the test adjust the replica's settings.
    pub async fn replica_with(
        &self,
        adjust: impl FnOnce(&mut backup_service::config::Settings),
    ) -> RunningService {
        let mut settings = backup_settings(&self.db, self.gw.addr);
        adjust(&mut settings);
        crate::spawn_backup_service(settings).await
    }

    /// The test's database (backup-service's own).
    pub async fn pool(&self) -> sqlx::PgPool {
        crate::scheduler::pool(&self.db).await
    }

    /// Where host `id`'s `/` lives on this machine.
    pub async fn host_root(&self, id: i64) -> PathBuf {
        self.sim.host_root(id).await.expect("host exists")
    }

    /// How many calls of `api` bk-sim received.
    pub async fn upstream_calls(&self, api: &str) -> u64 {
        let counts: serde_json::Value =
            reqwest::get(format!("{}/_sim/requests/counts", self.sim.base_url()))
                .await
                .expect("bk-sim admin answers")
                .json()
                .await
                .expect("json");
        counts["by_api"][api].as_u64().unwrap_or(0)
    }

    /// Sets a fault through bk-sim's admin API (`path` under `/_sim/faults/`).
    pub async fn fault(&self, path: &str, body: serde_json::Value) {
        reqwest::Client::new()
            .put(format!("{}/_sim/faults/{path}", self.sim.base_url()))
            .json(&body)
            .send()
            .await
            .expect("bk-sim admin answers")
            .error_for_status()
            .expect("fault accepted");
    }

    /// Grants (`true`) or revokes (`false`) `user`'s permission on business `biz` in bk-sim,
    /// as an IAM admin would.
    pub async fn set_permission(&self, user: &str, biz: i64, granted: bool) {
        let url = format!("{}/_sim/users/{user}/businesses/{biz}", self.sim.base_url());
        let client = reqwest::Client::new();
        let req = if granted {
            client.put(url)
        } else {
            client.delete(url)
        };
        req.send()
            .await
            .expect("bk-sim admin answers")
            .error_for_status()
            .expect("permission changed");
    }

    /// Logs the world user holding `bk_token` out in bk-sim.
    pub async fn expire_login(&self, bk_token: &str) {
        reqwest::Client::new()
            .post(format!(
                "{}/_sim/login/tokens/{bk_token}/expire",
                self.sim.base_url()
            ))
            .send()
            .await
            .expect("bk-sim admin answers")
            .error_for_status()
            .expect("token expired");
    }

    /// Stops the services (gracefully) and the simulator.
    pub async fn stop(self) {
        self.backup.stop().await;
        self.gw.stop().await;
        self.sim.stop();
    }
}
