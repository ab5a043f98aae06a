//! CmdbService against bk-sim over real HTTP: businesses, topology, host filters and paging,
//! agent status attached to hosts, on both transports.

mod common;

use common::{TRANSPORTS, gateway, req, sim};
use proto::jobgateway::v1 as pb;
use proto::jobgateway::v1::cmdb_service_client::CmdbServiceClient;
use tonic::transport::Channel;

#[tokio::test]
async fn businesses_are_listed_by_id_and_filtered_by_name_and_by_the_operators_rights_on_both_transports()
 {
    let sim = sim().await;
    for transport in TRANSPORTS {
        let gw = gateway(sim.settings(transport)).await;
        let mut cmdb = gw.cmdb().await;
        let list = |include_archived, name: &str| pb::ListBusinessesRequest {
            include_archived,
            name_contains: name.to_owned(),
            ..Default::default()
        };
        let r = cmdb
            .list_businesses(req(list(false, ""), None))
            .await
            .unwrap()
            .into_inner();
        let got: Vec<(i64, &str, bool)> = r
            .businesses
            .iter()
            .map(|b| (b.bk_biz_id, b.bk_biz_name.as_str(), b.archived))
            .collect();
        assert_eq!(got, [(3, "game", false), (5, "payments", false)]);
        assert_eq!(r.businesses[0].bk_biz_maintainers, ["admin", "alice"]);
        let r = cmdb
            .list_businesses(req(list(false, "PAY"), None))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            r.businesses.iter().map(|b| b.bk_biz_id).collect::<Vec<_>>(),
            [5]
        );
        // bob sees only his own business: the operator reaches CMDB.
        let r = cmdb
            .list_businesses(req(list(false, ""), Some("bob")))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            r.businesses.iter().map(|b| b.bk_biz_id).collect::<Vec<_>>(),
            [5]
        );
    }
}

#[tokio::test]
async fn archived_businesses_are_listed_only_when_asked_on_both_transports() {
    let sim = sim().await;
    for transport in TRANSPORTS {
        let gw = gateway(sim.settings(transport)).await;
        let mut cmdb = gw.cmdb().await;
        let list = |include_archived, name: &str, operator| {
            req(
                pb::ListBusinessesRequest {
                    include_archived,
                    name_contains: name.to_owned(),
                    ..Default::default()
                },
                operator,
            )
        };
        let summary = |r: pb::ListBusinessesResponse| {
            let got: Vec<(i64, bool)> = r
                .businesses
                .iter()
                .map(|b| (b.bk_biz_id, b.archived))
                .collect();
            (got, r.total_size)
        };

        let r = cmdb.list_businesses(list(false, "", None)).await.unwrap();
        assert_eq!(summary(r.into_inner()), (vec![(3, false), (5, false)], 2));
        let r = cmdb.list_businesses(list(true, "", None)).await.unwrap();
        assert_eq!(
            summary(r.into_inner()),
            (vec![(3, false), (4, true), (5, false)], 3)
        );
        let r = cmdb.list_businesses(list(true, "OLD", None)).await.unwrap();
        assert_eq!(summary(r.into_inner()), (vec![(4, true)], 1));
        let r = cmdb
            .list_businesses(list(false, "OLD", None))
            .await
            .unwrap();
        assert_eq!(summary(r.into_inner()), (vec![], 0));
        // The archived business is still subject to the operator's rights.
        let r = cmdb
            .list_businesses(list(true, "", Some("bob")))
            .await
            .unwrap();
        assert_eq!(summary(r.into_inner()), (vec![(5, false)], 1));
    }
}

#[tokio::test]
async fn the_resource_pool_business_is_never_listed_on_both_transports() {
    let sim = sim().await;
    for transport in TRANSPORTS {
        let gw = gateway(sim.settings(transport)).await;
        let mut cmdb = gw.cmdb().await;
        for (include_archived, name, want) in [
            (false, "", vec![3, 5]),
            (true, "", vec![3, 4, 5]),
            (false, "resource", vec![]),
            (true, "resource", vec![]),
        ] {
            let r = cmdb
                .list_businesses(req(
                    pb::ListBusinessesRequest {
                        include_archived,
                        name_contains: name.to_owned(),
                        ..Default::default()
                    },
                    None,
                ))
                .await
                .unwrap()
                .into_inner();
            let got: Vec<i64> = r.businesses.iter().map(|b| b.bk_biz_id).collect();
            assert_eq!(
                (got, r.total_size),
                (want.clone(), want.len() as i64),
                "include_archived={include_archived} name={name:?}"
            );
        }
    }
}

#[tokio::test]
async fn the_topology_tree_lists_sets_and_modules_and_the_idle_pool_last_when_asked_on_both_transports()
 {
    let sim = sim().await;
    for transport in TRANSPORTS {
        let gw = gateway(sim.settings(transport)).await;
        let mut cmdb = gw.cmdb().await;
        let topo = |include_idle_pool| pb::GetBusinessTopologyRequest {
            bk_biz_id: 3,
            include_idle_pool,
        };
        let root = cmdb
            .get_business_topology(req(topo(false), None))
            .await
            .unwrap()
            .into_inner()
            .root
            .unwrap();
        assert_eq!(
            (root.bk_inst_id, root.bk_obj_id.as_str(), root.role()),
            (3, "biz", pb::TopologyNodeRole::Normal)
        );
        let sets: Vec<(i64, Vec<i64>)> = root
            .children
            .iter()
            .map(|s| {
                (
                    s.bk_inst_id,
                    s.children.iter().map(|m| m.bk_inst_id).collect(),
                )
            })
            .collect();
        assert_eq!(sets, [(31, vec![311, 312]), (32, vec![321])]);
        let root = cmdb
            .get_business_topology(req(topo(true), None))
            .await
            .unwrap()
            .into_inner()
            .root
            .unwrap();
        let idle = root.children.last().unwrap();
        assert_eq!(
            (root.children.len(), idle.role(), idle.default_code),
            (3, pb::TopologyNodeRole::Idle, 1)
        );
        let roles: Vec<pb::TopologyNodeRole> = idle.children.iter().map(|m| m.role()).collect();
        assert_eq!(
            roles,
            [
                pb::TopologyNodeRole::Idle,
                pb::TopologyNodeRole::Faulty,
                pb::TopologyNodeRole::Recycle
            ]
        );
    }
}

