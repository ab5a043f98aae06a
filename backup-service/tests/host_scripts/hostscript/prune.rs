//! prune.sh on temp trees of real backups (made by backup.sh): it removes only its schedule's
//! marked backup directories, never follows a symlink, keeps what retention and the service keep,
//! and refuses hostile names without touching anything.

use std::os::unix::fs::symlink;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use backup_service::hostscript::*;

use crate::support::*;

const SCHED: &str = "0b8f6d3e-sched-a";
const OTHER: &str = "7c1d2e4f-sched-b";

/// `backup_20261201_04000<i>_aaaa000<i>`: distinct valid names.
fn name(i: u32) -> BackupDirName {
    BackupDirName::parse(&format!("backup_20261201_{:06}_aaaa{i:04}", 40000 + i)).unwrap()
}

fn tag(s: &str) -> ScheduleTag {
    ScheduleTag::new(s).unwrap()
}

/// Runs backup.sh for `schedule` (None: manual) into `name` and checks it ended ok.
fn make(tree: &Tree, name: &BackupDirName, schedule: Option<&str>) {
    let sel = selection(&tree.dir(), 1000);
    let id = run_id(&format!("run-{}", name.as_str()));
    let tag = schedule.map(tag);
    let param = backup_script_param_for(&sel, name, &id, tag.as_ref());
    let ran = run(tree, BACKUP_SH, &param, As::Root, None);
    let r = parse_backup_output(&ran.log, &sel, name, &id).unwrap();
    assert_eq!((ran.code, r.status), (Some(0), HostStatus::Ok));
}

fn mark_path(tree: &Tree, name: &BackupDirName) -> PathBuf {
    tree.path(format!("backup/.{}.mark", name.as_str()).as_bytes())
}

fn mark_fields(tree: &Tree, name: &BackupDirName) -> Vec<String> {
    let text = std::fs::read_to_string(mark_path(tree, name)).unwrap();
    text.trim_end().split(' ').map(str::to_owned).collect()
}

/// Rewrites field `i` of `name`'s mark (5 started, 6 status, 7 exit code, 8 ended).
fn set_mark(tree: &Tree, name: &BackupDirName, i: usize, value: &str) {
    let mut f = mark_fields(tree, name);
    f[i] = value.to_owned();
    std::fs::write(mark_path(tree, name), format!("{}\n", f.join(" "))).unwrap();
}

fn dir_of(tree: &Tree, name: &BackupDirName) -> PathBuf {
    tree.path(format!("backup/{}", name.as_str()).as_bytes())
}

/// Every file of a backup: its directory and the side files beside it.
fn traces(tree: &Tree, name: &BackupDirName) -> Vec<PathBuf> {
    let n = name.as_str();
    let mut v = vec![dir_of(tree, name)];
    for side in ["mark", "run", "manifest", "index"] {
        v.push(tree.path(format!("backup/.{n}.{side}").as_bytes()));
    }
    v
}

fn exists(p: &std::path::Path) -> bool {
    p.symlink_metadata().is_ok()
}

fn assert_intact(tree: &Tree, name: &BackupDirName) {
    for p in traces(tree, name) {
        assert!(exists(&p), "{} was removed", p.display());
    }
}

fn assert_removed(tree: &Tree, name: &BackupDirName) {
    for p in traces(tree, name) {
        assert!(!exists(&p), "{} is still there", p.display());
    }
}

fn prune_as(
    tree: &Tree,
    retention: Retention,
    keep: &[BackupDirName],
    candidates: &[BackupDirName],
    who: As,
) -> (PruneReport, i32) {
    let sel = selection(&tree.dir(), 1000);
    let schedule = tag(SCHED);
    let req = PruneRequest {
        selection: &sel,
        schedule: &schedule,
        retention,
        keep,
        candidates,
    };
    let id = run_id("prune-0001");
    let ran = run(tree, PRUNE_SH, &prune_script_param(&req, &id), who, None);
    let report = parse_prune_output(&ran.log, &req, &id).unwrap();
    (report, ran.code.unwrap())
}

fn prune(
    tree: &Tree,
    retention: Retention,
    keep: &[BackupDirName],
    candidates: &[BackupDirName],
) -> (PruneReport, i32) {
    prune_as(tree, retention, keep, candidates, As::Root)
}

fn last(n: u32) -> Retention {
    Retention::new(Some(n), None).unwrap()
}

