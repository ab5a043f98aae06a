//! The manifest protocol 2 adds: a backup of any size read back page by page with read.sh, a
//! backup killed mid-batch settled by the next read, and read.sh's refusals.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use backup_service::hostscript::*;

use crate::support::*;

#[test]
fn a_backup_of_12000_long_names_reads_back_every_file_exactly_once_across_pages() {
    let tree = Tree::new();
    let mut expected = BTreeMap::new();
    for i in 0..12_000u32 {
        // 250-byte names; every 1000th has a space, so it travels as Base64 by the slow path.
        let sep = if i % 1000 == 7 { " " } else { "_" };
        let rel = format!("d{}/{i:05}{sep}{}.log", i % 10, "n".repeat(240));
        let content = format!("file {i}\n");
        tree.file(rel.as_bytes(), content.as_bytes());
        expected.insert(abs(&tree, rel.as_bytes()), content.into_bytes());
    }
    let env = [("BKB_PAGE_BYTES", "1000000")];
    let sel = selection(&tree.dir(), 1000);
    let (r, code) = backup_env(&tree, &sel, "run-0001", As::Root, None, &env);
    assert_eq!((code, r.status), (0, HostStatus::Ok));
    assert_eq!((r.found, r.manifest_files), (12_000, 12_000));
    assert!(r.pages >= 5, "{} pages", r.pages);
    let mut seen = BTreeMap::new();
    let mut add = |files: Vec<BackedUpFile>| {
        for f in files {
            assert!(
                seen.insert(f.source.bytes.clone(), f).is_none(),
                "read twice"
            );
        }
    };
    add(r.files);
    for page in 1..r.pages {
        let (p, code) = read_page(&tree, "run-0001", page, &env);
        assert_eq!(
            (code, p.status, p.complete, p.settled),
            (0, ReadStatus::Ok, true, 0)
        );
        assert_eq!(
            (p.found, p.manifest_files, p.pages),
            (12_000, 12_000, r.pages)
        );
        add(p.files);
    }
    assert_eq!(seen.len(), 12_000);
    for (source, f) in &seen {
        let content = &expected[source];
        assert_eq!(f.status, CopyStatus::Copied);
        assert_eq!(f.sha256.as_deref(), Some(sha256_hex(content).as_str()));
        let copy = std::fs::read(OsStr::from_bytes(&f.backup.bytes)).unwrap();
        assert_eq!(&copy, content);
    }
    let (past, code) = read_page(&tree, "run-0001", r.pages, &env);
    assert_eq!(
        (code, past.status, past.files.len()),
        (7, ReadStatus::BadPage, 0)
    );
}

#[test]
fn a_backup_killed_mid_batch_leaves_no_unrecorded_copy_after_read() {
    let tree = Tree::new();
    for i in 0..7 {
        tree.file(format!("f{i}.log").as_bytes(), format!("{i}\n").as_bytes());
    }
    let (ran, sel, name, id) = backup_killed_in_second_batch(&tree);
    assert_eq!(ran.code, None, "the run was killed");
    let err = parse_backup_output(&ran.log, &sel, &name, &id).unwrap_err();
    assert_eq!(err, HostScriptError::Truncated { records: 0 });
    let copy = |i: u32| tree.path(format!("backup/{NAME}/f{i}.log").as_bytes());
    assert!(
        (0..6).all(|i| copy(i).exists()),
        "batches 1 and 2 were copied"
    );

    let (p, code) = read_page(&tree, "run-0001", 0, &[]);
    assert_eq!((code, p.status), (0, ReadStatus::Ok));
    assert_eq!((p.complete, p.settled), (false, 3));
    assert_eq!(
        (p.found, p.manifest_files, p.pages, p.files.len()),
        (7, 3, 1, 3)
    );
    let sources: Vec<Vec<u8>> = p.files.iter().map(|f| f.source.bytes.clone()).collect();
    let want: Vec<Vec<u8>> = (0..3)
        .map(|i| abs(&tree, format!("f{i}.log").as_bytes()))
        .collect();
    assert_eq!(sources, want);
    assert_eq!(
        (0..7).map(|i| copy(i).exists()).collect::<Vec<_>>(),
        [true, true, true, false, false, false, false]
    );
    assert!(
        !tree
            .path(format!("backup/.{NAME}.inflight").as_bytes())
            .exists()
    );
    // Settled once: the next read finds nothing more to remove.
    let (again, _) = read_page(&tree, "run-0001", 0, &[]);
    assert_eq!(
        (again.complete, again.settled, again.manifest_files),
        (false, 0, 3)
    );
}

