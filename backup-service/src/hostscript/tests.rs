//! Unit tests of validation, encoding and the parser on hand-written logs. The scripts
//! themselves run in `tests/host_scripts/`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::*;

fn sel() -> FileSelection {
    FileSelection::new("/data/logs", &["log"], 10).unwrap()
}

fn run() -> RunId {
    RunId::new("run-0001").unwrap()
}

fn b64(b: &[u8]) -> String {
    STANDARD.encode(b)
}

fn search_log(body: &[&str], trailer: &str) -> Vec<u8> {
    let mut s = format!("@bkb 2 begin search run-0001 {}\n", b64(b"/data/logs"));
    for l in body {
        s.push_str(l);
        s.push('\n');
    }
    s.push_str(trailer);
    s.push('\n');
    s.into_bytes()
}

fn invalid_field(r: Result<FileSelection>) -> (String, String) {
    match r {
        Err(HostScriptError::InvalidArgument { field, reason }) => (field, reason),
        other => panic!("expected an invalid argument, got {other:?}"),
    }
}

#[test]
fn directory_must_be_absolute_normalised_and_free_of_control_characters() {
    let long = format!("/{}", "a".repeat(MAX_DIRECTORY_BYTES));
    let cases: [(&str, &str); 12] = [
        ("", "must not be empty"),
        ("var/log", "must be an absolute path"),
        ("/", "must not be the root directory"),
        ("/var/log/", "must not end with `/`"),
        ("/var//log", "must not contain `//`"),
        ("/var/./log", "must not contain `.` or `..` segments"),
        ("/var/../etc", "must not contain `.` or `..` segments"),
        ("/var/log/..", "must not contain `.` or `..` segments"),
        ("/var/log\n/x", "must not contain control characters"),
        ("/var/\u{1b}[2J", "must not contain control characters"),
        ("/proc/1", "must not be in /proc, /sys or /dev"),
        (&long, "must be at most 1024 bytes"),
    ];
    for (dir, reason) in cases {
        let got = invalid_field(FileSelection::new(dir, &["log"], 10));
        assert_eq!(
            got,
            ("directory".to_string(), reason.to_string()),
            "{dir:?}"
        );
    }
    let odd = "/data/my logs/$(reboot);'x'/..hidden";
    assert_eq!(
        FileSelection::new(odd, &["log"], 10).unwrap().directory(),
        odd
    );
}

#[test]
fn suffixes_with_shell_syntax_are_rejected_naming_the_index() {
    for bad in [
        "log; rm -rf /",
        "$(reboot)",
        "`id`",
        "log'",
        "lo g",
        "log\n",
        "*",
        "../etc",
        "",
        ".",
        "..log",
    ] {
        let (field, _) = invalid_field(FileSelection::new("/data", &["txt", bad], 10));
        assert_eq!(field, "suffixes[1]", "{bad:?}");
    }
    let (field, _) = invalid_field(FileSelection::new("/data", &["a".repeat(33)], 10));
    assert_eq!(field, "suffixes[0]");
}

#[test]
fn suffixes_are_normalised_to_a_leading_dot_distinct_and_may_be_none() {
    let s = FileSelection::new("/data", &["log", ".txt", "tar.gz", "-_x"], 10).unwrap();
    assert_eq!(s.suffixes(), [".log", ".txt", ".tar.gz", ".-_x"]);
    let got = invalid_field(FileSelection::new("/data", &["log", ".log"], 10));
    assert_eq!(got, ("suffixes[1]".into(), "repeats suffixes[0]".into()));
    let none: [&str; 0] = [];
    let every = FileSelection::new("/data", &none, 10).unwrap();
    assert!(every.suffixes().is_empty());
    let many: Vec<String> = (0..=MAX_SUFFIXES).map(|i| format!("s{i}")).collect();
    assert_eq!(
        invalid_field(FileSelection::new("/data", &many, 10)).0,
        "suffixes"
    );
}

#[test]
fn max_files_is_bounded() {
    for bad in [0, MAX_FILES_LIMIT + 1] {
        assert_eq!(
            invalid_field(FileSelection::new("/d", &["log"], bad)).0,
            "max_files"
        );
    }
    assert_eq!(
        FileSelection::new("/d", &["log"], MAX_FILES_LIMIT)
            .unwrap()
            .max_files(),
        MAX_FILES_LIMIT
    );
}

