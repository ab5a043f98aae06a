//! Waiting for a short job of ours (a search, a manifest read) to finish and reading its
//! logs: shared by SearchFiles and the worker's page reads.
//!
//! Decision: a status poll that fails in a way that can be asked again (see [`Failure`]) is
//! polled again at the next tick rather than ending the wait; only the bound ends it.

use std::time::Duration;

use proto::jobgateway::v1::{GetJobInstanceStatusResponse, HostLog};
use tonic::Status;

use super::{Failure, Gateway, Launched};

/// How to poll: the first interval (growing by half each time up to `max`) and the bound.
#[derive(Debug, Clone, Copy)]
pub struct Polling {
    /// First interval between status polls.
    pub first: Duration,
    /// Longest interval between status polls.
    pub max: Duration,
    /// How long to wait at most.
    pub limit: Duration,
}

impl Gateway {
    /// Polls `job` until JOB reports it finished; DEADLINE_EXCEEDED past `polling.limit`.
    pub async fn until_finished(
        &self,
        bk_biz_id: i64,
        job: &Launched,
        operator: &str,
        polling: Polling,
    ) -> Result<GetJobInstanceStatusResponse, Status> {
        let limit = tokio::time::Instant::now() + polling.limit;
        let mut interval = polling.first;
        loop {
            match self.status(bk_biz_id, job.job_instance_id, operator).await {
                Ok(status) if status.job_instance.as_ref().is_some_and(|j| j.finished) => {
                    return Ok(status);
                }
                Ok(_) => {}
                Err(e) if Failure::of(&e).retryable() => {
                    tracing::warn!(job_instance_id = job.job_instance_id, error = %e, "status poll failed; polling on");
                }
                Err(e) => return Err(e),
            }
            if tokio::time::Instant::now() > limit {
                return Err(Status::deadline_exceeded(format!(
                    "job {} did not finish within {} s",
                    job.job_instance_id,
                    polling.limit.as_secs()
                )));
            }
            tokio::time::sleep(interval).await;
            interval = interval.mul_f64(1.5).min(polling.max);
        }
    }

    /// The logs of `hosts` in the (only) step of the finished `job` described by `status`.
    pub async fn step_logs(
        &self,
        bk_biz_id: i64,
        job: &Launched,
        status: &GetJobInstanceStatusResponse,
        hosts: &[i64],
        operator: &str,
    ) -> Result<Vec<HostLog>, Status> {
        let step = status
            .steps
            .first()
            .map(|s| s.step_instance_id)
            .or(job.step_instance_id)
            .unwrap_or(0);
        self.logs(bk_biz_id, job.job_instance_id, step, hosts, operator)
            .await
    }
}
