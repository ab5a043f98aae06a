//! What the process tests of backup-service share: bk-sim (demo world) behind an in-process
//! job-gateway over ESB, the test's own database URL, and authenticated requests.
#![allow(dead_code)] // each test binary uses its own part of it

use secrecy::SecretString;
use sqlx::postgres::PgConnectOptions;
use tonic::Request;

/// The bearer token callers present to backup-service and backup-service to job-gateway.
pub const TOKEN: &str = "process-test-token-0123456789";

/// bk-sim and the job-gateway in front of it.
pub struct Upstream {
    pub sim: bk_sim::RunningSim,
    pub gw_url: String,
}

impl Upstream {
    /// bk-sim on the demo world and job-gateway over its ESB, `tweak`ed before it starts.
    pub async fn start(tweak: impl FnOnce(&mut job_gateway::config::Settings)) -> Self {
        let world = concat!(env!("CARGO_MANIFEST_DIR"), "/../bk-sim/worlds/demo.toml");
        let mut sim_settings = bk_sim::Settings::new(bk_sim::World::load(world.as_ref()).unwrap());
        sim_settings.dispatch_delay_ms = 20;
        let sim = bk_sim::spawn(sim_settings).await.unwrap();
        let mut gw_settings = job_gateway::config::Settings::default();
        gw_settings.bk.esb_url = sim.base_url();
        gw_settings.bk.job_web_url = sim.base_url();
        gw_settings.bk.app_secret = Some(SecretString::from("demo-secret".to_owned()));
        gw_settings.auth.tokens = vec![SecretString::from(TOKEN.to_owned())];
        tweak(&mut gw_settings);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let gw = job_gateway::startup::Application::build(gw_settings, listener)
            .await
            .unwrap();
        let gw_url = format!("http://{}", gw.local_addr());
        tokio::spawn(gw.run_until(std::future::pending()));
        Self { sim, gw_url }
    }

    /// Injects a bk-sim fault at `path` (e.g. `hosts/1007`, `apis/fast_execute_script`).
    pub async fn fault(&self, path: &str, body: serde_json::Value) {
        reqwest::Client::new()
            .put(format!("{}/_sim/faults/{path}", self.sim.base_url()))
            .json(&body)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap();
    }
}

/// The URL of the database `opts` names, on the server DATABASE_URL points at.
pub fn url_of(opts: &PgConnectOptions) -> String {
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL (run scripts/test.sh)");
    let (server, _) = base.rsplit_once('/').expect("url with a database");
    format!("{server}/{}", opts.get_database().expect("database name"))
}

/// `msg` with [`TOKEN`] and `user` as the BlueKing operator.
pub fn request<T>(msg: T, user: &str) -> Request<T> {
    let mut req = Request::new(msg);
    let md = req.metadata_mut();
    md.insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    md.insert("x-bk-username", user.parse().unwrap());
    req
}
