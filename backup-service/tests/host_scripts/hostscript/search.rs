//! search.sh on temp trees: what it finds byte-exact, what it skips, how it reports missing,
//! unreadable and oversized directories.

use std::collections::BTreeMap;

use backup_service::hostscript::*;

use crate::support::*;

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
