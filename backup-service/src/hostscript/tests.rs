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
    let mut s = format!("@bkb 1 begin search run-0001 {}\n", b64(b"/data/logs"));
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
fn suffixes_are_normalised_to_a_leading_dot_and_must_be_distinct() {
    let s = FileSelection::new("/data", &["log", ".txt", "tar.gz", "-_x"], 10).unwrap();
    assert_eq!(s.suffixes(), [".log", ".txt", ".tar.gz", ".-_x"]);
    let got = invalid_field(FileSelection::new("/data", &["log", ".log"], 10));
    assert_eq!(got, ("suffixes[1]".into(), "repeats suffixes[0]".into()));
    let none: [&str; 0] = [];
    assert_eq!(
        invalid_field(FileSelection::new("/data", &none, 10)).0,
        "suffixes"
    );
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
    let expected = [&b"1"[..], b"run-0001", b"/data/logs", b"10", b"0", b".log"]
        .map(b64)
        .join(" ");
    assert_eq!(p, expected);
}

#[test]
fn both_scripts_carry_the_same_shared_block() {
    let shared = |s: &'static str| {
        let start = s.find("# ---- shared: begin").unwrap();
        let end = s.find("# ---- shared: end").unwrap();
        &s[start..end]
    };
    assert_eq!(shared(SEARCH_SH), shared(BACKUP_SH));
    assert_eq!(ScriptExit::from_code(5), ScriptExit::BackupExists);
    assert_eq!(ScriptExit::from_code(137), ScriptExit::Other(137));
}

#[test]
fn a_framed_log_with_a_job_prefix_parses() {
    let mut log = b"welcome banner\n".to_vec();
    let body = search_log(
        &[
            &format!("F {} 5 1700000000", b64(b"././a b.log")),
            "W find_error - eA==",
        ],
        "@bkb 1 end run-0001 ok files=1 bytes=5 truncated=0 warnings=1",
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
    assert_eq!(r.warnings[0].kind, WarningKind::FindError);
    assert_eq!(r.warnings[0].detail.as_deref(), Some("x"));
}

#[test]
fn logs_that_cannot_be_trusted_are_typed_errors() {
    let f = |p: &[u8], size: u32| format!("F {} {size} 1", b64(p));
    let end = |files: u32, bytes: u32| {
        format!("@bkb 1 end run-0001 ok files={files} bytes={bytes} truncated=0 warnings=0")
    };
    let parse = |log: &[u8]| parse_search_output(log, &sel(), &run()).unwrap_err();
    let two = [f(b"a.log", 1), f(b"b.log", 2)];
    let two: Vec<&str> = two.iter().map(String::as_str).collect();
    let good = search_log(&two, &end(2, 3));
    assert!(parse_search_output(&good, &sel(), &run()).is_ok());

    assert_eq!(
        parse(b"bash: base64: command not found\n"),
        HostScriptError::MissingHeader
    );
    let cut = &good[..good.len() - 10];
    assert_eq!(parse(cut), HostScriptError::Truncated { records: 2 });
    let trailer_at = good.windows(10).position(|w| w == b"@bkb 1 end").unwrap();
    let mid_record = &good[..trailer_at - 3];
    assert_eq!(parse(mid_record), HostScriptError::Truncated { records: 1 });
    let at_boundary = &good[..trailer_at];
    assert_eq!(
        parse(at_boundary),
        HostScriptError::Truncated { records: 2 }
    );
    let count = search_log(&two, &end(3, 3));
    let want = HostScriptError::CountMismatch {
        field: "files",
        expected: 3,
        found: 2,
    };
    assert_eq!(parse(&count), want);
    let bytes = search_log(&two, &end(2, 4));
    let want = HostScriptError::CountMismatch {
        field: "bytes",
        expected: 4,
        found: 3,
    };
    assert_eq!(parse(&bytes), want);
    let garbage = search_log(&[two[0], "find: warning", two[1]], &end(2, 3));
    assert_eq!(parse(&garbage), HostScriptError::Garbage { line: 3 });
    let dup = search_log(&[two[0], &f(b"./a.log", 1)], &end(2, 2));
    assert_eq!(parse(&dup), HostScriptError::DuplicatePath { line: 3 });
    for unsafe_path in [
        &b"../etc/passwd"[..],
        b"/etc/passwd",
        b"a//b.log",
        b"a/./b.log",
    ] {
        let log = search_log(&[&f(unsafe_path, 1)], &end(1, 1));
        assert_eq!(parse(&log), HostScriptError::UnsafePath { line: 2 });
    }
    let mut mixed = good.clone();
    mixed.extend_from_slice(&good);
    assert_eq!(parse(&mixed), HostScriptError::MixedLog { line: 5 });
    let nested = search_log(&[two[0], "@bkb 1 begin search run-0001 eA=="], &end(1, 1));
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
    let v2 = String::from_utf8(good.clone())
        .unwrap()
        .replacen("@bkb 1", "@bkb 2", 1);
    assert_eq!(
        parse(v2.as_bytes()),
        HostScriptError::UnsupportedVersion("2".into())
    );
    let ok_without_files = search_log(&[], &end(0, 0));
    assert_eq!(
        parse(&ok_without_files),
        HostScriptError::Garbage { line: 2 }
    );
}

#[test]
fn unreadable_arguments_parse_as_a_script_error() {
    let log = format!(
        "@bkb 1 begin backup - - -\nE {}\n@bkb 1 end - script_error files=0 bytes=0 \
         truncated=0 warnings=0 resumed=0\n",
        b64(b"bad run id or backup name")
    );
    let name = BackupDirName::parse("backup_20240514_120300_abcd").unwrap();
    let r = parse_backup_output(log.as_bytes(), &sel(), &name, &run()).unwrap();
    assert_eq!(r.status, HostStatus::ScriptError);
    assert_eq!(r.error.as_deref(), Some("bad run id or backup name"));
    assert!(r.files.is_empty());
    let lying = log.replace("script_error", "ok");
    let err = parse_backup_output(lying.as_bytes(), &sel(), &name, &run()).unwrap_err();
    assert_eq!(err, HostScriptError::Garbage { line: 3 });
}

#[test]
fn a_log_cut_inside_its_header_has_no_header() {
    let good = search_log(
        &[],
        "@bkb 1 end run-0001 no_files files=0 bytes=0 truncated=0 warnings=0",
    );
    assert!(parse_search_output(&good, &sel(), &run()).is_ok());
    for cut in [5, 16, 30] {
        let err = parse_search_output(&good[..cut], &sel(), &run()).unwrap_err();
        assert_eq!(err, HostScriptError::MissingHeader, "cut at {cut}");
    }
}
