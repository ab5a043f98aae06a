//! The command line of `backupctl schedule …`.

use clap::{Args, Subcommand};

use crate::cli::{HostChoice, Paging};

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Create a schedule of backups.
    #[command(
        after_help = "Examples:\n  backupctl schedule create --biz 3 --name nightly-gamesvr --module gamesvr \\\n      --dir /data/logs --suffix log --cron '0 3 * * *' --tz Asia/Shanghai --keep-last 7"
    )]
    Create(ScheduleFields),
    /// List schedules.
    #[command(
        after_help = "Examples:\n  backupctl schedule list --biz 3\n  backupctl schedule list --state paused -o json"
    )]
    List {
        /// Business id.
        #[arg(long)]
        biz: Option<i64>,
        /// Only these states (active, paused, deleted).
        #[arg(long, value_delimiter = ',')]
        state: Vec<String>,
        /// Only schedules whose name contains this text.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// Show one schedule.
    #[command(after_help = "Examples:\n  backupctl schedule get 0193b0c4-...")]
    Get {
        /// Schedule id.
        id: String,
    },
    /// Change a schedule: only the options given change.
    #[command(
        after_help = "Examples:\n  backupctl schedule update 0193b0c4-... --cron '30 4 * * *'\n  backupctl schedule update 0193b0c4-... --module gamesvr,gateway --keep-last 14"
    )]
    Update {
        /// Schedule id.
        id: String,
        #[command(flatten)]
        fields: ScheduleFields,
    },
    /// Pause a schedule.
    #[command(
        after_help = "Examples:\n  backupctl schedule pause 0193b0c4-... --note 'disk migration'"
    )]
    Pause {
        /// Schedule id.
        id: String,
        /// Why (shown on the schedule).
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Resume a paused schedule.
    #[command(after_help = "Examples:\n  backupctl schedule resume 0193b0c4-...")]
    Resume {
        /// Schedule id.
        id: String,
    },
    /// Fire a schedule now.
    #[command(after_help = "Examples:\n  backupctl schedule trigger 0193b0c4-...")]
    Trigger {
        /// Schedule id.
        id: String,
    },
    /// Show when a cron expression would fire.
    #[command(
        after_help = "Examples:\n  backupctl schedule preview --cron '0 3 * * *' --tz Asia/Shanghai --count 5"
    )]
    Preview {
        /// Cron expression.
        #[arg(long)]
        cron: String,
        /// IANA time zone (default UTC).
        #[arg(long, default_value = "")]
        tz: String,
        /// How many fires.
        #[arg(long, default_value_t = 5)]
        count: i32,
    },
    /// List a schedule's runs, newest first.
    #[command(after_help = "Examples:\n  backupctl schedule runs 0193b0c4-... --limit 20")]
    Runs {
        /// Schedule id.
        id: String,
        #[command(flatten)]
        paging: Paging,
    },
    /// Delete a schedule.
    #[command(after_help = "Examples:\n  backupctl schedule delete 0193b0c4-...")]
    Delete {
        /// Schedule id.
        id: String,
    },
}

/// The fields of a schedule; for `update`, only those given change.
#[derive(Debug, Args, Clone)]
pub struct ScheduleFields {
    /// Business id (create only).
    #[arg(long)]
    pub biz: Option<i64>,
    /// Name, unique in the business.
    #[arg(long)]
    pub name: Option<String>,
    #[command(flatten)]
    pub hosts: HostChoice,
    /// Directory to back up.
    #[arg(long)]
    pub dir: Option<String>,
    /// File name suffix.
    #[arg(long)]
    pub suffix: Option<String>,
    /// Cron expression, e.g. `0 3 * * *` or `@daily`.
    #[arg(long)]
    pub cron: Option<String>,
    /// IANA time zone of the cron expression (default UTC).
    #[arg(long)]
    pub tz: Option<String>,
    /// What a fire does while the previous backup runs: skip, buffer-one, allow-all, cancel-previous.
    #[arg(long)]
    pub overlap: Option<String>,
    /// Keep the newest N backups per host.
    #[arg(long)]
    pub keep_last: Option<i32>,
    /// Keep backups younger than this, e.g. `7d`.
    #[arg(long)]
    pub keep_within: Option<String>,
    /// Bound on each run's backup, e.g. `1h`.
    #[arg(long)]
    pub run_timeout: Option<String>,
    /// Pause after this many failed runs in a row (0: never).
    #[arg(long)]
    pub pause_after_failures: Option<i32>,
}
