//! Runs the real `backupctl` binary against the in-process stack (bk-sim with the demo world,
//! job-gateway, backup-service on the test's own database): a fresh config directory, no
//! colour, UTC, the harness's delegator token and the user given.

#![allow(dead_code)]

use std::process::Output;

use e2e::stack::Stack;

/// What one run printed and how it exited.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Self {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// A backupctl pointed at a stack.
pub struct Ctl {
    pub server: String,
    pub config: tempfile::TempDir,
}

impl Ctl {
    /// For `stack`'s backup-service.
    pub fn new(stack: &Stack) -> Self {
        Self {
            server: format!("http://{}", stack.backup.addr),
            config: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    /// The command, environment set, acting as `user`.
    pub fn command(&self, user: &str, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("backupctl"));
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("BACKUPCTL_SERVER", &self.server)
            .env("BACKUPCTL_TOKEN", e2e::TOKEN)
            .env("BACKUPCTL_USER", user)
            .env("XDG_CONFIG_HOME", self.config.path())
            .env("NO_COLOR", "1")
            .env("TZ", "UTC");
        cmd
    }

    /// Runs `backupctl args…` as `user` off the runtime's thread (the stack keeps serving).
    pub async fn run(&self, user: &str, args: &[&str]) -> Run {
        let mut cmd = self.command(user, args);
        tokio::task::spawn_blocking(move || cmd.output().expect("backupctl runs"))
            .await
            .expect("the run finishes")
            .into()
    }

    /// Runs and expects exit code `code`.
    pub async fn expect(&self, code: i32, user: &str, args: &[&str]) -> Run {
        let run = self.run(user, args).await;
        assert_eq!(run.code, code, "backupctl {args:?}: {run:#?}");
        run
    }
}

/// The JSON document printed.
pub fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

/// The JSON lines printed.
pub fn json_lines(run: &Run) -> Vec<serde_json::Value> {
    run.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}
