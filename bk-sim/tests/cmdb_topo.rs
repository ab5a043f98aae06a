//! CMDB search_set, search_module, list_hosts_without_biz and find_host_topo_relation.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn search_set_lists_the_business_sets_with_default_and_rejects_condition_with_filter() {
    let s = spawn().await;
    let r = s
        .cmdb_post(
            "/api/v3/set/search/0/3",
            "admin",
            json!({"fields": ["bk_set_name"], "bk_biz_id": 5}),
        )
        .await;
    assert_eq!(
        r.body["data"],
        json!({"count": 3, "info": [
        {"bk_set_name": "zone-1", "default": 0}, {"bk_set_name": "zone-2", "default": 0}, {"bk_set_name": "idle pool", "default": 1}]})
    );
    let by_cond = s.esb("cc", "search_set", "admin", json!({"bk_biz_id": 3, "fields": ["bk_set_id"], "condition": {"bk_set_name": "zone-2"}})).await;
    assert_eq!(
        by_cond.body["data"],
        json!({"count": 1, "info": [{"bk_set_id": 32, "default": 0}]})
    );
    let filter = json!({"condition": "AND", "rules": [{"field": "bk_set_name", "operator": "equal", "value": "zone-1"}]});
    let both = s
        .cmdb_post(
            "/api/v3/set/search/0/3",
            "admin",
            json!({"condition": {}, "filter": filter}),
        )
        .await;
    assert_eq!(
        (both.code(), both.body["message"].as_str()),
        (
            1_199_011,
            Some("condition and filter cannot be set at the same time")
        )
    );
    let not_int = s
        .cmdb_post("/api/v3/set/search/0/abc", "admin", json!({}))
        .await;
    assert_eq!(not_int.code(), 1_199_009);
}

#[tokio::test]
async fn search_module_narrows_to_a_set_when_the_path_names_one() {
    let s = spawn().await;
    let all = s
        .cmdb_post(
            "/api/v3/module/search/0/3/0",
            "admin",
            json!({"fields": ["bk_module_id"], "condition": {"bk_module_name": "gamesvr"}}),
        )
        .await;
    assert_eq!(
        all.body["data"],
        json!({"count": 2, "info": [{"bk_module_id": 311, "default": 0}, {"bk_module_id": 321, "default": 0}]})
    );
    let one = s
        .cmdb_post(
            "/api/v3/module/search/0/3/32",
            "admin",
            json!({"fields": ["bk_module_id"], "bk_set_id": 31}),
        )
        .await;
    assert_eq!(
        one.body["data"],
        json!({"count": 1, "info": [{"bk_module_id": 321, "default": 0}]})
    );
}

#[tokio::test]
async fn list_hosts_without_biz_spans_every_business() {
    let s = spawn().await;
    let filter = json!({"condition": "OR", "rules": [{"field": "bk_host_innerip", "operator": "begins_with", "value": "10.5."},
        {"field": "bk_host_id", "operator": "equal", "value": 101}]});
    let r = s.cmdb_post("/api/v3/hosts/list_hosts_without_app", "admin",
        json!({"page": {"start": 0, "limit": 10}, "fields": ["bk_host_id"], "bk_biz_id": 3, "host_property_filter": filter})).await;
    assert_eq!(
        r.body["data"],
        json!({"count": 2, "info": [{"bk_host_id": 101}, {"bk_host_id": 201}]})
    );
    let big = s
        .esb(
            "cc",
            "list_hosts_without_biz",
            "admin",
            json!({"page": {"limit": 1001}}),
        )
        .await;
    assert_eq!(big.code(), 1_199_006);
}

#[tokio::test]
async fn find_host_topo_relation_returns_one_row_per_host_module_pair() {
    let s = spawn().await;
    let r = s
        .cmdb_post(
            "/api/v3/host/topo/relation/read",
            "admin",
            json!({"bk_biz_id": 3, "bk_host_ids": [102], "page": {"start": 0, "limit": 10}}),
        )
        .await;
    assert_eq!(
        r.body["data"],
        json!({"count": 2, "data": [
        {"bk_biz_id": 3, "bk_host_id": 102, "bk_module_id": 311, "bk_set_id": 31, "bk_supplier_account": "0"},
        {"bk_biz_id": 3, "bk_host_id": 102, "bk_module_id": 312, "bk_set_id": 31, "bk_supplier_account": "0"}],
        "page": {"start": 0, "limit": 10}})
    );
    let empty = s
        .cmdb_post(
            "/api/v3/host/topo/relation/read",
            "admin",
            json!({"page": {"limit": 10}}),
        )
        .await;
    assert_eq!(
        (empty.code(), empty.body["message"].as_str()),
        (1_199_005, Some("The input is empty"))
    );
    let no_limit = s
        .cmdb_post(
            "/api/v3/host/topo/relation/read",
            "admin",
            json!({"bk_biz_id": 3, "page": {"start": 0}}),
        )
        .await;
    assert_eq!(no_limit.code(), 1_199_059);
}
