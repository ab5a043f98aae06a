//! JOB v3 query inputs: log hosts, operation codes and the list filters, with JOB's limits
//! (page length 1–1000, history windows of at most 30 days) checked before sending, and the
//! merge of split batch-log answers.

use serde_json::{Map, Value, json};

use super::error::{BkError, BkResult};
use super::job_target::{HostIp, Scope};
use super::job_types::BatchIpLogs;

/// JOB's cap on hosts per batch_get_job_instance_ip_log call.
pub const MAX_LOG_HOSTS_PER_CALL: usize = 500;
/// JOB's longest get_job_instance_list window: 30 days, in ms.
pub const MAX_HISTORY_WINDOW_MS: i64 = 30 * 24 * 3600 * 1000;
/// JOB's largest page length.
pub const MAX_PAGE_LENGTH: i64 = 1000;

/// A host of a log request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogHost {
    /// By CMDB host id (sent as `bk_host_id`; the gateway doc's `host_id` is not read).
    Id(i64),
    /// By control area + IP (deprecated).
    Ip(HostIp),
}

/// The hosts of a batch log request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogHosts {
    /// By CMDB host id.
    Ids(Vec<i64>),
    /// By control area + IP.
    Ips(Vec<HostIp>),
}

/// operate_job_instance `operation_code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobOperation {
    /// 1: terminate.
    Terminate = 1,
    /// 2: start an instance created with `start_task: false` (source only).
    Start = 2,
}

/// Filters of get_job_plan_list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobPlanQuery {
    /// Template.
    pub job_template_id: Option<i64>,
    /// Creator.
    pub creator: Option<String>,
    /// Fuzzy name.
    pub name: Option<String>,
    /// Last modifier.
    pub last_modify_user: Option<String>,
    /// Offset.
    pub start: i64,
    /// Page length, 1–1000.
    pub length: i64,
}

/// Filters of get_job_instance_list. Times are ms; the window must be ≤30 days.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobInstanceQuery {
    /// Window start, ms.
    pub create_time_start: i64,
    /// Window end, ms.
    pub create_time_end: i64,
    /// One instance.
    pub job_instance_id: Option<i64>,
    /// Cron.
    pub job_cron_id: Option<i64>,
    /// Exact operator.
    pub operator: Option<String>,
    /// Fuzzy name.
    pub name: Option<String>,
    /// Raw launch mode.
    pub launch_mode: Option<i32>,
    /// Raw type.
    pub instance_type: Option<i32>,
    /// Raw status.
    pub status: Option<i32>,
    /// Target IP.
    pub ip: Option<String>,
    /// Offset.
    pub start: i64,
    /// Page length, 1–1000.
    pub length: i64,
}

impl JobPlanQuery {
    /// The JSON parameters, after checking the page.
    pub(crate) fn params(&self, scope: &Scope) -> BkResult<Map<String, Value>> {
        check_page("get_job_plan_list", self.start, self.length)?;
        let mut m = scope.params();
        put(&mut m, "job_template_id", self.job_template_id);
        put(&mut m, "creator", self.creator.as_deref());
        put(&mut m, "name", self.name.as_deref());
        put(&mut m, "last_modify_user", self.last_modify_user.as_deref());
        m.insert("start".to_owned(), json!(self.start));
        m.insert("length".to_owned(), json!(self.length));
        Ok(m)
    }
}

impl JobInstanceQuery {
    /// The JSON parameters, after checking the window and the page.
    pub(crate) fn params(&self, scope: &Scope) -> BkResult<Map<String, Value>> {
        const API: &str = "get_job_instance_list";
        let window = self.create_time_end - self.create_time_start;
        if self.create_time_start < 1 || window <= 0 || window > MAX_HISTORY_WINDOW_MS {
            return Err(BkError::Invalid {
                api: API,
                field: "create_time_end",
                reason: "the window must end after it starts and span at most 30 days".to_owned(),
            });
        }
        check_page(API, self.start, self.length)?;
        let mut m = scope.params();
        m.insert(
            "create_time_start".to_owned(),
            json!(self.create_time_start),
        );
        m.insert("create_time_end".to_owned(), json!(self.create_time_end));
        put(&mut m, "job_instance_id", self.job_instance_id);
        put(&mut m, "job_cron_id", self.job_cron_id);
        put(&mut m, "operator", self.operator.as_deref());
        put(&mut m, "name", self.name.as_deref());
        put(&mut m, "launch_mode", self.launch_mode);
        put(&mut m, "type", self.instance_type);
        put(&mut m, "status", self.status);
        put(&mut m, "ip", self.ip.as_deref());
        m.insert("start".to_owned(), json!(self.start));
        m.insert("length".to_owned(), json!(self.length));
        Ok(m)
    }
}

