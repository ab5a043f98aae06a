//! GetAgentStatus against bk-sim over real HTTP through GSE v1 (ESB) and v2 (API gateway).

mod common;

use common::{GSE, gateway, req, sim};
use proto::jobgateway::v1 as pb;

#[tokio::test]
async fn agent_status_reports_every_host_in_order_through_gse_v1_and_v2() {
    let sim = sim().await;
    for gse in GSE {
        let mut settings = sim.settings(common::TRANSPORTS[1]);
        settings.bk.gse_version = gse;
        let gw = gateway(settings).await;
        let mut cmdb = gw.cmdb().await;
        let request = pb::GetAgentStatusRequest {
            bk_biz_id: 3,
            bk_host_ids: vec![104, 101, 999],
            hosts_by_ip: vec![pb::HostAddress {
                bk_host_id: 0,
                bk_cloud_id: 0,
                ip: "10.0.0.3".into(),
            }],
        };
        let r = cmdb
            .get_agent_status(req(request, None))
            .await
            .unwrap()
            .into_inner();
        let got: Vec<(i64, &str, bool, pb::AgentState)> = r
            .statuses
            .iter()
            .map(|s| (s.bk_host_id, s.ip.as_str(), s.alive, s.state()))
            .collect();
        let (down, version) = match gse {
            job_gateway::config::GseVersion::V1 => (pb::AgentState::Offline, pb::GseApiVersion::V1),
            job_gateway::config::GseVersion::V2 => {
                (pb::AgentState::NotFound, pb::GseApiVersion::V2)
            }
        };
        assert_eq!(
            got,
            [
                (104, "10.0.0.4", false, down),
                (101, "10.0.0.1", true, pb::AgentState::Running),
                (999, "", false, pb::AgentState::NotFound),
                (0, "10.0.0.3", true, pb::AgentState::Running),
            ]
        );
        assert_eq!(r.gse_api_version(), version);
        let queried_by_agent_id = r.statuses[1].bk_agent_id.as_str();
        assert_eq!(
            queried_by_agent_id,
            if version == pb::GseApiVersion::V2 {
                "agent101"
            } else {
                ""
            }
        );
        // Business 0 resolves ids across businesses.
        let wide = pb::GetAgentStatusRequest {
            bk_biz_id: 0,
            bk_host_ids: vec![201],
            hosts_by_ip: vec![],
        };
        let r = cmdb
            .get_agent_status(req(wide, None))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (r.statuses[0].ip.as_str(), r.statuses[0].alive),
            ("10.5.0.1", true)
        );
    }
}
