//! The scheduler's engine: makes one fire of a schedule (a cron fire from the loop in `tick`,
//! a manual one from TriggerSchedule) under the schedule's overlap policy and records it
//! exactly once through `store::schedule_fires::record_fire`.
//!
//! A fire is decided from what the engine read outside any transaction (the schedule's
//! running backups, its buffered fire), the selector resolved through CMDB as the schedule's
//! operator (a network call, never made under a row lock), and then recorded in one
//! transaction that re-reads what the decision saw under the schedule's lock: if a backup
//! ended or started meanwhile, nothing is stored and the fire is decided again from the new
//! state. So two replicas, or a cron fire and a manual trigger, never both start a backup where
//! the policy allows one.

use chrono::{DateTime, TimeDelta};
use chrono_tz::Tz;
use sqlx::PgPool;
use uuid::Uuid;

use super::decide::{self, Step};
use super::shared::Resolutions;
use super::{Clock, ScheduleMetrics};
use crate::convert::job_timeout_secs;
use crate::domain::{OverlapPolicy, RunTrigger, ScheduleState};
use crate::error::{BackupError, Result};
use crate::gateway::Gateway;
use crate::hostscript::BackupDirName;
use crate::selector::{self, HostSelector};
use crate::store::backups::NewBackup;
use crate::store::schedule_fires::{self, Decision, Fire, Overlap, Recorded, RunRow};
use crate::store::schedules::ScheduleRow;
use crate::store::{cancel, schedule_runs};
use crate::worker::Wakeup;

/// Times a fire is decided again when what it saw changed before it was recorded.
const ATTEMPTS: usize = 4;

/// The service limits a fire's backup follows, as StartBackup's do.
#[derive(Debug, Clone)]
pub struct FireLimits {
    /// Most hosts a selector may resolve to.
    pub max_hosts: usize,
    /// Zone of the time in backup directory names.
    pub name_zone: Tz,
    /// Of a backup's total time, kept for launching and reading results.
    pub deadline_slack_secs: i64,
    /// The scheduler's own tolerance: a fire this late is still made without a catch-up window.
    pub grace: TimeDelta,
    /// Most MISSED rows written one by one for one late schedule.
    pub max_missed_rows: usize,
}

impl Default for FireLimits {
    fn default() -> Self {
        Self {
            max_hosts: 1000,
            name_zone: Tz::UTC,
            deadline_slack_secs: 300,
            grace: TimeDelta::seconds(30),
            max_missed_rows: 100,
        }
    }
}

/// What the engine needs; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub(crate) pool: PgPool,
    pub(crate) gateway: Gateway,
    pub(crate) clock: Clock,
    pub(crate) wakeup: Wakeup,
    pub(crate) limits: FireLimits,
    pub(crate) metrics: Option<ScheduleMetrics>,
    /// The current tick's shared resolutions (`None` outside a tick: ask every time).
    shared: Option<Resolutions>,
}

impl Engine {
    /// The engine, with default limits and no metrics.
    pub fn new(pool: PgPool, gateway: Gateway, clock: Clock, wakeup: Wakeup) -> Self {
        Self {
            pool,
            gateway,
            clock,
            wakeup,
            limits: FireLimits::default(),
            metrics: None,
            shared: None,
        }
    }

    /// The engine for one tick: its fires share selector resolutions (`shared.rs`).
    pub(crate) fn for_tick(&self) -> Self {
        Self {
            shared: Some(Resolutions::default()),
            ..self.clone()
        }
    }

