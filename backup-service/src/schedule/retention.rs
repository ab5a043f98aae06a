//! Retention: after a scheduled run's backup ends, its schedule's older backup directories the
//! policy no longer keeps are removed from each of the run's hosts by `prune.sh`, run through
//! job-gateway as the schedule's operator; their records stay, marked pruned.
//!
//! Flow, every `retention.interval_ms` on every replica: claim pending prunes
//! (`store::retention::claim`: one run per schedule at a time, with a lease) → per run, the
//! plan from the service's own rows (`prune_plan`) → one `prune.sh` job per group of hosts
//! asked the same thing, bounded by `retention.prune_timeout_secs` → parse each host's report
//! → record everything in one transaction (`store::retention::finish`).
//!
//! Decision: a prune is never retried. A host that fails (the job, the script, a removal, a
//! candidate the host refuses as not this schedule's) makes the run's retention FAILED with
//! the host and reason; the next run's prune asks for the same directories again, as its
//! candidates are computed from every backup not yet pruned.

use std::time::Duration;

use chrono::TimeDelta;
use proto::jobgateway::v1::{HostLog, HostResult, HostStatus as JobHostStatus};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::Clock;
use super::prune_plan::{self, Group, Names, Policy};
use crate::domain::ScheduleState;
use crate::gateway::{Gateway, Launch, Polling, Which};
use crate::hostscript::{
    BackupDirName, FailReason, FileSelection, HostStatus, PRUNE_SH, PruneOutcome, PruneRequest,
    Retention, RunId, ScheduleTag, parse_prune_output, prune_script_param,
};
use crate::store::StoreError;
use crate::store::retention::{self, Claim, Pruned};

/// How retention runs on this replica (`[retention]`).
#[derive(Debug, Clone)]
pub struct RetentionSettings {
    /// Whether this replica prunes at all.
    pub enabled: bool,
    /// How often it looks for finished runs that owe a prune.
    pub interval: Duration,
    /// Runs claimed at once.
    pub batch: i64,
    /// Bound on one `prune.sh` job (its JOB timeout; the wait adds a minute).
    pub prune_timeout: Duration,
}

impl RetentionSettings {
    /// The claim's lease, renewed before each job: one job's bound and its wait, with room.
    fn lease(&self) -> Duration {
        self.prune_timeout + Duration::from_secs(120)
    }
}

/// Runs retention until `stop` is cancelled (at once when disabled).
pub async fn run(
    pool: PgPool,
    gateway: Gateway,
    clock: Clock,
    settings: RetentionSettings,
    stop: CancellationToken,
) {
    if !settings.enabled {
        return;
    }
    loop {
        if let Err(e) = tick(&pool, &gateway, &clock, &settings).await {
            tracing::warn!(error = %e, "retention: claiming or recording failed; trying again");
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(settings.interval) => {}
        }
    }
}

/// Claims and prunes one batch.
async fn tick(
    pool: &PgPool,
    gateway: &Gateway,
    clock: &Clock,
    settings: &RetentionSettings,
) -> Result<(), StoreError> {
    let claims = retention::claim(pool, settings.lease(), settings.batch, clock.now()).await?;
    // Every claimed run at once: each one's lease runs from now.
    let runs = claims.iter().map(|claim| async move {
        let result = prune_run(pool, gateway, clock, settings, claim).await;
        (claim, result)
    });
    for (claim, result) in futures::future::join_all(runs).await {
        let result = match result {
            Ok(Some(result)) => result,
            Ok(None) => {
                tracing::info!(
                    run_id = claim.run_id,
                    "retention: the claim ran out and another replica took the run over"
                );
                continue;
            }
            Err(e) => {
                // The claim runs out and another claim prunes the run again.
                tracing::warn!(run_id = claim.run_id, error = %e, "retention: prune interrupted");
                continue;
            }
        };
        match retention::finish(pool, claim, &result, clock.now()).await {
            Ok(()) => tracing::info!(
                run_id = claim.run_id,
                schedule_id = %claim.schedule_id,
                pruned = result.pruned,
                failed = result.failed,
                message = %result.message,
                "retention: run pruned"
            ),
            Err(StoreError::Fenced(_)) => tracing::info!(
                run_id = claim.run_id,
                "retention: the claim ran out and another replica took the run over"
            ),
            Err(e) => {
                tracing::warn!(run_id = claim.run_id, error = %e, "retention: result not recorded");
            }
        }
    }
    Ok(())
}

