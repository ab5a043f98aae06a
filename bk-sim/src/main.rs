//! `bk-sim --world <file>`: serve a simulated BlueKing until Ctrl-C.

use anyhow::Context;
use clap::Parser;

/// BlueKing (JOB v3, CMDB, GSE) simulator.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// World file (TOML).
    #[arg(long, env = "BK_SIM_WORLD")]
    world: std::path::PathBuf,
    /// Listen address.
    #[arg(long, env = "BK_SIM_LISTEN", default_value = "127.0.0.1:8090")]
    listen: String,
    /// Where host trees live; default a temporary directory.
    #[arg(long, env = "BK_SIM_STATE_DIR")]
    state_dir: Option<std::path::PathBuf>,
    /// Faults in force from the start (TOML, same shape as `PUT /_sim/faults`).
    #[arg(long, env = "BK_SIM_FAULTS")]
    faults: Option<std::path::PathBuf>,
    /// Time a job stays pending before it runs.
    #[arg(long, env = "BK_SIM_DISPATCH_DELAY_MS", default_value_t = 300)]
    dispatch_delay_ms: u64,
    /// How long the world's `bk_token`s stay logged in after start-up; default until expired through
    /// `POST /_sim/login/tokens/{token}/expire`.
    #[arg(long, env = "BK_SIM_LOGIN_TTL_MS")]
    login_ttl_ms: Option<u64>,
    /// JSON log lines.
    #[arg(long, env = "BK_SIM_LOG_JSON")]
    log_json: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    bk_sim::telemetry::init(cli.log_json);
    let world = bk_sim::World::load(&cli.world).context("loading the world")?;
    let mut settings = bk_sim::Settings::new(world);
    settings.state_dir = cli.state_dir;
    settings.dispatch_delay_ms = cli.dispatch_delay_ms;
    settings.login_ttl_ms = cli.login_ttl_ms;
    if let Some(path) = cli.faults {
        settings.faults = bk_sim::faults::FaultSpec::load(&path)?;
    }
    let listener = tokio::net::TcpListener::bind(&cli.listen)
        .await
        .with_context(|| format!("binding {}", cli.listen))?;
    let app = bk_sim::Application::build(settings, listener).context("starting bk-sim")?;
    println!("bk-sim listening on http://{}", app.local_addr());
    app.run_until_stopped().await.context("serving")?;
    Ok(())
}