fn outcomes(r: &PruneReport) -> Vec<PruneOutcome> {
    r.entries.iter().map(|e| e.outcome.clone()).collect()
}

use PruneOutcome::{Gone, Kept, Pruned};

#[test]
fn prune_removes_only_its_schedules_old_marked_backups_and_their_side_files() {
    let tree = Tree::new();
    tree.file(b"app.log", b"log line\n");
    let ours: Vec<BackupDirName> = (1..=4).map(name).collect();
    for (i, n) in ours.iter().enumerate() {
        make(&tree, n, Some(SCHED));
        set_mark(&tree, n, 5, &(1000 * (i + 1)).to_string());
    }
    let (other, manual, unmarked) = (name(10), name(11), name(12));
    make(&tree, &other, Some(OTHER));
    make(&tree, &manual, None);
    tree.file(
        format!("backup/{}/theirs.log", unmarked.as_str()).as_bytes(),
        b"x",
    );
    let never = name(13);

    let keep = [ours[1].clone()];
    let candidates = [
        ours[0].clone(),
        ours[1].clone(),
        ours[2].clone(),
        ours[3].clone(),
        other.clone(),
        manual.clone(),
        unmarked.clone(),
        never.clone(),
    ];
    let (r, code) = prune(&tree, last(1), &keep, &candidates);
    assert_eq!((code, r.status), (0, HostStatus::Ok));
    assert_eq!(
        outcomes(&r),
        [
            Pruned,
            Kept(KeepReason::KeepList),
            Pruned,
            Kept(KeepReason::Newest),
            Kept(KeepReason::OtherSchedule),
            Kept(KeepReason::Manual),
            Kept(KeepReason::NotMarked),
            Gone,
        ]
    );
    assert_removed(&tree, &ours[0]);
    assert_removed(&tree, &ours[2]);
    for n in [&ours[1], &ours[3], &other, &manual] {
        assert_intact(&tree, n);
    }
    assert!(dir_of(&tree, &unmarked).join("theirs.log").exists());
    assert!(tree.path(b"app.log").exists());

    // Run again: what was pruned is gone, the rest is kept for the same reasons.
    let (r, _) = prune(&tree, last(1), &keep, &candidates[..3]);
    assert_eq!(outcomes(&r), [Gone, Kept(KeepReason::KeepList), Gone]);
}

#[test]
fn the_host_keeps_the_newest_the_keep_last_and_the_recent_whatever_the_service_asks() {
    let tree = Tree::new();
    tree.file(b"app.log", b"log line\n");
    let ours: Vec<BackupDirName> = (1..=5).map(name).collect();
    for n in &ours {
        make(&tree, n, Some(SCHED));
    }
    let now = chrono::Utc::now().timestamp();
    // Oldest first; ours[4] started a minute ago, the rest days ago.
    for (i, n) in ours.iter().enumerate().take(4) {
        set_mark(&tree, n, 5, &(now - 86_400 * (10 - i as i64)).to_string());
    }
    set_mark(&tree, &ours[4], 5, &(now - 60).to_string());
    // ours[3] finished disk_full: not a successful backup, so never the newest or keep_last.
    set_mark(&tree, &ours[3], 6, "disk_full");
    set_mark(&tree, &ours[3], 7, "8");

    let retention = Retention::new(Some(2), Some(Duration::from_secs(3600))).unwrap();
    let (r, code) = prune(&tree, retention, &[], &ours);
    assert_eq!(code, 0);
    assert_eq!(
        outcomes(&r),
        [
            Pruned,
            Pruned,
            Kept(KeepReason::KeepLast),
            Pruned,
            Kept(KeepReason::Newest),
        ]
    );
    assert_intact(&tree, &ours[2]);
    assert_intact(&tree, &ours[4]);

    // keep_within alone still keeps the newest successful backup, however old.
    set_mark(&tree, &ours[4], 5, &(now - 86_400).to_string());
    let within = Retention::new(None, Some(Duration::from_secs(3600))).unwrap();
    let (r, _) = prune(&tree, within, &[], &[ours[2].clone(), ours[4].clone()]);
    assert_eq!(outcomes(&r), [Pruned, Kept(KeepReason::Newest)]);
}

