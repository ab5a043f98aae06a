//! Unit tests of retention validation, `prune.sh`'s arguments and its report parser on
//! hand-written logs. The script itself runs in `tests/host_scripts/hostscript/prune.rs`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::*;

fn b64(b: &[u8]) -> String {
    STANDARD.encode(b)
}

fn names(ids: &[&str]) -> Vec<BackupDirName> {
    ids.iter()
        .map(|i| BackupDirName::parse(&format!("backup_20261205_040000_{i}")).unwrap())
        .collect()
}

struct Fixture {
    sel: FileSelection,
    schedule: ScheduleTag,
    keep: Vec<BackupDirName>,
    candidates: Vec<BackupDirName>,
    run: RunId,
}

impl Fixture {
    fn new() -> Self {
        Self {
            sel: FileSelection::new("/data/logs", &["log"], 10).unwrap(),
            schedule: ScheduleTag::new("sched-1").unwrap(),
            keep: names(&["kkkk"]),
            candidates: names(&["aaaa", "bbbb", "cccc", "dddd"]),
            run: RunId::new("prune-0001").unwrap(),
        }
    }

    fn req(&self) -> PruneRequest<'_> {
        PruneRequest {
            selection: &self.sel,
            schedule: &self.schedule,
            retention: Retention::new(Some(3), None).unwrap(),
            keep: &self.keep,
            candidates: &self.candidates,
        }
    }

    fn parse(&self, body: &[&str], trailer: &str) -> Result<PruneReport> {
        let mut log = format!(
            "@bkb 2 begin prune prune-0001 {} sched-1\n",
            b64(b"/data/logs")
        );
        for l in body.iter().chain([&trailer]) {
            log.push_str(l);
            log.push('\n');
        }
        parse_prune_output(log.as_bytes(), &self.req(), &self.run)
    }
}

const BODY: [&str; 4] = [
    "R backup_20261205_040000_aaaa pruned - -",
    "R backup_20261205_040000_bbbb gone - -",
    "R backup_20261205_040000_cccc kept other_schedule -",
    "R backup_20261205_040000_dddd failed read_only UmVhZC1vbmx5IGZpbGUgc3lzdGVt",
];
const TRAILER: &str = "@bkb 2 end prune-0001 ok candidates=4 pruned=1 gone=1 kept=1 failed=1";

#[test]
fn retention_needs_keep_last_or_keep_within_in_range() {
    let field = |r: Result<Retention>| r.unwrap_err().field().unwrap().to_owned();
    assert_eq!(field(Retention::new(None, None)), "keep_last");
    assert_eq!(field(Retention::new(Some(0), None)), "keep_last");
    let zero = Some(Duration::from_millis(900));
    assert_eq!(field(Retention::new(Some(3), zero)), "keep_within");
    let r = Retention::new(None, Some(Duration::from_secs(14 * 86_400))).unwrap();
    assert_eq!(
        (r.keep_last(), r.keep_within()),
        (None, Some(Duration::from_secs(1_209_600)))
    );
}

#[test]
fn prune_arguments_carry_the_keep_list_count_before_the_candidates() {
    let f = Fixture::new();
    let got = prune_script_param(&f.req(), &f.run);
    let expected: Vec<String> = [&b"2"[..], b"prune-0001", b"/data/logs", b"sched-1", b"3"]
        .map(b64)
        .into_iter()
        .chain(["-".to_owned(), b64(b"1")])
        .chain(
            f.keep
                .iter()
                .chain(&f.candidates)
                .map(|n| b64(n.as_str().as_bytes())),
        )
        .collect();
    assert_eq!(got, expected.join(" "));
}

