//! The command line (clap derive): global options, every command and its `--help` examples.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// backupctl: search and back up log files on BlueKing hosts through backup-service.
#[derive(Debug, Parser)]
#[command(name = "backupctl", version, propagate_version = true)]
#[command(after_help = "\
Examples:
  backupctl hosts --biz 3                      hosts of business 3 with their agent status
  backupctl search --biz 3 --module gamesvr --dir /data/logs --suffix log
  backupctl backup start --biz 3 --module gamesvr --dir /data/logs --suffix log
  backupctl records list --biz 3 --all -o csv  every record, as CSV

Connection: --server (or a profile in $XDG_CONFIG_HOME/backupctl/config.toml), the service
token in BACKUPCTL_TOKEN or --token-file, and who you are: --user (a delegator token) or
--bk-token / BACKUPCTL_BK_TOKEN (your BlueKing login).

Exit codes: 0 ok, 1 failed, 2 usage, 3 partial backup, 4 not found, 5 permission denied.")]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// backup-service address, e.g. http://127.0.0.1:50052 (https:// for TLS).
    #[arg(long, global = true, env = "BACKUPCTL_SERVER")]
    pub server: Option<String>,
    /// Profile of the config file to use (default: its `default_profile`, else `default`).
    #[arg(long, global = true, env = "BACKUPCTL_PROFILE")]
    pub profile: Option<String>,
    /// File holding the service token (else BACKUPCTL_TOKEN, else the profile's `token_file`).
    #[arg(long, global = true, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    /// BlueKing user to act as, sent as `x-bk-username` (for a delegator token).
    #[arg(long, global = true, env = "BACKUPCTL_USER")]
    pub user: Option<String>,
    /// Your BlueKing login token (bk_token), sent as `x-bk-token`.
    #[arg(
        long,
        global = true,
        env = "BACKUPCTL_BK_TOKEN",
        hide_env_values = true
    )]
    pub bk_token: Option<String>,
    /// PEM file of the CA that signed the server's certificate (https:// servers).
    #[arg(long, global = true, value_name = "PATH")]
    pub ca_cert: Option<PathBuf>,
    /// Output format (default: table).
    #[arg(short, long, global = true, value_enum)]
    pub output: Option<Format>,
    /// Show times in UTC instead of local time.
    #[arg(long, global = true)]
    pub utc: bool,
    /// More detail on errors (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A readable table.
    Table,
    /// One JSON document (protobuf JSON, field names as in the .proto).
    Json,
    /// One JSON object a line.
    Jsonl,
    /// Comma-separated values with a header (listings).
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the businesses you may see.
    #[command(
        after_help = "Examples:\n  backupctl businesses\n  backupctl businesses --name fantasy --archived"
    )]
    Businesses(BusinessesArgs),
    /// Show a business's sets and modules with their host counts.
    #[command(
        after_help = "Examples:\n  backupctl topology --biz 3\n  backupctl topology --biz 3 --idle-pool -o json"
    )]
    Topology(TopologyArgs),
    /// List a business's hosts with their agent status.
    #[command(
        after_help = "Examples:\n  backupctl hosts --biz 3\n  backupctl hosts --biz 3 --module gamesvr --offline\n  backupctl hosts --biz 3 --ip 10.0.1.11 --name game"
    )]
    Hosts(HostsArgs),
    /// Search files on hosts: per-host results and totals.
    #[command(
        after_help = "Examples:\n  backupctl search --biz 3 --module gamesvr --dir /data/logs --suffix log\n  backupctl search --biz 3 --hosts 10.0.1.11,gs1-game-02 --dir /project --suffix log"
    )]
    Search(SearchArgs),
    /// Start, follow, cancel and retry backups.
    #[command(subcommand)]
    Backup(BackupCommand),
    /// Query backup records.
    #[command(subcommand)]
    Records(RecordsCommand),
    /// Manage scheduled backups.
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  backupctl completions bash > /etc/bash_completion.d/backupctl\n  backupctl completions zsh > ~/.zfunc/_backupctl"
    )]
    Completions {
        /// Shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    #[command(after_help = "Examples:\n  backupctl man > /usr/local/share/man/man1/backupctl.1")]
    Man,
}

