//! Wall time of the host scripts against what plain tar and sha256sum need for the same work.
//!
//! For each tree (5,000 files of 2 KB in 50 directories; 100,000 files of 200 bytes; one 1 GiB
//! file, skipped with `BENCH_SKIP_BIG=1`) it times `bash backup.sh <param>` as JOB runs it
//! against `tar -cf - . | tar -xf - -C copy` plus `sha256sum` of every source and every copy,
//! and checks the backup recorded every file (page 0 and the pages `read.sh` prints). It also
//! times search.sh over the 100,000 files (listing 1,000 and 100,000) against one
//! `find -printf`. Target: at most 2× the baseline.
//!
//! Run: `cargo bench -p backup-service --bench host_scripts`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use backup_service::hostscript::*;

const NAME: &str = "backup_20240514_120300_1f3c9a2b";

/// A tree to back up: its label and how to make it.
type MakeTree = (&'static str, Box<dyn Fn(&Path)>);

fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let mut trees: Vec<MakeTree> = vec![
        (
            "5,000 files of 2 KB in 50 dirs",
            Box::new(|d| files(d, 5_000, 50, 2048)),
        ),
        (
            "100,000 files of 200 B",
            Box::new(|d| files(d, 100_000, 100, 200)),
        ),
    ];
    if std::env::var_os("BENCH_SKIP_BIG").is_none() {
        trees.push(("one 1 GiB file", Box::new(big)));
    }
    println!(
        "{:<34} {:>10} {:>10} {:>7}",
        "backup", "script", "baseline", "ratio"
    );
    for (i, (label, make)) in trees.iter().enumerate() {
        let dir = tmp.path().join(format!("t{i}"));
        let data = dir.join("data");
        std::fs::create_dir_all(&data).unwrap();
        make(&data);
        let n = count(&data);
        let base = baseline(&dir);
        let (script, recorded) = backup(&data);
        assert_eq!(recorded, n, "{label}: every file has a record");
        report(label, script, base);
        if i == 1 {
            search_bench(&data);
        }
        std::fs::remove_dir_all(&dir).unwrap();
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

/// tar pipe + sha256sum of the sources and of the copies, from a cold start of each tool.
fn baseline(dir: &Path) -> Duration {
    let d = dir.display();
    let t = sh(&format!(
        "cd '{d}' && mkdir copy && (cd data && tar -cf - .) | tar -xf - -C copy && \
         find data -type f -print0 | xargs -0 sha256sum >/dev/null && \
         find copy -type f -print0 | xargs -0 sha256sum >/dev/null"
    ));
    sh(&format!("rm -rf '{d}/copy'"));
    t
}

/// Runs backup.sh as JOB does and reads every page back; returns its time and the records.
fn backup(data: &Path) -> (Duration, u64) {
    let sel = FileSelection::new(data.to_str().unwrap(), &["log"], 1000).unwrap();
    let (name, run) = (
        BackupDirName::parse(NAME).unwrap(),
        RunId::new("bench-0001").unwrap(),
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
    sh(&format!("rm -rf '{}/backup'", data.display()));
    (took, records)
}

fn search_bench(data: &Path) {
    let base = sh(&format!(
        "cd '{}' && find . -printf '%s %T@ %p\\n' >/dev/null",
        data.display()
    ));
    let script = data.parent().unwrap().join("search.sh");
    std::fs::write(&script, SEARCH_SH).unwrap();
    for max in [1_000, 100_000] {
        let sel = FileSelection::new(data.to_str().unwrap(), &["log"], max).unwrap();
        let run = RunId::new("bench-0001").unwrap();
        let param = search_script_param(&sel, false, &run);
        let t = Instant::now();
        let out = Command::new("bash")
            .arg(&script)
            .args(param.split(' '))
            .output()
            .unwrap();
        let took = t.elapsed();
        let r = parse_search_output(&out.stdout, &sel, &run).unwrap();
        assert_eq!(r.found, 100_000);
        report(
            &format!("search, list {max} (listed {})", r.files.len()),
            took,
            base,
        );
    }
}

fn report(label: &str, script: Duration, base: Duration) {
    println!(
        "{:<34} {:>9.2}s {:>9.2}s {:>6.2}×",
        label,
        script.as_secs_f64(),
        base.as_secs_f64(),
        script.as_secs_f64() / base.as_secs_f64()
    );
}
