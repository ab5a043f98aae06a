//! The `job-gateway` binary: parse flags, load settings, serve until SIGTERM/SIGINT.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use job_gateway::config::{SETTINGS_HELP, Settings};
use job_gateway::startup::Application;

/// Typed gRPC over BlueKing CMDB, GSE and JOB v3.
#[derive(Parser)]
#[command(version, about, after_help = SETTINGS_HELP)]
struct Cli {
    /// Optional TOML settings file.
    #[arg(long, short, env = "JOB_GATEWAY_CONFIG")]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("job-gateway: {e}");
            return ExitCode::from(2);
        }
    };
    service_kit::telemetry::init(&settings.log);
    let addr = settings.listen_addr;
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("job-gateway: cannot bind listen_addr {addr}: {e}");
            return ExitCode::from(2);
        }
    };
    let run = async {
        Application::build(settings, listener)
            .await?
            .run_until(service_kit::shutdown::signal())
            .await
    };
    match run.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "job-gateway failed");
            ExitCode::FAILURE
        }
    }
}