/// The prune of one claimed run; `None` when the claim was taken over meanwhile.
async fn prune_run(
    pool: &PgPool,
    gateway: &Gateway,
    clock: &Clock,
    settings: &RetentionSettings,
    claim: &Claim,
) -> Result<Option<Pruned>, StoreError> {
    let keep_last = claim.keep_last.and_then(|n| u32::try_from(n).ok());
    let keep_within = claim.keep_within_secs.and_then(|s| u64::try_from(s).ok());
    let policy = Retention::new(keep_last, keep_within.map(Duration::from_secs));
    // A deleted schedule removes nothing more; one that keeps everything now has nothing to do.
    let (Ok(policy), false) = (policy, claim.schedule_state == ScheduleState::Deleted) else {
        return Ok(Some(Pruned::default()));
    };
    let hosts = retention::run_hosts(pool, claim.backup_id).await?;
    let rows = retention::host_backups(pool, claim.schedule_id, &hosts).await?;
    let plan_policy = Policy {
        keep_last,
        keep_within: keep_within.and_then(|s| TimeDelta::try_seconds(s as i64)),
    };
    let (groups, names) = prune_plan::plan(&rows, plan_policy, clock.now());
    let mut result = Pruned::default();
    let mut problems = vec![];
    for (i, group) in groups.iter().enumerate() {
        if !retention::renew(pool, claim, settings.lease()).await? {
            return Ok(None);
        }
        let job = PruneJob {
            gateway,
            settings,
            claim,
            policy,
            group,
            names: &names,
            seq: i,
        };
        job.run(&mut result, &mut problems).await;
    }
    result.message = summary(&problems);
    Ok(Some(result))
}

/// Problems named in a run's message; more are counted.
const MAX_PROBLEMS: usize = 20;

/// The run's message: its first problems, and how many more there were.
fn summary(problems: &[String]) -> String {
    let mut message = problems[..problems.len().min(MAX_PROBLEMS)].join("; ");
    if problems.len() > MAX_PROBLEMS {
        message.push_str(&format!("; and {} more", problems.len() - MAX_PROBLEMS));
    }
    message
}

/// One `prune.sh` job of a run.
struct PruneJob<'a> {
    gateway: &'a Gateway,
    settings: &'a RetentionSettings,
    claim: &'a Claim,
    policy: Retention,
    group: &'a Group,
    names: &'a Names,
    seq: usize,
}