    /// Uses `limits` for the backups fires start.
    pub fn with_limits(mut self, limits: FireLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Counts fires in `metrics`.
    pub fn with_metrics(mut self, metrics: ScheduleMetrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The engine's clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Makes one manual run of `schedule` now, as `by`, under its overlap policy; the run
    /// recorded. FAILED_PRECONDITION for a deleted schedule. Its cron fires are unchanged.
    pub async fn trigger(&self, schedule: &ScheduleRow, by: &str) -> Result<RunRow> {
        let mut schedule = schedule.clone();
        for _ in 0..ATTEMPTS {
            if schedule.state == ScheduleState::Deleted {
                return Err(deleted(schedule.id));
            }
            // Microseconds: the precision the run's key is stored with.
            let now = self.clock.now();
            let now = DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now);
            let base = Fire {
                schedule_id: schedule.id,
                version: schedule.version,
                scheduled_at: now,
                trigger: RunTrigger::Manual,
                decision: Decision::SkipOverlap,
                resolved_host_ids: Vec::new(),
                next: None,
                now,
                triggered_by: by.to_owned(),
                missed: Vec::new(),
                seen: None,
            };
            match self.make(&schedule, base).await? {
                Some(Recorded::New(run) | Recorded::Duplicate(run)) => {
                    tracing::info!(schedule_id = %schedule.id, by, decision = run.decision.as_str(), "schedule triggered");
                    return Ok(run);
                }
                // Changed by a caller meanwhile: decide again from what it is now.
                _ => {
                    schedule = crate::store::schedules::get(&self.pool, schedule.id)
                        .await?
                        .ok_or_else(|| {
                            BackupError::NotFound(format!("schedule `{}`", schedule.id))
                        })?;
                }
            }
        }
        Err(BackupError::FailedPrecondition(format!(
            "schedule `{}` kept changing while it was triggered; try again",
            schedule.id
        )))
    }

    /// Decides `base`'s fire of `schedule` under its overlap policy and records it; `None` when
    /// what it saw kept changing (the caller tries later). Store errors are returned: nothing
    /// was recorded and the fire is made later.
    pub(crate) async fn make(
        &self,
        schedule: &ScheduleRow,
        base: Fire,
    ) -> Result<Option<Recorded>> {
        let policy = schedule.fields.overlap_policy;
        // ALLOW_ALL looks at nothing: one statement less per fire.
        let mut seen = if policy == OverlapPolicy::AllowAll {
            Overlap::default()
        } else {
            schedule_fires::overlap(&self.pool, schedule.id).await?
        };
        for _ in 0..ATTEMPTS {
            let step = decide::on_overlap(policy, seen);
            let (decision, hosts) = match step {
                Step::Skip => (Decision::SkipOverlap, Vec::new()),
                Step::Buffer => (Decision::Buffer, Vec::new()),
                Step::Fire | Step::CancelThenFire => {
                    if step == Step::CancelThenFire {
                        self.cancel_running(schedule).await?;
                    }
                    self.starting(schedule).await?
                }
            };
            let fire = Fire {
                decision,
                resolved_host_ids: hosts,
                seen: (policy != OverlapPolicy::AllowAll).then_some(seen),
                ..base.clone()
            };
            let recorded = schedule_fires::record_fire(&self.pool, &fire).await?;
            match recorded {
                Recorded::Changed(now) => seen = now,
                recorded => {
                    self.observe(schedule, &fire, &recorded);
                    return Ok(Some(recorded));
                }
            }
        }
        tracing::warn!(schedule_id = %schedule.id, "the schedule's backups kept changing while a fire was decided; it is made later");
        Ok(None)
    }

    /// The backup a fire of `schedule` starts and the hosts it resolved, or why it cannot
    /// start. A database error is an error (nothing is recorded).
    async fn starting(&self, schedule: &ScheduleRow) -> Result<(Decision, Vec<i64>)> {
        match self.resolve(schedule).await {
            Ok(hosts) => {
                let new = self.new_backup(schedule, &hosts)?;
                Ok((Decision::Fire(Box::new(new)), hosts))
            }
            Err(BackupError::Store(e)) => Err(BackupError::Store(e)),
            Err(e) => Ok((Decision::FailedToStart(e.to_string()), Vec::new())),
        }
    }

    /// The hosts `schedule`'s selector selects now, resolved as its operator (once per tick
    /// for fires that share business, selector and operator).
    pub(crate) async fn resolve(&self, schedule: &ScheduleRow) -> Result<Vec<i64>> {
        let sel: HostSelector =
            serde_json::from_value(schedule.fields.selector.clone()).map_err(|e| {
                BackupError::invalid("selector", format!("stored selector unreadable: {e}"))
            })?;
        let ask = selector::resolve(
            &self.gateway,
            schedule.bk_biz_id,
            &sel,
            self.limits.max_hosts,
            &schedule.operator,
        );
        match &self.shared {
            Some(shared) => {
                let key = (
                    schedule.bk_biz_id,
                    schedule.fields.selector.to_string(),
                    schedule.operator.clone(),
                );
                shared.get(key, ask).await
            }
            None => ask.await,
        }
    }

    /// A fire's backup of `schedule` on `hosts`, as StartBackup builds one, named and bounded
    /// by the engine's clock; its request id is the fire's (set by the store).
    pub(crate) fn new_backup(&self, schedule: &ScheduleRow, hosts: &[i64]) -> Result<NewBackup> {
        let f = &schedule.fields;
        let id = Uuid::new_v4();
        let now = self.clock.now();
        let short = &id.simple().to_string()[..8];
        let name = BackupDirName::new_in(now, self.limits.name_zone, short)
            .map_err(|e| BackupError::invalid("bk_file_dir", e.to_string()))?;
        Ok(NewBackup {
            id,
            request_id: None,
            bk_biz_id: schedule.bk_biz_id,
            bk_host_ids: hosts.to_vec(),
            bk_file_dir: f.bk_file_dir.clone(),
            bk_file_suffix: f.bk_file_suffix.clone(),
            operator: schedule.operator.clone(),
            job_timeout_secs: job_timeout_secs(f.run_timeout_secs, self.limits.deadline_slack_secs),
            backup_name: name.as_str().to_owned(),
            job_name: format!("bk-log-backup {id}"),
            deadline_at: now + TimeDelta::seconds(i64::from(f.run_timeout_secs)),
            retry_of: None,
            host_selector: serde_json::from_value(f.selector.clone()).ok(),
        })
    }

    /// Requests the cancel of `schedule`'s backups that have not ended (CANCEL_PREVIOUS).
    async fn cancel_running(&self, schedule: &ScheduleRow) -> Result<()> {
        let by = decide::canceller(schedule.id);
        for id in schedule_runs::running_backups(&self.pool, schedule.id).await? {
            if let Some((outcome, _)) = cancel::request(&self.pool, id, &by).await? {
                tracing::info!(schedule_id = %schedule.id, backup_id = %id, outcome = ?outcome, "previous backup cancelled by the schedule's overlap policy");
            }
        }
        self.wakeup.wake();
        Ok(())
    }

    /// Logs, wakes the workers and counts what a fire recorded.
    pub(crate) fn observe(&self, schedule: &ScheduleRow, fire: &Fire, recorded: &Recorded) {
        let Recorded::New(run) = recorded else {
            return;
        };
        for m in &fire.missed {
            tracing::warn!(schedule_id = %schedule.id, name = %schedule.fields.name, scheduled_at = %m.scheduled_at, reason = %m.reason, "scheduled fire missed");
        }
        let decision = run.decision.as_str();
        match &fire.decision {
            Decision::Fire(_) => {
                self.wakeup.wake();
                tracing::info!(schedule_id = %schedule.id, name = %schedule.fields.name, scheduled_at = %run.scheduled_at, backup_id = ?run.backup_id, hosts = run.resolved_host_ids.len(), "scheduled backup queued");
            }
            Decision::Buffer => {
                tracing::info!(schedule_id = %schedule.id, scheduled_at = %run.scheduled_at, "fire buffered until the running backup ends")
            }
            _ => {
                tracing::warn!(schedule_id = %schedule.id, name = %schedule.fields.name, scheduled_at = %run.scheduled_at, decision, reason = %run.reason, "scheduled fire not made")
            }
        }
        if let Some(m) = &self.metrics {
            m.fired(decision, 1);
            m.fired("missed", fire.missed.len() as u64);
            if run.backup_id.is_some() {
                m.delay(self.clock.now() - run.scheduled_at);
            }
        }
    }
}

fn deleted(id: Uuid) -> BackupError {
    BackupError::FailedPrecondition(format!("schedule `{id}` is deleted"))
}
