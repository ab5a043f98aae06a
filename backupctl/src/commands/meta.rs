//! `completions` and `man`: generated from the command line itself.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::CliError;

/// Prints the completion script of `shell`.
pub fn completions(shell: clap_complete::Shell) -> Result<(), CliError> {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "backupctl", &mut std::io::stdout());
    Ok(())
}

/// Prints the man page.
pub fn man() -> Result<(), CliError> {
    let page = clap_mangen::Man::new(Cli::command());
    page.render(&mut std::io::stdout())?;
    Ok(())
}
