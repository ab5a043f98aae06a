//! The harness for the host script tests: temp trees of nasty file names, running a script
//! with bash as JOB does (as root or as `nobody`), and the search and backup round trips.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use backup_service::hostscript::*;
use sha2::{Digest, Sha256};

pub(crate) const MTIME: i64 = 1_600_000_000;
pub(crate) const NAME: &str = "backup_20240514_120300_1f3c9a2b";

/// File names no shell or line-based parser survives; all end in `.log`.
pub(crate) const NASTY: [&[u8]; 16] = [
    b"plain.log",
    b"with space.log",
    b"tab\there.log",
    b"new\nline.log",
    b"quote'single\"double.log",
    b"$(touch pwned).log",
    b"`touch pwned`.log",
    b"back\\slash\\n.log",
    b"-rf --no-preserve-root.log",
    b"not-utf8-\xff\xfe.log",
    b"@bkb 1 end run-0001 ok files=0.log",
    b"deep/er/dir with space/x.log",
    b"sub/backup/not-a-previous-backup.log",
    b"\xe6\x97\xa5\xe5\xbf\x97.log",
    b".hidden.log",
    b"*?[glob].log",
];
/// Files a `.log` search must not find.
const OTHERS: [&[u8]; 5] = [
    b"other.txt",
    b"catalog",
    b"x.log.gz",
    b"log",
    b"backup/backup_20240101_000000_aaaa/old.log",
];

pub(crate) struct Tree {
    pub(crate) base: PathBuf,
}

