//! Job instances: the in-memory store, their run state, and the JOB status codes they move through.
//!
//! Decision: jobs live in a map keyed by job instance id, each behind its own mutex, so a status call is
//! one hash lookup plus a lock on that job alone, never a scan of all jobs. Step instance ids follow the
//! job id (job N has steps N+1, N+2, …) the way JOB's examples number them.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::faults::lock;
use crate::transfer::{FileLog, FileTransfer};

pub use crate::status::{host, run};

/// The script of one step, decoded.
#[derive(Debug, Clone)]
pub struct StepScript {
    pub content: String,
    /// Parameters after Base64 decoding, newlines already turned into spaces.
    pub param: String,
    pub timeout_secs: u64,
    pub language: i32,
    pub ignore_error: bool,
}

/// One host of one step.
#[derive(Debug, Clone)]
pub struct HostRun {
    pub host_id: i64,
    pub ip: String,
    pub cloud_id: i64,
    pub status: i32,
    pub exit_code: i32,
    pub error_code: i32,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    /// Raw output bytes, capped.
    pub log: Vec<u8>,
    /// Whether output went past the cap.
    pub log_truncated: bool,
    /// File steps: this target's download logs.
    pub file_logs: Vec<FileLog>,
}

/// One step instance.
#[derive(Debug, Clone)]
pub struct StepRun {
    pub id: i64,
    pub name: String,
    pub status: i32,
    pub create_time: i64,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub kind: StepKind,
    /// Target hosts (file steps: download side only, as JOB lists them).
    pub hosts: Vec<HostRun>,
    pub host_index: HashMap<i64, usize>,
    /// File steps: upload logs by source host.
    pub upload_logs: BTreeMap<i64, Vec<FileLog>>,
}

impl StepRun {
    /// `StepExecuteTypeEnum`: 1 script, 2 file.
    pub fn step_type(&self) -> i32 {
        match self.kind {
            StepKind::Script(_) => 1,
            StepKind::File(_) => 2,
        }
    }

    /// Whether a failure of this step is ignored.
    pub fn ignore_error(&self) -> bool {
        match &self.kind {
            StepKind::Script(s) => s.ignore_error,
            StepKind::File(_) => false,
        }
    }
}

/// What a step does.
#[derive(Debug, Clone)]
pub enum StepKind {
    Script(Arc<StepScript>),
    File(Arc<FileTransfer>),
}

/// A step to create: name, what it does, target hosts.
#[derive(Debug)]
pub struct NewStep {
    pub name: String,
    pub kind: StepKind,
    pub targets: Vec<Target>,
}

/// Mutable part of a job.
#[derive(Debug, Clone)]
pub struct JobState {
    pub status: i32,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    /// Every job status the job went through, in order.
    pub history: Vec<i32>,
    pub steps: Vec<StepRun>,
}

/// A job instance.
#[derive(Debug)]
pub struct JobInstance {
    pub id: i64,
    pub name: String,
    pub biz: i64,
    /// 0 plan, 1 fast script.
    pub job_type: i32,
    pub plan_id: i64,
    pub template_id: i64,
    pub operator: String,
    pub app_code: String,
    pub create_time: i64,
    pub callback_url: Option<String>,
    /// String global variables (name, value) the job ran with (plans only).
    pub vars: Vec<(String, String)>,
    pub state: Mutex<JobState>,
    /// Fired by terminate.
    pub cancel: CancellationToken,
    /// Fired by operate_job_instance code 2 for jobs created with `start_task: false`.
    pub start: Notify,
}

impl JobInstance {
    /// A copy of the current state.
    pub fn snapshot(&self) -> JobState {
        lock(&self.state).clone()
    }

    /// Runs `f` on the state under the lock.
    pub fn with<R>(&self, f: impl FnOnce(&mut JobState) -> R) -> R {
        f(&mut lock(&self.state))
    }

    /// Sets the job status and records it in the history.
    pub fn set_status(&self, status: i32) {
        self.with(|s| {
            s.status = status;
            if s.history.last() != Some(&status) {
                s.history.push(status);
            }
        });
    }
}

/// A target host as (bk_host_id, ip, bk_cloud_id).
pub type Target = (i64, String, i64);

/// What a launch API hands the store.
#[derive(Debug)]
pub struct NewJob {
    pub name: String,
    pub biz: i64,
    pub job_type: i32,
    pub plan_id: i64,
    pub template_id: i64,
    pub operator: String,
    pub app_code: String,
    pub callback_url: Option<String>,
    /// String global variables (name, value), plans only.
    pub vars: Vec<(String, String)>,
    pub steps: Vec<NewStep>,
}

/// All job instances.
pub struct JobStore {
    next_id: AtomicI64,
    jobs: RwLock<BTreeMap<i64, Arc<JobInstance>>>,
}

impl Default for JobStore {
    fn default() -> Self {
        Self {
            next_id: AtomicI64::new(10_000),
            jobs: RwLock::default(),
        }
    }
}

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl JobStore {
    /// Creates a job in status 1 (BLANK).
    pub fn create(&self, new: NewJob) -> Arc<JobInstance> {
        let n = i64::try_from(new.steps.len()).unwrap_or(0);
        let id = self.next_id.fetch_add(n + 10, Ordering::SeqCst);
        let now = now_ms();
        let steps = new
            .steps
            .into_iter()
            .enumerate()
            .map(
                |(
                    i,
                    NewStep {
                        name,
                        kind,
                        targets,
                    },
                )| {
                    let hosts: Vec<HostRun> = targets
                        .into_iter()
                        .map(|(host_id, ip, cloud_id)| HostRun {
                            host_id,
                            ip,
                            cloud_id,
                            status: host::WAITING,
                            exit_code: 0,
                            error_code: host::GSE_DONE,
                            start_time: None,
                            end_time: None,
                            log: Vec::new(),
                            log_truncated: false,
                            file_logs: Vec::new(),
                        })
                        .collect();
                    let host_index = hosts
                        .iter()
                        .enumerate()
                        .map(|(i, h)| (h.host_id, i))
                        .collect();
                    StepRun {
                        id: id + 1 + i64::try_from(i).unwrap_or(0),
                        name,
                        status: run::BLANK,
                        create_time: now,
                        start_time: None,
                        end_time: None,
                        kind,
                        hosts,
                        host_index,
                        upload_logs: BTreeMap::new(),
                    }
                },
            )
            .collect();
        let job = Arc::new(JobInstance {
            id,
            name: new.name,
            biz: new.biz,
            job_type: new.job_type,
            plan_id: new.plan_id,
            template_id: new.template_id,
            operator: new.operator,
            app_code: new.app_code,
            create_time: now,
            callback_url: new.callback_url,
            vars: new.vars,
            state: Mutex::new(JobState {
                status: run::BLANK,
                start_time: None,
                end_time: None,
                history: vec![run::BLANK],
                steps,
            }),
            cancel: CancellationToken::new(),
            start: Notify::new(),
        });
        self.jobs
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id, job.clone());
        job
    }

    /// Job by id.
    pub fn get(&self, id: i64) -> Option<Arc<JobInstance>> {
        self.jobs
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&id)
            .cloned()
    }

    /// All jobs of a business, newest first.
    pub fn of_biz(&self, biz: i64) -> Vec<Arc<JobInstance>> {
        let jobs = self
            .jobs
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        jobs.values()
            .rev()
            .filter(|j| j.biz == biz)
            .cloned()
            .collect()
    }

    /// Every job, oldest first.
    pub fn all(&self) -> Vec<Arc<JobInstance>> {
        self.jobs
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }
}