#[test]
fn read_reports_busy_no_manifest_and_bad_page() {
    let tree = Tree::new();
    tree.file(b"a.log", b"a");
    let (p, code) = read_page(&tree, "run-0001", 0, &[]);
    assert_eq!((code, p.status), (7, ReadStatus::NoManifest));
    assert_eq!(backup(&tree, "run-0001", As::Root, None).1, 0);
    let (p, code) = read_page(&tree, "run-0002", 0, &[]);
    assert_eq!((code, p.status), (7, ReadStatus::NoManifest));
    let (p, code) = read_page(&tree, "run-0001", 1, &[]);
    assert_eq!((code, p.status, p.pages), (7, ReadStatus::BadPage, 1));
    let (p, code) = read_page(&tree, "run-0001", 0, &[]);
    assert_eq!(
        (code, p.status, p.files.len(), p.complete),
        (0, ReadStatus::Ok, 1, true)
    );
    // A live process in the pid file: this test's own, with its start time.
    let pid = tree.path(format!("backup/.{NAME}.pid").as_bytes());
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let started = stat
        .rsplit_once(") ")
        .unwrap()
        .1
        .split(' ')
        .nth(19)
        .unwrap()
        .to_owned();
    let me = std::process::id();
    std::fs::write(&pid, format!("{me} {started}\n")).unwrap();
    let (p, code) = read_page(&tree, "run-0001", 0, &[]);
    assert_eq!((code, p.status, p.files.len()), (7, ReadStatus::Busy, 0));
    let (p, code) = read_page(&tree, "run-0001", 0, &[]);
    assert_eq!((code, p.status), (7, ReadStatus::Busy));
    // The same number with another start time is a reused PID (or another PID namespace's).
    std::fs::write(&pid, format!("{me} 1{started}\n")).unwrap();
    assert_eq!(
        read_page(&tree, "run-0001", 0, &[]).0.status,
        ReadStatus::Ok
    );
    std::fs::remove_file(&pid).unwrap();
    assert_eq!(
        read_page(&tree, "run-0001", 0, &[]).0.status,
        ReadStatus::Ok
    );
}

#[test]
fn a_backup_without_suffixes_copies_every_regular_file() {
    let tree = Tree::new();
    let expected = tree.nasty();
    let none: [&str; 0] = [];
    let sel = FileSelection::new(&tree.dir(), &none, 1000).unwrap();
    let (r, code) = backup_env(&tree, &sel, "run-0001", As::Root, None, &[]);
    assert_eq!((code, r.status), (0, HostStatus::Ok));
    // The nasty .log files, plus other.txt, catalog, x.log.gz and log; never the old backup,
    // never the symlink.
    let n = expected.len() as u64 + 4;
    assert_eq!((r.found, r.manifest_files, r.files.len() as u64), (n, n, n));
    assert!(r.files.iter().all(|f| f.status == CopyStatus::Copied));
    for rel in [
        &b"other.txt"[..],
        b"catalog",
        b"x.log.gz",
        b"log",
        b"plain.log",
    ] {
        let copy = tree.path(&[format!("backup/{NAME}/").as_bytes(), rel].concat());
        assert!(Path::new(&copy).is_file(), "{}", copy.display());
    }
}

#[test]
fn a_backup_says_after_each_batch_how_many_files_it_has_recorded() {
    let tree = Tree::new();
    for i in 0..25 {
        tree.file(format!("f{i:02}.log").as_bytes(), b"x\n");
    }
    tree.file(b"with space.log", b"y\n");
    let (sel, id) = (selection(&tree.dir(), 1000), run_id("run-0001"));
    let name = BackupDirName::parse(NAME).unwrap();
    let param = backup_script_param(&sel, &name, &id);
    let ran = run_env(
        &tree,
        BACKUP_SH,
        &param,
        As::Root,
        None,
        &[("BKB_BATCH_FILES", "10")],
    );
    assert_eq!(ran.code, Some(0));
    let log = String::from_utf8(ran.log.clone()).unwrap();
    let progress: Vec<&str> = log.lines().filter(|l| l.starts_with("P ")).collect();
    // Three batches of safe names (10, 10, 5), then the one unsafe name.
    assert_eq!(progress, ["P 10", "P 20", "P 25", "P 26"]);
    assert_eq!(backup_progress(&ran.log, &sel, &name, &id), Some(26));
    // A log cut after the second batch says how far the run had got.
    let cut = &log[..log.find("P 20\n").unwrap() + 5];
    assert_eq!(backup_progress(cut.as_bytes(), &sel, &name, &id), Some(20));
    // The whole log still parses to its records, progress lines aside.
    let r = parse_backup_output(&ran.log, &sel, &name, &id).unwrap();
    assert_eq!((r.found, r.manifest_files), (26, 26));
    // Another run's log says nothing.
    assert_eq!(
        backup_progress(&ran.log, &sel, &name, &run_id("run-0002")),
        None
    );
}