#[test]
fn a_prune_report_gives_each_candidate_its_outcome_in_order() {
    let f = Fixture::new();
    let r = f.parse(&BODY, TRAILER).unwrap();
    assert_eq!(r.status, HostStatus::Ok);
    let got: Vec<(&str, PruneOutcome)> = r
        .entries
        .iter()
        .map(|e| (e.name.as_str(), e.outcome.clone()))
        .collect();
    assert_eq!(
        got,
        [
            ("backup_20261205_040000_aaaa", PruneOutcome::Pruned),
            ("backup_20261205_040000_bbbb", PruneOutcome::Gone),
            (
                "backup_20261205_040000_cccc",
                PruneOutcome::Kept(KeepReason::OtherSchedule)
            ),
            (
                "backup_20261205_040000_dddd",
                PruneOutcome::Failed {
                    reason: FailReason::ReadOnly,
                    detail: Some("Read-only file system".to_owned())
                }
            ),
        ]
    );
    assert!(KeepReason::OtherSchedule.is_refusal() && !KeepReason::Newest.is_refusal());
}

#[test]
fn prune_reports_that_cannot_be_trusted_are_errors() {
    let f = Fixture::new();
    let swapped = [BODY[1], BODY[0], BODY[2], BODY[3]];
    assert_eq!(
        f.parse(&swapped, TRAILER).unwrap_err(),
        HostScriptError::Mismatch { field: "candidate" }
    );
    let wrong_count = "@bkb 2 end prune-0001 ok candidates=4 pruned=2 gone=0 kept=1 failed=1";
    assert!(matches!(
        f.parse(&BODY, wrong_count).unwrap_err(),
        HostScriptError::CountMismatch {
            field: "pruned",
            ..
        }
    ));
    let short = "@bkb 2 end prune-0001 ok candidates=3 pruned=1 gone=1 kept=1 failed=0";
    assert!(matches!(
        f.parse(&BODY[..3], short).unwrap_err(),
        HostScriptError::Garbage { .. }
    ));
    let unknown = ["R backup_20261205_040000_aaaa kept because -"];
    assert!(f.parse(&unknown, TRAILER).is_err());
    let dir_missing =
        "@bkb 2 end prune-0001 dir_missing candidates=1 pruned=1 gone=0 kept=0 failed=0";
    assert!(f.parse(&BODY[..1], dir_missing).is_err());
    let ok_empty = "@bkb 2 end prune-0001 dir_missing candidates=0 pruned=0 gone=0 kept=0 failed=0";
    assert_eq!(
        f.parse(&[], ok_empty).unwrap().status,
        HostStatus::DirMissing
    );
    let other_schedule = format!(
        "@bkb 2 begin prune prune-0001 {} sched-2\n",
        b64(b"/data/logs")
    );
    assert_eq!(
        parse_prune_output(other_schedule.as_bytes(), &f.req(), &f.run).unwrap_err(),
        HostScriptError::Mismatch { field: "schedule" }
    );
    let cut = format!(
        "@bkb 2 begin prune prune-0001 {} sched-1\n{}\n{}\n",
        b64(b"/data/logs"),
        BODY[0],
        BODY[1]
    );
    assert_eq!(
        parse_prune_output(cut.as_bytes(), &f.req(), &f.run).unwrap_err(),
        HostScriptError::Truncated { records: 2 }
    );
}

#[test]
fn a_scheduled_backup_carries_its_schedule_as_the_fifth_argument() {
    let f = Fixture::new();
    let name = &f.candidates[0];
    let tag = ScheduleTag::from_uuid(uuid::Uuid::nil());
    let p = super::super::backup_script_param_for(&f.sel, name, &f.run, Some(&tag));
    let tokens: Vec<&str> = p.split(' ').collect();
    assert_eq!(
        STANDARD.decode(tokens[4]).unwrap(),
        b"schedule=00000000-0000-0000-0000-000000000000"
    );
    assert_eq!(STANDARD.decode(tokens[5]).unwrap(), b".log");
    let manual = super::super::backup_script_param(&f.sel, name, &f.run);
    assert_eq!(
        manual,
        super::super::backup_script_param_for(&f.sel, name, &f.run, None)
    );
    assert_eq!(
        ScheduleTag::new("a/b").unwrap_err().field(),
        Some("schedule_id")
    );
}
