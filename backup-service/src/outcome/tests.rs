//! The outcome rules alone: host results from built reports and pages, and the backup's final
//! state. Every host result is checked to count found = copied + failed + unknown.

use chrono::Utc;
use proto::jobgateway::v1::{HostResult, HostStatus as JobHostStatus};
use uuid::Uuid;

use super::ManifestState;
use super::*;
use crate::hostscript::{
    BackedUpFile, BackupDirName, BackupReport, CopyStatus, FailReason, FileSelection, HostPath,
    HostScriptError, HostStatus, RunId,
};

struct Fixture {
    selection: FileSelection,
    name: BackupDirName,
    run: RunId,
}

fn fixture() -> Fixture {
    Fixture {
        selection: FileSelection::new("/data/logs", &["log"], 1000).unwrap(),
        name: BackupDirName::parse("backup_20261204_120000_1f3c9a2b").unwrap(),
        run: RunId::new("0123456789abcdef0123456789abcdef").unwrap(),
    }
}

fn ctx(f: &Fixture, cancelled: bool) -> Context<'_> {
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
        ending: if cancelled {
            Ending::Cancelled
        } else {
            Ending::Finished
        },
    }
}

fn file(n: usize, status: CopyStatus) -> BackedUpFile {
    let rel = format!("f{n:06}.log");
    let copied = matches!(status, CopyStatus::Copied | CopyStatus::Changed);
    BackedUpFile {
        source: HostPath::from_bytes(format!("/data/logs/{rel}").into_bytes()),
        backup: HostPath::from_bytes(
            format!("/data/logs/backup/backup_20261204_120000_1f3c9a2b/{rel}").into_bytes(),
        ),
        status,
        size: copied.then_some(10),
        mtime: copied.then_some(1_600_000_000),
        mode: copied.then_some(0o100644),
        sha256: copied.then(|| "ab".repeat(32)),
        detail: None,
    }
}

fn copied(range: std::ops::Range<usize>) -> Vec<BackedUpFile> {
    range.map(|n| file(n, CopyStatus::Copied)).collect()
}

fn report(found: u64, files: Vec<BackedUpFile>, pages: u32) -> BackupReport {
    BackupReport {
        status: HostStatus::Ok,
        backup_dir: HostPath::from_bytes(
            b"/data/logs/backup/backup_20261204_120000_1f3c9a2b".to_vec(),
        ),
        files,
        found,
        manifest_files: found,
        pages,
        resumed: false,
        warnings: vec![],
        error: None,
    }
}

fn outcome_of(
    f: &Fixture,
    ev: &Evidence,
    result: Option<&HostResult>,
    cancelled: bool,
) -> (HostOutcome, Vec<NewRecord>) {
    let (out, records) = host_outcome(
        &ctx(f, cancelled),
        HostRun {
            bk_host_id: 7,
            bk_cloud_id: 0,
            ip: "10.0.0.7",
            result,
            log: "",
            evidence: ev,
        },
    );
    assert_eq!(
        out.files_found,
        out.files_copied + out.files_failed + out.files_unknown,
        "counts add up"
    );
    assert_eq!(records.len(), out.files_copied as usize);
    (out, records)
}

fn cut() -> Result<BackupReport, HostScriptError> {
    Err(HostScriptError::Truncated { records: 0 })
}

#[test]
fn every_page_read_makes_a_host_with_many_files_succeed() {
    let f = fixture();
    let mut ev = Evidence::from_log(Ok(report(3000, copied(0..1000), 3)), vec![]);
    ev.pages = copied(1000..3000);
    let (out, records) = outcome_of(&f, &ev, None, false);
    assert_eq!((out.status, out.reason), (HostState::Succeeded, None));
    assert_eq!(
        (out.files_found, out.files_copied, out.files_unknown),
        (3000, 3000, 0)
    );
    assert_eq!(out.bytes_copied, 30_000);
    assert!(records.iter().all(|r| r.bk_job_link.ends_with("/88")));
}

