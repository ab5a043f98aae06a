//! HostService against the demo world, as the caller: businesses, a business's topology with
//! host counts, and its hosts with every filter, paging, agent status and `offline_only`; a
//! business the caller may not see is BlueKing's PERMISSION_DENIED, bad input
//! INVALID_ARGUMENT naming the field.

use e2e::stack::{Door, Stack};
use e2e::{Authed, RunningService};
use proto::backup::v1 as pb;
use proto::backup::v1::host_service_client::HostServiceClient;
use sqlx::postgres::PgConnectOptions;
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic_types::StatusExt;

type Pool = sqlx::pool::PoolOptions<sqlx::Postgres>;
type Client = HostServiceClient<InterceptedService<Channel, Authed>>;
/// A set's name and host count, with its modules'.
type SetCounts<'a> = (&'a str, i64, Vec<(&'a str, i64)>);

async fn client(svc: &RunningService, user: &'static str) -> Client {
    HostServiceClient::with_interceptor(
        svc.channel().await,
        Authed {
            username: Some(user),
        },
    )
}

fn hosts_req(f: impl FnOnce(&mut pb::ListHostsRequest)) -> pb::ListHostsRequest {
    let mut r = pb::ListHostsRequest {
        bk_biz_id: 3,
        ..Default::default()
    };
    f(&mut r);
    r
}

async fn ids(c: &mut Client, req: pb::ListHostsRequest) -> Vec<i64> {
    let resp = c.list_hosts(req).await.unwrap().into_inner();
    resp.hosts.iter().map(|h| h.bk_host_id).collect()
}

#[sqlx::test(migrations = false)]
async fn businesses_are_those_the_caller_may_see_archived_ones_only_when_asked(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    let mut admin = client(&stack.backup, "admin").await;
    let listed = |r: pb::ListBusinessesResponse| -> Vec<(i64, bool)> {
        r.businesses
            .iter()
            .map(|b| (b.bk_biz_id, b.archived))
            .collect()
    };
    let all = admin
        .list_businesses(pb::ListBusinessesRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed(all), [(3, false), (5, false)]);
    let req = pb::ListBusinessesRequest {
        include_archived: true,
        page_size: 2,
        ..Default::default()
    };
    let first = admin
        .list_businesses(req.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.total_size, 3);
    assert_eq!(listed(first.clone()), [(3, false), (4, true)]);
    assert!(!first.next_page_token.is_empty());
    let next = pb::ListBusinessesRequest {
        page_token: first.next_page_token.clone(),
        ..req.clone()
    };
    let second = admin.list_businesses(next).await.unwrap().into_inner();
    assert_eq!(listed(second.clone()), [(5, false)]);
    assert!(second.next_page_token.is_empty());
    let named = pb::ListBusinessesRequest {
        name_contains: "fantasy".into(),
        ..Default::default()
    };
    let named = admin.list_businesses(named).await.unwrap().into_inner();
    assert_eq!(named.businesses[0].bk_biz_name, "Fantasy Legends");
    assert_eq!(named.businesses.len(), 1);
    let other_filter = pb::ListBusinessesRequest {
        page_token: first.next_page_token,
        ..Default::default()
    };
    let refused = admin.list_businesses(other_filter).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    let field = &refused.get_details_bad_request().unwrap().field_violations[0];
    assert_eq!(field.field, "page_token");
    let mut bob = client(&stack.backup, "bob").await;
    let bobs = bob
        .list_businesses(pb::ListBusinessesRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed(bobs), [(5, false)]);
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn the_topology_lists_sets_and_modules_with_host_counts_and_the_idle_pool_when_asked(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    let mut alice = client(&stack.backup, "alice").await;
    let topo = alice
        .get_topology(pb::GetTopologyRequest {
            bk_biz_id: 3,
            include_idle_pool: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(topo.business.unwrap().bk_biz_name, "Fantasy Legends");
    let sets: Vec<SetCounts> = topo
        .sets
        .iter()
        .map(|s| {
            let modules = s
                .modules
                .iter()
                .map(|m| (m.bk_module_name.as_str(), m.host_count))
                .collect();
            (s.bk_set_name.as_str(), s.host_count, modules)
        })
        .collect();
    // Host 1010 is in gateway modules of both game-server sets: counted in each, once overall.
    assert_eq!(
        sets,
        [
            ("gs-zone-1", 5, vec![("gamesvr", 3), ("gateway", 2)]),
            (
                "gs-zone-2",
                4,
                vec![("gamesvr", 2), ("dbproxy", 1), ("gateway", 1)]
            ),
            ("login", 2, vec![("login", 2)]),
        ]
    );
    assert_eq!(topo.host_count, 10);
    let with_idle = alice
        .get_topology(pb::GetTopologyRequest {
            bk_biz_id: 3,
            include_idle_pool: true,
        })
        .await
        .unwrap()
        .into_inner();
    let last = with_idle.sets.last().unwrap();
    assert!(last.idle_pool, "{last:?}");
    assert_eq!(with_idle.sets.len(), 4);
    assert!(with_idle.sets[..3].iter().all(|s| !s.idle_pool));
    let missing = alice
        .get_topology(pb::GetTopologyRequest {
            bk_biz_id: 0,
            include_idle_pool: false,
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::InvalidArgument);
    assert_eq!(
        missing.get_details_bad_request().unwrap().field_violations[0].field,
        "bk_biz_id"
    );
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn hosts_come_with_agent_status_and_placements_narrowed_by_each_filter(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    let mut alice = client(&stack.backup, "alice").await;
    let all = alice
        .list_hosts(hosts_req(|_| {}))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.total_size, 10);
    let ids_all: Vec<i64> = all.hosts.iter().map(|h| h.bk_host_id).collect();
    assert_eq!(ids_all, (1001..=1010).collect::<Vec<_>>());
    let h1010 = all.hosts.iter().find(|h| h.bk_host_id == 1010).unwrap();
    let placed: Vec<(&str, &str)> = h1010
        .placements
        .iter()
        .map(|p| (p.bk_set_name.as_str(), p.bk_module_name.as_str()))
        .collect();
    assert_eq!(placed, [("gs-zone-1", "gateway"), ("gs-zone-2", "gateway")]);
    assert_eq!(h1010.inner_ips, ["10.0.1.20"]);
    assert_eq!(h1010.bk_host_name, "gs2-gate-01");
    assert_eq!(h1010.os_name, "linux centos");
    let h1009 = all.hosts.iter().find(|h| h.bk_host_id == 1009).unwrap();
    assert_eq!(h1009.agent_status(), pb::AgentStatus::Offline);
    assert_eq!(h1001_status(&all), pb::AgentStatus::Online);

    let by_set = ids(&mut alice, hosts_req(|r| r.bk_set_ids = vec![303])).await;
    assert_eq!(by_set, [1007, 1008]);
    let by_module = ids(
        &mut alice,
        hosts_req(|r| r.bk_module_ids = vec![3001, 3004]),
    )
    .await;
    assert_eq!(by_module, [1001, 1002, 1006, 1009]);
    let by_ip = ids(
        &mut alice,
        hosts_req(|r| r.inner_ips = vec!["10.0.1.13".into()]),
    )
    .await;
    assert_eq!(by_ip, [1003]);
    let by_name = ids(
        &mut alice,
        hosts_req(|r| r.host_name_contains = "GATE".into()),
    )
    .await;
    assert_eq!(by_name, [1003, 1010]);
    let both = ids(
        &mut alice,
        hosts_req(|r| {
            r.bk_set_ids = vec![301];
            r.host_name_contains = "game".into();
        }),
    )
    .await;
    assert_eq!(both, [1001, 1002, 1009]);
    stack.stop().await;
}

fn h1001_status(all: &pb::ListHostsResponse) -> pb::AgentStatus {
    all.hosts[0].agent_status()
}

#[sqlx::test(migrations = false)]
async fn hosts_page_with_tokens_bound_to_their_filters_and_offline_only_pages_the_offline_ones(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    let mut alice = client(&stack.backup, "alice").await;
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let req = hosts_req(|r| {
            r.page_size = 4;
            r.page_token = token.clone();
        });
        let resp = alice.list_hosts(req).await.unwrap().into_inner();
        assert_eq!(resp.total_size, 10);
        seen.extend(resp.hosts.iter().map(|h| h.bk_host_id));
        pages += 1;
        if resp.next_page_token.is_empty() {
            break;
        }
        token = resp.next_page_token;
    }
    assert_eq!((pages, seen), (3, (1001..=1010).collect::<Vec<_>>()));

    let first = alice
        .list_hosts(hosts_req(|r| r.page_size = 4))
        .await
        .unwrap()
        .into_inner();
    let mismatched = hosts_req(|r| {
        r.page_size = 4;
        r.bk_set_ids = vec![301];
        r.page_token = first.next_page_token.clone();
    });
    let refused = alice.list_hosts(mismatched).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);

    // Take host 1001's agent down too: two offline hosts, paged one at a time.
    stack.sim.state.set_agent(1001, false);
    let offline = hosts_req(|r| {
        r.offline_only = true;
        r.page_size = 1;
    });
    let one = alice
        .list_hosts(offline.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(one.total_size, 2);
    assert_eq!(one.hosts[0].bk_host_id, 1001);
    assert_ne!(one.hosts[0].agent_status(), pb::AgentStatus::Online);
    let two = alice
        .list_hosts(pb::ListHostsRequest {
            page_token: one.next_page_token.clone(),
            ..offline.clone()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(two.hosts[0].bk_host_id, 1009);
    assert!(two.next_page_token.is_empty());
    let online_token = pb::ListHostsRequest {
        offline_only: false,
        page_token: one.next_page_token,
        ..offline
    };
    let refused = alice.list_hosts(online_token).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn a_business_the_caller_may_not_see_is_permission_denied_with_the_apply_details(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    let mut bob = client(&stack.backup, "bob").await;
    let denied = bob.list_hosts(hosts_req(|_| {})).await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    let info = denied.get_details_error_info().expect("ErrorInfo");
    assert_eq!(info.reason, "BK_PERMISSION_DENIED");
    let topo = bob
        .get_topology(pb::GetTopologyRequest {
            bk_biz_id: 3,
            include_idle_pool: false,
        })
        .await
        .unwrap_err();
    assert_eq!(topo.code(), Code::PermissionDenied, "{topo:?}");
    let mut admin = client(&stack.backup, "admin").await;
    let missing = admin
        .list_hosts(hosts_req(|r| r.bk_biz_id = 999))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound, "{missing:?}");
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn bad_host_filters_are_invalid_argument_naming_the_field(_p: Pool, db: PgConnectOptions) {
    let stack = Stack::start(&db, Door::Esb).await;
    let mut alice = client(&stack.backup, "alice").await;
    let cases = [
        (hosts_req(|r| r.bk_biz_id = -3), "bk_biz_id"),
        (
            hosts_req(|r| r.inner_ips = vec!["10.0.1".into()]),
            "inner_ips[0]",
        ),
        (hosts_req(|r| r.bk_module_ids = vec![0]), "bk_module_ids[0]"),
        (hosts_req(|r| r.bk_set_ids = vec![1; 201]), "bk_set_ids"),
        (hosts_req(|r| r.page_size = -1), "page_size"),
        (hosts_req(|r| r.page_token = "garbage".into()), "page_token"),
        (
            hosts_req(|r| r.host_name_contains = "a\u{7}".into()),
            "host_name_contains",
        ),
    ];
    for (req, want) in cases {
        let err = alice.list_hosts(req).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{want}: {err:?}");
        let v = &err.get_details_bad_request().unwrap().field_violations[0];
        assert_eq!(v.field, want);
    }
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn when_cmdb_cannot_answer_the_call_fails_with_its_code(_p: Pool, db: PgConnectOptions) {
    let stack = Stack::start(&db, Door::Esb).await;
    let fault = serde_json::json!({"error_rate": 1.0, "error": {"kind": "http", "status": 503}});
    reqwest::Client::new()
        .put(format!(
            "{}/_sim/faults/apis/search_business",
            stack.sim.base_url()
        ))
        .json(&fault)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let mut alice = client(&stack.backup, "alice").await;
    let err = alice
        .list_businesses(pb::ListBusinessesRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    stack.stop().await;
}

/// Sends a person's BlueKing login token and nothing else.
#[derive(Clone)]
struct LoggedIn(&'static str);

impl tonic::service::Interceptor for LoggedIn {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        req.metadata_mut()
            .insert("x-bk-token", self.0.parse().expect("ascii"));
        Ok(req)
    }
}

#[sqlx::test(migrations = false)]
async fn a_person_browses_with_their_login_token_and_sees_what_blueking_shows_them(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    let mut bob =
        HostServiceClient::with_interceptor(stack.backup.channel().await, LoggedIn("tkn-bob"));
    let listed = bob
        .list_businesses(pb::ListBusinessesRequest::default())
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<i64> = listed.businesses.iter().map(|b| b.bk_biz_id).collect();
    assert_eq!(ids, [5]);
    let hosts = bob
        .list_hosts(hosts_req(|r| r.bk_biz_id = 5))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(hosts.total_size, 2);
    let denied = bob.list_hosts(hosts_req(|_| {})).await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    let mut stranger =
        HostServiceClient::with_interceptor(stack.backup.channel().await, LoggedIn("tkn-nobody"));
    let refused = stranger
        .list_businesses(pb::ListBusinessesRequest::default())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    stack.stop().await;
}
