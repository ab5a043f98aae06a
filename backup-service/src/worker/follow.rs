//! The follow phase: polls the launched JOB instance with a growing interval, publishes
//! per-host progress (a host JOB reports finished is shown RUNNING until its results are read,
//! never as done before they are; a host still running, the files its log says it has done),
//! and terminates the job on cancel or at the deadline.
//!
//! Decision: JOB refuses to terminate a job that is still queued (status 1) with
//! `1241003 Unsupported operation` (FAILED_PRECONDITION), the same answer as for a job that
//! has finished. So a refused terminate proves nothing by itself: the job's status, read right
//! after, says whether to try again at the next poll (queued or running) or stop trying.

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;
use proto::jobgateway::v1::{GetJobInstanceStatusResponse, HostStatus as JobHostStatus, RunStatus};

use super::run::{BackupRun, Halt};
use crate::domain::{BackupState, FailureReason, HostState};
use crate::gateway::Failure;
use crate::hostscript::backup_progress;
use crate::outcome::Ending;
use crate::store::backups::BackupRow;
use crate::store::finish::{files_done, host_progress};
use crate::store::work;

/// How long past its deadline a terminated job may take to report finished.
const TERMINATE_GRACE: Duration = Duration::from_secs(30);

/// The job as the follow phase left it.
pub(super) struct Watched {
    /// Why the watch ended.
    pub(super) ending: Ending,
    /// The last status JOB gave (default when none was read).
    pub(super) status: GetJobInstanceStatusResponse,
}