#[test]
fn run_ids_and_backup_names_follow_strict_patterns() {
    assert!(RunId::new("0123456789abcdef0123456789abcdef").is_ok());
    for bad in ["short", "has space1", "semi;colon", &"x".repeat(65)] {
        assert_eq!(
            RunId::new(bad).unwrap_err().field(),
            Some("run_id"),
            "{bad:?}"
        );
    }
    let at = chrono::DateTime::from_timestamp(1_715_688_180, 0).unwrap();
    let name = BackupDirName::new(at, "1f3c9a2b").unwrap();
    assert_eq!(name.as_str(), "backup_20240514_120300_1f3c9a2b");
    for bad in [
        "backup_20240514_120300_ABCD",
        "backup_20240514_120300_abc",
        "backup_2024051_1203000_abcd",
        "../backup_20240514_120300_abcd",
        "backup_20240514_120300_abcd/..",
    ] {
        let err = BackupDirName::parse(bad).unwrap_err();
        assert_eq!(err.field(), Some("backup_name"), "{bad:?}");
    }
}

fn utc(s: &str) -> chrono::DateTime<chrono::Utc> {
    s.parse().unwrap()
}

#[test]
fn backup_names_show_the_wall_clock_of_the_configured_time_zone() {
    let shanghai: chrono_tz::Tz = "Asia/Shanghai".parse().unwrap();
    let four_am = utc("2026-12-04T20:00:00Z");
    let name = BackupDirName::new_in(four_am, shanghai, "1f3c9a2b").unwrap();
    assert_eq!(name.as_str(), "backup_20261205_040000_1f3c9a2b");
    let default = BackupDirName::new(four_am, "1f3c9a2b").unwrap();
    assert_eq!(default.as_str(), "backup_20261204_200000_1f3c9a2b");

    // New York springs forward at 02:00 to 03:00: the names skip the hour that does not exist.
    let ny: chrono_tz::Tz = "America/New_York".parse().unwrap();
    let at = |t: &str| {
        BackupDirName::new_in(utc(t), ny, "abcd")
            .unwrap()
            .as_str()
            .to_owned()
    };
    assert_eq!(at("2026-03-08T06:59:59Z"), "backup_20260308_015959_abcd");
    assert_eq!(at("2026-03-08T07:00:00Z"), "backup_20260308_030000_abcd");
    // It falls back at 02:00 to 01:00: 01:30 happens twice, an hour apart.
    assert_eq!(at("2026-11-01T05:30:00Z"), "backup_20261101_013000_abcd");
    assert_eq!(at("2026-11-01T06:30:00Z"), "backup_20261101_013000_abcd");
}

#[test]
fn backup_names_stay_apart_when_a_fall_back_repeats_their_time() {
    let ny: chrono_tz::Tz = "America/New_York".parse().unwrap();
    // Two backups at the two 01:30s: each name carries its backup's own short id.
    let (a, b) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let short = |id: uuid::Uuid| id.simple().to_string()[..8].to_owned();
    let first = BackupDirName::new_in(utc("2026-11-01T05:30:00Z"), ny, &short(a)).unwrap();
    let second = BackupDirName::new_in(utc("2026-11-01T06:30:00Z"), ny, &short(b)).unwrap();
    assert_eq!(first.as_str()[..22], second.as_str()[..22]);
    assert_ne!(first, second);
    // Every zone still gives a name the scripts accept.
    for tz in [chrono_tz::Tz::UTC, ny, "Asia/Kolkata".parse().unwrap()] {
        let n = BackupDirName::new_in(utc("2026-12-05T00:00:00Z"), tz, "0a1b").unwrap();
        assert_eq!(BackupDirName::parse(n.as_str()).unwrap(), n);
    }
}

