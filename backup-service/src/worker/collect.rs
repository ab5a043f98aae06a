//! The collect phase: reads every host's backup log (one batch call), then the manifest pages
//! the logs could not carry, with `read.sh` runs — one JOB instance per page number for all
//! the hosts that still need that page — until every host's results are in or known to be
//! unreadable.
//!
//! Decision: a host whose log is cut (killed by a timeout or a cancel, or capped by JOB) is
//! asked for page 0 too: `read.sh` then removes the copies the interrupted run made without a
//! manifest record, and says how many files were matched, so the missing ones are counted
//! unknown instead of silently dropped.

use std::collections::BTreeMap;

use proto::jobgateway::v1::{HostLog, HostResult, HostStatus as JobHostStatus};

use super::follow::Watched;
use super::run::{BackupRun, Halt, off_runtime};
use crate::domain::Phase;
use crate::events::HostSummary;
use crate::gateway::{Failure, wait_after};
use crate::hostscript::{HostScriptError, parse_backup_output, parse_partial_backup_output};
use crate::outcome::Evidence;
use crate::store::backups::BackupRow;

/// Times a failed read (a call or a `busy` host) is tried again.
pub(super) const READ_RETRIES: u32 = 5;

/// Everything read about the hosts that ran.
pub(super) struct Collected {
    pub(super) hosts: Vec<CollectedHost>,
}

/// One host that ran.
pub(super) struct CollectedHost {
    pub(super) host: HostSummary,
    pub(super) result: Option<HostResult>,
    pub(super) log: String,
    pub(super) evidence: Evidence,
}

impl BackupRun<'_> {
    pub(super) async fn collect(
        &self,
        row: &BackupRow,
        watched: &Watched,
    ) -> Result<Collected, Halt> {
        self.set_phase(Phase::CollectingResults, "collecting results")
            .await?;
        let job_id = row.job_instance_id.expect("collect runs after launch");
        let step = watched.status.steps.first();
        let step_id = row
            .step_instance_id
            .or(step.map(|st| st.step_instance_id))
            .unwrap_or(0);
        let ran = self.unfinished_hosts().await?;
        let ids: Vec<i64> = ran.iter().map(|h| h.bk_host_id).collect();
        let logs = if step_id > 0 && !ids.is_empty() {
            self.logs(row, job_id, step_id, &ids).await?
        } else {
            vec![]
        };
        let mut gathered = Vec::new();
        for h in ran {
            let result = step
                .and_then(|st| {
                    st.host_results
                        .iter()
                        .find(|r| r.bk_host_id == h.bk_host_id)
                })
                .cloned();
            let log = logs
                .iter()
                .find(|l| l.bk_host_id == h.bk_host_id && l.found)
                .map(|l| l.log_content.clone())
                .unwrap_or_default();
            gathered.push((h, result, log));
        }
        let args = self.args.clone();
        let mut hosts = off_runtime(move || {
            gathered
                .into_iter()
                .map(|(host, result, log)| {
                    let (sel, name, run) = (&args.selection, &args.name, &args.run);
                    let report = parse_backup_output(log.as_bytes(), sel, name, run);
                    let proven = match &report {
                        Ok(_) => vec![],
                        Err(_) => parse_partial_backup_output(log.as_bytes(), sel, name, run)
                            .unwrap_or_default(),
                    };
                    CollectedHost {
                        host,
                        result,
                        log,
                        evidence: Evidence::from_log(report, proven),
                    }
                })
                .collect::<Vec<_>>()
        })
        .await;
        let mut first_pages: BTreeMap<i64, u32> = BTreeMap::new();
        for h in &mut hosts {
            let page = match &h.evidence.report {
                Ok(r) => (r.pages > 1).then_some(1),
                // The script prints its header first: without it, it never started and left
                // nothing to read (an agent that never ran it, a host that hung before).
                Err(HostScriptError::MissingHeader) => None,
                Err(_) if never_ran(h.result.as_ref()) => None,
                Err(_) => Some(0),
            };
            if let Some(page) = page {
                first_pages.insert(h.host.bk_host_id, page);
            }
        }
        self.read_pages(row, &mut hosts, first_pages).await?;
        Ok(Collected { hosts })
    }

    /// The backup job's logs of `hosts`, retried with backoff.
    async fn logs(
        &self,
        row: &BackupRow,
        job: i64,
        step: i64,
        hosts: &[i64],
    ) -> Result<Vec<HostLog>, Halt> {
        self.retry(|| self.gw.logs(row.bk_biz_id, job, step, hosts, &row.operator))
            .await
            .map_err(Halt::Gateway)
    }

    /// Calls `call` until it succeeds, fails for good, or [`READ_RETRIES`] retries with
    /// backoff (or the delay a refusal asks for) are spent.
    pub(super) async fn retry<T, F, Fut>(&self, call: F) -> Result<T, tonic::Status>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, tonic::Status>>,
    {
        let mut wait = self.settings.poll_initial;
        let mut tries = 0;
        loop {
            match call().await {
                Ok(v) => return Ok(v),
                Err(e) if tries < READ_RETRIES && Failure::of(&e).retryable() => {
                    let pause = wait_after(&e, wait);
                    tracing::warn!(
                        backup_id = %self.fence.id,
                        error = %e,
                        retry_in_ms = pause.as_millis() as u64,
                        "read from JOB failed; retrying"
                    );
                    tries += 1;
                    tokio::time::sleep(pause).await;
                    wait = (wait * 2).min(self.settings.poll_max);
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// JOB says the agent never ran the script on the host.
fn never_ran(result: Option<&HostResult>) -> bool {
    result.is_some_and(|r| {
        matches!(
            r.status(),
            JobHostStatus::AgentError | JobHostStatus::AgentNotInstalled
        )
    })
}
