//! Running our scripts through JOB either way a team keeps them: ExecuteScript with the text
//! from this repository, or ExecuteJobPlan of plans holding the same scripts; and finding an
//! instance an earlier launch of the same run created, so a launch is never repeated.

use proto::jobgateway::v1 as pb;
use tonic::Status;

use super::{Gateway, Launch, biz};

/// How our scripts reach the hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Runner {
    /// `ExecuteScript` with the script text from this repository.
    Script,
    /// `ExecuteJobPlan` of plans that hold the same scripts, for teams that keep scripts in JOB.
    Plan(PlanIds),
}

/// The JOB plans of plan mode and the names of their global variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanIds {
    /// Plan running `search.sh`.
    pub search_plan_id: i64,
    /// Plan running `backup.sh`.
    pub backup_plan_id: i64,
    /// Plan running `read.sh`; without one, `read.sh` runs through ExecuteScript.
    pub read_plan_id: Option<i64>,
    /// String variable carrying the arguments (the same tokens as `script_param`).
    pub args_variable: String,
    /// Host-list variable the plan's step targets.
    pub hosts_variable: String,
}

/// Which of our scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// `search.sh`.
    Search,
    /// `backup.sh`.
    Backup,
    /// `read.sh`: reads back a page of the manifest `backup.sh` wrote.
    Read,
    /// `prune.sh`: retention of a schedule's backups; always ExecuteScript (no plan holds it).
    Prune,
}

/// A launched JOB instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launched {
    /// Instance.
    pub job_instance_id: i64,
    /// Its (first) step, when the launch said.
    pub step_instance_id: Option<i64>,
    /// `{job_web_url}/api_execute/{id}`.
    pub job_url: String,
}

impl Gateway {
    /// Runs `which` of our scripts as configured: ExecuteScript, or the plan holding it.
    pub async fn run(&self, which: Which, launch: Launch<'_>) -> Result<Launched, Status> {
        let plan = match &self.runner {
            Runner::Plan(plans) => plans.plan_id(which).map(|id| (plans, id)),
            Runner::Script => None,
        };
        let Some((plans, job_plan_id)) = plan else {
            let job = self.execute_script(launch).await?;
            return Ok(Launched {
                job_instance_id: job.job_instance_id,
                step_instance_id: Some(job.step_instance_id),
                job_url: job.job_url,
            });
        };
        let var = |name: &str, content| pb::GlobalVariableValue {
            selector: Some(pb::global_variable_value::Selector::Name(name.to_owned())),
            content: Some(content),
        };
        let req = pb::ExecuteJobPlanRequest {
            scope: biz(launch.bk_biz_id),
            job_plan_id,
            global_vars: vec![
                var(
                    &plans.args_variable,
                    pb::global_variable_value::Content::Value(launch.param.to_owned()),
                ),
                var(
                    &plans.hosts_variable,
                    pb::global_variable_value::Content::Hosts(pb::ExecuteTarget {
                        bk_host_ids: launch.hosts.to_vec(),
                        ..Default::default()
                    }),
                ),
            ],
        };
        let job = self
            .job
            .clone()
            .execute_job_plan(self.request(req, launch.operator)?)
            .await?
            .into_inner();
        Ok(Launched {
            job_instance_id: job.job_instance_id,
            step_instance_id: None,
            job_url: job.job_url,
        })
    }

    /// The instance an earlier [`Gateway::run`] of this backup launched, if any: by task name
    /// for scripts; for plans (which take no task name) by the run's token in the arguments
    /// variable of recent instances of the plan.
    pub async fn find_run(
        &self,
        which: Which,
        bk_biz_id: i64,
        task_name: &str,
        run_token: &str,
        since: chrono::DateTime<chrono::Utc>,
        operator: &str,
    ) -> Result<Option<Launched>, Status> {
        let launched = |j: pb::JobInstance| Launched {
            job_instance_id: j.job_instance_id,
            step_instance_id: None,
            job_url: j.job_url,
        };
        let plan = match &self.runner {
            Runner::Plan(plans) => plans.plan_id(which).map(|id| (plans, id)),
            Runner::Script => None,
        };
        let Some((plans, plan_id)) = plan else {
            return Ok(self
                .find_job(bk_biz_id, task_name, since, operator)
                .await?
                .map(launched));
        };
        let candidates = self.recent_jobs(bk_biz_id, "", since, operator).await?;
        for job in candidates.into_iter().filter(|j| j.job_plan_id == plan_id) {
            let req = pb::GetJobInstanceGlobalVarsRequest {
                scope: biz(bk_biz_id),
                job_instance_id: job.job_instance_id,
            };
            let vars = self
                .job
                .clone()
                .get_job_instance_global_vars(self.request(req, operator)?)
                .await?
                .into_inner();
            let ours = vars.steps.iter().flat_map(|s| &s.variables).any(|v| {
                v.name == plans.args_variable && v.value.split_whitespace().any(|t| t == run_token)
            });
            if ours {
                return Ok(Some(launched(job)));
            }
        }
        Ok(None)
    }
}

impl PlanIds {
    /// The plan holding `which`, if there is one.
    fn plan_id(&self, which: Which) -> Option<i64> {
        match which {
            Which::Search => Some(self.search_plan_id),
            Which::Backup => Some(self.backup_plan_id),
            Which::Read => self.read_plan_id,
            Which::Prune => None,
        }
    }
}
