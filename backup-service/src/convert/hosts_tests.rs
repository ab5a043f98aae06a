use super::*;

fn node(obj: &str, id: i64, name: &str, children: Vec<gw::TopologyNode>) -> gw::TopologyNode {
    gw::TopologyNode {
        bk_inst_id: id,
        bk_inst_name: name.to_owned(),
        bk_obj_id: obj.to_owned(),
        children,
        ..Default::default()
    }
}

fn host(id: i64, sets: &[(i64, &[i64])]) -> gw::Host {
    gw::Host {
        bk_host_id: id,
        topology: sets
            .iter()
            .map(|(set, modules)| gw::HostTopology {
                bk_set_id: *set,
                modules: modules
                    .iter()
                    .map(|m| gw::HostModule {
                        bk_module_id: *m,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

#[test]
fn custom_levels_are_flattened_the_idle_pool_goes_last_and_hosts_are_counted_once_per_set() {
    let mut idle = node(
        "set",
        9,
        "idle pool",
        vec![node("module", 91, "idle host", vec![])],
    );
    idle.role = gw::TopologyNodeRole::Idle as i32;
    let root = node(
        "biz",
        3,
        "game",
        vec![
            idle,
            node(
                "region",
                77,
                "north",
                vec![node(
                    "set",
                    1,
                    "zone-1",
                    vec![
                        node("module", 11, "gamesvr", vec![]),
                        node("module", 12, "gateway", vec![]),
                    ],
                )],
            ),
            node(
                "set",
                2,
                "zone-2",
                vec![node("module", 21, "gateway", vec![])],
            ),
        ],
    );
    let hosts = [
        host(100, &[(1, &[11, 12])]),
        host(101, &[(1, &[11]), (2, &[21])]),
        host(102, &[(9, &[91])]),
    ];
    let (sets, total) = topology(root, &hosts);
    let names: Vec<(&str, bool, i64)> = sets
        .iter()
        .map(|s| (s.bk_set_name.as_str(), s.idle_pool, s.host_count))
        .collect();
    assert_eq!(
        names,
        [
            ("zone-1", false, 2),
            ("zone-2", false, 1),
            ("idle pool", true, 1)
        ]
    );
    let modules: Vec<i64> = sets[0].modules.iter().map(|m| m.host_count).collect();
    assert_eq!(modules, [2, 1]);
    assert_eq!(total, 3);
}

#[test]
fn only_a_running_agent_is_online_and_each_state_keeps_its_word() {
    let status = |state: gw::AgentState| gw::AgentStatus {
        state: state as i32,
        raw_status_code: 9,
        ..Default::default()
    };
    let cases = [
        (gw::AgentState::Running, pb::AgentStatus::Online, "running"),
        (gw::AgentState::Offline, pb::AgentStatus::Offline, "offline"),
        (
            gw::AgentState::NotFound,
            pb::AgentStatus::NotFound,
            "not found",
        ),
        (
            gw::AgentState::QueryFailed,
            pb::AgentStatus::Unknown,
            "query failed",
        ),
        (
            gw::AgentState::Initial,
            pb::AgentStatus::Offline,
            "installing",
        ),
        (
            gw::AgentState::NotInstalled,
            pb::AgentStatus::Offline,
            "not installed",
        ),
        (
            gw::AgentState::Unrecognized,
            pb::AgentStatus::Offline,
            "unrecognized code 9",
        ),
    ];
    for (state, want, word) in cases {
        assert_eq!(agent(Some(&status(state))), (want, word.to_owned()));
    }
    assert_eq!(agent(None).0, pb::AgentStatus::Unknown);
}

#[test]
fn a_bad_host_filter_is_refused_naming_the_field() {
    let field = |r: pb::ListHostsRequest| match HostQuery::try_from(r).unwrap_err() {
        BackupError::InvalidArgument { field, .. } => field,
        other => panic!("{other:?}"),
    };
    let ok = pb::ListHostsRequest {
        bk_biz_id: 3,
        ..Default::default()
    };
    assert_eq!(
        field(pb::ListHostsRequest {
            bk_biz_id: 0,
            ..ok.clone()
        }),
        "bk_biz_id"
    );
    let ips = vec!["10.0.0.1".into(), "ten".into()];
    let bad_ip = pb::ListHostsRequest {
        inner_ips: ips,
        ..ok.clone()
    };
    assert_eq!(field(bad_ip), "inner_ips[1]");
    let sets = pb::ListHostsRequest {
        bk_set_ids: vec![301, -1],
        ..ok.clone()
    };
    assert_eq!(field(sets), "bk_set_ids[1]");
    let many = pb::ListHostsRequest {
        bk_module_ids: vec![1; 501],
        ..ok.clone()
    };
    assert_eq!(field(many), "bk_module_ids");
    let size = pb::ListHostsRequest {
        page_size: -1,
        ..ok.clone()
    };
    assert_eq!(field(size), "page_size");
    let q = HostQuery::try_from(pb::ListHostsRequest {
        page_size: 9000,
        ..ok
    })
    .unwrap();
    assert_eq!(q.page_size, 500);
}
