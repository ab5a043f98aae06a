//! JOB query conversions: log hosts and the instance-history filter.

use proto::jobgateway::v1 as pb;

use super::{InstanceRef, Page, host_ip, ms_of, non_blank, positive, scope};
use crate::bk;
use crate::error::{GatewayError, GatewayResult};

/// A validated GetJobInstanceLogs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogsQuery {
    pub instance: InstanceRef,
    pub step_instance_id: i64,
    pub hosts: bk::LogHosts,
}

impl TryFrom<pb::GetJobInstanceLogsRequest> for LogsQuery {
    type Error = GatewayError;

    fn try_from(r: pb::GetJobInstanceLogsRequest) -> GatewayResult<Self> {
        let pb::GetJobInstanceLogsRequest {
            scope,
            job_instance_id,
            step_instance_id,
            bk_host_ids,
            hosts_by_ip,
        } = r;
        let instance = InstanceRef::new(scope, job_instance_id)?;
        let step_instance_id = positive("step_instance_id", step_instance_id)?;
        let hosts = if !bk_host_ids.is_empty() {
            if bk_host_ids.iter().any(|id| *id < 1) {
                return Err(GatewayError::invalid("bk_host_ids", "must be positive"));
            }
            bk::LogHosts::Ids(bk_host_ids)
        } else if !hosts_by_ip.is_empty() {
            let ips = hosts_by_ip
                .into_iter()
                .enumerate()
                .map(|(i, h)| host_ip(&format!("hosts_by_ip[{i}]"), h))
                .collect::<GatewayResult<_>>()?;
            bk::LogHosts::Ips(ips)
        } else {
            return Err(GatewayError::invalid(
                "bk_host_ids",
                "name at least one host",
            ));
        };
        Ok(Self {
            instance,
            step_instance_id,
            hosts,
        })
    }
}

/// A validated ListJobInstances: the scope, the query for this page, and the page.
pub(crate) fn instance_list_query(
    r: pb::ListJobInstancesRequest,
) -> GatewayResult<(bk::Scope, bk::JobInstanceQuery, Page)> {
    let pb::ListJobInstancesRequest {
        scope: s,
        create_time_start,
        create_time_end,
        name_contains,
        status,
        operator,
        launch_mode,
        r#type,
        job_cron_id,
        ip,
        page_size,
        page_token,
    } = r;
    let scope = scope("scope", s)?;
    let start = ms_of("create_time_start", create_time_start)?;
    let end = ms_of("create_time_end", create_time_end)?;
    if end <= start || end - start > bk::MAX_HISTORY_WINDOW_MS {
        return Err(GatewayError::invalid(
            "create_time_end",
            "must be after create_time_start and at most 30 days after it",
        ));
    }
    let status = match pb::RunStatus::try_from(status) {
        Ok(pb::RunStatus::Unspecified) => None,
        Ok(pb::RunStatus::Unrecognized) | Err(_) => {
            return Err(GatewayError::invalid("status", "is not a JOB run status"));
        }
        Ok(s) => Some(s as i32),
    };
    let launch_mode = match pb::LaunchMode::try_from(launch_mode) {
        Ok(pb::LaunchMode::Unspecified) => None,
        Ok(pb::LaunchMode::Unrecognized) | Err(_) => {
            return Err(GatewayError::invalid(
                "launch_mode",
                "is not a JOB launch mode",
            ));
        }
        Ok(m) => Some(m as i32),
    };
    let instance_type = match pb::JobInstanceType::try_from(r#type) {
        Ok(pb::JobInstanceType::Unspecified) => None,
        Ok(pb::JobInstanceType::Plan) => Some(0),
        Ok(pb::JobInstanceType::FastScript) => Some(1),
        Ok(pb::JobInstanceType::FastFile) => Some(2),
        _ => return Err(GatewayError::invalid("type", "is not a JOB instance type")),
    };
    if job_cron_id < 0 {
        return Err(GatewayError::invalid("job_cron_id", "must not be negative"));
    }
    let (name, operator, ip) = (non_blank(name_contains), non_blank(operator), non_blank(ip));
    let filters = format!(
        "{scope:?}/{start}/{end}/{name:?}/{status:?}/{operator:?}/{launch_mode:?}/{instance_type:?}/{job_cron_id}/{ip:?}"
    );
    let page = Page::parse(page_size, &page_token, bk::MAX_PAGE_LENGTH, &filters)?;
    let query = bk::JobInstanceQuery {
        create_time_start: start,
        create_time_end: end,
        job_instance_id: None,
        job_cron_id: (job_cron_id > 0).then_some(job_cron_id),
        operator,
        name,
        launch_mode,
        instance_type,
        status,
        ip,
        start: page.offset,
        length: page.size,
    };
    Ok((scope, query, page))
}
