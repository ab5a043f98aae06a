//! A fresh machine (Debian with the Rust toolchain, build-essential and git) runs the demo and
//! the tests: every program a script under `scripts/`, a host script, a test or a bench starts
//! is installed by `scripts/ensure-tools.sh` / `scripts/pg.sh`, or comes with Debian's base
//! system, or is not used. A new program in a script fails here until the scripts install it.

#[path = "fresh_machine/shell_words.rs"]
mod shell_words;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use shell_words::{command_words, function_names};

/// bash builtins and the programs of Debian's Essential packages (coreutils, findutils, grep,
/// sed, tar, gzip, bash, util-linux, hostname, perl-base), plus `apt-get` (apt) and `useradd`
/// (passwd), which have priority "required" and are in every Debian base system.
const BASE: &[&str] = &[
    // bash builtins
    ":",
    "[",
    "break",
    "builtin",
    "cd",
    "command",
    "continue",
    "declare",
    "echo",
    "eval",
    "exec",
    "exit",
    "export",
    "false",
    "kill",
    "let",
    "local",
    "mapfile",
    "printf",
    "pwd",
    "read",
    "readonly",
    "return",
    "set",
    "shift",
    "shopt",
    "source",
    "test",
    "trap",
    "true",
    "type",
    "umask",
    "unset",
    "wait",
    // coreutils
    "base64",
    "basename",
    "cat",
    "chmod",
    "chown",
    "cksum",
    "cp",
    "cut",
    "date",
    "dirname",
    "env",
    "head",
    "id",
    "join",
    "ls",
    "mkdir",
    "mktemp",
    "mv",
    "nohup",
    "paste",
    "rm",
    "seq",
    "sha256sum",
    "sleep",
    "sort",
    "split",
    "stat",
    "sync",
    "tail",
    "touch",
    "tr",
    "truncate",
    "wc",
    // other Essential packages
    "bash",
    "find",
    "xargs",
    "grep",
    "sed",
    "tar",
    "gzip",
    "runuser",
    "setpriv",
    "hostname",
    "perl",
    // priority required
    "apt-get",
    "useradd",
];

/// What the README asks for before its two commands.
const PREREQUISITES: &[&str] = &["cargo"];

