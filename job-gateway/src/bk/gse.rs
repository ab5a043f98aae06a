//! GSE agent status: `get_agent_status` (GSE 1.0, always through ESB) and `list_agent_state`
//! (GSE 2.0, always through the `bk-gse` gateway), whatever the configured JOB/CMDB transport.
//!
//! Both are batched ([`GSE_BATCH`] hosts per call) and merged. A host GSE leaves out of its
//! reply is simply absent from the result: v1 callers treat a missing key as offline, v2
//! callers as `-2` NOT_FOUND (docs/blueking.md, "The APIs we call"). v2 `code 1011003` (none
//! found) is an empty result.

use super::operator::Operator;
use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::client::BkClient;
use super::error::{BkError, BkResult};
use super::job_target::HostIp;
use super::transport::{ApiCall, Effect, System};

/// Hosts per GSE call (no server maximum is known; BlueKing's own clients use 200–2000).
pub const GSE_BATCH: usize = 500;

/// One host of `get_agent_status`'s `data`, which is keyed `"<bk_cloud_id>:<ip>"`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct AgentStatusV1 {
    /// IPv4.
    pub ip: Option<String>,
    /// Control area (added by ESB).
    pub bk_cloud_id: Option<i64>,
    /// 1 online, 0 offline; 2 and 3 are undocumented. Only 1 is alive.
    pub bk_agent_alive: Option<i32>,
}

impl AgentStatusV1 {
    /// Alive exactly when `bk_agent_alive == 1`.
    pub fn is_alive(&self) -> bool {
        self.bk_agent_alive == Some(1)
    }
}

/// One `list_agent_state` entry.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct AgentStateV2 {
    /// The queried id, echoed in its own format (`cloud:ip` or agent id).
    pub bk_agent_id: Option<String>,
    /// Control area.
    pub bk_cloud_id: Option<i64>,
    /// Agent version.
    pub version: Option<String>,
    /// 0 proxy, 1 agent.
    pub run_mode: Option<i32>,
    /// Raw state: -2 not found … 2 running … 7 removing. Only 2 is alive.
    pub status_code: Option<i32>,
}

impl AgentStateV2 {
    /// Alive exactly when `status_code == 2`.
    pub fn is_alive(&self) -> bool {
        self.status_code == Some(2)
    }
}

/// The key `get_agent_status` uses for a host: `"<bk_cloud_id>:<ip>"`.
pub fn v1_key(host: &HostIp) -> String {
    format!("{}:{}", host.bk_cloud_id, host.ip)
}

impl BkClient {
    /// GSE 1.0 agent status of `hosts`, keyed `"<bk_cloud_id>:<ip>"`; unknown hosts may be absent.
    pub async fn get_agent_status(
        &self,
        operator: &Operator,
        hosts: &[HostIp],
    ) -> BkResult<HashMap<String, AgentStatusV1>> {
        const API: &str = "get_agent_status";
        check_nonempty(API, hosts.len())?;
        let mut merged = HashMap::with_capacity(hosts.len());
        for batch in hosts.chunks(GSE_BATCH) {
            let mut m = Map::new();
            m.insert("bk_supplier_account".to_owned(), json!("0"));
            let list: Vec<Value> = batch.iter().map(HostIp::to_json).collect();
            m.insert("hosts".to_owned(), Value::Array(list));
            let call = ApiCall::new(System::GseV1, API, Effect::Read, String::new(), m);
            let part: Option<HashMap<String, AgentStatusV1>> =
                self.call(call, operator).await?.data;
            merged.extend(part.unwrap_or_default());
        }
        Ok(merged)
    }

    /// GSE 2.0 agent states of `agent_ids` (each `"<bk_cloud_id>:<ip>"` or a 2.0 agent id; one
    /// format per call, as GSE requires). Match the answer on `bk_agent_id`; order is unspecified.
    pub async fn list_agent_state(
        &self,
        operator: &Operator,
        agent_ids: &[String],
    ) -> BkResult<Vec<AgentStateV2>> {
        const API: &str = "list_agent_state";
        check_nonempty(API, agent_ids.len())?;
        let mut merged = Vec::with_capacity(agent_ids.len());
        for batch in agent_ids.chunks(GSE_BATCH) {
            let mut m = Map::new();
            m.insert("agent_id_list".to_owned(), json!(batch));
            let call = ApiCall::new(
                System::GseV2,
                API,
                Effect::Read,
                "/api/v2/cluster/list_agent_state".to_owned(),
                m,
            );
            let part: Option<Vec<AgentStateV2>> = self.call(call, operator).await?.data;
            merged.extend(part.unwrap_or_default());
        }
        Ok(merged)
    }
}

fn check_nonempty(api: &'static str, len: usize) -> BkResult<()> {
    if len == 0 {
        return Err(BkError::Invalid {
            api,
            field: "hosts",
            reason: "names no host".to_owned(),
        });
    }
    Ok(())
}
