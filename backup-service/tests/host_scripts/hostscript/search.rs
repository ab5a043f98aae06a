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
fn search_counts_and_sizes_every_match_and_lists_the_first_in_byte_order() {
    let tree = Tree::new();
    let names: [&[u8]; 9] = [
        b"f5.log",
        b"f1.log",
        b"b/z.log",
        b"f0 space.log",
        b"F9.log",
        b"f3\n.log",
        b"f2.log",
        b"\xff.log",
        b"f4.log",
    ];
    for (i, rel) in names.iter().enumerate() {
        tree.file(rel, &b"x".repeat(i + 1));
    }
    let mut sorted: Vec<&[u8]> = names.to_vec();
    sorted.sort();
    for max in [1, 4, 6, 9, 100] {
        let (r, code) = search(&tree, &tree.dir(), max, As::Root);
        let listed = (max as usize).min(names.len());
        assert_eq!((code, r.status), (0, HostStatus::Ok));
        assert_eq!((r.found, r.total_bytes), (9, 45), "max {max}");
        assert_eq!(
            (r.files.len(), r.truncated),
            (listed, listed < 9),
            "max {max}"
        );
        let paths: Vec<Vec<u8>> = r.files.iter().map(|f| f.path.bytes.clone()).collect();
        let want: Vec<Vec<u8>> = sorted[..listed].iter().map(|rel| abs(&tree, rel)).collect();
        assert_eq!(paths, want, "max {max}");
        let again = search(&tree, &tree.dir(), max, As::Root).0;
        assert_eq!(again.files, r.files);
    }
}

#[test]
fn search_stops_before_the_job_log_cap_and_still_counts_everything() {
    let tree = Tree::new();
    let deep: Vec<String> = (0..14)
        .map(|i| format!("{i:02}{}", "d".repeat(240)))
        .collect();
    let deep = deep.join("/");
    for i in 0..1200 {
        tree.file(
            format!("{deep}/{i:04}{}.log", "f".repeat(190)).as_bytes(),
            b"ab",
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
    let line = ran.log.split(|b| *b == b'\n').nth(1).unwrap().len() + 1;
    assert!(ran.log.len() <= 4_000_300, "log of {} bytes", ran.log.len());
    assert_eq!((r.found, r.total_bytes), (1200, 2400));
    assert_eq!((r.truncated, r.files.len()), (true, 4_000_000 / line));
    let last = format!("{:04}", r.files.len() - 1);
    let tail = &r.files.last().unwrap().path.bytes;
    assert!(tail.ends_with(format!("/{last}{}.log", "f".repeat(190)).as_bytes()));
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
