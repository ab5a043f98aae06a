//! backup.sh with names that travel as Base64 (spaces, Chinese, newlines, backslashes, invalid
//! UTF-8): copied in batches like safe names, with the same records, fallback and in-flight
//! mark.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use backup_service::hostscript::*;

use crate::support::*;

/// `n` unsafe relative names: Chinese with spaces, newlines (tabs without `newlines`),
/// backslashes, invalid UTF-8, and long Chinese names in spaced subdirectories (their Base64
/// spans several wrapped lines).
fn unsafe_names(n: usize, newlines: bool) -> Vec<Vec<u8>> {
    let sep = if newlines { "\n" } else { "\t" };
    (0..n)
        .map(|i| match i % 5 {
            0 => format!("日志 {i}.log").into_bytes(),
            1 => format!("new{sep}line {i}.log").into_bytes(),
            2 => format!("back\\slash\\n {i}.log").into_bytes(),
            3 => format!("目录 {}/{}{i}.log", i % 7, "长".repeat(60)).into_bytes(),
            _ => [&b"not-utf8-\xff\xfe "[..], format!("{i}.log").as_bytes()].concat(),
        })
        .collect()
}

/// Writes each name with its own content; returns absolute path -> content.
fn write_all(tree: &Tree, names: &[Vec<u8>]) -> BTreeMap<Vec<u8>, Vec<u8>> {
    names
        .iter()
        .enumerate()
        .map(|(i, rel)| {
            let content = [&rel[..], b"\n", &b"x".repeat(i)].concat();
            tree.file(rel, &content);
            (abs(tree, rel), content)
        })
        .collect()
}

/// The body of a PATH-first `cp` that notes each call and fails, and the note: the
/// file-by-file path never ran when the note is missing.
fn forbidden_cp(tree: &Tree) -> (String, PathBuf) {
    let note = tree.base.join("cp-called");
    (format!("echo called >>'{}'; exit 1", note.display()), note)
}

fn manifest(tree: &Tree) -> Vec<u8> {
    std::fs::read(tree.path(format!("backup/.{NAME}.manifest").as_bytes())).unwrap()
}

#[test]
fn a_backup_of_hundreds_of_chinese_spaced_newline_and_backslash_names_copies_each_in_batches_byte_exact()
 {
    // With a newline in some name the list is read NUL by NUL, without one line by line.
    for newlines in [true, false] {
        let tree = Tree::new();
        let mut expected = if newlines {
            tree.nasty()
        } else {
            BTreeMap::new()
        };
        expected.extend(write_all(&tree, &unsafe_names(300, newlines)));
        let (cp, cp_called) = forbidden_cp(&tree);
        let shim = shims(&tree, &[("cp", &cp)]);
        let sel = selection(&tree.dir(), 1000);
        let env = [("BKB_BATCH_FILES", "64")];
        let (r, code) = backup_env(&tree, &sel, "run-0001", As::Root, Some(&shim), &env);
        assert!(!cp_called.exists(), "a file was copied one by one");
        assert_eq!((code, r.status, r.pages), (0, HostStatus::Ok, 1));
        let n = expected.len() as u64;
        let want = if newlines { 316 } else { 300 };
        assert_eq!((n, r.found, r.manifest_files), (want, n, n));
        let mut seen = BTreeMap::new();
        for f in &r.files {
            let content = &expected[&f.source.bytes];
            assert_eq!(f.status, CopyStatus::Copied, "{}", f.source.display);
            let rel = &f.source.bytes[tree.dir().len() + 1..];
            assert_eq!(
                f.backup.bytes,
                [&r.backup_dir.bytes[..], b"/", rel].concat()
            );
            let copy = Path::new(OsStr::from_bytes(&f.backup.bytes));
            assert_eq!(&std::fs::read(copy).unwrap(), content);
            assert_eq!(f.sha256.as_deref(), Some(sha256_hex(content).as_str()));
            assert_eq!((f.size, f.mtime), (Some(content.len() as u64), Some(MTIME)));
            let meta = std::fs::metadata(copy).unwrap();
            assert_eq!((meta.mtime(), f.mode), (MTIME, Some(0o100644)));
            assert!(seen.insert(f.source.bytes.clone(), ()).is_none());
        }
        assert_eq!(seen.len(), expected.len());
        assert!(
            !tree
                .path(format!("backup/.{NAME}.inflight").as_bytes())
                .exists()
        );
        assert_nothing_injected(&tree);
    }
}