fn put<T: serde::Serialize>(m: &mut Map<String, Value>, key: &str, v: Option<T>) {
    if let Some(v) = v {
        m.insert(key.to_owned(), json!(v));
    }
}

fn check_page(api: &'static str, start: i64, length: i64) -> BkResult<()> {
    if start < 0 {
        return Err(BkError::Invalid {
            api,
            field: "start",
            reason: "must not be negative".to_owned(),
        });
    }
    if !(1..=MAX_PAGE_LENGTH).contains(&length) {
        return Err(BkError::Invalid {
            api,
            field: "length",
            reason: "must be 1 to 1000".to_owned(),
        });
    }
    Ok(())
}

/// Appends `part`'s host logs to `acc`'s; the first non-null scalars win.
pub(crate) fn merge_logs(mut acc: BatchIpLogs, part: BatchIpLogs) -> BatchIpLogs {
    acc.job_instance_id = acc.job_instance_id.or(part.job_instance_id);
    acc.step_instance_id = acc.step_instance_id.or(part.step_instance_id);
    acc.log_type = acc.log_type.or(part.log_type);
    if let Some(more) = part.script_task_logs {
        acc.script_task_logs
            .get_or_insert_with(Vec::new)
            .extend(more);
    }
    if let Some(more) = part.file_task_logs {
        acc.file_task_logs.get_or_insert_with(Vec::new).extend(more);
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(start: i64, end: i64) -> JobInstanceQuery {
        JobInstanceQuery {
            create_time_start: start,
            create_time_end: end,
            length: 50,
            ..JobInstanceQuery::default()
        }
    }

    #[test]
    fn instance_windows_longer_than_30_days_or_reversed_are_refused() {
        let scope = Scope::biz(12);
        assert!(query(1, 1 + MAX_HISTORY_WINDOW_MS).params(&scope).is_ok());
        for (start, end) in [(1, 2 + MAX_HISTORY_WINDOW_MS), (10, 10), (10, 5), (0, 5)] {
            let err = query(start, end).params(&scope).unwrap_err();
            assert!(
                matches!(
                    err,
                    BkError::Invalid {
                        field: "create_time_end",
                        ..
                    }
                ),
                "{start}..{end}: {err:?}"
            );
        }
    }

    #[test]
    fn page_lengths_outside_1_to_1000_are_refused() {
        let scope = Scope::biz(12);
        for length in [0, 1001] {
            let q = JobPlanQuery {
                length,
                ..JobPlanQuery::default()
            };
            assert!(matches!(
                q.params(&scope),
                Err(BkError::Invalid {
                    field: "length",
                    ..
                })
            ));
        }
    }

    #[test]
    fn merged_batches_keep_request_order_and_the_first_scalars() {
        let part = |ids: &[i64], log_type| BatchIpLogs {
            log_type,
            script_task_logs: Some(
                ids.iter()
                    .map(|id| super::super::job_types::ScriptTaskLog {
                        bk_host_id: Some(*id),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..BatchIpLogs::default()
        };
        let merged = merge_logs(part(&[1, 2], Some(1)), part(&[3], None));
        let ids: Vec<i64> = merged
            .script_task_logs
            .unwrap()
            .iter()
            .filter_map(|l| l.bk_host_id)
            .collect();
        assert_eq!((ids, merged.log_type), (vec![1, 2, 3], Some(1)));
        assert_eq!(merged.file_task_logs, None);
    }
}
