//! GSE conversions: the GetAgentStatus request and the decoding of GSE v1 and v2 agent codes.

use proto::jobgateway::v1 as pb;

use super::host_ip;
use crate::bk;
use crate::error::{GatewayError, GatewayResult};

/// A validated GetAgentStatus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AgentQuery {
    /// Business resolving the ids; 0 for none.
    pub bk_biz_id: i64,
    pub bk_host_ids: Vec<i64>,
    pub hosts_by_ip: Vec<bk::HostIp>,
}

impl TryFrom<pb::GetAgentStatusRequest> for AgentQuery {
    type Error = GatewayError;

    fn try_from(r: pb::GetAgentStatusRequest) -> GatewayResult<Self> {
        let pb::GetAgentStatusRequest {
            bk_biz_id,
            bk_host_ids,
            hosts_by_ip,
        } = r;
        if bk_biz_id < 0 {
            return Err(GatewayError::invalid("bk_biz_id", "must not be negative"));
        }
        if bk_host_ids.is_empty() && hosts_by_ip.is_empty() {
            return Err(GatewayError::invalid(
                "bk_host_ids",
                "name at least one host",
            ));
        }
        if bk_host_ids.iter().any(|id| *id < 1) {
            return Err(GatewayError::invalid("bk_host_ids", "must be positive"));
        }
        let hosts_by_ip = hosts_by_ip
            .into_iter()
            .enumerate()
            .map(|(i, h)| host_ip(&format!("hosts_by_ip[{i}]"), h))
            .collect::<GatewayResult<_>>()?;
        Ok(Self {
            bk_biz_id,
            bk_host_ids,
            hosts_by_ip,
        })
    }
}

/// Decodes GSE v1 `bk_agent_alive` (None: GSE left the host out).
pub(crate) fn agent_state_v1(raw: Option<i32>) -> (pb::AgentState, i32) {
    match raw {
        None => (pb::AgentState::NotFound, -2),
        Some(1) => (pb::AgentState::Running, 1),
        Some(0) => (pb::AgentState::Offline, 0),
        Some(2) => (pb::AgentState::Terminated, 2),
        Some(3) => (pb::AgentState::NotInstalled, 3),
        Some(c) => (pb::AgentState::Unrecognized, c),
    }
}

/// Decodes GSE v2 `status_code` (None: GSE left the host out).
pub(crate) fn agent_state_v2(raw: Option<i32>) -> (pb::AgentState, i32) {
    let code = raw.unwrap_or(-2);
    let state = match code {
        -2 => pb::AgentState::NotFound,
        -1 => pb::AgentState::QueryFailed,
        0 => pb::AgentState::Initial,
        1 => pb::AgentState::Starting,
        2 => pb::AgentState::Running,
        3 => pb::AgentState::Degraded,
        4 => pb::AgentState::Busy,
        5 | 6 => pb::AgentState::Changing,
        7 => pb::AgentState::Removing,
        _ => pb::AgentState::Unrecognized,
    };
    (state, code)
}
