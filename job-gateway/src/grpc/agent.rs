//! Agent status for GetAgentStatus and ListHosts: resolve host ids through CMDB, then ask GSE
//! (v1 `get_agent_status` or v2 `list_agent_state`, per `bk.gse_version`).
//!
//! Every requested host gets exactly one status, in request order: a host CMDB does not know,
//! or that GSE leaves out of its reply, is reported as NOT_FOUND (raw `-2`), never dropped.

use std::collections::HashMap;

use proto::jobgateway::v1 as pb;

use super::convert::{self, HOST_FIELDS};
use crate::bk::{self, BkClient, BkResult, Operator};
use crate::config::GseVersion;

/// One host to ask GSE about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    bk_host_id: i64,
    bk_cloud_id: i64,
    ip: String,
    agent_id: String,
}

impl Target {
    /// A host listed by CMDB; GSE addresses it by its first inner IP.
    pub(crate) fn of_host(h: &pb::Host) -> Self {
        Self {
            bk_host_id: h.bk_host_id,
            bk_cloud_id: h.bk_cloud_id,
            ip: h.inner_ips.first().cloned().unwrap_or_default(),
            agent_id: h.bk_agent_id.clone(),
        }
    }

    /// A host given by address.
    pub(crate) fn of_address(h: bk::HostIp) -> Self {
        Self {
            bk_host_id: 0,
            bk_cloud_id: h.bk_cloud_id,
            ip: h.ip,
            agent_id: String::new(),
        }
    }

    fn unknown(bk_host_id: i64) -> Self {
        Self {
            bk_host_id,
            bk_cloud_id: 0,
            ip: String::new(),
            agent_id: String::new(),
        }
    }

    fn cloud_ip(&self) -> Option<String> {
        (!self.ip.is_empty()).then(|| format!("{}:{}", self.bk_cloud_id, self.ip))
    }
}

/// Resolves host ids through CMDB (in `biz`, or across businesses when 0), in request order.
pub(crate) async fn resolve(
    bk: &BkClient,
    op: &Operator,
    biz: i64,
    ids: &[i64],
) -> BkResult<Vec<Target>> {
    let fields: Vec<String> = HOST_FIELDS.iter().map(|f| (*f).to_owned()).collect();
    let mut known: HashMap<i64, pb::Host> = HashMap::new();
    for chunk in ids.chunks(bk::MAX_CMDB_PAGE as usize) {
        let page = bk::CmdbPage {
            start: 0,
            limit: bk::MAX_CMDB_PAGE,
            sort: Some("bk_host_id".to_owned()),
        };
        let filter = convert::id_filter("bk_host_id", chunk);
        let listing = if biz > 0 {
            let req = bk::ListBizHosts {
                fields: fields.clone(),
                page,
                host_property_filter: filter,
                ..Default::default()
            };
            bk.list_biz_hosts(op, biz, &req).await?
        } else {
            bk.list_hosts_without_biz(op, &fields, filter, &page)
                .await?
        };
        for h in listing.info.unwrap_or_default() {
            let h = convert::host(h);
            known.insert(h.bk_host_id, h);
        }
    }
    Ok(ids
        .iter()
        .map(|id| {
            known
                .get(id)
                .map_or_else(|| Target::unknown(*id), Target::of_host)
        })
        .collect())
}

/// Asks GSE about `targets`; one status per target, in order.
pub(crate) async fn query(
    bk: &BkClient,
    op: &Operator,
    targets: Vec<Target>,
) -> BkResult<(Vec<pb::AgentStatus>, pb::GseApiVersion)> {
    match bk.gse_version() {
        GseVersion::V1 => {
            let hosts: Vec<bk::HostIp> = targets
                .iter()
                .filter(|t| !t.ip.is_empty())
                .map(|t| bk::HostIp {
                    bk_cloud_id: t.bk_cloud_id,
                    ip: t.ip.clone(),
                })
                .collect();
            let answers = if hosts.is_empty() {
                HashMap::new()
            } else {
                bk.get_agent_status(op, &hosts).await?
            };
            let version = pb::GseApiVersion::V1;
            let statuses = targets
                .into_iter()
                .map(|t| {
                    let raw = t
                        .cloud_ip()
                        .and_then(|k| answers.get(&k))
                        .and_then(|a| a.bk_agent_alive);
                    let (state, code) = convert::agent_state_v1(raw);
                    status(t, String::new(), state, code, String::new(), version)
                })
                .collect();
            Ok((statuses, version))
        }
        GseVersion::V2 => {
            // GSE wants one id format per call: 2.0 agent ids apart from `cloud:ip` ids.
            let (mut by_agent, mut by_address) = (Vec::new(), Vec::new());
            for t in &targets {
                if !t.agent_id.is_empty() {
                    by_agent.push(t.agent_id.clone());
                } else if let Some(k) = t.cloud_ip() {
                    by_address.push(k);
                }
            }
            let mut answers: HashMap<String, bk::AgentStateV2> = HashMap::new();
            for ids in [by_agent, by_address] {
                if ids.is_empty() {
                    continue;
                }
                for s in bk.list_agent_state(op, &ids).await? {
                    if let Some(id) = s.bk_agent_id.clone() {
                        answers.insert(id, s);
                    }
                }
            }
            let version = pb::GseApiVersion::V2;
            let statuses = targets
                .into_iter()
                .map(|t| {
                    let key = if t.agent_id.is_empty() {
                        t.cloud_ip()
                    } else {
                        Some(t.agent_id.clone())
                    };
                    let answer = key.as_ref().and_then(|k| answers.get(k));
                    let (state, code) = convert::agent_state_v2(answer.and_then(|a| a.status_code));
                    let version_text = answer.and_then(|a| a.version.clone()).unwrap_or_default();
                    let agent_id = t.agent_id.clone();
                    status(t, agent_id, state, code, version_text, version)
                })
                .collect();
            Ok((statuses, version))
        }
    }
}

fn status(
    t: Target,
    bk_agent_id: String,
    state: pb::AgentState,
    raw_status_code: i32,
    version: String,
    gse: pb::GseApiVersion,
) -> pb::AgentStatus {
    pb::AgentStatus {
        bk_host_id: t.bk_host_id,
        bk_cloud_id: t.bk_cloud_id,
        ip: t.ip,
        bk_agent_id,
        alive: state == pb::AgentState::Running,
        state: state as i32,
        raw_status_code,
        version,
        gse_api_version: gse as i32,
    }
}