#[derive(Debug, Args)]
pub struct BusinessesArgs {
    /// Only businesses whose name contains this text.
    #[arg(long)]
    pub name: Option<String>,
    /// Archived businesses too.
    #[arg(long)]
    pub archived: bool,
}

#[derive(Debug, Args)]
pub struct TopologyArgs {
    /// Business id (default: the profile's `biz`, else the only one you may see).
    #[arg(long)]
    pub biz: Option<i64>,
    /// Show the idle pool too.
    #[arg(long)]
    pub idle_pool: bool,
}

#[derive(Debug, Args)]
pub struct HostsArgs {
    /// Business id (default: the profile's `biz`, else the only one you may see).
    #[arg(long)]
    pub biz: Option<i64>,
    /// Only hosts in these sets (names or ids; repeat or separate with commas).
    #[arg(long, value_delimiter = ',')]
    pub set: Vec<String>,
    /// Only hosts in these modules (names, `set/module`, or ids).
    #[arg(long, value_delimiter = ',')]
    pub module: Vec<String>,
    /// Only hosts with one of these inner IPs.
    #[arg(long, value_delimiter = ',')]
    pub ip: Vec<String>,
    /// Only hosts whose name contains this text.
    #[arg(long)]
    pub name: Option<String>,
    /// Only hosts whose agent is not running.
    #[arg(long)]
    pub offline: bool,
}

/// Hosts of a search or backup.
#[derive(Debug, Args, Clone, Default)]
pub struct HostChoice {
    /// Hosts by id, `ip`, `cloud:ip` or host name (repeat or separate with commas).
    #[arg(long, value_delimiter = ',')]
    pub hosts: Vec<String>,
    /// Every host of these sets (names or ids).
    #[arg(long, value_delimiter = ',')]
    pub set: Vec<String>,
    /// Every host of these modules (names, `set/module`, or ids).
    #[arg(long, value_delimiter = ',')]
    pub module: Vec<String>,
    /// Every host of the business.
    #[arg(long)]
    pub all_hosts: bool,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Business id (default: the profile's `biz`, else the only one you may see).
    #[arg(long)]
    pub biz: Option<i64>,
    #[command(flatten)]
    pub hosts: HostChoice,
    /// Directory to search, recursively (absolute).
    #[arg(long)]
    pub dir: String,
    /// File name suffix, e.g. `log` (empty: every regular file).
    #[arg(long, default_value = "")]
    pub suffix: String,
    /// At most this many files listed per host (0: the server's default).
    #[arg(long, default_value_t = 0)]
    pub max_files: i32,
    /// Also list files of previous backups (`<dir>/backup/`).
    #[arg(long)]
    pub include_previous: bool,
    /// List every file found, not only the per-host summary.
    #[arg(long)]
    pub files: bool,
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Start a backup, and (on a terminal, or with --wait) follow it to the end.
    #[command(
        after_help = "Examples:\n  backupctl backup start --biz 3 --module gamesvr --dir /data/logs --suffix log\n  backupctl backup start --biz 3 --hosts 1001,0:10.0.1.12 --dir /data/logs --no-wait\n\nCtrl-C while waiting detaches: the backup goes on; `backupctl backup watch ID` re-attaches."
    )]
    Start(StartArgs),
    /// Show one backup.
    #[command(
        after_help = "Examples:\n  backupctl backup get 0193b0c4-...\n  backupctl backup get 0193b0c4-... --files -o json"
    )]
    Get {
        /// Backup id.
        id: String,
        /// Include per-file results.
        #[arg(long)]
        files: bool,
    },
    /// List backups, newest first.
    #[command(
        after_help = "Examples:\n  backupctl backup list --biz 3\n  backupctl backup list --state failed,partial --since 2026-12-01"
    )]
    List(ListBackupsArgs),
    /// Follow a backup's progress until it ends (re-attach after Ctrl-C).
    #[command(after_help = "Examples:\n  backupctl backup watch 0193b0c4-...")]
    Watch {
        /// Backup id.
        id: String,
    },
    /// Cancel a backup.
    #[command(after_help = "Examples:\n  backupctl backup cancel 0193b0c4-...")]
    Cancel {
        /// Backup id.
        id: String,
    },
    /// Retry the hosts of a backup that did not succeed.
    #[command(
        after_help = "Examples:\n  backupctl backup retry 0193b0c4-...\n  backupctl backup retry 0193b0c4-... --wait"
    )]
    Retry {
        /// Backup id.
        id: String,
        #[command(flatten)]
        wait: Wait,
    },
}

