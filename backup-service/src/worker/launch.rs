//! The launch phase: check GSE agents (offline hosts are skipped, not sent), then launch the
//! backup's JOB instance exactly once — storing its id before anything else, and looking for
//! an instance launched by a crashed predecessor (or by a launch whose answer was lost) first.

use chrono::Utc;

use super::run::{BackupRun, Halt, Unrun};
use crate::domain::{BackupState, FailureReason, HostReason, Phase};
use crate::gateway::{self, Failure, Launch, Launched, Which};
use crate::hostscript::{BACKUP_SH, backup_script_param, encode_script_param};
use crate::store::backups::BackupRow;
use crate::store::work::{self, HostAddress};

impl BackupRun<'_> {
    /// Launches the backup's job; false when the backup ended instead (cancelled before
    /// launch, every agent offline, launch refused, deadline passed).
    pub(super) async fn launch(&self, row: &BackupRow) -> Result<bool, Halt> {
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
        work::set_phase(
            self.pool,
            self.fence,
            Phase::Launching,
            "launching the backup job",
        )
        .await?;
        self.launch_once(row, &hosts).await
    }

    /// Stores agent addresses and skips offline hosts; false when the backup already ended.
    async fn check_agents(&self, row: &BackupRow) -> Result<bool, Halt> {
        work::set_phase(
            self.pool,
            self.fence,
            Phase::CheckingAgents,
            "checking agents",
        )
        .await?;
        let statuses = match self
            .gw
            .agent_status(row.bk_biz_id, &row.bk_host_ids, &row.operator)
            .await
        {
            Ok(s) => s,
            Err(e) if Failure::of(&e) == Failure::Denied => {
                self.fail(FailureReason::PermissionDenied, e.message())
                    .await?;
                return Ok(false);
            }
            // A permanent refusal (e.g. the business no longer exists) ends the backup with
            // its cause; only a transient failure is tried again.
            Err(e) if !Failure::of(&e).retryable() => {
                let msg = format!("checking agents failed: {}", e.message());
                self.fail(FailureReason::LaunchRejected, &msg).await?;
                return Ok(false);
            }
            Err(e) => return Err(Halt::Gateway(e)),
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

    /// The instance this backup launched earlier, if any.
    async fn find_launched(&self, row: &BackupRow) -> Result<Option<Launched>, Halt> {
        let token = encode_script_param(&[self.args.run.as_str().as_bytes()]);
        self.gw
            .find_run(
                Which::Backup,
                row.bk_biz_id,
                &row.job_name,
                token.trim(),
                row.created_at,
                &row.operator,
            )
            .await
            .map_err(Halt::Gateway)
    }

    async fn adopt(&self, job: Launched, how: &'static str) -> Result<(), Halt> {
        tracing::info!(backup_id = %self.fence.id, job_instance_id = job.job_instance_id, how, "backup job stored");
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

    /// Launches once: looks for an instance already launched under this backup first; a
    /// refusal that proves nothing was sent is retried after a pause, a failure that leaves
    /// the launch uncertain only after looking for the instance for the whole settle period.
    async fn launch_once(&self, row: &BackupRow, hosts: &[i64]) -> Result<bool, Halt> {
        let s = self.settings;
        let param = backup_script_param(&self.args.selection, &self.args.name, &self.args.run);
        let mut wait = s.poll_initial;
        loop {
            if let Some(job) = self.find_launched(row).await? {
                self.adopt(job, "found the job launched earlier").await?;
                return Ok(true);
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
            let e = match self.gw.run(Which::Backup, launch).await {
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
                tracing::warn!(backup_id = %self.fence.id, error = %e, "launch refused before it was sent; retrying");
                tokio::time::sleep(wait).await;
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