#[test]
fn the_batch_records_of_unsafe_names_are_byte_for_byte_the_records_of_the_file_by_file_path() {
    let tree = Tree::new();
    tree.nasty();
    write_all(&tree, &unsafe_names(40, true));
    tree.chmod("日志 0.log".as_bytes(), 0o600);
    tree.chmod(b"new\nline 1.log", 0o751);
    let sel = selection(&tree.dir(), 1000);
    let env = [("BKB_BATCH_FILES", "16")];
    // Every tar fails before copying: every batch is redone file by file with cp.
    let no_tar = shims(&tree, &[("tar", "exit 2")]);
    let (r, code) = backup_env(&tree, &sel, "run-0001", As::Root, Some(&no_tar), &env);
    assert_eq!((code, r.status, r.manifest_files), (0, HostStatus::Ok, 56));
    assert!(r.files.iter().all(|f| f.status == CopyStatus::Copied));
    let one_by_one = manifest(&tree);
    std::fs::remove_dir_all(tree.path(b"backup")).unwrap();

    let (cp, cp_called) = forbidden_cp(&tree);
    let shim = shims(&tree, &[("cp", &cp)]);
    let (r, code) = backup_env(&tree, &sel, "run-0001", As::Root, Some(&shim), &env);
    assert!(!cp_called.exists(), "a file was copied one by one");
    assert_eq!((code, r.status, r.manifest_files), (0, HostStatus::Ok, 56));
    let batched = manifest(&tree);
    assert_eq!(
        String::from_utf8(batched).unwrap(),
        String::from_utf8(one_by_one).unwrap()
    );
    let mode = |rel: &[u8]| {
        r.files
            .iter()
            .find(|f| f.source.bytes == abs(&tree, rel))
            .unwrap()
            .mode
    };
    assert_eq!(mode("日志 0.log".as_bytes()), Some(0o100600));
    assert_eq!(mode(b"new\nline 1.log"), Some(0o100751));
}

#[test]
fn a_batch_of_unsafe_names_whose_tar_fails_is_redone_file_by_file_with_exact_reasons() {
    let tree = Tree::new();
    let names: [&[u8]; 3] = [b"a 1.log", "b 日志/c.log".as_bytes(), b"d\n.log"];
    for rel in names {
        tree.file(rel, rel);
    }
    // Every batch's tar copies the batch, then fails: the copies are removed and each file is
    // redone alone.
    let tar = r#"PATH=${PATH#*:} tar "$@"
case " $* " in *" -xpf "*) echo "tar: Cannot write: No space left on device" >&2; exit 2 ;; esac"#;
    for (id, cp, want, code) in [
        (
            "run-full",
            r#"echo "cp: error writing '${@: -1}': No space left on device" >&2; : > "${@: -1}"; exit 1"#,
            CopyStatus::Failed(FailReason::DiskFull),
            6,
        ),
        (
            "run-gone",
            r#"rm -f -- "${@: -2:1}"; echo "cp: cannot stat: No such file or directory" >&2; exit 1"#,
            CopyStatus::Vanished,
            0,
        ),
        (
            "run-fine",
            r#"PATH=${PATH#*:} cp "$@""#,
            CopyStatus::Copied,
            0,
        ),
    ] {
        for rel in names {
            tree.file(rel, rel);
        }
        let shim = shims(&tree, &[("tar", tar), ("cp", cp)]);
        let _ = std::fs::remove_dir_all(tree.path(b"backup"));
        let sel = selection(&tree.dir(), 1000);
        let env = [("BKB_BATCH_FILES", "2")];
        let (r, got_code) = backup_env(&tree, &sel, id, As::Root, Some(&shim), &env);
        assert_eq!(
            (got_code, r.status, r.files.len(), r.manifest_files),
            (code, HostStatus::Ok, 3, 3),
            "{id}"
        );
        let sources: Vec<Vec<u8>> = r.files.iter().map(|f| f.source.bytes.clone()).collect();
        let want_sources: Vec<Vec<u8>> = names.iter().map(|rel| abs(&tree, rel)).collect();
        assert_eq!(sources, want_sources, "{id}: in path order");
        for (f, rel) in r.files.iter().zip(names) {
            let copy = Path::new(OsStr::from_bytes(&f.backup.bytes));
            if want == CopyStatus::Copied {
                assert_eq!(f.status, want, "{id}");
                assert_eq!(std::fs::read(copy).unwrap(), rel);
                assert_eq!(f.sha256.as_deref(), Some(sha256_hex(rel).as_str()));
            } else {
                assert_eq!((f.status, f.size, f.sha256.as_deref()), (want, None, None));
                assert!(!copy.exists(), "{id}: {}", f.backup.display);
            }
        }
        let details: Vec<Option<&str>> = r.files.iter().map(|f| f.detail.as_deref()).collect();
        if want == CopyStatus::Failed(FailReason::DiskFull) {
            assert!(details[0].unwrap().ends_with("': No space left on device"));
            // "b 日志/c.log" later in the same batch, "d\n.log" in the next: neither is attempted.
            let skipped = "not attempted: an earlier copy found the disk full";
            assert_eq!(details[1..], [Some(skipped), Some(skipped)]);
        } else {
            assert_eq!(details, [None, None, None], "{id}");
        }
    }
}