#[test]
fn script_param_is_one_base64_token_per_argument() {
    let param = encode_script_param(&[b"/a b/$(x)\n", b"", "日志".as_bytes()]);
    assert!(
        param
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/= -".contains(&b))
    );
    let tokens: Vec<&str> = param.split(' ').collect();
    assert_eq!(tokens.len(), 3);
    assert_eq!(STANDARD.decode(tokens[0]).unwrap(), b"/a b/$(x)\n");
    assert_eq!(tokens[1], "-");
    assert_eq!(STANDARD.decode(tokens[2]).unwrap(), "日志".as_bytes());
    let p = search_script_param(&sel(), false, &run());
    let expected = [&b"2"[..], b"run-0001", b"/data/logs", b"10", b"0", b".log"]
        .map(b64)
        .join(" ");
    assert_eq!(p, expected);
    let name = BackupDirName::parse("backup_20240514_120300_abcd").unwrap();
    let expected = [
        &b"2"[..],
        b"run-0001",
        b"/data/logs",
        name.as_str().as_bytes(),
        b".log",
    ];
    assert_eq!(
        backup_script_param(&sel(), &name, &run()),
        expected.map(b64).join(" ")
    );
    let expected = [
        &b"2"[..],
        b"run-0001",
        b"/data/logs",
        name.as_str().as_bytes(),
        b"7",
        b"0",
    ];
    assert_eq!(
        read_script_param(&sel(), &name, &run(), 7),
        expected.map(b64).join(" ")
    );
    let at = read_script_param_at(&sel(), &name, &run(), 7, 40);
    assert_eq!(at.rsplit_once(' ').unwrap().1, b64(b"40"));
}

#[test]
fn the_four_scripts_carry_the_same_shared_block() {
    let shared = |s: &'static str| {
        let start = s.find("# ---- shared: begin").unwrap();
        let end = s.find("# ---- shared: end").unwrap();
        &s[start..end]
    };
    assert_eq!(shared(SEARCH_SH), shared(BACKUP_SH));
    assert_eq!(shared(SEARCH_SH), shared(READ_SH));
    assert_eq!(shared(SEARCH_SH), shared(PRUNE_SH));
    assert_eq!(ScriptExit::from_code(7), ScriptExit::ReadRefused);
    assert_eq!(ScriptExit::from_code(5), ScriptExit::BackupExists);
    assert_eq!(ScriptExit::from_code(137), ScriptExit::Other(137));
}

#[test]
fn a_framed_log_with_a_job_prefix_parses() {
    let mut log = b"welcome banner\n".to_vec();
    let body = search_log(
        &[
            &format!("F 5 1700000000.25 {}", b64(b"././a b.log")),
            "W find_error - eA==",
        ],
        "@bkb 2 end run-0001 ok found=3 bytes=9 listed=1 warnings=1",
    );
    for l in body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        log.extend_from_slice(b"[2024-06-10 14:13:21][PID:40312] ");
        log.extend_from_slice(l);
        log.push(b'\n');
    }
    let r = parse_search_output(&log, &sel(), &run()).unwrap();
    assert_eq!(r.status, HostStatus::Ok);
    assert_eq!(r.files[0].path.bytes, b"/data/logs/a b.log");
    assert_eq!((r.files[0].size, r.files[0].mtime), (5, 1_700_000_000));
    assert_eq!((r.found, r.total_bytes, r.truncated), (3, 9, true));
    assert_eq!(r.warnings[0].kind, WarningKind::FindError);
    assert_eq!(r.warnings[0].detail.as_deref(), Some("x"));
}

