//! Reading manifest pages back: `read.sh` runs — one JOB instance per (page, skip) for all the
//! hosts that need that page — until every host's records are in or known to be unreadable.
//!
//! Decision: a read is repeatable (it changes nothing a second read would change differently),
//! so any failed call is retried, and a log JOB cut short is read on from after its last
//! complete record instead of being given up.

use std::collections::BTreeMap;
use std::time::Duration;

use proto::jobgateway::v1::HostLog;

use super::collect::{CollectedHost, READ_RETRIES};
use super::run::{BackupRun, Halt, off_runtime};
use crate::domain::Phase;
use crate::gateway::{Launch, Polling, Which};
use crate::hostscript::{
    PageReport, READ_SH, ReadStatus, parse_read_output_at, read_script_param_at,
};
use crate::outcome::Evidence;
use crate::outcome::ManifestState;
use crate::store::backups::BackupRow;

/// JOB timeout of one `read.sh` run.
const READ_TIMEOUT_SECS: i32 = 120;
/// What a host still needs read: page `page` from its record `skip` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Need {
    page: u32,
    skip: u32,
    busy_tries: u32,
}

impl Need {
    fn page(page: u32) -> Self {
        Self {
            page,
            skip: 0,
            busy_tries: 0,
        }
    }

    fn at(self) -> (u32, u32) {
        (self.page, self.skip)
    }
}

impl BackupRun<'_> {
    /// Runs `read.sh` page by page until no host needs another page.
    pub(super) async fn read_pages(
        &self,
        row: &BackupRow,
        hosts: &mut [CollectedHost],
        first_pages: BTreeMap<i64, u32>,
    ) -> Result<(), Halt> {
        let mut needs: BTreeMap<i64, Need> = first_pages
            .into_iter()
            .map(|(host, page)| (host, Need::page(page)))
            .collect();
        while let Some((page, skip)) = needs.values().map(|n| n.at()).min() {
            let targets: Vec<i64> = needs
                .iter()
                .filter(|(_, n)| n.at() == (page, skip))
                .map(|(h, _)| *h)
                .collect();
            if page > 0 || needs.len() > 1 {
                let msg = format!(
                    "reading results: manifest page {page} of {} hosts",
                    targets.len()
                );
                self.set_phase(Phase::CollectingResults, &msg).await?;
            }
            let logs = match self.run_read(row, page, skip, &targets).await {
                Ok(logs) => logs,
                Err(e) => {
                    for h in &targets {
                        needs.remove(h);
                        let ev = &mut host_mut(hosts, *h).evidence;
                        ev.unread = Some(format!(
                            "manifest page {page} could not be read: {}",
                            e.message()
                        ));
                    }
                    continue;
                }
            };
            let args = self.args.clone();
            let parsed = off_runtime(move || {
                targets
                    .into_iter()
                    .map(|h| {
                        let log = logs
                            .iter()
                            .find(|l| l.bk_host_id == h && l.found)
                            .map(|l| l.log_content.as_str())
                            .unwrap_or_default();
                        let (sel, name, run) = (&args.selection, &args.name, &args.run);
                        let parsed =
                            parse_read_output_at(log.as_bytes(), sel, name, run, page, skip);
                        (h, parsed)
                    })
                    .collect::<Vec<_>>()
            })
            .await;
            let mut any_busy = false;
            for (h, parsed) in parsed {
                let ev = &mut host_mut(hosts, h).evidence;
                let need = needs.get_mut(&h).expect("a target needs its page");
                match parsed {
                    // JOB kept less log than the page: read on from after the last record.
                    Ok(r) if r.cut && !r.files.is_empty() => {
                        need.skip += r.files.len() as u32;
                        need.busy_tries = 0;
                        take_records(ev, page, r);
                    }
                    Ok(r) if r.cut => {
                        needs.remove(&h);
                        let why = "JOB kept no complete record of it";
                        ev.unread = Some(format!("manifest page {page} could not be read: {why}"));
                    }
                    Ok(r) if r.status == ReadStatus::Ok => {
                        take_page(ev, page, r, need);
                        if need.page == u32::MAX {
                            needs.remove(&h);
                        }
                    }
                    Ok(r) if r.status == ReadStatus::Busy && need.busy_tries < READ_RETRIES => {
                        need.busy_tries += 1;
                        any_busy = true;
                    }
                    Ok(r) if r.status == ReadStatus::NoManifest && page == 0 => {
                        // The run never claimed its backup directory: it copied nothing.
                        needs.remove(&h);
                    }
                    Ok(r) => {
                        needs.remove(&h);
                        let why = r
                            .error
                            .unwrap_or_else(|| format!("{:?}", r.status).to_lowercase());
                        ev.unread = Some(format!("manifest page {page} could not be read: {why}"));
                    }
                    Err(e) => {
                        needs.remove(&h);
                        ev.unread = Some(format!("manifest page {page} could not be read: {e}"));
                    }
                }
            }
            if any_busy {
                tokio::time::sleep(self.settings.poll_max).await;
            }
        }
        Ok(())
    }

    /// Launches `read.sh` for `page` (from its record `skip` on) on `hosts`, waits for it,
    /// and returns their logs.
    async fn run_read(
        &self,
        row: &BackupRow,
        page: u32,
        skip: u32,
        hosts: &[i64],
    ) -> Result<Vec<HostLog>, tonic::Status> {
        let (sel, name, run) = (&self.args.selection, &self.args.name, &self.args.run);
        let param = read_script_param_at(sel, name, run, page, skip);
        let task_name = format!("{} read {page}.{skip}", row.job_name);
        let launch = Launch {
            bk_biz_id: row.bk_biz_id,
            script: READ_SH,
            param: &param,
            hosts,
            timeout_secs: READ_TIMEOUT_SECS,
            task_name: &task_name,
            operator: &row.operator,
        };
        // A read changes nothing a second run would not change the same way: any failure may
        // be tried again.
        let job = self.retry(|| self.gw.run(Which::Read, launch)).await?;
        let polling = Polling {
            first: self.settings.poll_initial,
            max: self.settings.poll_max,
            limit: Duration::from_secs(READ_TIMEOUT_SECS as u64 + 60),
        };
        let status = self
            .gw
            .until_finished(row.bk_biz_id, &job, &row.operator, polling)
            .await?;
        self.retry(|| {
            self.gw
                .step_logs(row.bk_biz_id, &job, &status, hosts, &row.operator)
        })
        .await
    }
}

/// Adds a read page to the host's evidence and moves its need on (`u32::MAX` when done).
fn take_page(ev: &mut Evidence, page: u32, r: PageReport, need: &mut Need) {
    let pages = r.pages;
    take_records(ev, page, r);
    *need = Need::page(if page + 1 < pages { page + 1 } else { u32::MAX });
}

/// Adds what a read said (its records, the manifest's state) to the host's evidence.
fn take_records(ev: &mut Evidence, page: u32, r: PageReport) {
    let page0_read = ev.manifest.is_some_and(|m| m.page0_read) || page == 0;
    let settled = ev.manifest.map_or(0, |m| m.settled) + r.settled;
    ev.manifest = Some(ManifestState {
        found: r.found,
        complete: r.complete,
        settled,
        page0_read,
    });
    ev.pages.extend(r.files);
}

fn host_mut(hosts: &mut [CollectedHost], id: i64) -> &mut CollectedHost {
    hosts
        .iter_mut()
        .find(|h| h.host.bk_host_id == id)
        .expect("every target is a collected host")
}
