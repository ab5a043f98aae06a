//! Host outcomes from real logs: the tests run our backup script with bash on a temp tree and
//! feed its output, whole or cut, through the outcome rules.

use std::path::Path;
use std::process::Command;

use super::*;
use crate::hostscript::{BACKUP_SH, backup_script_param};

struct Fixture {
    _tmp: tempfile::TempDir,
    dir: String,
    selection: FileSelection,
    name: BackupDirName,
    run: RunId,
}

fn fixture(files: &[(&str, &str)]) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("logs");
    std::fs::create_dir(&dir).unwrap();
    for (name, body) in files {
        std::fs::write(dir.join(name), body).unwrap();
    }
    let dir = dir.to_str().unwrap().to_owned();
    Fixture {
        selection: FileSelection::new(&dir, &["log"], 1000).unwrap(),
        name: BackupDirName::new(Utc::now(), "1f3c9a2b").unwrap(),
        run: RunId::new("0123456789abcdef0123456789abcdef").unwrap(),
        dir,
        _tmp: tmp,
    }
}

fn run_backup(f: &Fixture) -> String {
    let script = Path::new(&f.dir).parent().unwrap().join("backup.sh");
    std::fs::write(&script, BACKUP_SH).unwrap();
    let param = backup_script_param(&f.selection, &f.name, &f.run);
    let out = Command::new("bash")
        .arg(&script)
        .args(param.split_whitespace())
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

fn ctx<'a>(f: &'a Fixture, cancelled: bool) -> Context<'a> {
    Context {
        backup_id: Uuid::nil(),
        bk_biz_id: 3,
        selection: &f.selection,
        suffix: "log",
        name: &f.name,
        run: &f.run,
        operator: "alice",
        job_instance_id: 88,
        job_url: "http://job/api_execute/88",
        now: Utc::now(),
        cancelled,
    }
}

fn host<'a>(log: &'a str, result: Option<&'a HostResult>) -> HostRun<'a> {
    HostRun {
        bk_host_id: 7,
        bk_cloud_id: 0,
        ip: "10.0.0.7",
        result,
        log: Some(log),
    }
}

#[test]
fn a_complete_log_records_every_copied_file() {
    let f = fixture(&[("a.log", "alpha"), ("b.log", "beta!"), ("c.txt", "no")]);
    let log = run_backup(&f);
    let (out, records) = host_outcome(&ctx(&f, false), host(&log, None));
    assert_eq!(out.status, HostState::Succeeded);
    assert_eq!(
        (out.files_found, out.files_copied, out.files_failed),
        (2, 2, 0)
    );
    assert_eq!(out.bytes_copied, 10);
    let mut paths: Vec<_> = records
        .iter()
        .map(|r| r.source_path_bytes.clone())
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            format!("{}/a.log", f.dir).into_bytes(),
            format!("{}/b.log", f.dir).into_bytes()
        ]
    );
    assert!(
        records
            .iter()
            .all(|r| r.sha256.len() == 64 && r.bk_job_link.ends_with("/88"))
    );
}

#[test]
fn a_missing_directory_fails_the_host_without_records() {
    let f = fixture(&[]);
    std::fs::remove_dir(&f.dir).unwrap();
    let log = run_backup(&f);
    let (out, records) = host_outcome(&ctx(&f, false), host(&log, None));
    assert_eq!(
        (out.status, out.reason),
        (HostState::Failed, Some(HostReason::DirectoryMissing))
    );
    assert!(records.is_empty());
}

#[test]
fn a_log_cut_short_keeps_only_the_copies_it_proves() {
    let f = fixture(&[("a.log", "alpha"), ("b.log", "beta"), ("c.log", "gamma")]);
    let log = run_backup(&f);
    // Drop the trailer and the last record, as a kill mid-run would.
    let lines: Vec<&str> = log.lines().collect();
    let cut = lines[..lines.len() - 2].join("\n") + "\n";
    let timeout = HostResult {
        status: JobHostStatus::TaskTimeout as i32,
        status_code: 10,
        ..Default::default()
    };
    let (out, records) = host_outcome(&ctx(&f, false), host(&cut, Some(&timeout)));
    assert_eq!(records.len(), 2);
    assert_eq!(
        (out.status, out.reason),
        (HostState::Partial, Some(HostReason::Timeout))
    );
    assert_eq!(out.job_host_status_code, Some(10));
}

#[test]
fn an_empty_log_on_a_cancelled_backup_is_a_cancelled_host() {
    let f = fixture(&[("a.log", "alpha")]);
    let (out, records) = host_outcome(&ctx(&f, true), host("", None));
    assert_eq!(
        (out.status, out.reason),
        (HostState::Cancelled, Some(HostReason::Cancelled))
    );
    assert!(records.is_empty());
}

#[test]
fn a_log_from_another_run_is_not_trusted() {
    let f = fixture(&[("a.log", "alpha")]);
    let log = run_backup(&f).replace(f.run.as_str(), "ffffffffffffffffffffffffffffffff");
    let (out, records) = host_outcome(&ctx(&f, false), host(&log, None));
    assert_eq!(
        (out.status, out.reason),
        (HostState::Failed, Some(HostReason::OutputInvalid))
    );
    assert!(records.is_empty());
}
