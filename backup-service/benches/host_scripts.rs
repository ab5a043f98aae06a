//! Wall time of the host scripts against what plain tar and sha256sum need for the same work.
//!
//! For each tree (5,000 files of 2 KB in 50 directories; 100,000 files of 200 bytes; one 1 GiB
//! file, skipped with `BENCH_SKIP_BIG=1`) it times `bash backup.sh <param>` as JOB runs it
//! against `tar -cf - . | tar -xf - -C copy` plus `sha256sum` of every source and every copy
//! (`find -print0 | xargs -0`), and checks every backup recorded every file (page 0 and the
//! pages `read.sh` prints). It also times search.sh over the 100,000 files (listing 1,000 and
//! 100,000) against one `find -printf` over the same tree. Target: at most 2× the baseline.
//!
//! Each side runs once to warm up, then three rounds alternate baseline and script; the table
//! shows the medians (and every timed sample). `sync` runs before each timed run, outside the
//! timing, so no run pays for the previous one's writeback. Copies are not deleted between the
//! runs of a tree with many files: on ext4 without a journal, creating a file skips every inode
//! of its group freed in the last 60 s (360 s while the inode table block is dirty), one buffer
//! lookup each, so a run that follows the deletion of 100,000 copies pays seconds for it (this
//! is what made an earlier version of this bench, which deleted the baseline's copy right before
//! timing the script, report 2.7× for the 5,000 files). Every baseline copy goes to its own
//! directory beside the tree and every backup gets its own name, so each run creates the same
//! files as the first. The one-file tree's copies are deleted after each run (one inode).
//!
//! The trees live in a temporary directory (`TMPDIR` chooses where): on a shared machine, put it
//! on a filesystem, or a directory, that other work is not filling and emptying.
//!
//! Run: `cargo bench -p backup-service --bench host_scripts`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use backup_service::hostscript::*;

/// Timed rounds per case (after one warm-up run of each side).
const ROUNDS: usize = 3;

/// A tree to back up: its label, how to make it, whether copies are kept until the tree is done.
type MakeTree = (&'static str, Box<dyn Fn(&Path)>, bool);

fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let mut trees: Vec<MakeTree> = vec![
        (
            "5,000 files of 2 KB in 50 dirs",
            Box::new(|d| files(d, 5_000, 50, 2048)),
            true,
        ),
        (
            "100,000 files of 200 B",
            Box::new(|d| files(d, 100_000, 100, 200)),
            true,
        ),
    ];
    if std::env::var_os("BENCH_SKIP_BIG").is_none() {
        trees.push(("one 1 GiB file", Box::new(big), false));
    }
    let mut rows = Vec::new();
    for (i, (label, make, keep)) in trees.iter().enumerate() {
        let dir = tmp.path().join(format!("t{i}"));
        let data = dir.join("data");
        std::fs::create_dir_all(&data).unwrap();
        make(&data);
        let n = count(&data);
        if i == 1 {
            // Before any backup exists under the tree, so find walks the same files.
            search_bench(&data, &mut rows);
        }
        let (mut base, mut script) = (Vec::new(), Vec::new());
        for round in 0..=ROUNDS {
            sync();
            let b = baseline(&dir, round, *keep);
            sync();
            let (s, recorded) = backup(&data, round, *keep);
            assert_eq!(recorded, n, "{label}: every file has a record");
            if round > 0 {
                base.push(b);
                script.push(s);
            }
        }
        rows.push((format!("backup, {label}"), script, base));
        eprintln!("{}", row(rows.last().unwrap()));
    }
    println!(
        "{:<40} {:>9} {:>9} {:>7}   samples script | baseline",
        "median of 3", "script", "baseline", "ratio"
    );
    for r in &rows {
        println!("{}", row(r));
    }
}

fn files(dir: &Path, n: usize, dirs: usize, size: usize) {
    let body = vec![b'x'; size];
    for d in 0..dirs {
        std::fs::create_dir_all(dir.join(format!("d{d:03}"))).unwrap();
    }
    for i in 0..n {
        let p = dir.join(format!("d{:03}/file-{i:06}.log", i % dirs));
        std::fs::write(p, &body).unwrap();
    }
}

fn big(dir: &Path) {
    sh(&format!(
        "head -c 1073741824 /dev/urandom > '{}/big.log'",
        dir.display()
    ));
}

fn count(dir: &Path) -> u64 {
    let out = Command::new("find")
        .arg(dir)
        .args(["-type", "f"])
        .output()
        .unwrap();
    out.stdout.iter().filter(|b| **b == b'\n').count() as u64
}

