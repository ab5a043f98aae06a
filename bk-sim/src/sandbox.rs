//! The per-host sandbox: bubblewrap with the host's tree as `/`, the machine's `/usr` read-only, a private
//! `/tmp`, `/proc` and `/dev`, every namespace unshared and every capability dropped.
//!
//! Decision: the script runs as uid 0 *without capabilities*, so it owns the host's files (it can write
//! backups next to them) yet a `chmod 000` directory is really unreadable, as for a non-root account.
//! bwrap is looked up on `PATH` at start and probed once; a missing or broken bwrap stops start-up with a
//! message naming the Debian package.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::error::{Result, SimError};

/// Where the step's script is mounted inside the sandbox (read-only).
pub const SCRIPT_DIR_IN_HOST: &str = "/tmp/bkjob";

/// A working bubblewrap.
#[derive(Debug, Clone)]
pub struct Sandbox {
    bwrap: PathBuf,
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

impl Sandbox {
    /// Finds `bwrap` and checks that it can build a sandbox on this machine.
    pub fn detect() -> Result<Self> {
        let bwrap = find_on_path("bwrap").ok_or_else(|| {
            SimError::Sandbox(
                "`bwrap` not found on PATH; install the Debian package `bubblewrap` (apt-get install -y bubblewrap)"
                    .to_string(),
            )
        })?;
        let out = std::process::Command::new(&bwrap)
            .args([
                "--ro-bind",
                "/usr",
                "/usr",
                "--symlink",
                "usr/bin",
                "/bin",
                "--symlink",
                "usr/lib",
                "/lib",
            ])
            .args([
                "--symlink",
                "usr/lib64",
                "/lib64",
                "--proc",
                "/proc",
                "--dev",
                "/dev",
            ])
            .args([
                "--unshare-all",
                "--cap-drop",
                "ALL",
                "--die-with-parent",
                "/usr/bin/true",
            ])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| SimError::Sandbox(format!("cannot run `{}`: {e}", bwrap.display())))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(SimError::Sandbox(format!(
                "bwrap cannot create a sandbox here (user namespaces or mount permissions missing): {}",
                err.trim()
            )));
        }
        Ok(Self { bwrap })
    }

    /// The command that runs `script` of `script_dir` on the host rooted at `root`, with `param`
    /// appended to the interpreter's command line by a shell, as the JOB agent does. `small_disk`
    /// mounts a tmpfs of that many bytes at that in-host path (the disk-full fault).
    pub fn command(
        &self,
        root: &Path,
        hostname: &str,
        script_dir: &Path,
        interpreter: &str,
        param: &str,
        small_disk: Option<(&str, u64)>,
    ) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(&self.bwrap);
        cmd.arg("--bind").arg(root).arg("/");
        cmd.args([
            "--ro-bind",
            "/usr",
            "/usr",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--tmpfs",
            "/tmp",
        ]);
        cmd.arg("--ro-bind").arg(script_dir).arg(SCRIPT_DIR_IN_HOST);
        if let Some((path, bytes)) = small_disk {
            cmd.args(["--size", &bytes.max(1).to_string(), "--tmpfs", path]);
        }
        cmd.args([
            "--unshare-all",
            "--cap-drop",
            "ALL",
            "--die-with-parent",
            "--new-session",
        ]);
        cmd.args(["--hostname", hostname, "--chdir", "/tmp", "--clearenv"]);
        cmd.args([
            "--setenv",
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ]);
        cmd.args([
            "--setenv", "HOME", "/root", "--setenv", "LANG", "C.UTF-8", "--setenv", "USER", "root",
        ]);
        let line = format!("exec {interpreter} {SCRIPT_DIR_IN_HOST}/script {param}");
        cmd.args(["/bin/bash", "-c", &line]);
        cmd.stdin(Stdio::null());
        cmd.kill_on_drop(true);
        cmd
    }
}

impl Sandbox {
    /// A sandbox that sees the source tree read-only at `/src`, the target tree at `/dst` and `/usr`;
    /// the caller appends the program and its arguments.
    pub fn copy_command(&self, src_root: &Path, dst_root: &Path) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(&self.bwrap);
        cmd.args([
            "--ro-bind",
            "/usr",
            "/usr",
            "--symlink",
            "usr/bin",
            "/bin",
            "--symlink",
            "usr/lib",
            "/lib",
        ]);
        cmd.args([
            "--symlink",
            "usr/lib64",
            "/lib64",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--tmpfs",
            "/tmp",
        ]);
        cmd.arg("--ro-bind").arg(src_root).arg("/src");
        cmd.arg("--bind").arg(dst_root).arg("/dst");
        cmd.args([
            "--unshare-all",
            "--cap-drop",
            "ALL",
            "--die-with-parent",
            "--new-session",
            "--clearenv",
        ]);
        cmd.args([
            "--setenv",
            "PATH",
            "/usr/bin:/bin",
            "--setenv",
            "LANG",
            "C.UTF-8",
            "--",
        ]);
        cmd.stdin(Stdio::null());
        cmd.kill_on_drop(true);
        cmd
    }
}

/// Interpreter for a JOB `script_language`, `None` when this simulator cannot run it.
pub fn interpreter(language: i32) -> Option<&'static str> {
    match language {
        1 => Some("/bin/bash"),
        3 => Some("/usr/bin/perl"),
        4 => Some("/usr/bin/python3"),
        _ => None,
    }
}