#[test]
fn an_unsafe_name_written_during_its_batch_copy_is_marked_changed_and_keeps_the_copy() {
    let tree = Tree::new();
    tree.file("在线 日志.log".as_bytes(), b"line 1\n");
    tree.file("安静 日志.log".as_bytes(), b"still\n");
    // The source is written after tar read it and before it is hashed again.
    let tar = r#"PATH=${PATH#*:} tar "$@"; rc=$?
case " $* " in *" -cf "*) echo "line 2" >>"在线 日志.log" ;; esac
exit $rc"#;
    let (cp, cp_called) = forbidden_cp(&tree);
    let shim = shims(&tree, &[("tar", tar), ("cp", &cp)]);
    let (r, code) = backup(&tree, "run-0001", As::Root, Some(&shim));
    assert!(!cp_called.exists(), "a file was copied one by one");
    assert_eq!((code, r.status, r.files.len()), (0, HostStatus::Ok, 2));
    let status: Vec<CopyStatus> = r.files.iter().map(|f| f.status).collect();
    // In byte order 在 (e5 9c a8) comes before 安 (e5 ae 89).
    assert_eq!(status, [CopyStatus::Changed, CopyStatus::Copied]);
    let f = &r.files[0];
    assert_eq!(f.source.bytes, abs(&tree, "在线 日志.log".as_bytes()));
    assert_eq!(f.sha256.as_deref(), Some(sha256_hex(b"line 1\n").as_str()));
    let copy = std::fs::read(OsStr::from_bytes(&f.backup.bytes)).unwrap();
    assert_eq!(copy, b"line 1\n");
}

#[test]
fn a_backup_killed_mid_batch_of_unsafe_names_leaves_no_unrecorded_copy_after_read() {
    let tree = Tree::new();
    let rel = |i: u32| format!("日志 {i}\n.log").into_bytes();
    for i in 0..7 {
        tree.file(&rel(i), format!("{i}\n").as_bytes());
    }
    let (ran, ..) = backup_killed_in_second_batch(&tree);
    assert_eq!(ran.code, None, "the run was killed");
    let copy = |i: u32| tree.path(&[format!("backup/{NAME}/").as_bytes(), &rel(i)].concat());
    assert!(
        (0..6).all(|i| copy(i).exists()),
        "batches 1 and 2 were copied"
    );

    let (p, code) = read_page(&tree, "run-0001", 0, &[]);
    assert_eq!((code, p.status), (0, ReadStatus::Ok));
    assert_eq!((p.complete, p.settled), (false, 3));
    assert_eq!((p.found, p.manifest_files, p.files.len()), (7, 3, 3));
    let sources: Vec<Vec<u8>> = p.files.iter().map(|f| f.source.bytes.clone()).collect();
    let want: Vec<Vec<u8>> = (0..3).map(|i| abs(&tree, &rel(i))).collect();
    assert_eq!(sources, want);
    assert_eq!(
        (0..7).map(|i| copy(i).exists()).collect::<Vec<_>>(),
        [true, true, true, false, false, false, false]
    );
}

#[test]
fn an_unsafe_name_rotated_away_before_tar_costs_a_few_small_batches_and_a_handful_of_single_copies()
{
    let tree = Tree::new();
    let names = unsafe_names(200, true);
    let expected = write_all(&tree, &names);
    let gone = abs(&tree, "日志 100.log".as_bytes());
    assert!(expected.contains_key(&gone));
    let (tar, tar_runs) = vanishing_tar(&tree, "日志 100.log".as_bytes());
    let (cp, cp_calls) = counting_cp(&tree);
    let shim = shims(&tree, &[("tar", &tar), ("cp", &cp)]);
    let (r, code) = backup(&tree, "run-0001", As::Root, Some(&shim));
    assert_eq!(
        (code, r.status, r.found, r.manifest_files, r.files.len()),
        (0, HostStatus::Ok, 200, 200, 200)
    );
    // A part of 8 files or fewer goes one by one (the vanished file never reaches cp), after at
    // most two batches per halving of 200; the whole batch one by one would be 199 copies.
    let calls = note_lines(&cp_calls);
    assert!((1..=7).contains(&calls), "{calls} single copies");
    assert_eq!(
        note_lines(&tar_runs),
        11,
        "one batch, then two parts per halving"
    );
    let sources: Vec<&Vec<u8>> = r.files.iter().map(|f| &f.source.bytes).collect();
    assert_eq!(
        sources,
        expected.keys().collect::<Vec<_>>(),
        "in path order"
    );
    for f in &r.files {
        let copy = Path::new(OsStr::from_bytes(&f.backup.bytes));
        if f.source.bytes == gone {
            let got = (f.status, f.size, f.detail.as_deref());
            assert_eq!(got, (CopyStatus::Vanished, None, None));
            assert!(!copy.exists(), "{}", f.backup.display);
            continue;
        }
        let content = &expected[&f.source.bytes];
        assert_eq!(f.status, CopyStatus::Copied, "{}", f.source.display);
        assert_eq!(&std::fs::read(copy).unwrap(), content);
        assert_eq!(f.sha256.as_deref(), Some(sha256_hex(content).as_str()));
        assert_eq!((f.size, f.mtime), (Some(content.len() as u64), Some(MTIME)));
    }
    assert!(
        !tree
            .path(format!("backup/.{NAME}.inflight").as_bytes())
            .exists()
    );
    assert_nothing_injected(&tree);
}
