//! Following a backup (`backup watch`, and `backup start|retry` when waiting): one bar per host
//! (files done, then files and bytes copied) from WatchBackup; a dropped stream is resumed with
//! `after_seq`; Ctrl-C detaches without cancelling and says how to re-attach. At the end the
//! summary table is printed and the exit code says how it ended (3 for PARTIAL).
//!
//! Bars are drawn only on a terminal; elsewhere each host's end is one line on stderr. With
//! `-o jsonl` every event is printed as it arrives.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use proto::backup::v1 as pb;
use proto::backup::v1::watch_backup_response::Event;
use tokio_stream::StreamExt;

use super::Ctx;
use super::backup::{backup_view, state_word};
use crate::cli::Format;
use crate::error::CliError;
use crate::output::{bytes, enum_word, json_of};

/// How many times a dropped stream is resumed in a row before giving up.
const RESUMES: u32 = 5;

/// Bars of one backup's hosts.
struct Bars {
    multi: MultiProgress,
    hosts: BTreeMap<i64, ProgressBar>,
    tty: bool,
}

impl Bars {
    fn new(tty: bool) -> Self {
        let target = if tty {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Self {
            multi: MultiProgress::with_draw_target(target),
            hosts: BTreeMap::new(),
            tty,
        }
    }

    fn bar(&mut self, host: i64, ip: &str) -> &ProgressBar {
        self.hosts.entry(host).or_insert_with(|| {
            let style = ProgressStyle::with_template("{prefix:<22} {spinner} {msg}")
                .expect("a valid template");
            let bar = self.multi.add(ProgressBar::new_spinner().with_style(style));
            bar.set_prefix(format!("{host} {ip}"));
            bar.set_message("pending");
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        })
    }

    fn progress(&mut self, p: &pb::HostProgress) {
        let status = enum_word(p.status().as_str_name(), "HOST_BACKUP_STATUS_");
        let bar = self.bar(p.bk_host_id, "");
        bar.set_position(p.files_done.max(0) as u64);
        bar.set_message(format!("{status} · {} files", p.files_done));
    }

    fn finished(&mut self, h: &pb::HostBackupResult) {
        let status = enum_word(h.status().as_str_name(), "HOST_BACKUP_STATUS_");
        let line = format!(
            "{status} · {} files · {}",
            h.files_copied,
            bytes(h.bytes_copied)
        );
        let tty = self.tty;
        let bar = self.bar(h.bk_host_id, &h.ip);
        if !h.ip.is_empty() {
            bar.set_prefix(format!("{} {}", h.bk_host_id, h.ip));
        }
        bar.finish_with_message(line.clone());
        if !tty {
            eprintln!("host {} {}: {line}", h.bk_host_id, h.ip);
        }
    }

    fn clear(&self) {
        let _ = self.multi.clear();
    }
}

/// Follows backup `id` to its end (or until Ctrl-C).
pub async fn follow(ctx: &Ctx, id: &str) -> Result<(), CliError> {
    let mut bars = Bars::new(ctx.out.tty);
    let followed = tokio::select! {
        r = stream(ctx, id, &mut bars) => r,
        _ = tokio::signal::ctrl_c() => {
            bars.clear();
            eprintln!("detached: backup {id} goes on. Re-attach with: backupctl backup watch {id}");
            return Ok(());
        }
    };
    bars.clear();
    followed?;
    let req = pb::GetBackupRequest {
        backup_id: id.to_owned(),
        view: pb::BackupView::Hosts as i32,
    };
    let backup = ctx
        .clients
        .backup()
        .get_backup(req)
        .await?
        .into_inner()
        .backup
        .unwrap_or_default();
    if ctx.out.format != Format::Jsonl {
        ctx.out.print(&backup_view(&ctx.out, &backup, false))?;
    }
    let word = state_word(&backup);
    match backup.state() {
        pb::BackupState::Succeeded => Ok(()),
        pb::BackupState::Partial => Err(CliError::Partial(format!(
            "backup {id} partly succeeded; `backupctl backup retry {id}` retries its failed hosts"
        ))),
        _ => Err(CliError::Failed(format!("backup {id} {word}"))),
    }
}

/// Reads events until the backup's terminal state, resuming after a dropped stream.
async fn stream(ctx: &Ctx, id: &str, bars: &mut Bars) -> Result<(), CliError> {
    let mut after_seq = 0;
    let mut resumes = 0;
    loop {
        let req = pb::WatchBackupRequest {
            backup_id: id.to_owned(),
            after_seq,
        };
        let mut events = match ctx.clients.backup().watch_backup(req).await {
            Ok(r) => r.into_inner(),
            Err(s) if resumable(&s) && resumes < RESUMES => {
                resumes += 1;
                tokio::time::sleep(Duration::from_millis(300 * u64::from(resumes))).await;
                continue;
            }
            Err(s) => return Err(s.into()),
        };
        while let Some(item) = events.next().await {
            let msg = match item {
                Ok(m) => m,
                Err(s) if resumable(&s) => break,
                Err(s) => return Err(s.into()),
            };
            resumes = 0;
            after_seq = after_seq.max(msg.seq);
            if ctx.out.format == Format::Jsonl {
                let mut stdout = std::io::stdout().lock();
                writeln!(stdout, "{}", json_of(&msg))?;
                stdout.flush()?;
            }
            if apply(bars, msg.event) {
                return Ok(());
            }
        }
        resumes += 1;
        if resumes > RESUMES {
            return Err(CliError::Failed(format!(
                "lost the progress stream of backup {id}; re-attach with: backupctl backup watch {id}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(300 * u64::from(resumes))).await;
    }
}

/// Shows one event; true once the backup is in a terminal state.
fn apply(bars: &mut Bars, event: Option<Event>) -> bool {
    match event {
        Some(Event::Snapshot(b)) => {
            for h in &b.host_results {
                match h.status() {
                    pb::HostBackupStatus::Pending | pb::HostBackupStatus::Running => {
                        bars.bar(h.bk_host_id, &h.ip);
                    }
                    _ => bars.finished(h),
                }
            }
            terminal(b.state())
        }
        Some(Event::StateChanged(s)) => terminal(s.state()),
        Some(Event::HostProgress(p)) => {
            bars.progress(&p);
            false
        }
        Some(Event::HostFinished(h)) => {
            bars.finished(&h);
            false
        }
        Some(Event::CountsChanged(_)) | None => false,
    }
}

fn terminal(state: pb::BackupState) -> bool {
    matches!(
        state,
        pb::BackupState::Succeeded
            | pb::BackupState::Partial
            | pb::BackupState::Failed
            | pb::BackupState::Cancelled
    )
}

/// Whether a stream that failed this way is worth resuming.
fn resumable(s: &tonic::Status) -> bool {
    matches!(
        s.code(),
        tonic::Code::Unavailable
            | tonic::Code::Unknown
            | tonic::Code::Internal
            | tonic::Code::Cancelled
            | tonic::Code::DeadlineExceeded
            | tonic::Code::Aborted
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_four_end_states_end_the_watch() {
        let ended: Vec<bool> = (0..=7)
            .map(|s| terminal(pb::BackupState::try_from(s).unwrap()))
            .collect();
        assert_eq!(ended, [false, false, false, false, true, true, true, true]);
    }

    #[test]
    fn a_snapshot_of_an_ended_backup_ends_the_watch_and_progress_does_not() {
        let mut bars = Bars::new(false);
        let snap = pb::Backup {
            state: pb::BackupState::Running as i32,
            ..Default::default()
        };
        assert!(!apply(&mut bars, Some(Event::Snapshot(snap))));
        let p = pb::HostProgress {
            bk_host_id: 1001,
            files_done: 3,
            ..Default::default()
        };
        assert!(!apply(&mut bars, Some(Event::HostProgress(p))));
        assert_eq!(bars.hosts[&1001].position(), 3);
        let done = pb::BackupStateChanged {
            state: pb::BackupState::Partial as i32,
            ..Default::default()
        };
        assert!(apply(&mut bars, Some(Event::StateChanged(done))));
    }
}