#[test]
fn logs_that_cannot_be_trusted_are_typed_errors() {
    let f = |p: &str, size: u32| format!("F {size} 1 {p}");
    let end = |found: u32, bytes: u32, listed: u32| {
        format!("@bkb 2 end run-0001 ok found={found} bytes={bytes} listed={listed} warnings=0")
    };
    let parse = |log: &[u8]| parse_search_output(log, &sel(), &run()).unwrap_err();
    let two = [f("./a.log", 1), f(&b64(b"b c.log"), 2)];
    let two: Vec<&str> = two.iter().map(String::as_str).collect();
    let good = search_log(&two, &end(2, 3, 2));
    assert!(parse_search_output(&good, &sel(), &run()).is_ok());

    assert_eq!(
        parse(b"bash: base64: command not found\n"),
        HostScriptError::MissingHeader
    );
    let cut = &good[..good.len() - 10];
    assert_eq!(parse(cut), HostScriptError::Truncated { records: 2 });
    let trailer_at = good.windows(10).position(|w| w == b"@bkb 2 end").unwrap();
    let mid_record = &good[..trailer_at - 3];
    assert_eq!(parse(mid_record), HostScriptError::Truncated { records: 1 });
    let at_boundary = &good[..trailer_at];
    assert_eq!(
        parse(at_boundary),
        HostScriptError::Truncated { records: 2 }
    );
    let count = search_log(&two, &end(3, 3, 3));
    let want = HostScriptError::CountMismatch {
        field: "listed",
        expected: 3,
        found: 2,
    };
    assert_eq!(parse(&count), want);
    // Listed sizes above the total, or more listed than found, cannot be.
    let bytes = search_log(&two, &end(2, 2, 2));
    assert_eq!(parse(&bytes), HostScriptError::Garbage { line: 4 });
    let found = search_log(&two, &end(1, 3, 2));
    assert_eq!(parse(&found), HostScriptError::Garbage { line: 4 });
    let garbage = search_log(&[two[0], "find: warning", two[1]], &end(2, 3, 2));
    assert_eq!(parse(&garbage), HostScriptError::Garbage { line: 3 });
    let dup = search_log(&[two[0], &f(&b64(b"././a.log"), 1)], &end(2, 2, 2));
    assert_eq!(parse(&dup), HostScriptError::DuplicatePath { line: 3 });
    for unsafe_token in [
        b64(b"../etc/passwd"),
        b64(b"/etc/passwd"),
        b64(b"a//b.log"),
        b64(b"a/./b.log"),
        "./../etc/passwd".to_string(),
        "./a\u{1}b.log".to_string(),
        "./a\\b.log".to_string(),
        "./".to_string(),
        "././a.log".to_string(),
    ] {
        let log = search_log(&[&f(&unsafe_token, 1)], &end(1, 1, 1));
        assert_eq!(
            parse(&log),
            HostScriptError::UnsafePath { line: 2 },
            "{unsafe_token}"
        );
    }
    let mut mixed = good.clone();
    mixed.extend_from_slice(&good);
    assert_eq!(parse(&mixed), HostScriptError::MixedLog { line: 5 });
    let nested = search_log(
        &[two[0], "@bkb 2 begin search run-0001 eA=="],
        &end(1, 1, 1),
    );
    assert_eq!(parse(&nested), HostScriptError::MixedLog { line: 3 });
    let other_run = parse_search_output(&good, &sel(), &RunId::new("run-0002").unwrap());
    assert_eq!(
        other_run.unwrap_err(),
        HostScriptError::Mismatch { field: "run_id" }
    );
    let other_dir = FileSelection::new("/data/log", &["log"], 10).unwrap();
    let err = parse_search_output(&good, &other_dir, &run()).unwrap_err();
    assert_eq!(err, HostScriptError::Mismatch { field: "directory" });
    let name = BackupDirName::parse("backup_20240514_120300_abcd").unwrap();
    let err = parse_backup_output(&good, &sel(), &name, &run()).unwrap_err();
    assert_eq!(err, HostScriptError::Mismatch { field: "script" });
    let v1 = String::from_utf8(good.clone())
        .unwrap()
        .replacen("@bkb 2", "@bkb 1", 1);
    assert_eq!(
        parse(v1.as_bytes()),
        HostScriptError::UnsupportedVersion("1".into())
    );
    let ok_without_files = search_log(&[], &end(0, 0, 0));
    assert_eq!(
        parse(&ok_without_files),
        HostScriptError::Garbage { line: 2 }
    );
}

fn backup_log(body: &[&str], trailer: &str) -> Vec<u8> {
    let mut s = format!(
        "@bkb 2 begin backup run-0001 {} backup_20240514_120300_abcd\n",
        b64(b"/data/logs")
    );
    for l in body {
        s.push_str(l);
        s.push('\n');
    }
    s.push_str(trailer);
    s.push('\n');
    s.into_bytes()
}

fn name() -> BackupDirName {
    BackupDirName::parse("backup_20240514_120300_abcd").unwrap()
}