impl PruneJob<'_> {
    /// Runs the job and adds each host's outcome to `result` and `problems`.
    async fn run(&self, result: &mut Pruned, problems: &mut Vec<String>) {
        let g = self.group;
        let fail_all = |why: String, result: &mut Pruned, problems: &mut Vec<String>| {
            for h in &g.hosts {
                result.failed += g.candidates.len() as i32;
                problems.push(format!("host {h}: {why}"));
            }
        };
        let parsed = (
            FileSelection::new(&g.dir, &[] as &[&str], 1),
            g.keep.iter().map(|n| BackupDirName::parse(n)).collect(),
            g.candidates
                .iter()
                .map(|n| BackupDirName::parse(n))
                .collect(),
        );
        let (Ok(selection), Ok(keep), Ok(candidates)) = parsed else {
            let why = "the stored directory or backup names are not valid".to_owned();
            return fail_all(why, result, problems);
        };
        let keep: Vec<BackupDirName> = keep;
        let candidates: Vec<BackupDirName> = candidates;
        let schedule = ScheduleTag::from_uuid(self.claim.schedule_id);
        let req = PruneRequest {
            selection: &selection,
            schedule: &schedule,
            retention: self.policy,
            keep: &keep,
            candidates: &candidates,
        };
        let run = RunId::new(&format!(
            "prune{}x{}x{}",
            self.claim.run_id, self.claim.attempt, self.seq
        ))
        .expect("digits and letters");
        let (logs, job_status) = match self.launch(&req, &run).await {
            Ok(done) => done,
            Err(e) => {
                return fail_all(
                    format!("prune job failed: {}", e.message()),
                    result,
                    problems,
                );
            }
        };
        for h in &g.hosts {
            let log = logs
                .iter()
                .find(|l| l.bk_host_id == *h && l.found)
                .map(|l| l.log_content.as_str())
                .unwrap_or_default();
            let report = match parse_prune_output(log.as_bytes(), &req, &run) {
                Ok(r) => r,
                Err(e) => {
                    result.failed += candidates.len() as i32;
                    let job = job_status
                        .iter()
                        .find(|r| r.bk_host_id == *h)
                        .and_then(|r| JobHostStatus::try_from(r.status).ok())
                        .map(|s| format!(" (JOB: {})", s.as_str_name()))
                        .unwrap_or_default();
                    problems.push(format!("host {h}: no prune report{job}: {e}"));
                    continue;
                }
            };
            if report.status != HostStatus::Ok {
                result.failed += candidates.len() as i32;
                let why = report.error.map(|e| format!(": {e}")).unwrap_or_default();
                problems.push(format!("host {h}: {}{why}", report.status.as_str()));
                continue;
            }
            for entry in report.entries {
                let name = entry.name.as_str();
                match entry.outcome {
                    PruneOutcome::Pruned | PruneOutcome::Gone => {
                        if entry.outcome == PruneOutcome::Pruned {
                            result.pruned += 1;
                        }
                        if let Some(b) = self.names.backup(name) {
                            result.removed.push((b, *h));
                        }
                    }
                    PruneOutcome::Kept(k) if k.is_refusal() => {
                        result.failed += 1;
                        problems.push(format!("host {h}: {name} refused: {}", k.as_str()));
                    }
                    PruneOutcome::Kept(_) => {}
                    PruneOutcome::Failed { reason, detail } => {
                        result.failed += 1;
                        let detail = detail.map(|d| format!(" ({d})")).unwrap_or_default();
                        let reason = match reason {
                            FailReason::PermissionDenied => "permission_denied",
                            FailReason::ReadOnly => "read_only",
                            _ => "io_error",
                        };
                        problems.push(format!("host {h}: {name} not removed: {reason}{detail}"));
                    }
                }
            }
        }
    }

    /// Launches the job, waits for it (bounded) and returns the hosts' logs and JOB's results.
    async fn launch(
        &self,
        req: &PruneRequest<'_>,
        run: &RunId,
    ) -> Result<(Vec<HostLog>, Vec<HostResult>), tonic::Status> {
        let param = prune_script_param(req, run);
        let timeout = self.settings.prune_timeout;
        let task_name = format!("bk-log-backup prune {}", run.as_str());
        let launch = Launch {
            bk_biz_id: self.claim.bk_biz_id,
            script: PRUNE_SH,
            param: &param,
            hosts: &self.group.hosts,
            timeout_secs: i32::try_from(timeout.as_secs()).unwrap_or(i32::MAX),
            task_name: &task_name,
            operator: &self.claim.operator,
        };
        let job = self.gateway.run(Which::Prune, launch).await?;
        let polling = Polling {
            first: Duration::from_millis(200),
            max: Duration::from_secs(3),
            limit: timeout + Duration::from_secs(60),
        };
        let (biz, op) = (self.claim.bk_biz_id, self.claim.operator.as_str());
        let status = self.gateway.until_finished(biz, &job, op, polling).await?;
        let logs = self
            .gateway
            .step_logs(biz, &job, &status, &self.group.hosts, op)
            .await?;
        let results = status
            .steps
            .into_iter()
            .next()
            .map(|s| s.host_results)
            .unwrap_or_default();
        Ok((logs, results))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_names_the_first_problems_and_counts_the_rest() {
        let problems: Vec<String> = (0..25).map(|i| format!("host {i}: x")).collect();
        let message = summary(&problems);
        assert!(message.starts_with("host 0: x; host 1: x"), "{message}");
        assert!(message.ends_with("host 19: x; and 5 more"), "{message}");
        assert_eq!(summary(&problems[..2]), "host 0: x; host 1: x");
        assert_eq!(summary(&[]), "");
    }
}
