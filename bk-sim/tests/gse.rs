//! GSE agent status through v1 (ESB) and v2 (gateway).

mod common;

use common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn get_agent_status_keys_by_cloud_and_ip_and_omits_unknown_hosts() {
    let s = spawn().await;
    let hosts = json!([{"ip": "10.0.0.1", "bk_cloud_id": 0}, {"ip": "10.0.0.4", "bk_cloud_id": 0}, {"ip": "10.9.9.9", "bk_cloud_id": 0}]);
    let r = s
        .esb(
            "gse",
            "get_agent_status",
            "admin",
            json!({"bk_supplier_account": "0", "hosts": hosts}),
        )
        .await;
    assert_eq!(
        keys(&r.body),
        ["code", "data", "message", "request_id", "result"]
    );
    assert_eq!(
        r.body["data"],
        json!({
            "0:10.0.0.1": {"ip": "10.0.0.1", "bk_cloud_id": 0, "bk_agent_alive": 1},
            "0:10.0.0.4": {"ip": "10.0.0.4", "bk_cloud_id": 0, "bk_agent_alive": 0},
        })
    );
    let bad = s
        .esb(
            "gse",
            "get_agent_status",
            "admin",
            json!({"hosts": [{"ip": "10.0.0.1"}]}),
        )
        .await;
    assert_eq!(bad.code(), 1_306_000);
}

#[tokio::test]
async fn list_agent_state_echoes_ids_in_their_own_format() {
    let s = spawn().await;
    let url = format!("{}/api/bk-gse/prod/api/v2/cluster/list_agent_state", s.base);
    let call = |ids: Value| {
        s.http
            .post(&url)
            .header("X-Bkapi-Authorization", gw_auth("admin"))
            .json(&json!({"agent_id_list": ids}))
            .send()
    };
    let body: Value = call(json!(["agent101", "0:10.0.0.4", "0:10.9.9.9"]))
        .await
        .expect("call")
        .json()
        .await
        .expect("json");
    assert_eq!(
        body,
        json!({"code": 0, "message": "success", "data": [
            {"bk_agent_id": "agent101", "bk_cloud_id": 0, "version": "2.1.6", "run_mode": 1, "status_code": 2},
            {"bk_agent_id": "0:10.0.0.4", "bk_cloud_id": 0, "version": "2.1.6", "run_mode": 1, "status_code": -2},
        ]})
    );
    let none: Value = call(json!(["nope"]))
        .await
        .expect("call")
        .json()
        .await
        .expect("json");
    assert_eq!(none["code"], 1_011_003);
}

#[tokio::test]
async fn an_agent_switched_off_at_run_time_reports_offline_and_fails_jobs() {
    let s = spawn().await;
    assert_eq!(
        s.admin_put("/hosts/101/agent", json!({"alive": false}))
            .await,
        204
    );
    let r = s
        .esb(
            "gse",
            "get_agent_status",
            "admin",
            json!({"hosts": [{"ip": "10.0.0.1", "bk_cloud_id": 0}]}),
        )
        .await;
    assert_eq!(r.body["data"]["0:10.0.0.1"]["bk_agent_alive"], 0);
    let job = s.run_script("true", "", &[101], json!({})).await;
    assert_eq!(host_results(&s.wait_finished(job).await), vec![(101, 1, 0)]);
}