#[test]
fn manifest_records_say_copied_changed_not_regular_or_why_not() {
    let (a, b) = ("a".repeat(64), "b".repeat(64));
    let lines = [
        format!("C ./same.log 5 1700000000 81a4 {a} {a}"),
        format!("C ./written.log 6 1700000000.5 81a4 {a} {b}"),
        format!("C ./unreadable.log 7 -5 8180 {a} -"),
        format!("C ./link.log 9 1700000000 a1ff {a} {a}"),
        "X ./gone.log vanished -".to_string(),
        format!("X {} disk_full {}", b64(b"x y.log"), b64(b"No space")),
    ];
    let body: Vec<&str> = lines.iter().map(String::as_str).collect();
    let trailer = "@bkb 2 end run-0001 ok found=9 files=9 pages=2 listed=6 warnings=0 resumed=1";
    let r = parse_backup_output(&backup_log(&body, trailer), &sel(), &name(), &run()).unwrap();
    assert_eq!(
        (r.found, r.manifest_files, r.pages, r.resumed),
        (9, 9, 2, true)
    );
    let got: Vec<_> = r
        .files
        .iter()
        .map(|f| (f.status, f.size, f.mtime, f.mode))
        .collect();
    let failed = CopyStatus::Failed;
    assert_eq!(
        got,
        [
            (
                CopyStatus::Copied,
                Some(5),
                Some(1_700_000_000),
                Some(0x81a4)
            ),
            (
                CopyStatus::Changed,
                Some(6),
                Some(1_700_000_000),
                Some(0x81a4)
            ),
            (CopyStatus::Changed, Some(7), Some(-5), Some(0x8180)),
            (failed(FailReason::NotRegular), None, None, Some(0xa1ff)),
            (CopyStatus::Vanished, None, None, None),
            (failed(FailReason::DiskFull), None, None, None),
        ]
    );
    assert_eq!(r.files[0].sha256.as_deref(), Some(a.as_str()));
    assert_eq!(r.files[5].source.bytes, b"/data/logs/x y.log");
    assert_eq!(
        r.files[5].backup.bytes,
        b"/data/logs/backup/backup_20240514_120300_abcd/x y.log"
    );
    assert_eq!(r.files[5].detail.as_deref(), Some("No space"));
    // A completed run records every match; a record with a bad sha is garbage.
    let short = trailer.replace("files=9", "files=8");
    let err = parse_backup_output(&backup_log(&body, &short), &sel(), &name(), &run());
    assert_eq!(err.unwrap_err(), HostScriptError::Garbage { line: 8 });
    let bad_sha = format!("C ./x.log 1 1 81a4 {} -", "A".repeat(64));
    let log = backup_log(&[&bad_sha], trailer);
    let err = parse_backup_output(&log, &sel(), &name(), &run()).unwrap_err();
    assert_eq!(err, HostScriptError::Garbage { line: 2 });
}

#[test]
fn a_read_log_gives_its_page_and_whether_the_backup_completed() {
    let a = "a".repeat(64);
    let log = |page: u32, body: &[&str], trailer: &str| {
        let mut s = format!(
            "@bkb 2 begin read run-0001 {} backup_20240514_120300_abcd {page} 0\n",
            b64(b"/data/logs")
        );
        for l in body {
            s.push_str(l);
            s.push('\n');
        }
        s.push_str(trailer);
        s.push('\n');
        s.into_bytes()
    };
    let rec = format!("C ./a.log 1 1 81a4 {a} {a}");
    let summary = "S found=5 files=3 pages=2 complete=0 settled=2";
    let ok = "@bkb 2 end run-0001 ok found=5 files=3 pages=2 listed=1 complete=0 settled=2";
    let r = parse_read_output(&log(1, &[summary, &rec], ok), &sel(), &name(), &run(), 1).unwrap();
    assert_eq!(
        (r.status, r.found, r.manifest_files, r.pages),
        (ReadStatus::Ok, 5, 3, 2)
    );
    assert_eq!((r.complete, r.settled, r.files.len()), (false, 2, 1));
    // A page without its summary line is not one read.sh prints.
    let err = parse_read_output(&log(1, &[&rec], ok), &sel(), &name(), &run(), 1);
    assert_eq!(err.unwrap_err(), HostScriptError::Garbage { line: 3 });
    let err = parse_read_output(&log(1, &[summary, &rec], ok), &sel(), &name(), &run(), 0);
    assert_eq!(
        err.unwrap_err(),
        HostScriptError::Mismatch { field: "page" }
    );
    let beyond = parse_read_output(&log(2, &[summary, &rec], ok), &sel(), &name(), &run(), 2);
    assert_eq!(beyond.unwrap_err(), HostScriptError::Garbage { line: 4 });
    for (word, status) in [
        ("busy", ReadStatus::Busy),
        ("no_manifest", ReadStatus::NoManifest),
        ("dir_missing", ReadStatus::NoManifest),
        ("bad_page", ReadStatus::BadPage),
        ("script_error", ReadStatus::ScriptError),
    ] {
        let t = format!(
            "@bkb 2 end run-0001 {word} found=0 files=0 pages=0 listed=0 complete=0 settled=0"
        );
        let r = parse_read_output(&log(0, &["E eA=="], &t), &sel(), &name(), &run(), 0).unwrap();
        assert_eq!((r.status, r.error.as_deref()), (status, Some("x")));
    }
    let listing = "@bkb 2 end run-0001 busy found=5 files=3 pages=2 listed=1 complete=0 settled=0";
    let err = parse_read_output(&log(0, &[&rec], listing), &sel(), &name(), &run(), 0);
    assert_eq!(err.unwrap_err(), HostScriptError::Garbage { line: 3 });
}