#[test]
fn an_unfinished_backup_is_kept_while_its_script_runs_and_pruned_once_it_is_gone() {
    let tree = Tree::new();
    tree.file(b"app.log", b"log line\n");
    let (done, partial) = (name(1), name(2));
    make(&tree, &done, Some(SCHED));
    make(&tree, &partial, Some(SCHED));
    set_mark(&tree, &done, 5, "1000");
    set_mark(&tree, &partial, 5, "2000");
    set_mark(&tree, &partial, 6, "running");
    set_mark(&tree, &partial, 7, "-");
    set_mark(&tree, &partial, 8, "-");
    let mut alive = Command::new("sleep").arg("600").spawn().unwrap();
    let pid_file = tree.path(format!("backup/.{}.pid", partial.as_str()).as_bytes());
    std::fs::write(&pid_file, format!("{} -\n", alive.id())).unwrap();

    let candidates = [partial.clone(), done.clone()];
    let (r, _) = prune(&tree, last(1), &[], &candidates);
    // The unfinished one is newer but not successful: the finished one is the newest kept.
    assert_eq!(
        outcomes(&r),
        [Kept(KeepReason::Running), Kept(KeepReason::Newest)]
    );
    assert_intact(&tree, &partial);

    alive.kill().unwrap();
    alive.wait().unwrap();
    let (r, _) = prune(&tree, last(1), &[], &candidates);
    assert_eq!(outcomes(&r), [Pruned, Kept(KeepReason::Newest)]);
    assert_removed(&tree, &partial);
    assert!(!exists(&pid_file));
}

#[test]
fn prune_never_follows_a_symlink_nor_removes_what_is_not_a_directory() {
    let tree = Tree::new();
    tree.file(b"app.log", b"log line\n");
    let outside = tree.base.join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("precious"), b"keep me").unwrap();
    let ns: Vec<BackupDirName> = (1..=6).map(name).collect();
    for n in &ns {
        make(&tree, n, Some(SCHED));
        set_mark(&tree, n, 5, "1000");
    }
    let newest = name(9);
    make(&tree, &newest, Some(SCHED));
    // ns[0] -> outside, ns[1] -> /, ns[2] -> ns[3] (inside), ns[4] a file, ns[5] holds a link out.
    for (n, target) in [(&ns[0], outside.clone()), (&ns[1], PathBuf::from("/"))] {
        std::fs::remove_dir_all(dir_of(&tree, n)).unwrap();
        symlink(target, dir_of(&tree, n)).unwrap();
    }
    std::fs::remove_dir_all(dir_of(&tree, &ns[2])).unwrap();
    symlink(ns[3].as_str(), dir_of(&tree, &ns[2])).unwrap();
    std::fs::remove_dir_all(dir_of(&tree, &ns[4])).unwrap();
    std::fs::write(dir_of(&tree, &ns[4]), b"a file named like a backup").unwrap();
    symlink(&outside, dir_of(&tree, &ns[5]).join("out")).unwrap();

    let candidates = [
        ns[0].clone(),
        ns[1].clone(),
        ns[2].clone(),
        ns[4].clone(),
        ns[5].clone(),
    ];
    let (r, code) = prune(&tree, last(1), &[], &candidates);
    assert_eq!(code, 0);
    let not_dir = Kept(KeepReason::NotADirectory);
    assert_eq!(
        outcomes(&r),
        [
            not_dir.clone(),
            not_dir.clone(),
            not_dir.clone(),
            not_dir,
            Pruned
        ]
    );
    assert_eq!(std::fs::read(outside.join("precious")).unwrap(), b"keep me");
    for n in &ns[..5] {
        assert_intact(&tree, n);
    }
    assert!(dir_of(&tree, &ns[3]).join("app.log").exists());
    assert!(std::fs::read_link(dir_of(&tree, &ns[0])).is_ok());
    assert_removed(&tree, &ns[5]);

    // `backup` itself a symlink out: nothing is looked at.
    std::fs::rename(tree.path(b"backup"), tree.path(b"real-backup")).unwrap();
    symlink(tree.path(b"real-backup"), tree.path(b"backup")).unwrap();
    let (r, code) = prune(&tree, last(1), &[], &[ns[3].clone()]);
    assert_eq!(
        (code, r.status, r.entries.len()),
        (1, HostStatus::ScriptError, 0)
    );
    assert!(
        tree.path(format!("real-backup/{}", ns[3].as_str()).as_bytes())
            .exists()
    );
}