fn sh(script: &str) -> Duration {
    let t = Instant::now();
    let st = Command::new("bash").arg("-c").arg(script).status().unwrap();
    assert!(st.success(), "{script}");
    t.elapsed()
}

fn sync() {
    sh("sync");
}

/// tar pipe + sha256sum of the sources and of the copies, from a cold start of each tool, into
/// a new directory beside the tree (the backups under data/backup are left out).
fn baseline(dir: &Path, round: usize, keep: bool) -> Duration {
    let d = dir.display();
    let t = sh(&format!(
        "cd '{d}' && mkdir copy{round} && (cd data && tar --exclude=./backup -cf - .) | \
         tar -xf - -C copy{round} && \
         find data -path data/backup -prune -o -type f -print0 | xargs -0 sha256sum >/dev/null && \
         find copy{round} -type f -print0 | xargs -0 sha256sum >/dev/null"
    ));
    if !keep {
        sh(&format!("rm -rf '{d}/copy{round}'"));
    }
    t
}

/// Runs backup.sh as JOB does (a new run id and backup name each round) and reads every page
/// back; returns its time and the records.
fn backup(data: &Path, round: usize, keep: bool) -> (Duration, u64) {
    let sel = FileSelection::new(data.to_str().unwrap(), &["log"], 1000).unwrap();
    let (name, run) = (
        BackupDirName::parse(&format!("backup_20240514_120300_1f3c9a2{round}")).unwrap(),
        RunId::new(&format!("bench-000{round}")).unwrap(),
    );
    let script = data.parent().unwrap().join("backup.sh");
    std::fs::write(&script, BACKUP_SH).unwrap();
    let param = backup_script_param(&sel, &name, &run);
    let t = Instant::now();
    let out = Command::new("bash")
        .arg(&script)
        .args(param.split(' '))
        .output()
        .unwrap();
    let took = t.elapsed();
    let r = parse_backup_output(&out.stdout, &sel, &name, &run).unwrap();
    let mut records = r.files.len() as u64;
    std::fs::write(&script, READ_SH).unwrap();
    for page in 1..r.pages {
        let param = read_script_param(&sel, &name, &run, page);
        let out = Command::new("bash")
            .arg(&script)
            .args(param.split(' '))
            .output()
            .unwrap();
        records += parse_read_output(&out.stdout, &sel, &name, &run, page)
            .unwrap()
            .files
            .len() as u64;
    }
    assert_eq!(r.manifest_files, r.found);
    if !keep {
        sh(&format!("rm -rf '{}/backup'", data.display()));
    }
    (took, records)
}

type Row = (String, Vec<Duration>, Vec<Duration>);

fn search_bench(data: &Path, rows: &mut Vec<Row>) {
    let script = data.parent().unwrap().join("search.sh");
    std::fs::write(&script, SEARCH_SH).unwrap();
    let find = || {
        sh(&format!(
            "cd '{}' && find . -printf '%s %T@ %p\\n' >/dev/null",
            data.display()
        ))
    };
    for max in [1_000, 100_000] {
        let sel = FileSelection::new(data.to_str().unwrap(), &["log"], max).unwrap();
        let run = RunId::new("bench-0001").unwrap();
        let param = search_script_param(&sel, false, &run);
        let search = || {
            let t = Instant::now();
            let out = Command::new("bash")
                .arg(&script)
                .args(param.split(' '))
                .output()
                .unwrap();
            let took = t.elapsed();
            let r = parse_search_output(&out.stdout, &sel, &run).unwrap();
            assert_eq!(r.found, 100_000);
            (took, r.files.len())
        };
        let (mut base, mut took, mut listed) = (Vec::new(), Vec::new(), 0);
        for round in 0..=ROUNDS {
            let b = find();
            let (s, l) = search();
            if round > 0 {
                base.push(b);
                took.push(s);
                listed = l;
            }
        }
        rows.push((format!("search, list {max} (listed {listed})"), took, base));
        eprintln!("{}", row(rows.last().unwrap()));
    }
}

fn median(v: &[Duration]) -> f64 {
    let mut s: Vec<f64> = v.iter().map(Duration::as_secs_f64).collect();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

fn row((label, script, base): &Row) -> String {
    let list = |v: &[Duration]| {
        v.iter()
            .map(|d| format!("{:.2}", d.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (s, b) = (median(script), median(base));
    format!(
        "{:<40} {:>8.2}s {:>8.2}s {:>6.2}×   {} | {}",
        label,
        s,
        b,
        s / b,
        list(script),
        list(base)
    )
}