impl Tree {
    pub(crate) fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let base = std::env::temp_dir().join(format!("bkb-hs-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("data")).unwrap();
        std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o755)).unwrap();
        Self { base }
    }
    pub(crate) fn dir(&self) -> String {
        self.base.join("data").to_str().unwrap().to_string()
    }
    pub(crate) fn path(&self, rel: &[u8]) -> PathBuf {
        self.base.join("data").join(OsStr::from_bytes(rel))
    }
    pub(crate) fn file(&self, rel: &[u8], content: &[u8]) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, content).unwrap();
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(MTIME as u64);
        std::fs::File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(at)
            .unwrap();
    }
    pub(crate) fn chmod(&self, rel: &[u8], mode: u32) {
        std::fs::set_permissions(self.path(rel), std::fs::Permissions::from_mode(mode)).unwrap();
    }
    /// The nasty files plus the ones to skip; returns what a `.log` search must find.
    pub(crate) fn nasty(&self) -> BTreeMap<Vec<u8>, Vec<u8>> {
        for rel in OTHERS {
            self.file(rel, b"skip me\n");
        }
        std::os::unix::fs::symlink("plain.log", self.path(b"link.log")).unwrap();
        NASTY
            .iter()
            .enumerate()
            .map(|(i, rel)| {
                let content = [*rel, &b"\n".repeat(i)].concat();
                self.file(rel, &content);
                (abs(self, rel), content)
            })
            .collect()
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = Command::new("chmod")
            .arg("-R")
            .arg("u+rwx")
            .arg(&self.base)
            .status();
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

pub(crate) fn abs(tree: &Tree, rel: &[u8]) -> Vec<u8> {
    [tree.dir().as_bytes(), b"/", rel].concat()
}

#[derive(Clone, Copy)]
pub(crate) enum As {
    Root,
    Nobody,
}

pub(crate) struct Ran {
    pub(crate) log: Vec<u8>,
    /// The exit code; `None` when a signal ended the script.
    pub(crate) code: Option<i32>,
}

fn works(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `bash -c "bash <script> <param> 2>&1"`, as the JOB agent (and bk-sim) runs a step; the
/// script exits on its own.
pub(crate) fn run(
    tree: &Tree,
    script: &str,
    param: &str,
    who: As,
    path_first: Option<&Path>,
) -> Ran {
    let ran = run_env(tree, script, param, who, path_first, &[]);
    assert!(ran.code.is_some(), "the script was killed");
    ran
}

/// [`run`] with extra environment variables, in a process group of its own (a shim may kill
/// the group), without requiring a normal exit.
pub(crate) fn run_env(
    tree: &Tree,
    script: &str,
    param: &str,
    who: As,
    path_first: Option<&Path>,
    env: &[(&str, &str)],
) -> Ran {
    let file = tree.base.join("script.sh");
    std::fs::write(&file, script).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut cmd = match who {
        As::Root => Command::new("bash"),
        As::Nobody if works("setpriv") => {
            let mut c = Command::new("setpriv");
            c.args([
                "--reuid=nobody",
                "--regid=nogroup",
                "--clear-groups",
                "bash",
            ]);
            c
        }
        As::Nobody if works("runuser") => {
            let mut c = Command::new("runuser");
            c.args(["-u", "nobody", "--", "bash"]);
            c
        }
        As::Nobody => panic!("permission tests need `setpriv` or `runuser` to run as nobody"),
    };
    cmd.arg("-c")
        .arg(format!("bash {} {param} 2>&1", file.display()));
    if let Some(dir) = path_first {
        let path = std::env::var("PATH").unwrap_or_default();
        cmd.env("PATH", format!("{}:{path}", dir.display()));
    }
    cmd.envs(env.iter().copied()).process_group(0);
    let out = cmd.output().expect("bash runs");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ran {
        log: out.stdout,
        code: out.status.code(),
    }
}

pub(crate) fn selection(dir: &str, max_files: u32) -> FileSelection {
    FileSelection::new(dir, &["log"], max_files).unwrap()
}

pub(crate) fn run_id(s: &str) -> RunId {
    RunId::new(s).unwrap()
}

pub(crate) fn search(tree: &Tree, dir: &str, max: u32, who: As) -> (SearchReport, i32) {
    let (sel, run_id) = (selection(dir, max), run_id("run-0001"));
    let ran = run(
        tree,
        SEARCH_SH,
        &search_script_param(&sel, false, &run_id),
        who,
        None,
    );
    (
        parse_search_output(&ran.log, &sel, &run_id).unwrap(),
        ran.code.unwrap(),
    )
}

pub(crate) fn backup(
    tree: &Tree,
    id: &str,
    who: As,
    path_first: Option<&Path>,
) -> (BackupReport, i32) {
    let sel = selection(&tree.dir(), 1000);
    backup_env(tree, &sel, id, who, path_first, &[])
}

/// Runs backup.sh of `sel` into [`NAME`] with `env` and parses its complete log.
pub(crate) fn backup_env(
    tree: &Tree,
    sel: &FileSelection,
    id: &str,
    who: As,
    path_first: Option<&Path>,
    env: &[(&str, &str)],
) -> (BackupReport, i32) {
    let id = run_id(id);
    let name = BackupDirName::parse(NAME).unwrap();
    let param = backup_script_param(sel, &name, &id);
    let ran = run_env(tree, BACKUP_SH, &param, who, path_first, env);
    let report = parse_backup_output(&ran.log, sel, &name, &id).unwrap();
    (report, ran.code.expect("backup.sh exited"))
}

/// Runs read.sh for page `page` of run `id`'s backup [`NAME`] and parses its log.
pub(crate) fn read_page(
    tree: &Tree,
    id: &str,
    page: u32,
    env: &[(&str, &str)],
) -> (PageReport, i32) {
    let (sel, id) = (selection(&tree.dir(), 1000), run_id(id));
    let name = BackupDirName::parse(NAME).unwrap();
    let param = read_script_param(&sel, &name, &id, page);
    let ran = run_env(tree, READ_SH, &param, As::Root, None, env);
    let report = parse_read_output(&ran.log, &sel, &name, &id, page).unwrap();
    (report, ran.code.expect("read.sh exited"))
}

/// A directory of PATH-first wrappers: `(tool, bash body)`.
pub(crate) fn shims(tree: &Tree, tools: &[(&str, &str)]) -> PathBuf {
    let dir = tree.base.join("shim");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    for (tool, body) in tools {
        let p = dir.join(tool);
        std::fs::write(&p, format!("#!/bin/bash\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

pub(crate) fn sha256_hex(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

pub(crate) fn found(r: &SearchReport) -> BTreeMap<Vec<u8>, (u64, i64)> {
    r.files
        .iter()
        .map(|f| (f.path.bytes.clone(), (f.size, f.mtime)))
        .collect()
}

/// Sum of the sizes of the copies made.
pub(crate) fn copied_bytes(files: &[BackedUpFile]) -> u64 {
    files
        .iter()
        .filter(|f| f.is_copied())
        .filter_map(|f| f.size)
        .sum()
}

pub(crate) fn assert_nothing_injected(tree: &Tree) {
    for p in [
        tree.path(b"pwned"),
        tree.base.join("pwned"),
        PathBuf::from("pwned"),
    ] {
        assert!(!p.exists(), "{} was created", p.display());
    }
}

/// The body of a PATH-first `tar` that removes `gone` before each archive it creates (a log
/// rotated away between find and tar) and counts those runs in the returned note, one line each.
pub(crate) fn vanishing_tar(tree: &Tree, gone: &[u8]) -> (String, PathBuf) {
    let note = tree.base.join("tar-creates");
    let gone = String::from_utf8(abs(tree, gone)).unwrap();
    let body = format!(
        "case \" $* \" in *\" -cf \"*) rm -f -- '{gone}'; echo x >>'{}' ;; esac\nPATH=${{PATH#*:}} exec tar \"$@\"",
        note.display()
    );
    (body, note)
}

/// The body of a PATH-first `cp` that copies and counts its calls in the returned note.
pub(crate) fn counting_cp(tree: &Tree) -> (String, PathBuf) {
    let note = tree.base.join("cp-calls");
    let body = format!(
        "echo x >>'{}'\nPATH=${{PATH#*:}} exec cp \"$@\"",
        note.display()
    );
    (body, note)
}

/// The lines of a note a shim wrote; 0 when it never ran.
pub(crate) fn note_lines(note: &Path) -> usize {
    std::fs::read(note).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count())
}

/// Runs backup.sh run `run-0001` over `tree` in batches of 3 with a PATH-first `sha256sum` that
/// kills the whole run at its third call: batch 1 hashes both sides (two calls), so the run dies
/// while batch 2 is in flight, its copies made but not recorded.
pub(crate) fn backup_killed_in_second_batch(
    tree: &Tree,
) -> (Ran, FileSelection, BackupDirName, RunId) {
    let count = tree.base.join("sha-calls");
    let sha = format!(
        "echo x >>'{}'\nif [ \"$(wc -l <'{}')\" -ge 3 ]; then kill -KILL 0; fi\nPATH=${{PATH#*:}} exec sha256sum \"$@\"",
        count.display(),
        count.display()
    );
    let shim = shims(tree, &[("sha256sum", &sha)]);
    let (sel, id) = (selection(&tree.dir(), 1000), run_id("run-0001"));
    let name = BackupDirName::parse(NAME).unwrap();
    let param = backup_script_param(&sel, &name, &id);
    let ran = run_env(
        tree,
        BACKUP_SH,
        &param,
        As::Root,
        Some(&shim),
        &[("BKB_BATCH_FILES", "3")],
    );
    (ran, sel, name, id)
}