#[test]
fn a_page_that_could_not_be_read_leaves_the_host_partial_with_the_numbers() {
    let f = fixture();
    let mut ev = Evidence::from_log(Ok(report(60_000, copied(0..20_000), 3)), vec![]);
    ev.pages = copied(20_000..36_692);
    ev.unread = Some("manifest page 2 could not be read: timeout".into());
    let (out, _) = outcome_of(&f, &ev, None, false);
    assert_eq!(
        (out.status, out.reason),
        (HostState::Partial, Some(HostReason::ResultsIncomplete))
    );
    assert_eq!(
        (
            out.files_found,
            out.files_copied,
            out.files_failed,
            out.files_unknown
        ),
        (60_000, 36_692, 0, 23_308)
    );
    assert!(
        out.log_excerpt.starts_with(
            "results incomplete: 36692 of 60000 matched files accounted for (36692 copied, 0 failed), 23308 unknown"
        ),
        "{}",
        out.log_excerpt
    );
}

#[test]
fn a_cut_log_of_a_finished_run_is_completed_from_the_manifest() {
    let f = fixture();
    let mut ev = Evidence::from_log(cut(), copied(0..2));
    ev.pages = copied(0..5);
    ev.manifest = Some(ManifestState {
        found: 5,
        complete: true,
        settled: 0,
        page0_read: true,
    });
    let (out, records) = outcome_of(&f, &ev, None, false);
    assert_eq!(out.status, HostState::Succeeded);
    assert_eq!((out.files_found, out.files_copied), (5, 5));
    assert_eq!(records.len(), 5);
}

#[test]
fn a_timed_out_run_counts_the_files_it_never_reached_as_unknown() {
    let f = fixture();
    let mut ev = Evidence::from_log(cut(), vec![]);
    ev.pages = copied(0..4);
    ev.manifest = Some(ManifestState {
        found: 10,
        complete: false,
        settled: 2,
        page0_read: true,
    });
    let timeout = HostResult {
        status: JobHostStatus::ScriptTimeout as i32,
        status_code: 11,
        ..Default::default()
    };
    let (out, _) = outcome_of(&f, &ev, Some(&timeout), false);
    assert_eq!(
        (out.status, out.reason),
        (HostState::Partial, Some(HostReason::Timeout))
    );
    assert_eq!(
        (out.files_found, out.files_copied, out.files_unknown),
        (10, 4, 6)
    );
    assert!(out.log_excerpt.contains("6 unknown"), "{}", out.log_excerpt);
    assert!(
        out.log_excerpt.contains("2 unverified copies"),
        "{}",
        out.log_excerpt
    );
}

#[test]
fn an_empty_log_on_a_cancelled_backup_is_a_cancelled_host_without_records() {
    let f = fixture();
    let ev = Evidence::from_log(cut(), vec![]);
    let (out, records) = outcome_of(&f, &ev, None, true);
    assert_eq!(
        (out.status, out.reason),
        (HostState::Cancelled, Some(HostReason::Cancelled))
    );
    assert!(records.is_empty());
    // The host was stopped, its log is not broken: the excerpt says so, not "no header".
    assert!(
        out.log_excerpt
            .starts_with("stopped by the cancel before it finished"),
        "{}",
        out.log_excerpt
    );
    assert!(!out.log_excerpt.contains("header"), "{}", out.log_excerpt);
}

#[test]
fn a_cancelled_backup_says_who_cancelled_what_was_kept_where_and_how_many_hosts_stopped() {
    let f = fixture();
    let ev = Evidence::from_log(Ok(report(12, copied(0..12), 1)), vec![]);
    let (done, records) = outcome_of(&f, &ev, None, true);
    let stopped = || HostOutcome::bare(8, HostState::Cancelled, Some(HostReason::Cancelled), "");
    let o = decide(
        &[],
        vec![done, stopped(), stopped(), stopped()],
        records,
        Ending::Cancelled,
    );
    let (state, reason, message) = cancelled(
        &o,
        Some("alice"),
        "/data/logs/backup/backup_20261121_120000_abcd1234",
        true,
    );
    assert_eq!((state, reason), (BackupState::Cancelled, None));
    assert_eq!(
        message,
        "cancelled by alice: 12 files copied and recorded before the cancel are kept in \
         /data/logs/backup/backup_20261121_120000_abcd1234; 3 hosts stopped before finishing"
    );
    // A backup whose job had already ended when the cancel came says so.
    let done = decide(
        &[],
        vec![host(HostState::Succeeded)],
        vec![],
        Ending::Finished,
    );
    let (_, _, message) = cancelled(&done, None, "/d/backup/b", true);
    assert_eq!(
        message,
        "cancelled after the job had finished copying: no file had been copied, nothing was kept"
    );
    // Before launch nothing ran, whatever the hosts' bare outcomes say.
    let (_, _, message) = cancelled(&o, Some("bob"), "/d/backup/b", false);
    assert_eq!(message, "cancelled by bob before launch: nothing ran");
}