/// Programs used only when present, each with what happens without it.
const OPTIONAL: &[(&str, &str)] = &[
    (
        "pg_config",
        "scripts/pg.sh then looks for the server under /usr/lib/postgresql",
    ),
    (
        "sudo",
        "only when not root; scripts/lib.sh stops with a message saying to run as root",
    ),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `path` relative to the workspace, for messages.
fn shown(path: &Path) -> String {
    let root = root();
    path.strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn shell_scripts() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["scripts", "backup-service/host-scripts"] {
        for entry in std::fs::read_dir(root().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "sh") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// `ensure_cmd CMD PACKAGE` lines of the scripts: the commands they install when missing.
fn installed_by_scripts(texts: &[String]) -> BTreeSet<String> {
    texts
        .iter()
        .flat_map(|t| t.lines())
        .filter_map(|l| l.trim().strip_prefix("ensure_cmd "))
        .filter_map(|rest| rest.split_whitespace().next())
        .filter(|cmd| !cmd.starts_with('"'))
        .map(str::to_owned)
        .collect()
}

/// The programs nothing provides, by file.
fn unprovided(found: BTreeMap<String, BTreeSet<String>>, provided: &BTreeSet<String>) -> String {
    let mut report = String::new();
    for (file, words) in found {
        let left: Vec<_> = words.difference(provided).cloned().collect();
        if !left.is_empty() {
            report.push_str(&format!("\n  {file}: {}", left.join(", ")));
        }
    }
    report
}

fn provided(extra: &BTreeSet<String>) -> BTreeSet<String> {
    BASE.iter()
        .chain(PREREQUISITES)
        .map(|s| (*s).to_owned())
        .chain(OPTIONAL.iter().map(|(p, _)| (*p).to_owned()))
        .chain(extra.iter().cloned())
        .collect()
}

#[test]
fn every_program_a_script_runs_is_installed_by_our_scripts_or_part_of_debian_base() {
    let files = shell_scripts();
    assert!(files.len() >= 8, "scripts found: {files:?}");
    let texts: Vec<String> = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    let mut ours = installed_by_scripts(&texts);
    let installed = ours.clone();
    for t in &texts {
        ours.extend(function_names(t));
    }
    let found = files
        .iter()
        .zip(&texts)
        .map(|(f, t)| (shown(f), command_words(t)))
        .collect();
    let report = unprovided(found, &provided(&ours));
    assert!(
        report.is_empty(),
        "programs a script runs that neither our scripts install nor Debian's base has:{report}"
    );
    assert!(
        ["bwrap", "npm", "curl"]
            .iter()
            .all(|c| installed.contains(*c)),
        "ensure-tools.sh installs {installed:?}"
    );
}

/// Rust files of the workspace (outside build output and installed tools).
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if path.is_dir() {
            if !name.starts_with('.') && name != "target" && name != "node_modules" {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_program_a_test_bench_or_bk_sim_starts_is_installed_by_our_scripts_or_part_of_debian_base()
{
    let texts: Vec<String> = shell_scripts()
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    let ours = installed_by_scripts(&texts);
    let mut files = Vec::new();
    rust_files(&root(), &mut files);
    // Literal program names given to `Command::new` and to bk-sim's PATH lookup.
    let openers = [
        concat!("Command::new", "(\""),
        concat!("find_on_path", "(\""),
    ];
    let mut found = BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let programs: BTreeSet<String> = openers
            .iter()
            .flat_map(|o| text.split(o).skip(1))
            .filter_map(|rest| rest.split_once('"').map(|(p, _)| p.to_owned()))
            .collect();
        if !programs.is_empty() {
            found.insert(shown(&file), programs);
        }
    }
    let all: BTreeSet<&String> = found.values().flatten().collect();
    assert!(
        all.contains(&"bwrap".to_owned()) && all.contains(&"bash".to_owned()),
        "programs found: {all:?}"
    );
    let report = unprovided(found, &provided(&ours));
    assert!(
        report.is_empty(),
        "programs Rust code starts that neither our scripts install nor Debian's base has:{report}"
    );
}

#[test]
fn the_script_reader_finds_commands_where_bash_would_run_them() {
    let script = r#"#!/usr/bin/env bash
# jq is mentioned in a comment only
log() { printf '%s\n' "$*" >&2; }
sudo=(sudo)
x=$(curl -s "$url" | jq -r .a) && [ -n "$x" ] || die "no $(hostname)"
if ! grep -q "a|b" <(zcat file.gz); then "${sudo[@]}" apt-get install -y jo; fi
case "$1" in
start | begin) nc -z host 1 ;;
*) 2>/dev/null wget x ;;
esac
cat <<MSG
not-a-command $(uname -r)
MSG
for f in a b; do ((n++)); echo "$f"; done
"#;
    let words: Vec<String> = command_words(script).into_iter().collect();
    assert_eq!(
        words,
        [
            "[", "apt-get", "cat", "curl", "die", "echo", "grep", "hostname", "jq", "log", "nc",
            "printf", "sudo", "uname", "wget", "zcat"
        ]
    );
    assert_eq!(
        function_names(script).into_iter().collect::<Vec<_>>(),
        ["log"]
    );
}

#[test]
fn installing_a_package_without_root_or_sudo_says_what_to_do_instead_of_running_sudo() {
    use std::os::unix::fs::PermissionsExt;
    // A PATH with only what scripts/lib.sh needs besides bash builtins: no sudo, no apt-get.
    let bin = std::env::temp_dir().join(format!("fresh-machine-bin-{}", std::process::id()));
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    for tool in ["id", "basename"] {
        let _ = std::fs::remove_file(bin.join(tool));
        std::os::unix::fs::symlink(Path::new("/usr/bin").join(tool), bin.join(tool)).unwrap();
    }
    let lib = root().join("scripts/lib.sh");
    let script = format!(
        "PATH={}; source {}; apt_install bubblewrap; echo still-running",
        bin.display(),
        lib.display()
    );
    // As root, run it as nobody: the case where sudo would be needed.
    let as_root = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
    let mut cmd = std::process::Command::new(if as_root { "setpriv" } else { "bash" });
    if as_root {
        cmd.args([
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "bash",
        ]);
    }
    let out = cmd.arg("-c").arg(script).output().unwrap();
    std::fs::remove_dir_all(&bin).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        stderr.contains("installing bubblewrap needs root"),
        "stderr: {stderr}"
    );
}