/// Whether to follow a started backup.
#[derive(Debug, Args, Clone, Copy)]
pub struct Wait {
    /// Follow the backup to the end (the default on a terminal).
    #[arg(long, conflicts_with = "no_wait")]
    pub wait: bool,
    /// Return once the backup is queued.
    #[arg(long)]
    pub no_wait: bool,
}

#[derive(Debug, Args)]
pub struct StartArgs {
    /// Business id (default: the profile's `biz`, else the only one you may see).
    #[arg(long)]
    pub biz: Option<i64>,
    #[command(flatten)]
    pub hosts: HostChoice,
    /// Directory to back up, recursively (absolute).
    #[arg(long)]
    pub dir: String,
    /// File name suffix, e.g. `log` (empty: every regular file).
    #[arg(long, default_value = "")]
    pub suffix: String,
    /// Bound on the backup's total time, e.g. `900`, `15m`, `2h` (default: the server's).
    #[arg(long)]
    pub timeout: Option<String>,
    /// Idempotency key (default: a new UUID).
    #[arg(long)]
    pub request_id: Option<String>,
    #[command(flatten)]
    pub wait: Wait,
}

#[derive(Debug, Args)]
pub struct ListBackupsArgs {
    /// Business id.
    #[arg(long)]
    pub biz: Option<i64>,
    /// Only these states (queued, running, cancelling, succeeded, partial, failed, cancelled).
    #[arg(long, value_delimiter = ',')]
    pub state: Vec<String>,
    /// Only backups started by this user.
    #[arg(long)]
    pub operator: Option<String>,
    /// Only backups of this host id.
    #[arg(long)]
    pub host: Option<i64>,
    /// Only backups of this schedule.
    #[arg(long)]
    pub schedule: Option<String>,
    /// Created at or after (RFC 3339, or a date: local midnight; with --utc UTC).
    #[arg(long)]
    pub since: Option<String>,
    /// Created before (RFC 3339 or a date).
    #[arg(long)]
    pub until: Option<String>,
    #[command(flatten)]
    pub paging: Paging,
}

/// How much of a listing to read.
#[derive(Debug, Args, Clone, Copy)]
pub struct Paging {
    /// At most this many rows (default 50).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Every row, following page tokens.
    #[arg(long, conflicts_with = "limit")]
    pub all: bool,
}

#[derive(Debug, Subcommand)]
pub enum RecordsCommand {
    /// List backup records (one per file copied), newest first.
    #[command(
        after_help = "Examples:\n  backupctl records list --biz 3\n  backupctl records list --biz 3 --host 1001 --dir /data/logs --suffix log --since 2026-12-01\n  backupctl records list --backup 0193b0c4-... --all -o csv > records.csv"
    )]
    List(RecordsArgs),
}

#[derive(Debug, Args)]
pub struct RecordsArgs {
    /// Business id.
    #[arg(long)]
    pub biz: Option<i64>,
    /// Only these host ids.
    #[arg(long, value_delimiter = ',')]
    pub host: Vec<i64>,
    /// Only records of this directory.
    #[arg(long)]
    pub dir: Option<String>,
    /// Only records of this suffix.
    #[arg(long)]
    pub suffix: Option<String>,
    /// Only records of backups by this user.
    #[arg(long)]
    pub operator: Option<String>,
    /// Created at or after (RFC 3339 or a date).
    #[arg(long)]
    pub since: Option<String>,
    /// Created before (RFC 3339 or a date).
    #[arg(long)]
    pub until: Option<String>,
    /// Only records of this backup.
    #[arg(long)]
    pub backup: Option<String>,
    /// Only records whose source path contains this text.
    #[arg(long)]
    pub path_contains: Option<String>,
    #[command(flatten)]
    pub paging: Paging,
}

pub use crate::commands::schedule_cli::ScheduleCommand;