#[test]
fn failed_files_are_all_counted_but_only_the_first_thousand_kept() {
    let f = fixture();
    let mut files = copied(0..10);
    files.extend((10..2010).map(|n| file(n, CopyStatus::Failed(FailReason::DiskFull))));
    let ev = Evidence::from_log(Ok(report(2010, files, 1)), vec![]);
    let (out, _) = outcome_of(&f, &ev, None, false);
    assert_eq!(
        (out.status, out.reason),
        (HostState::Partial, Some(HostReason::DiskFull))
    );
    assert_eq!((out.files_copied, out.files_failed), (10, 2000));
    assert_eq!(out.failed_files.len(), FAILED_FILES_KEPT);
}

#[test]
fn a_path_read_twice_is_accounted_for_once() {
    let f = fixture();
    let mut ev = Evidence::from_log(Ok(report(3, copied(0..2), 2)), vec![]);
    ev.pages = copied(1..3);
    let (out, records) = outcome_of(&f, &ev, None, false);
    assert_eq!((out.files_found, out.files_copied), (3, 3));
    assert_eq!(records.len(), 3);
}

#[test]
fn a_disk_that_filled_up_counts_the_files_without_a_record_as_failed_not_unknown() {
    let f = fixture();
    let mut r = report(10, copied(0..4), 1);
    (r.status, r.manifest_files) = (HostStatus::DiskFull, 4);
    r.error = Some("cannot append to the manifest: No space left on device".into());
    let ev = Evidence::from_log(Ok(r), vec![]);
    let (out, records) = outcome_of(&f, &ev, None, false);
    assert_eq!(
        (out.status, out.reason),
        (HostState::Partial, Some(HostReason::DiskFull))
    );
    assert_eq!(
        (
            out.files_found,
            out.files_copied,
            out.files_failed,
            out.files_unknown
        ),
        (10, 4, 6, 0)
    );
    assert_eq!(records.len(), 4);
    assert!(
        out.log_excerpt.contains("No space left"),
        "{}",
        out.log_excerpt
    );
}

fn host(status: HostState) -> HostOutcome {
    HostOutcome::bare(1, status, None, "")
}

#[test]
fn the_backup_succeeds_only_when_every_host_did() {
    use HostState::*;
    let state = |earlier: &[HostState], hosts: Vec<HostState>| {
        let o = decide(
            earlier,
            hosts.into_iter().map(host).collect(),
            vec![],
            Ending::Finished,
        );
        (o.state, o.failure_reason)
    };
    assert_eq!(
        state(&[], vec![Succeeded, Succeeded]),
        (BackupState::Succeeded, None)
    );
    assert_eq!(
        state(&[Skipped], vec![Failed]),
        (BackupState::Failed, Some(FailureReason::AllHostsFailed))
    );
    assert_eq!(
        state(&[Skipped], vec![Succeeded]),
        (BackupState::Partial, None)
    );
    assert_eq!(state(&[], vec![Partial]), (BackupState::Partial, None));
}

#[test]
fn a_host_with_unknown_files_keeps_the_backup_from_succeeding_and_the_message_says_so() {
    let mut h = host(HostState::Partial);
    (h.files_found, h.files_copied, h.files_unknown) = (100, 60, 40);
    let o = decide(&[], vec![h], vec![], Ending::Finished);
    assert_eq!(o.state, BackupState::Partial);
    assert!(
        o.message.contains("40 with an unknown outcome"),
        "{}",
        o.message
    );
}

#[test]
fn cancel_and_deadline_endings_override_the_hosts() {
    let o = decide(
        &[],
        vec![host(HostState::Succeeded)],
        vec![],
        Ending::Cancelled,
    );
    assert_eq!((o.state, o.failure_reason), (BackupState::Cancelled, None));
    let o = decide(
        &[],
        vec![host(HostState::Partial)],
        vec![],
        Ending::DeadlinePassed,
    );
    assert_eq!(
        (o.state, o.failure_reason),
        (BackupState::Failed, Some(FailureReason::DeadlineExceeded))
    );
}