#[test]
fn a_read_log_cut_after_its_summary_gives_the_records_before_the_cut() {
    let a = "a".repeat(64);
    let head = format!(
        "@bkb 2 begin read run-0001 {} backup_20240514_120300_abcd 1 40\n\
         S found=500 files=500 pages=3 complete=1 settled=0\n",
        b64(b"/data/logs")
    );
    let recs: Vec<String> = (0..3)
        .map(|i| format!("C ./f{i}.log 1 1 81a4 {a} {a}\n"))
        .collect();
    // Cut in the middle of the fourth record, as a JOB keeping too little log would.
    let log = format!("{head}{}C ./f3.lo", recs.concat());
    let r = parse_read_output_at(log.as_bytes(), &sel(), &name(), &run(), 1, 40).unwrap();
    assert!(r.cut);
    assert_eq!(
        (r.status, r.found, r.pages, r.complete, r.files.len()),
        (ReadStatus::Ok, 500, 3, true, 3)
    );
    let err = parse_read_output_at(log.as_bytes(), &sel(), &name(), &run(), 1, 0).unwrap_err();
    assert_eq!(err, HostScriptError::Mismatch { field: "skip" });
    // Cut before the summary: nothing to go on.
    let bare = format!(
        "@bkb 2 begin read run-0001 {} backup_20240514_120300_abcd 1 40\nS found=5",
        b64(b"/data/logs")
    );
    let err = parse_read_output_at(bare.as_bytes(), &sel(), &name(), &run(), 1, 40).unwrap_err();
    assert_eq!(err, HostScriptError::Truncated { records: 0 });
}

#[test]
fn unreadable_arguments_parse_as_a_script_error() {
    let log = format!(
        "@bkb 2 begin backup - - -\nE {}\n@bkb 2 end - script_error found=0 files=0 pages=0 \
         listed=0 warnings=0 resumed=0\n",
        b64(b"bad run id or backup name")
    );
    let r = parse_backup_output(log.as_bytes(), &sel(), &name(), &run()).unwrap();
    assert_eq!(r.status, HostStatus::ScriptError);
    assert_eq!(r.error.as_deref(), Some("bad run id or backup name"));
    assert!(r.files.is_empty());
    let lying = log.replace("script_error", "ok");
    let err = parse_backup_output(lying.as_bytes(), &sel(), &name(), &run()).unwrap_err();
    assert_eq!(err, HostScriptError::Garbage { line: 3 });
}

#[test]
fn a_log_cut_inside_its_header_has_no_header() {
    let good = search_log(
        &[],
        "@bkb 2 end run-0001 no_files found=0 bytes=0 listed=0 warnings=0",
    );
    assert!(parse_search_output(&good, &sel(), &run()).is_ok());
    for cut in [5, 16, 30] {
        let err = parse_search_output(&good[..cut], &sel(), &run()).unwrap_err();
        assert_eq!(err, HostScriptError::MissingHeader, "cut at {cut}");
    }
}
