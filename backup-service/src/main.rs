//! The `backup-service` binary: `serve` (the default) or `migrate`.

use std::path::PathBuf;
use std::process::ExitCode;

use backup_service::config::{SETTINGS_HELP, Settings};
use backup_service::startup::Application;
use backup_service::store;
use clap::{Parser, Subcommand};

/// Searches and backs up log files on BlueKing hosts, with records in Postgres.
#[derive(Parser)]
#[command(version, about, after_help = SETTINGS_HELP)]
struct Cli {
    /// Optional TOML settings file.
    #[arg(long, short, env = "BACKUP_SERVICE_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Apply migrations, then serve gRPC until SIGTERM/SIGINT (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("backup-service: {e}");
            return ExitCode::from(2);
        }
    };
    let command = cli.command.unwrap_or(Command::Serve);
    if let (Command::Serve, Err(e)) = (&command, settings.validate_serving()) {
        eprintln!("backup-service: {e}");
        return ExitCode::from(2);
    }
    service_kit::telemetry::init(&settings.log);
    let result = match command {
        Command::Migrate => migrate(settings).await,
        Command::Serve => serve(settings).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("backup-service: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn migrate(settings: Settings) -> anyhow::Result<()> {
    let pool = store::pool(settings.connect_options()?, &settings.database);
    store::migrate(&pool).await?;
    tracing::info!("migrations applied");
    Ok(())
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let listener = tokio::net::TcpListener::bind(settings.listen_addr)
        .await
        .with_context(|| format!("cannot bind listen_addr {}", settings.listen_addr))?;
    let app = Application::build(settings, listener).await?;
    app.run_until(service_kit::shutdown::signal()).await
}
