//! Runs the real host scripts with bash on temp trees the way JOB does (the param split by a
//! shell, stdout and stderr in one log) and checks what the parser makes of their output.
//! Permission tests drop to `nobody` with setpriv or runuser, as root alone reads everything.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use backup_service::hostscript::*;
use sha2::{Digest, Sha256};

const MTIME: i64 = 1_600_000_000;
const NAME: &str = "backup_20240514_120300_1f3c9a2b";

/// File names no shell or line-based parser survives; all end in `.log`.
const NASTY: [&[u8]; 16] = [
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

struct Tree {
    base: PathBuf,
}

impl Tree {
    fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let base = std::env::temp_dir().join(format!("bkb-hs-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("data")).unwrap();
        std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o755)).unwrap();
        Self { base }
    }
    fn dir(&self) -> String {
        self.base.join("data").to_str().unwrap().to_string()
    }
    fn path(&self, rel: &[u8]) -> PathBuf {
        self.base.join("data").join(OsStr::from_bytes(rel))
    }
    fn file(&self, rel: &[u8], content: &[u8]) {
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
    fn chmod(&self, rel: &[u8], mode: u32) {
        std::fs::set_permissions(self.path(rel), std::fs::Permissions::from_mode(mode)).unwrap();
    }
    /// The nasty files plus the ones to skip; returns what a `.log` search must find.
    fn nasty(&self) -> BTreeMap<Vec<u8>, Vec<u8>> {
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

fn abs(tree: &Tree, rel: &[u8]) -> Vec<u8> {
    [tree.dir().as_bytes(), b"/", rel].concat()
}

#[derive(Clone, Copy)]
enum As {
    Root,
    Nobody,
}

struct Ran {
    log: Vec<u8>,
    code: i32,
}

fn works(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `bash -c "bash <script> <param> 2>&1"`, as the JOB agent (and bk-sim) runs a step.
fn run(tree: &Tree, script: &str, param: &str, who: As, path_first: Option<&Path>) -> Ran {
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
    let out = cmd.output().expect("bash runs");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ran {
        log: out.stdout,
        code: out.status.code().expect("script exited"),
    }
}

fn selection(dir: &str, max_files: u32) -> FileSelection {
    FileSelection::new(dir, &["log"], max_files).unwrap()
}

fn run_id(s: &str) -> RunId {
    RunId::new(s).unwrap()
}

fn search(tree: &Tree, dir: &str, max: u32, who: As) -> (SearchReport, i32) {
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
        ran.code,
    )
}

fn backup(tree: &Tree, id: &str, who: As, path_first: Option<&Path>) -> (BackupReport, i32) {
    let (sel, id) = (selection(&tree.dir(), 1000), run_id(id));
    let name = BackupDirName::parse(NAME).unwrap();
    let param = backup_script_param(&sel, &name, &id);
    let ran = run(tree, BACKUP_SH, &param, who, path_first);
    (
        parse_backup_output(&ran.log, &sel, &name, &id).unwrap(),
        ran.code,
    )
}

fn sha256_hex(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

fn found(r: &SearchReport) -> BTreeMap<Vec<u8>, (u64, i64)> {
    r.files
        .iter()
        .map(|f| (f.path.bytes.clone(), (f.size, f.mtime)))
        .collect()
}

fn assert_nothing_injected(tree: &Tree) {
    for p in [
        tree.path(b"pwned"),
        tree.base.join("pwned"),
        PathBuf::from("pwned"),
    ] {
        assert!(!p.exists(), "{} was created", p.display());
    }
}

/// Named `hostscript::…` so `cargo test hostscript` runs these with the unit tests.
mod hostscript {
    use super::*;

    #[test]
    fn search_finds_nasty_file_names_byte_exact_and_skips_previous_backups() {
        let tree = Tree::new();
        let expected = tree.nasty();
        let (r, code) = search(&tree, &tree.dir(), 1000, As::Root);
        assert_eq!((code, r.status, r.truncated), (0, HostStatus::Ok, false));
        let want: BTreeMap<_, _> = expected
            .iter()
            .map(|(p, c)| (p.clone(), (c.len() as u64, MTIME)))
            .collect();
        assert_eq!(found(&r), want);
        assert_eq!(
            r.total_bytes,
            expected.values().map(|c| c.len() as u64).sum::<u64>()
        );
        assert_eq!((r.warnings.len(), r.error.as_deref()), (0, None));
        assert_nothing_injected(&tree);
    }

    #[test]
    fn search_includes_previous_backups_only_when_asked() {
        let tree = Tree::new();
        tree.nasty();
        let (sel, run_id) = (selection(&tree.dir(), 1000), run_id("run-0001"));
        let ran = run(
            &tree,
            SEARCH_SH,
            &search_script_param(&sel, true, &run_id),
            As::Root,
            None,
        );
        let r = parse_search_output(&ran.log, &sel, &run_id).unwrap();
        let old = abs(&tree, b"backup/backup_20240101_000000_aaaa/old.log");
        assert_eq!(r.files.len(), NASTY.len() + 1);
        assert!(r.files.iter().any(|f| f.path.bytes == old));
    }

    #[test]
    fn backup_copies_nasty_file_names_byte_exact_with_sha256_and_mtime() {
        let tree = Tree::new();
        let expected = tree.nasty();
        let (r, code) = backup(&tree, "run-0001", As::Root, None);
        assert_eq!(
            (code, r.status, r.resumed, r.truncated),
            (0, HostStatus::Ok, false, false)
        );
        assert_eq!(
            r.backup_dir.bytes,
            abs(&tree, format!("backup/{NAME}").as_bytes())
        );
        assert_eq!(r.files.len(), expected.len());
        for f in &r.files {
            let content = &expected[&f.source.bytes];
            let rel = &f.source.bytes[tree.dir().len() + 1..];
            assert_eq!(
                f.backup.bytes,
                [&r.backup_dir.bytes[..], b"/", rel].concat()
            );
            assert_eq!(f.status, CopyStatus::Copied, "{}", f.source.display);
            let copy_path = Path::new(OsStr::from_bytes(&f.backup.bytes));
            assert_eq!(&std::fs::read(copy_path).unwrap(), content);
            assert_eq!(f.sha256.as_deref(), Some(sha256_hex(content).as_str()));
            assert_eq!((f.size, f.mtime), (Some(content.len() as u64), Some(MTIME)));
            let modified = std::fs::metadata(copy_path).unwrap().modified().unwrap();
            assert_eq!(
                modified,
                SystemTime::UNIX_EPOCH + Duration::from_secs(MTIME as u64)
            );
        }
        assert_eq!(
            r.copied_bytes,
            expected.values().map(|c| c.len() as u64).sum::<u64>()
        );
        assert_nothing_injected(&tree);
    }

    #[test]
    fn backup_refuses_a_backup_dir_of_another_run_and_resumes_its_own() {
        let tree = Tree::new();
        tree.file(b"a.log", b"first\n");
        assert_eq!(backup(&tree, "run-0001", As::Root, None).1, 0);
        tree.file(b"a.log", b"second\n");
        let (r, code) = backup(&tree, "run-0002", As::Root, None);
        assert_eq!(
            (code, r.status, r.files.len()),
            (5, HostStatus::BackupExists, 0)
        );
        let copy = tree.path(format!("backup/{NAME}/a.log").as_bytes());
        assert_eq!(std::fs::read(&copy).unwrap(), b"first\n");

        let (r, code) = backup(&tree, "run-0001", As::Root, None);
        assert_eq!((code, r.status, r.resumed), (0, HostStatus::Ok, true));
        assert_eq!(
            r.files[0].sha256.as_deref(),
            Some(sha256_hex(b"second\n").as_str())
        );
    }

    #[test]
    fn backup_refuses_a_foreign_directory_of_the_same_name_and_leaves_no_claim() {
        let tree = Tree::new();
        tree.file(b"a.log", b"x");
        tree.file(format!("backup/{NAME}/keep.me").as_bytes(), b"theirs");
        let (r, code) = backup(&tree, "run-0001", As::Root, None);
        assert_eq!(
            (code, r.status, r.files.len()),
            (5, HostStatus::BackupExists, 0)
        );
        assert!(!tree.path(format!("backup/.{NAME}.run").as_bytes()).exists());
        assert!(
            !tree
                .path(format!("backup/{NAME}/a.log").as_bytes())
                .exists()
        );
    }

    #[test]
    fn search_reports_missing_dir_not_a_directory_and_no_files_distinctly() {
        let tree = Tree::new();
        tree.file(b"other.txt", b"x");
        let missing = format!("{}/missing", tree.dir());
        let (r, code) = search(&tree, &missing, 10, As::Root);
        assert_eq!((code, r.status), (3, HostStatus::DirMissing));
        assert!(r.error.unwrap().contains("No such file or directory"));
        let file = format!("{}/other.txt", tree.dir());
        assert_eq!(
            search(&tree, &file, 10, As::Root).0.status,
            HostStatus::NotADirectory
        );
        let (r, code) = search(&tree, &tree.dir(), 10, As::Root);
        assert_eq!((code, r.status, r.files.len()), (0, HostStatus::NoFiles, 0));
    }

    #[test]
    fn backup_with_no_files_reports_no_files_and_creates_nothing() {
        let tree = Tree::new();
        tree.file(b"other.txt", b"x");
        let (r, code) = backup(&tree, "run-0001", As::Root, None);
        assert_eq!((code, r.status, r.files.len()), (0, HostStatus::NoFiles, 0));
        assert!(!tree.path(b"backup").exists());
    }

    #[test]
    fn search_reports_an_unreadable_directory_as_permission_denied() {
        let tree = Tree::new();
        tree.file(b"a.log", b"x");
        for mode in [0o000, 0o644, 0o311] {
            tree.chmod(b"", mode);
            let (r, code) = search(&tree, &tree.dir(), 10, As::Nobody);
            assert_eq!(
                (code, r.status),
                (4, HostStatus::PermissionDenied),
                "mode {mode:o}"
            );
        }
    }

    #[test]
    fn search_still_reports_its_result_when_a_subdirectory_is_unreadable() {
        let tree = Tree::new();
        tree.file(b"a.log", b"x");
        tree.file(b"private/secret.log", b"y");
        tree.chmod(b"private", 0o000);
        let (r, code) = search(&tree, &tree.dir(), 10, As::Nobody);
        assert_eq!((code, r.status), (0, HostStatus::Ok));
        assert_eq!(
            found(&r).into_keys().collect::<Vec<_>>(),
            [abs(&tree, b"a.log")]
        );
        let want = Warning {
            kind: WarningKind::UnreadableDir,
            path: Some(HostPath::from_bytes(abs(&tree, b"private"))),
            detail: None,
        };
        assert_eq!(r.warnings, [want]);
    }

    #[test]
    fn search_truncates_at_the_per_host_limit() {
        let tree = Tree::new();
        for i in 0..7 {
            tree.file(format!("f{i}.log").as_bytes(), b"x");
        }
        let (r, code) = search(&tree, &tree.dir(), 5, As::Root);
        assert_eq!(
            (code, r.status, r.truncated, r.files.len()),
            (0, HostStatus::Ok, true, 5)
        );
        assert_eq!(found(&r).len(), 5);
        let (r, _) = search(&tree, &tree.dir(), 7, As::Root);
        assert_eq!((r.truncated, r.files.len()), (false, 7));
    }

    #[test]
    fn search_stops_before_the_job_log_cap_and_says_truncated() {
        let tree = Tree::new();
        let deep: Vec<String> = (0..14)
            .map(|i| format!("{i:02}{}", "d".repeat(240)))
            .collect();
        let deep = deep.join("/");
        for i in 0..900 {
            tree.file(
                format!("{deep}/{i:04}{}.log", "f".repeat(190)).as_bytes(),
                b"",
            );
        }
        let (sel, run_id) = (selection(&tree.dir(), 100_000), run_id("run-0001"));
        let ran = run(
            &tree,
            SEARCH_SH,
            &search_script_param(&sel, false, &run_id),
            As::Root,
            None,
        );
        let r = parse_search_output(&ran.log, &sel, &run_id).unwrap();
        assert!(ran.log.len() <= 4_000_300, "log of {} bytes", ran.log.len());
        assert!(r.truncated);
        assert!(
            (700..900).contains(&r.files.len()),
            "{} files",
            r.files.len()
        );
    }

    #[test]
    fn a_log_cut_anywhere_after_its_header_is_detected_as_truncated() {
        let tree = Tree::new();
        tree.nasty();
        let (sel, run_id) = (selection(&tree.dir(), 1000), run_id("run-0001"));
        let log = run(
            &tree,
            SEARCH_SH,
            &search_script_param(&sel, false, &run_id),
            As::Root,
            None,
        )
        .log;
        let ends: Vec<usize> = (0..log.len()).filter(|&i| log[i] == b'\n').collect();
        assert_eq!(ends.len(), NASTY.len() + 2);
        for (k, &end) in ends.iter().enumerate().take(ends.len() - 1) {
            for cut in [end + 1, end + 4] {
                let got = parse_search_output(&log[..cut], &sel, &run_id).unwrap_err();
                assert_eq!(
                    got,
                    HostScriptError::Truncated { records: k },
                    "cut at {cut}"
                );
            }
        }
    }

    #[test]
    fn backup_reports_a_source_it_cannot_read_and_copies_the_rest() {
        let tree = Tree::new();
        tree.file(b"a.log", b"readable");
        tree.file(b"secret.log", b"root only");
        tree.chmod(b"secret.log", 0o600);
        tree.chmod(b"", 0o777);
        let (r, code) = backup(&tree, "run-0001", As::Nobody, None);
        assert_eq!((code, r.status), (6, HostStatus::Ok));
        let status = |rel: &[u8]| {
            let f = r
                .files
                .iter()
                .find(|f| f.source.bytes == abs(&tree, rel))
                .unwrap();
            (
                f.status,
                Path::new(OsStr::from_bytes(&f.backup.bytes)).exists(),
            )
        };
        assert_eq!(status(b"a.log"), (CopyStatus::Copied, true));
        let denied = CopyStatus::Failed(FailReason::PermissionDenied);
        assert_eq!(status(b"secret.log"), (denied, false));
        assert_eq!(r.copied_bytes, 8);
    }

    #[test]
    fn backup_reports_disk_full_and_vanished_files_and_removes_partial_copies() {
        let tree = Tree::new();
        tree.file(b"a.log", b"a");
        tree.file(b"b/c.log", b"c");
        let shim = tree.base.join("shim");
        std::fs::create_dir(&shim).unwrap();
        let cp = shim.join("cp");
        for (id, body, want, code) in [
            (
                "run-full",
                r#"echo "cp: error writing '${@: -1}': No space left on device" >&2; : > "${@: -1}""#,
                CopyStatus::Failed(FailReason::DiskFull),
                6,
            ),
            (
                "run-gone",
                r#"rm -f -- "${@: -2:1}"; echo "cp: cannot stat: No such file or directory" >&2"#,
                CopyStatus::Vanished,
                0,
            ),
        ] {
            std::fs::write(&cp, format!("#!/bin/bash\n{body}\nexit 1\n")).unwrap();
            std::fs::set_permissions(&cp, std::fs::Permissions::from_mode(0o755)).unwrap();
            let _ = std::fs::remove_dir_all(tree.path(b"backup"));
            let (r, got_code) = backup(&tree, id, As::Root, Some(&shim));
            assert_eq!(
                (got_code, r.status, r.files.len()),
                (code, HostStatus::Ok, 2)
            );
            for f in &r.files {
                assert_eq!((f.status, f.size, f.sha256.as_deref()), (want, None, None));
                assert!(!Path::new(OsStr::from_bytes(&f.backup.bytes)).exists());
            }
            let details: Vec<Option<&str>> = r.files.iter().map(|f| f.detail.as_deref()).collect();
            if want == CopyStatus::Vanished {
                assert_eq!(details, [None, None]);
            } else {
                assert!(details[0].unwrap().ends_with("': No space left on device"));
                let skipped = "not attempted: an earlier copy found the disk full";
                assert_eq!(details[1], Some(skipped));
            }
        }
    }

    #[test]
    fn plan_mode_reads_the_same_arguments_from_the_bkb_args_variable() {
        let tree = Tree::new();
        let expected = tree.nasty();
        let (sel, run_id) = (selection(&tree.dir(), 1000), run_id("run-0001"));
        let param = search_script_param(&sel, false, &run_id);
        let (shebang, rest) = SEARCH_SH.split_once('\n').unwrap();
        let planned = format!("{shebang}\n{PLAN_ARGS_VARIABLE}='{param}'\n{rest}");
        let ran = run(&tree, &planned, "", As::Root, None);
        let r = parse_search_output(&ran.log, &sel, &run_id).unwrap();
        assert_eq!((ran.code, r.files.len()), (0, expected.len()));
    }

    #[test]
    fn a_directory_full_of_shell_syntax_is_searched_literally() {
        let tree = Tree::new();
        let odd = b"$(touch pwned); `touch pwned` 'x' \"y\" \\ *";
        tree.file(&[&odd[..], b"/in.log"].concat(), b"z");
        let dir = String::from_utf8(abs(&tree, odd)).unwrap();
        let (r, code) = search(&tree, &dir, 10, As::Root);
        assert_eq!((code, r.files.len()), (0, 1));
        assert_eq!(r.files[0].path.bytes, [dir.as_bytes(), b"/in.log"].concat());
        assert_nothing_injected(&tree);
    }

    #[test]
    fn scripts_refuse_arguments_that_are_not_their_protocol() {
        let tree = Tree::new();
        let (sel, run_id) = (selection(&tree.dir(), 10), run_id("run-0001"));
        for param in ["/var/log .log", "", "MQ== bm90IGVub3VnaA=="] {
            let ran = run(&tree, SEARCH_SH, param, As::Root, None);
            let r = parse_search_output(&ran.log, &sel, &run_id).unwrap();
            assert_eq!(
                (ran.code, r.status),
                (2, HostStatus::ScriptError),
                "{param:?}"
            );
            assert!(r.error.is_some());
        }
    }

    #[test]
    fn backup_marks_a_file_written_during_its_copy_as_changed_and_keeps_the_copy() {
        let tree = Tree::new();
        tree.file(b"live.log", b"line 1\n");
        let shim = tree.base.join("shim");
        std::fs::create_dir(&shim).unwrap();
        let cp = shim.join("cp");
        let body = r#"PATH=${PATH#*:} cp "$@" && echo "line 2" >>"${@: -2:1}""#;
        std::fs::write(&cp, format!("#!/bin/bash\n{body}\n")).unwrap();
        std::fs::set_permissions(&cp, std::fs::Permissions::from_mode(0o755)).unwrap();
        let (r, code) = backup(&tree, "run-0001", As::Root, Some(&shim));
        assert_eq!((code, r.status, r.files.len()), (0, HostStatus::Ok, 1));
        let f = &r.files[0];
        assert_eq!((f.status, f.size), (CopyStatus::Changed, Some(7)));
        assert_eq!(f.sha256.as_deref(), Some(sha256_hex(b"line 1\n").as_str()));
        let copy = std::fs::read(OsStr::from_bytes(&f.backup.bytes)).unwrap();
        assert_eq!(copy, b"line 1\n");
        assert_eq!(
            std::fs::read(tree.path(b"live.log")).unwrap(),
            b"line 1\nline 2\n"
        );
    }

    #[test]
    fn a_cut_backup_log_still_proves_the_copies_made_before_the_cut() {
        let tree = Tree::new();
        let expected = tree.nasty();
        let (sel, id) = (selection(&tree.dir(), 1000), run_id("run-0001"));
        let name = BackupDirName::parse(NAME).unwrap();
        let log = run(
            &tree,
            BACKUP_SH,
            &backup_script_param(&sel, &name, &id),
            As::Root,
            None,
        )
        .log;
        let ends: Vec<usize> = (0..log.len()).filter(|&i| log[i] == b'\n').collect();
        let cut = &log[..ends[5] + 9];
        let strict = parse_backup_output(cut, &sel, &name, &id).unwrap_err();
        assert_eq!(strict, HostScriptError::Truncated { records: 5 });
        let files = parse_partial_backup_output(cut, &sel, &name, &id).unwrap();
        assert_eq!(files.len(), 5);
        for f in &files {
            let copy = std::fs::read(OsStr::from_bytes(&f.backup.bytes)).unwrap();
            assert_eq!(&copy, &expected[&f.source.bytes]);
            assert_eq!(f.sha256.as_deref(), Some(sha256_hex(&copy).as_str()));
        }
        let all = parse_partial_backup_output(&log, &sel, &name, &id).unwrap();
        assert_eq!(all.len(), expected.len());
        let mut garbled = log[..ends[5] + 1].to_vec();
        garbled.extend_from_slice(b"not a record\n");
        let err = parse_partial_backup_output(&garbled, &sel, &name, &id).unwrap_err();
        assert_eq!(err, HostScriptError::Garbage { line: 7 });
    }
}
