//! The launch phase: check GSE agents (offline hosts are skipped, not sent), then launch the
//! backup's JOB instance exactly once — storing its id before anything else, and looking for
//! an instance launched by a crashed predecessor (or by a launch whose answer was lost) first.
//!
//! Decision: every launch is preceded by a committed, fenced record of the decision
//! (`work::intend_launch`, which also renews the lease) and, immediately before the send, a
//! check of the lease on this process's monotonic clock. A claim that finds an intent recorded
//! by an earlier attempt looks for that job for the whole settle period before it launches.

use std::time::Instant;

use chrono::Utc;

use super::run::{BackupRun, Halt, Unrun};
use crate::domain::{BackupState, FailureReason, HostReason, Phase};
use crate::gateway::{self, Failure, Launch, Launched, Which, wait_after};
use crate::hostscript::{BACKUP_SH, backup_script_param_for, encode_script_param};
use crate::store::backups::BackupRow;
use crate::store::work::{self, HostAddress, Intent};

impl BackupRun<'_> {
    /// Launches the backup's job; false when the backup ended instead (cancelled before
    /// launch, every agent offline, launch refused, deadline passed).
    pub(super) async fn launch(&self, row: &BackupRow) -> Result<bool, Halt> {
        if let Some(job) = self.settle_earlier_intent(row).await? {
            self.adopt(job, "found the job an earlier claim launched")
                .await?;
            return Ok(true);
        }
        if row.state() == BackupState::Cancelling {
            // Cancelled while launching: follow a job that made it to JOB, else end here.
            return match self.find_launched(row).await? {
                Some(job) => {
                    self.adopt(job, "found the job launched before the cancel")
                        .await?;
                    Ok(true)
                }
                None => {
                    let end = Unrun::cancelled("cancelled before launch: nothing ran");
                    self.end_unrun(end).await?;
                    Ok(false)
                }
            };
        }
        if Utc::now() > row.deadline_at {
            let msg = "deadline passed before launch";
            self.fail(FailureReason::DeadlineExceeded, msg).await?;
            return Ok(false);
        }
        if !self.check_agents(row).await? {
            return Ok(false);
        }
        // Before launch nothing runs: the unfinished hosts are the pending, online ones.
        let hosts: Vec<i64> = self
            .unfinished_hosts()
            .await?
            .iter()
            .map(|h| h.bk_host_id)
            .collect();
        if hosts.is_empty() {
            let msg =
                "every host was skipped (agent offline or not in the business): nothing was sent";
            self.fail(FailureReason::AllHostsFailed, msg).await?;
            return Ok(false);
        }
        self.set_phase(Phase::Launching, "launching the backup job")
            .await?;
        self.launch_once(row, &hosts).await
    }

    /// Stores agent addresses and skips offline hosts; false when the backup already ended.
    async fn check_agents(&self, row: &BackupRow) -> Result<bool, Halt> {
        self.set_phase(Phase::CheckingAgents, "checking agents")
            .await?;
        let statuses = match self
            .retry(|| {
                self.gw
                    .agent_status(row.bk_biz_id, &row.bk_host_ids, &row.operator)
            })
            .await
        {
            Ok(s) => s,
            Err(e) => {
                // A permanent refusal (no permission, unknown business or hosts, a bad
                // argument) ends the backup with BlueKing's own words; asking again, now or
                // after the lease, would only get the same answer.
                let (reason, what) = match Failure::of(&e) {
                    Failure::Denied => (FailureReason::PermissionDenied, "permission denied"),
                    Failure::NotFound => (FailureReason::LaunchRejected, "not found"),
                    Failure::Refused | Failure::NotNow => {
                        (FailureReason::LaunchRejected, "refused")
                    }
                    Failure::NotSent | Failure::Uncertain => return Err(Halt::Gateway(e)),
                };
                let msg = format!("checking agents: {what}: {}", e.message());
                self.fail(reason, &msg).await?;
                return Ok(false);
            }
        };
        let addresses: Vec<HostAddress> = statuses
            .iter()
            .map(|a| HostAddress {
                bk_host_id: a.bk_host_id,
                bk_cloud_id: a.bk_cloud_id,
                ip: a.ip.clone(),
            })
            .collect();
        // Not sent: a host CMDB no longer lists in the business, or whose agent is offline.
        let skipped: Vec<(i64, HostReason)> = row
            .bk_host_ids
            .iter()
            .filter_map(|h| match statuses.iter().find(|a| a.bk_host_id == *h) {
                Some(a) if a.alive => None,
                Some(a) if gateway::in_business(a) => Some((*h, HostReason::AgentOffline)),
                _ => Some((*h, HostReason::NotInBusiness)),
            })
            .collect();
        work::set_agents(self.pool, self.fence, &addresses, &skipped).await?;
        Ok(true)
    }

    /// The instance this backup launched earlier, if any (a failed lookup is retried with
    /// backoff, like every read).
    async fn find_launched(&self, row: &BackupRow) -> Result<Option<Launched>, Halt> {
        let token = encode_script_param(&[self.args.run.as_str().as_bytes()]);
        self.retry(|| {
            self.gw.find_run(
                Which::Backup,
                row.bk_biz_id,
                &row.job_name,
                token.trim(),
                row.created_at,
                &row.operator,
            )
        })
        .await
        .map_err(Halt::Gateway)
    }

    async fn adopt(&self, job: Launched, how: &'static str) -> Result<(), Halt> {
        tracing::info!(
            backup_id = %self.fence.id,
            attempt = self.fence.attempt,
            operator = %self.args.operator,
            job_instance_id = job.job_instance_id,
            how,
            "backup job stored"
        );
        work::set_job(
            self.pool,
            self.fence,
            job.job_instance_id,
            job.step_instance_id,
            &job.job_url,
        )
        .await?;
        Ok(())
    }

    /// Looks, for the whole settle period, for the job an earlier claim of this backup decided
    /// to launch: that claim may have sent it just before it stopped, and it may reach JOB
    /// late. `None` when no earlier claim decided to launch, or its job never appeared.
    async fn settle_earlier_intent(&self, row: &BackupRow) -> Result<Option<Launched>, Halt> {
        let Some(earlier) = work::launch_intent(self.pool, self.fence.id).await? else {
            return Ok(None);
        };
        if earlier >= self.fence.attempt {
            return Ok(None);
        }
        tracing::info!(
            backup_id = %self.fence.id,
            attempt = self.fence.attempt,
            earlier_attempt = earlier,
            "an earlier claim decided to launch: looking for its job before launching"
        );
        let s = self.settings;
        let settle = tokio::time::Instant::now() + s.launch_settle;
        let mut wait = s.poll_initial;
        loop {
            match self.find_launched(row).await {
                Ok(Some(job)) => return Ok(Some(job)),
                Ok(None) => {}
                Err(Halt::Gateway(e)) if Failure::of(&e).retryable() => {
                    tracing::warn!(backup_id = %self.fence.id, error = %e, "job lookup failed; retrying");
                }
                Err(e) => return Err(e),
            }
            if tokio::time::Instant::now() >= settle {
                return Ok(None);
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(s.poll_max);
        }
    }

    /// Launches once: looks for an instance already launched under this backup first; a
    /// refusal that proves nothing was sent is retried after the delay it asks for (or a
    /// pause), a failure that leaves the launch uncertain only after looking for the instance
    /// for the whole settle period.
    async fn launch_once(&self, row: &BackupRow, hosts: &[i64]) -> Result<bool, Halt> {
        let s = self.settings;
        // A scheduled backup carries its schedule (the mark names it); in plan mode the same
        // tokens travel in the arguments variable.
        let param = backup_script_param_for(
            &self.args.selection,
            &self.args.name,
            &self.args.run,
            self.args.schedule.as_ref(),
        );
        // job-gateway drops the call (and sends nothing more of it) past this: a launch that
        // reached it while we were alive is sent within the settle period a re-claimer waits.
        let gw = self.gw.bounded(s.launch_settle);
        let mut wait = s.poll_initial;
        loop {
            if let Some(job) = self.find_launched(row).await? {
                self.adopt(job, "found the job launched earlier").await?;
                return Ok(true);
            }
            let asked = Instant::now();
            match work::intend_launch(self.pool, self.fence, s.lease).await? {
                Intent::Recorded => self.lease.renewed(asked),
                Intent::Cancelling => {
                    // Every launch this claim sent before was looked for, in vain, for the
                    // whole settle period: nothing ran.
                    let end = Unrun::cancelled("cancelled before launch: nothing ran");
                    self.end_unrun(end).await?;
                    return Ok(false);
                }
            }
            let launch = Launch {
                bk_biz_id: row.bk_biz_id,
                script: BACKUP_SH,
                param: &param,
                hosts,
                timeout_secs: row.job_timeout_secs,
                task_name: &row.job_name,
                operator: &row.operator,
            };
            // The last check before the send, on this process's own clock: after a stop and
            // resume the process carries on from its last await as if no time had passed, and
            // only the clock tells it that its lease may be gone. Nothing is awaited between
            // this check and the call's first poll, which hands the request to tonic. What
            // is left open, honestly: (1) a process stopped in the microseconds between here
            // and tonic writing the request to the socket sends it when it resumes, however
            // late; (2) job-gateway knows nothing of leases, and sends to BlueKing a request
            // it has received until the call's deadline (`launch_settle`), even if we froze
            // meanwhile. A re-claimer covers both only as far as its settle period reaches:
            // it sees this claim's intent and looks the job up for `launch_settle` first.
            if !self.lease.fresh() {
                return Err(Halt::LeaseStale);
            }
            let e = match gw.run(Which::Backup, launch).await {
                Ok(job) => {
                    self.adopt(job, "launched").await?;
                    return Ok(true);
                }
                Err(e) => e,
            };
            let failure = Failure::of(&e);
            if !failure.retryable() || Utc::now() >= row.deadline_at {
                let reason = match failure {
                    Failure::Denied => FailureReason::PermissionDenied,
                    _ if failure.retryable() => FailureReason::DeadlineExceeded,
                    _ => FailureReason::LaunchRejected,
                };
                let msg = format!("JOB refused the launch: {}", e.message());
                self.fail(reason, &msg).await?;
                return Ok(false);
            }
            if failure == Failure::NotSent {
                let pause = wait_after(&e, wait);
                tracing::warn!(
                    backup_id = %self.fence.id,
                    error = %e,
                    retry_in_ms = pause.as_millis() as u64,
                    "launch refused before it was sent; retrying"
                );
                tokio::time::sleep(pause).await;
                wait = (wait * 2).min(s.poll_max);
                continue;
            }
            tracing::warn!(backup_id = %self.fence.id, error = %e, "launch uncertain: looking for the job before retrying");
            // The request may still be on its way to JOB: look for the instance for the whole
            // settle period before concluding it never arrived.
            let settle = tokio::time::Instant::now() + s.launch_settle;
            while tokio::time::Instant::now() < settle {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(s.poll_max);
                if let Some(job) = self.find_launched(row).await? {
                    self.adopt(job, "the uncertain launch did arrive").await?;
                    return Ok(true);
                }
            }
        }
    }
}
