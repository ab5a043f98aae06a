//! CMDB queries: business search rules, host lists with each API's paging codes, topology, host info.

mod common;

use common::*;
use serde_json::{Value, json};

fn ids(v: &Value, key: &str) -> Vec<i64> {
    v.as_array()
        .map(|a| a.iter().filter_map(|x| x[key].as_i64()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn search_business_hides_archived_businesses_unless_asked_and_filters_by_iam() {
    let s = spawn().await;
    let all = s
        .cmdb_post(
            "/api/v3/biz/search/0",
            "admin",
            json!({"fields": ["bk_biz_id"]}),
        )
        .await;
    assert_eq!(
        all.body["data"],
        json!({"count": 2, "info": [{"bk_biz_id": 3, "default": 0}, {"bk_biz_id": 5, "default": 0}]})
    );
    let archived = s
        .cmdb_post(
            "/api/v3/biz/search/0",
            "admin",
            json!({"fields": ["bk_biz_id"], "condition": {"bk_data_status": "disabled"}}),
        )
        .await;
    assert_eq!(ids(&archived.body["data"]["info"], "bk_biz_id"), vec![4]);
    let alice = s.esb("cc", "search_business", "alice", json!({})).await;
    assert_eq!(ids(&alice.body["data"]["info"], "bk_biz_id"), vec![3]);
    let by_name = s
        .cmdb_post(
            "/api/v3/biz/search/0",
            "admin",
            json!({"condition": {"bk_biz_name": "GAM"}}),
        )
        .await;
    assert_eq!(ids(&by_name.body["data"]["info"], "bk_biz_id"), vec![3]);
    let both = s
        .cmdb_post(
            "/api/v3/biz/search/0",
            "admin",
            json!({"condition": {}, "biz_property_filter": {"condition": "AND", "rules": []}}),
        )
        .await;
    assert_eq!(both.code(), 1_199_006);
}

#[tokio::test]
async fn search_business_evaluates_mongo_operators_and_never_returns_the_resource_pool() {
    let s = spawn_with(|settings| {
        let text =
            format!("{WORLD}\n[[business]]\nid = 1\nname = \"resource pool\"\ndefault = 1\n");
        let file = toml::from_str(&text).expect("world with a resource pool parses");
        let world =
            bk_sim::World::from_file(file, None).expect("world with a resource pool is valid");
        settings.world = std::sync::Arc::new(world);
    })
    .await;
    let search = |condition: Value| {
        s.cmdb_post(
            "/api/v3/biz/search/0",
            "admin",
            json!({"fields": ["bk_biz_id"], "condition": condition}),
        )
    };
    let cases = [
        (json!({}), vec![3, 5]),
        (
            json!({"bk_data_status": {"$in": ["enable", "disabled"]}}),
            vec![3, 4, 5],
        ),
        (json!({"bk_data_status": {"$nin": ["enable"]}}), vec![4]),
        (
            json!({"bk_data_status": {"$ne": "disabled"}, "default": 1}),
            vec![],
        ),
        (json!({"bk_biz_name": {"$eq": "game"}}), vec![3]),
        (
            json!({"bk_biz_name": {"$regex": "^PAY", "$options": "i"}}),
            vec![5],
        ),
        (json!({"bk_biz_name": {"$regex": "^PAY"}}), vec![]),
        (json!({"bk_biz_name": "resource"}), vec![]),
        (
            json!({"bk_biz_id": {"$in": [1, 4, 5]}, "bk_data_status": {"$eq": "disabled"}}),
            vec![4],
        ),
    ];
    for (condition, want) in cases {
        let r = search(condition.clone()).await;
        assert_eq!(
            (
                r.code(),
                ids(&r.body["data"]["info"], "bk_biz_id"),
                r.body["data"]["count"].as_u64()
            ),
            (0, want.clone(), Some(want.len() as u64)),
            "{condition}"
        );
    }
    let forbidden = search(json!({"$where": "true"})).await;
    assert_eq!(forbidden.code(), 1_199_006);
    let unknown = search(json!({"bk_biz_name": {"$size": 1}})).await;
    assert_eq!(unknown.code(), 1_199_017);
    let esb = s
        .esb(
            "cc",
            "search_business",
            "admin",
            json!({"condition": {"bk_data_status": {"$in": ["disabled"]}}}),
        )
        .await;
    assert_eq!(ids(&esb.body["data"]["info"], "bk_biz_id"), vec![4]);
}

#[tokio::test]
async fn list_biz_hosts_pages_filters_and_projects() {
    let s = spawn().await;
    let body = json!({"page": {"start": 1, "limit": 2}, "fields": ["bk_host_id", "bk_host_innerip"], "bk_biz_id": 5});
    let r = s
        .cmdb_post("/api/v3/hosts/app/3/list_hosts", "admin", body)
        .await;
    assert_eq!(
        r.body["data"],
        json!({"count": 4, "info": [{"bk_host_id": 102, "bk_host_innerip": "10.0.0.2"}, {"bk_host_id": 103, "bk_host_innerip": "10.0.0.3"}]})
    );
    let by_set = s
        .cmdb_post(
            "/api/v3/hosts/app/3/list_hosts",
            "admin",
            json!({"page": {"limit": 10}, "fields": ["bk_host_id"], "bk_set_ids": [32]}),
        )
        .await;
    assert_eq!(
        ids(&by_set.body["data"]["info"], "bk_host_id"),
        vec![103, 104]
    );
    let filter = json!({"condition": "AND", "rules": [{"field": "bk_host_innerip", "operator": "in", "value": ["10.0.0.1", "10.0.0.4"]}]});
    let filtered = s.cmdb_post("/api/v3/hosts/app/3/list_hosts", "admin", json!({"page": {"limit": 10}, "fields": ["bk_host_id"], "host_property_filter": filter})).await;
    assert_eq!(
        ids(&filtered.body["data"]["info"], "bk_host_id"),
        vec![101, 104]
    );
    let too_big = s
        .cmdb_post(
            "/api/v3/hosts/app/3/list_hosts",
            "admin",
            json!({"page": {"limit": 1001}, "fields": []}),
        )
        .await;
    assert_eq!(
        (too_big.code(), too_big.body["message"].as_str()),
        (
            1_199_006,
            Some("'page.limit' data parameter verification does not pass")
        )
    );
    let max = s
        .cmdb_post(
            "/api/v3/hosts/app/3/list_hosts",
            "admin",
            json!({"page": {"limit": 1000}, "fields": []}),
        )
        .await;
    assert_eq!(max.body["data"]["count"], 4);
}

#[tokio::test]
async fn list_biz_hosts_topo_enforces_its_own_limits_and_returns_the_topology() {
    let s = spawn().await;
    let zero = s
        .cmdb_post(
            "/api/v3/hosts/app/3/list_hosts_topo",
            "admin",
            json!({"page": {"limit": 0}, "fields": []}),
        )
        .await;
    assert_eq!(
        (zero.code(), zero.body["message"].as_str()),
        (1_199_010, Some("'page.limit' unassigned"))
    );
    let big = s
        .cmdb_post(
            "/api/v3/hosts/app/3/list_hosts_topo",
            "admin",
            json!({"page": {"limit": 501}, "fields": []}),
        )
        .await;
    assert_eq!(
        (big.code(), big.body["message"].as_str()),
        (1_199_035, Some("page.limit exceed the limit 500"))
    );
    let r = s
        .cmdb_post(
            "/api/v3/hosts/app/3/list_hosts_topo",
            "admin",
            json!({"page": {"start": 1, "limit": 1}, "fields": ["bk_host_name"]}),
        )
        .await;
    assert_eq!(
        r.body["data"],
        json!({"count": 4, "info": [{"host": {"bk_host_id": 102, "bk_host_name": "game-02"},
        "topo": [{"bk_set_id": 31, "bk_set_name": "zone-1", "module": [{"bk_module_id": 311, "bk_module_name": "gamesvr"}, {"bk_module_id": 312, "bk_module_name": "gateway"}]}]}]})
    );
}

#[tokio::test]
async fn find_host_by_topo_returns_null_info_past_the_end() {
    let s = spawn().await;
    let body = |start: i64| json!({"bk_obj_id": "set", "bk_inst_id": 31, "fields": ["bk_host_id"], "page": {"start": start, "limit": 10}});
    let r = s
        .cmdb_post("/api/v3/findmany/hosts/by_topo/biz/3", "admin", body(0))
        .await;
    assert_eq!(
        r.body["data"],
        json!({"count": 2, "info": [{"bk_host_id": 101}, {"bk_host_id": 102}]})
    );
    let past = s
        .cmdb_post("/api/v3/findmany/hosts/by_topo/biz/3", "admin", body(2))
        .await;
    assert_eq!(past.body["data"], json!({"count": 2, "info": null}));
    let no_fields = s
        .cmdb_post(
            "/api/v3/findmany/hosts/by_topo/biz/3",
            "admin",
            json!({"bk_obj_id": "set", "bk_inst_id": 31, "page": {"limit": 1}}),
        )
        .await;
    assert_eq!(no_fields.code(), 1_199_010);
    let biz = s
        .cmdb_post(
            "/api/v3/findmany/hosts/by_topo/biz/3",
            "admin",
            json!({"bk_obj_id": "biz", "bk_inst_id": 3, "fields": ["x"], "page": {"limit": 1}}),
        )
        .await;
    assert_eq!(biz.code(), 1_199_006);
}

#[tokio::test]
async fn the_topology_includes_the_idle_set_only_with_with_default() {
    let s = spawn().await;
    let r = s
        .cmdb_post("/api/v3/find/topoinst/biz/3", "admin", json!({"level": 1}))
        .await;
    let tree = &r.body["data"][0];
    assert_eq!(
        (tree["bk_obj_id"].as_str(), tree["default"].as_i64()),
        (Some("biz"), Some(0))
    );
    assert_eq!(ids(&tree["child"], "bk_inst_id"), vec![31, 32]);
    assert_eq!(
        tree["child"][0]["child"][0],
        json!({"bk_inst_id": 311, "bk_inst_name": "gamesvr", "bk_obj_id": "module", "bk_obj_name": "module", "default": 0, "child": []})
    );
    let sorted = s
        .cmdb_post(
            "/api/v3/find/topoinst/biz/3?need_sort=true",
            "admin",
            json!({}),
        )
        .await;
    let zone1 = &sorted.body["data"][0]["child"][0]["child"];
    assert_eq!(ids(zone1, "bk_inst_id"), vec![311, 312]);
    let with = s
        .cmdb_post(
            "/api/v3/find/topoinst/biz/3?with_default=1",
            "admin",
            json!({}),
        )
        .await;
    let sets = &with.body["data"][0]["child"];
    assert_eq!(sets.as_array().map(Vec::len), Some(3));
    assert_eq!(sets[2]["default"], 1);
}

#[tokio::test]
async fn esb_drops_the_cmdb_fields_its_components_do_not_forward() {
    let s = spawn().await;
    let topo = s
        .esb(
            "cc",
            "search_biz_inst_topo",
            "admin",
            json!({"bk_biz_id": 3, "with_default": "1"}),
        )
        .await;
    assert_eq!(
        ids(&topo.body["data"][0]["child"], "bk_inst_id"),
        vec![31, 32]
    );
    let filter = json!({"condition": "AND", "rules": [{"field": "bk_set_name", "operator": "equal", "value": "zone-1"}]});
    let sets = s
        .esb(
            "cc",
            "search_set",
            "admin",
            json!({"bk_biz_id": 3, "fields": ["bk_set_id"], "filter": filter}),
        )
        .await;
    assert_eq!(sets.body["data"]["count"], 3);
}

#[tokio::test]
async fn get_host_base_info_lists_raw_typed_attributes() {
    let s = spawn().await;
    let body = s.cmdb_get("/api/v3/hosts/0/101", "admin").await.body;
    let attrs = body["data"].as_array().cloned().unwrap_or_default();
    let id = attrs
        .iter()
        .find(|a| a["bk_property_id"] == "bk_host_id")
        .cloned();
    assert_eq!(
        id,
        Some(
            json!({"bk_property_id": "bk_host_id", "bk_property_name": "host ID", "bk_property_value": 101})
        )
    );
    let unknown = s
        .esb(
            "cc",
            "get_host_base_info",
            "admin",
            json!({"bk_host_id": 999}),
        )
        .await;
    assert_eq!(
        (unknown.code(), unknown.body["message"].as_str()),
        (1_110_008, Some("The host could not be found"))
    );
}

#[tokio::test]
async fn esb_takes_path_ids_from_the_body_and_requires_them() {
    let s = spawn().await;
    let missing = s
        .esb(
            "cc",
            "list_biz_hosts",
            "admin",
            json!({"page": {"limit": 10}, "fields": []}),
        )
        .await;
    assert_eq!(
        (missing.code(), missing.body["message"].as_str()),
        (1_306_406, Some("param bk_biz_id is required"))
    );
    let bad = s
        .esb(
            "cc",
            "list_biz_hosts",
            "admin",
            json!({"bk_biz_id": 5, "page": [], "fields": []}),
        )
        .await;
    assert_eq!((bad.status, bad.code()), (200, 1_306_000));
    assert_eq!(
        bad.body["message"],
        "Parameters error [page]: must be an object"
    );
    let ok = s
        .esb(
            "cc",
            "list_biz_hosts",
            "admin",
            json!({"bk_biz_id": 5, "page": {"limit": 10}, "fields": ["bk_host_id"]}),
        )
        .await;
    assert_eq!(
        ok.body["data"],
        json!({"count": 1, "info": [{"bk_host_id": 201}]})
    );
}

#[tokio::test]
async fn list_biz_hosts_resolves_set_and_module_conditions() {
    let s = spawn().await;
    let body = json!({"page": {"limit": 10}, "fields": ["bk_host_id"],
        "set_cond": [{"field": "bk_set_name", "operator": "$eq", "value": "zone-1"}],
        "module_cond": [{"field": "bk_module_name", "operator": "$eq", "value": "gateway"}]});
    let r = s
        .cmdb_post("/api/v3/hosts/app/3/list_hosts", "admin", body)
        .await;
    assert_eq!(
        r.body["data"],
        json!({"count": 1, "info": [{"bk_host_id": 102}]})
    );
    let none = s.cmdb_post("/api/v3/hosts/app/3/list_hosts", "admin",
        json!({"page": {"limit": 10}, "fields": [], "set_cond": [{"field": "bk_set_name", "operator": "$eq", "value": "nope"}]})).await;
    assert_eq!(none.body["data"], json!({"count": 0, "info": []}));
    let both = s
        .cmdb_post(
            "/api/v3/hosts/app/3/list_hosts",
            "admin",
            json!({"page": {"limit": 10}, "fields": [], "bk_set_ids": [31], "set_cond": [{"field": "bk_set_id", "operator": "$eq", "value": 31}]}),
        )
        .await;
    assert_eq!(
        (both.code(), both.body["message"].as_str()),
        (1_199_006, Some("bk_set_ids and set_cond can't both be set"))
    );
}

#[tokio::test]
async fn path_ids_that_are_not_integers_or_not_allowed_get_their_codes() {
    let s = spawn().await;
    let topo = s
        .cmdb_post("/api/v3/find/topoinst/biz/x", "admin", json!({}))
        .await;
    assert_eq!(
        (topo.code(), topo.body["message"].as_str()),
        (
            1_199_006,
            Some("'bk_biz_id' data parameter verification does not pass")
        )
    );
    let denied = s
        .cmdb_post("/api/v3/find/topoinst/biz/3", "bob", json!({}))
        .await;
    assert_eq!(
        (
            denied.code(),
            denied.body["permission"]["actions"][0]["id"].as_str()
        ),
        (9_900_403, Some("find_business_resource"))
    );
    let body = s.cmdb_get("/api/v3/hosts/0/abc", "admin").await.body;
    assert_eq!(
        (body["code"].as_i64(), body["message"].as_str()),
        (
            Some(1_199_009),
            Some("'bk_host_id' parameters must be integral")
        )
    );
    let wrong_method = s.cmdb_post("/api/v3/hosts/0/101", "admin", json!({})).await;
    assert_eq!((wrong_method.status, wrong_method.code()), (404, 1_640_401));
}