#[tokio::test]
async fn the_tree_with_the_idle_pool_is_the_same_over_esb_which_drops_with_default_as_over_the_gateway()
 {
    let sim = sim().await;
    let mut trees = Vec::new();
    for transport in TRANSPORTS {
        let gw = gateway(sim.settings(transport)).await;
        let request = pb::GetBusinessTopologyRequest {
            bk_biz_id: 3,
            include_idle_pool: true,
        };
        let root = gw
            .cmdb()
            .await
            .get_business_topology(req(request, None))
            .await
            .unwrap()
            .into_inner()
            .root
            .unwrap();
        trees.push(root);
    }
    let idle = trees[0].children.last().unwrap();
    let modules: Vec<(i64, i32)> = idle
        .children
        .iter()
        .map(|m| (m.bk_inst_id, m.default_code))
        .collect();
    assert_eq!(
        (idle.bk_obj_id.as_str(), idle.default_code, modules.len()),
        ("set", 1, 3)
    );
    assert_eq!(trees[0], trees[1], "ESB tree vs gateway tree");
    // ESB's search_biz_inst_topo cannot carry `with_default`: the idle pool came from
    // search_set and search_module there.
    let esb_sets: Vec<String> = sim
        .requests("search_set")
        .await
        .iter()
        .map(|r| r["transport"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(esb_sets, ["esb"]);
}

/// ListHosts as admin, which must succeed.
async fn hosts(
    cmdb: &mut CmdbServiceClient<Channel>,
    request: pb::ListHostsRequest,
) -> pb::ListHostsResponse {
    cmdb.list_hosts(req(request, None))
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn hosts_are_filtered_paged_and_carry_topology_and_agent_status_on_both_transports() {
    let sim = sim().await;
    for transport in TRANSPORTS {
        let gw = gateway(sim.settings(transport)).await;
        let mut cmdb = gw.cmdb().await;
        let base = || pb::ListHostsRequest {
            bk_biz_id: 3,
            ..Default::default()
        };
        let ids =
            |r: &pb::ListHostsResponse| r.hosts.iter().map(|h| h.bk_host_id).collect::<Vec<_>>();

        let first = hosts(
            &mut cmdb,
            pb::ListHostsRequest {
                page_size: 3,
                ..base()
            },
        )
        .await;
        assert_eq!((ids(&first), first.total_size), (vec![101, 102, 103], 4));
        let second = hosts(
            &mut cmdb,
            pb::ListHostsRequest {
                page_size: 3,
                page_token: first.next_page_token.clone(),
                ..base()
            },
        )
        .await;
        assert_eq!(
            (ids(&second), second.next_page_token.as_str()),
            (vec![104], "")
        );

        let by_module = hosts(
            &mut cmdb,
            pb::ListHostsRequest {
                bk_module_ids: vec![321],
                ..base()
            },
        )
        .await;
        assert_eq!(ids(&by_module), [103, 104]);
        let by_set = hosts(
            &mut cmdb,
            pb::ListHostsRequest {
                bk_set_ids: vec![31],
                ..base()
            },
        )
        .await;
        assert_eq!(ids(&by_set), [101, 102]);
        let by_ip = hosts(
            &mut cmdb,
            pb::ListHostsRequest {
                inner_ips: vec!["10.0.0.2".into()],
                ..base()
            },
        )
        .await;
        assert_eq!(ids(&by_ip), [102]);
        let by_name = hosts(
            &mut cmdb,
            pb::ListHostsRequest {
                host_name_contains: "GAME-0".into(),
                inner_ip_prefix: "10.0.0.".into(),
                bk_host_ids: vec![103, 104, 201],
                ..base()
            },
        )
        .await;
        assert_eq!(ids(&by_name), [103, 104]);

        let rich = hosts(
            &mut cmdb,
            pb::ListHostsRequest {
                bk_host_ids: vec![102],
                with_topology: true,
                with_agent_status: true,
                ..base()
            },
        )
        .await;
        let host = &rich.hosts[0];
        assert_eq!(
            (
                host.bk_host_id,
                host.inner_ips.as_slice(),
                host.bk_host_name.as_str()
            ),
            (102, &["10.0.0.2".to_owned()][..], "game-02")
        );
        let topo: Vec<(i64, Vec<i64>)> = host
            .topology
            .iter()
            .map(|s| {
                (
                    s.bk_set_id,
                    s.modules.iter().map(|m| m.bk_module_id).collect(),
                )
            })
            .collect();
        assert_eq!(topo, [(31, vec![311, 312])]);
        let agent = host.agent_status.as_ref().unwrap();
        assert_eq!(
            (agent.alive, agent.state()),
            (true, pb::AgentState::Running)
        );
    }
}
