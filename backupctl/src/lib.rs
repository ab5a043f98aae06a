//! backupctl, the command line of bk-log-backup: a client of backup-service only (its
//! BackupService, ScheduleService and HostService), for ops people at a terminal.
//!
//! `cli.rs` is the command line, `config.rs` where to connect and as whom, `client.rs` the
//! connection, `select.rs` how hosts are chosen, `output/` how results are printed,
//! `error.rs` errors and exit codes, and `commands/` one file per group of commands.

pub mod cli;
pub mod client;
pub mod commands;
pub mod config;
pub mod error;
pub mod output;
pub mod select;

use std::ffi::OsString;

use clap::Parser;

use crate::cli::Cli;

/// Runs backupctl with `args` (the program name first) and returns the exit code.
pub fn main_with(args: impl IntoIterator<Item = OsString>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return e.exit_code();
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("backupctl: cannot start: {e}");
            return 1;
        }
    };
    let verbose = cli.global.verbose;
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => 0,
        Err(e) => {
            let text = e.render(verbose);
            if !text.is_empty() {
                eprintln!("{text}");
            }
            e.exit_code()
        }
    }
}