#[test]
fn a_removal_that_fails_is_reported_failed_not_pruned_and_keeps_its_mark() {
    let tree = Tree::new();
    tree.file(b"sub/app.log", b"log line\n");
    let (stuck, free, newest) = (name(1), name(2), name(3));
    for n in [&stuck, &free, &newest] {
        make(&tree, n, Some(SCHED));
    }
    set_mark(&tree, &stuck, 5, "1000");
    set_mark(&tree, &free, 5, "1000");
    let owner = Command::new("chown")
        .args(["-R", "nobody"])
        .arg(tree.dir())
        .status()
        .unwrap();
    assert!(owner.success());
    tree.chmod(format!("backup/{}/sub", stuck.as_str()).as_bytes(), 0o555);

    let (r, code) = prune_as(
        &tree,
        last(1),
        &[],
        &[stuck.clone(), free.clone()],
        As::Nobody,
    );
    assert_eq!(code, 6);
    let PruneOutcome::Failed { reason, detail } = &r.entries[0].outcome else {
        panic!("{:?}", r.entries[0]);
    };
    assert_eq!(*reason, FailReason::PermissionDenied);
    assert!(detail.as_deref().unwrap().contains("Permission denied"));
    assert_eq!(r.entries[1].outcome, Pruned);
    assert!(exists(&mark_path(&tree, &stuck)));
    assert!(dir_of(&tree, &stuck).join("sub/app.log").exists());
    assert_removed(&tree, &free);
    assert_intact(&tree, &newest);
}

/// Runs prune.sh with raw argument strings (no validation on this side) and returns its log.
fn prune_raw(tree: &Tree, keep: &[&[u8]], candidates: &[&[u8]]) -> (String, i32) {
    let (count, dir) = (keep.len().to_string(), tree.dir());
    let mut args: Vec<&[u8]> = vec![
        b"2",
        b"prune-0001",
        dir.as_bytes(),
        SCHED.as_bytes(),
        b"1",
        b"",
        count.as_bytes(),
    ];
    args.extend(keep);
    args.extend(candidates);
    let ran = run(tree, PRUNE_SH, &encode_script_param(&args), As::Root, None);
    (String::from_utf8(ran.log).unwrap(), ran.code.unwrap())
}

#[test]
fn hostile_candidate_names_are_refused_without_touching_anything() {
    let tree = Tree::new();
    tree.file(b"app.log", b"log line\n");
    tree.file(b"x", b"bait");
    std::fs::write(tree.base.join("x"), b"bait").unwrap();
    let (old, newest) = (name(1), name(2));
    make(&tree, &old, Some(SCHED));
    make(&tree, &newest, Some(SCHED));
    set_mark(&tree, &old, 5, "1000");
    // Directories whose names are not backup names, each with a forged mark of this schedule.
    let odd: [&[u8]; 4] = [
        "backup_ with space".as_bytes(),
        "backup_new\nline".as_bytes(),
        "backup_日志".as_bytes(),
        "backup_20261201_040000_AAAA".as_bytes(),
    ];
    for o in odd {
        let mut rel = b"backup/".to_vec();
        rel.extend_from_slice(o);
        tree.file(&[&rel[..], b"/f.log"].concat(), b"x");
        let mut mark = b"backup/.".to_vec();
        mark.extend_from_slice(o);
        mark.extend_from_slice(b".mark");
        let line = format!("bkb-mark 2 run-forged0 x {SCHED} 1000 ok 0 1000\n");
        std::fs::write(tree.path(&mark), line).unwrap();
    }
    let hostile: [&[u8]; 8] = [
        b"../x",
        b"/etc",
        b"backup_../../x",
        b"..",
        b"",
        b"backup_20261201_040001_aaaa0001/../..",
        b"backup_20261201_040001_aaaa0001/",
        b"*",
    ];
    let mut candidates: Vec<&[u8]> = hostile.to_vec();
    candidates.extend(odd);
    candidates.push(old.as_str().as_bytes());
    let (log, code) = prune_raw(&tree, &[], &candidates);
    assert_eq!(code, 0, "{log}");
    let lines: Vec<&str> = log.lines().filter(|l| l.starts_with("R ")).collect();
    assert_eq!(lines.len(), candidates.len(), "{log}");
    for l in &lines[..candidates.len() - 1] {
        assert!(l.ends_with(" kept bad_name -"), "{l}");
    }
    assert_eq!(
        lines[candidates.len() - 1],
        format!("R {} pruned - -", old.as_str())
    );
    assert_eq!(std::fs::read(tree.base.join("x")).unwrap(), b"bait");
    assert_eq!(std::fs::read(tree.path(b"x")).unwrap(), b"bait");
    for o in odd {
        let mut rel = b"backup/".to_vec();
        rel.extend_from_slice(o);
        assert!(tree.path(&[&rel[..], b"/f.log"].concat()).exists());
    }
    assert_intact(&tree, &newest);

    // A hostile name in the keep list refuses the whole run.
    let (log, code) = prune_raw(&tree, &[b"../x"], &[newest.as_str().as_bytes()]);
    assert_eq!(code, 2, "{log}");
    assert!(!log.contains("\nR "), "{log}");
    assert_intact(&tree, &newest);
}