impl BackupRun<'_> {
    /// Follows the job to its end; `None` when the backup ended here (the job was lost).
    pub(super) async fn follow(&self, row: &BackupRow) -> Result<Option<Watched>, Halt> {
        let job_id = row.job_instance_id.expect("follow runs after launch");
        let (biz, op) = (row.bk_biz_id, row.operator.as_str());
        let mut interval = self.settings.poll_initial;
        let mut terminated = false;
        let mut deadline_hit = false;
        let mut cancelled = row.state() == BackupState::Cancelling;
        let mut done: HashMap<i64, u64> = HashMap::new();
        let last = loop {
            // Re-read the row each tick: it carries cancel requests (and the deadline).
            let current = work::current(self.pool, self.fence).await?;
            if !cancelled && current.state() == BackupState::Cancelling {
                cancelled = true;
                tracing::info!(backup_id = %self.fence.id, operator = %self.args.operator, job_instance_id = job_id, "cancel requested: terminating the job");
            }
            let deadline = current.deadline_at;
            if Utc::now() > deadline && !deadline_hit {
                deadline_hit = true;
                tracing::warn!(backup_id = %self.fence.id, "deadline passed: terminating the job");
            }
            let mut refused = None;
            if (cancelled || deadline_hit) && !terminated {
                match self.gw.terminate(biz, job_id, op).await {
                    Ok(()) => {
                        terminated = true;
                        tracing::info!(backup_id = %self.fence.id, job_instance_id = job_id, "job terminate accepted");
                    }
                    // Queued, stopping or finished: the status read next tells which.
                    Err(e) if Failure::of(&e) == Failure::NotNow => refused = Some(e),
                    Err(e) => {
                        tracing::warn!(backup_id = %self.fence.id, error = %e, "terminate failed; will retry")
                    }
                }
            }
            match self.gw.status(biz, job_id, op).await {
                Ok(status) => {
                    let finished = status.job_instance.as_ref().is_some_and(|j| j.finished);
                    if let Some(e) = refused {
                        let run = status.job_instance.as_ref().map(|j| j.status());
                        if terminable(run) {
                            tracing::info!(backup_id = %self.fence.id, job_instance_id = job_id, error = %e, "terminate refused while the job is queued or running; trying again");
                        } else {
                            // Stopping already, or finished: nothing left to stop.
                            terminated = true;
                        }
                    }
                    self.publish_progress(&status).await?;
                    if finished {
                        break Some(status);
                    }
                    self.publish_files_done(row, job_id, &status, &mut done)
                        .await?;
                }
                Err(e) if Failure::of(&e) == Failure::NotFound => {
                    let msg = "the JOB instance no longer exists";
                    self.fail(FailureReason::JobLost, msg).await?;
                    return Ok(None);
                }
                // Permission withdrawn while the job runs: asking again changes nothing.
                Err(e) if Failure::of(&e) == Failure::Denied => return Err(Halt::Gateway(e)),
                Err(e) => {
                    tracing::warn!(backup_id = %self.fence.id, error = %e, "status poll failed")
                }
            }
            if deadline_hit && Utc::now() > deadline + TERMINATE_GRACE {
                break None;
            }
            tokio::time::sleep(interval).await;
            interval = interval.mul_f64(1.5).min(self.settings.poll_max);
        };
        let ending = if deadline_hit && !cancelled {
            Ending::DeadlinePassed
        } else if cancelled {
            Ending::Cancelled
        } else {
            Ending::Finished
        };
        Ok(Some(Watched {
            ending,
            status: last.unwrap_or_default(),
        }))
    }

    /// Announces how many files each host still running has done, from the `P` lines its
    /// log has so far (small while it runs: the manifest's page comes at the end). A log that
    /// cannot be read now is tried at the next poll.
    async fn publish_files_done(
        &self,
        row: &BackupRow,
        job_id: i64,
        status: &GetJobInstanceStatusResponse,
        done: &mut HashMap<i64, u64>,
    ) -> Result<(), Halt> {
        let Some(step) = status.steps.first() else {
            return Ok(());
        };
        let running: Vec<i64> = step
            .host_results
            .iter()
            .filter(|r| !r.finished && r.status() == JobHostStatus::Running)
            .map(|r| r.bk_host_id)
            .collect();
        let step_id = row.step_instance_id.unwrap_or(step.step_instance_id);
        if running.is_empty() || step_id == 0 {
            return Ok(());
        }
        let logs = match self
            .gw
            .logs(row.bk_biz_id, job_id, step_id, &running, &row.operator)
            .await
        {
            Ok(logs) => logs,
            Err(e) => {
                tracing::warn!(backup_id = %self.fence.id, error = %e, "progress log read failed");
                return Ok(());
            }
        };
        let (sel, name, run) = (&self.args.selection, &self.args.name, &self.args.run);
        let mut changed = Vec::new();
        for log in logs.iter().filter(|l| l.found) {
            let Some(n) = backup_progress(log.log_content.as_bytes(), sel, name, run) else {
                continue;
            };
            if done.get(&log.bk_host_id).is_none_or(|seen| n > *seen) {
                done.insert(log.bk_host_id, n);
                changed.push((log.bk_host_id, i64::try_from(n).unwrap_or(i64::MAX)));
            }
        }
        if !changed.is_empty() {
            files_done(self.pool, self.fence, &changed).await?;
        }
        Ok(())
    }

    /// Records live per-host status from a status snapshot.
    async fn publish_progress(&self, status: &GetJobInstanceStatusResponse) -> Result<(), Halt> {
        let Some(step) = status.steps.first() else {
            return Ok(());
        };
        let updates: Vec<(i64, HostState, Option<i32>)> = step
            .host_results
            .iter()
            .map(|r| {
                let state = match r.status() {
                    JobHostStatus::Waiting | JobHostStatus::Unspecified if !r.finished => {
                        HostState::Pending
                    }
                    _ => HostState::Running,
                };
                (r.bk_host_id, state, Some(r.status_code))
            })
            .collect();
        if !updates.is_empty() {
            host_progress(self.pool, self.fence, &updates).await?;
        }
        Ok(())
    }
}

/// Whether a job in `status` still needs a terminate: queued (JOB refuses it then, so it is
/// asked again), running, or waiting for a user.
fn terminable(status: Option<RunStatus>) -> bool {
    matches!(
        status,
        Some(RunStatus::Pending | RunStatus::Running | RunStatus::WaitingUser)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queued_or_running_job_is_terminated_again_and_a_stopping_or_finished_one_is_not() {
        assert!(terminable(Some(RunStatus::Pending)));
        assert!(terminable(Some(RunStatus::Running)));
        assert!(terminable(Some(RunStatus::WaitingUser)));
        assert!(!terminable(Some(RunStatus::Stopping)));
        assert!(!terminable(Some(RunStatus::Stopped)));
        assert!(!terminable(Some(RunStatus::Succeeded)));
        assert!(!terminable(None));
    }
}