#[test]
fn backup_marks_its_directory_with_run_schedule_and_how_it_ended() {
    let tree = Tree::new();
    tree.file(b"app.log", b"log line\n");
    let (scheduled, manual) = (name(1), name(2));
    make(&tree, &scheduled, Some(SCHED));
    make(&tree, &manual, None);
    let f = mark_fields(&tree, &scheduled);
    let run_name = format!("run-{}", scheduled.as_str());
    let want = ["bkb-mark", "2", &run_name, scheduled.as_str(), SCHED];
    assert_eq!(f[..5], want);
    assert_eq!(f[6..8], ["ok", "0"]);
    let started: i64 = f[5].parse().unwrap();
    let ended: i64 = f[8].parse().unwrap();
    assert!((started - chrono::Utc::now().timestamp()).abs() < 60 && ended >= started);
    assert_eq!(mark_fields(&tree, &manual)[4], "-");

    // A run killed mid-batch leaves its mark saying it is still running.
    let killed = Tree::new();
    for i in 0..7 {
        killed.file(format!("f{i}.log").as_bytes(), b"x");
    }
    let (ran, ..) = backup_killed_in_second_batch(&killed);
    assert_eq!(ran.code, None);
    let name = BackupDirName::parse(NAME).unwrap();
    assert_eq!(&mark_fields(&killed, &name)[6..], ["running", "-", "-"]);

    // A schedule id that is not one is refused before anything is made.
    let (sel, dir) = (selection(&tree.dir(), 1000), tree.dir());
    let args: [&[u8]; 6] = [
        b"2",
        b"run-00000bad",
        dir.as_bytes(),
        name.as_str().as_bytes(),
        b"schedule=../x",
        b".log",
    ];
    let ran = run(
        &tree,
        BACKUP_SH,
        &encode_script_param(&args),
        As::Root,
        None,
    );
    let id = run_id("run-00000bad");
    let r = parse_backup_output(&ran.log, &sel, &name, &id).unwrap();
    assert_eq!((ran.code, r.status), (Some(2), HostStatus::ScriptError));
    assert!(!dir_of(&tree, &name).exists());
}

#[test]
fn without_a_backup_directory_every_candidate_is_gone_and_without_the_directory_none_is_looked_at()
{
    let tree = Tree::new();
    tree.file(b"app.log", b"log line\n");
    let (r, code) = prune(&tree, last(1), &[], &[name(1), name(2)]);
    assert_eq!((code, outcomes(&r)), (0, vec![Gone, Gone]));
    assert!(!tree.path(b"backup").exists());

    std::fs::remove_dir_all(tree.path(b"")).unwrap();
    let (r, code) = prune(&tree, last(1), &[], &[name(1)]);
    assert_eq!(
        (code, r.status, r.entries.len()),
        (3, HostStatus::DirMissing, 0)
    );
}

#[test]
fn a_prune_that_died_after_the_directory_is_finished_by_the_next_one() {
    let tree = Tree::new();
    tree.file(b"app.log", b"log line\n");
    let (half, newest) = (name(1), name(2));
    make(&tree, &half, Some(SCHED));
    make(&tree, &newest, Some(SCHED));
    set_mark(&tree, &half, 5, "1000");
    // The directory went, its side files and mark did not.
    std::fs::remove_dir_all(dir_of(&tree, &half)).unwrap();
    let (r, code) = prune(&tree, last(1), &[], std::slice::from_ref(&half));
    assert_eq!((code, outcomes(&r)), (0, vec![Pruned]));
    assert_removed(&tree, &half);
    assert_intact(&tree, &newest);
}
