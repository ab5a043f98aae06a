//! CMDB and GSE calls over HTTP: path ids, request ids, GSE front doors and batching.

use serde_json::json;

use super::*;

#[tokio::test]
async fn cmdb_over_the_gateway_uses_path_ids_and_reports_the_gateway_request_id() {
    let server = Server::start(|_, _| {
        let body = json!({"result": false, "code": 9900403, "message": "Do not have access permission.",
            "permission": {"system_id": "bk_cmdb", "actions": [{"id": "find_business_resource"}]}, "data": null});
        Reply::JsonWithHeader(200, body, "x-bkapi-request-id", "gw-42")
    })
    .await;
    let req = ListBizHosts {
        fields: vec!["bk_host_id".to_owned()],
        page: CmdbPage {
            start: 0,
            limit: 500,
            sort: Some("bk_host_id".to_owned()),
        },
        ..ListBizHosts::default()
    };
    let err = server
        .client(Transport::Apigw)
        .list_biz_hosts(&"alice".into(), 12, &req)
        .await
        .unwrap_err();
    let BkError::Business(b) = &err else {
        panic!("{err:?}")
    };
    assert_eq!((b.code, b.request_id.as_deref()), (9900403, Some("gw-42")));
    let seen = server.seen();
    assert_eq!(
        seen[0].uri.path(),
        "/api/bk-cmdb/prod/api/v3/hosts/app/12/list_hosts"
    );
    assert_eq!(
        seen[0].json(),
        json!({"fields": ["bk_host_id"], "page": {"start": 0, "limit": 500, "sort": "bk_host_id"}})
    );
}

#[tokio::test]
async fn gse_v2_goes_to_the_gateway_and_none_found_is_an_empty_answer() {
    let server = Server::start(|n, _| match n {
        0 => Reply::Json(200, json!({"code": 0, "message": "success", "data": [
            {"bk_agent_id": "0:172.20.4.11", "bk_cloud_id": 0, "version": "2.1.6", "run_mode": 1, "status_code": 2},
            {"bk_agent_id": "0:172.20.4.12", "bk_cloud_id": 0, "version": "2.1.6", "run_mode": 1, "status_code": -2}]})),
        _ => Reply::Json(200, json!({"code": 1011003, "message": "agent not found", "data": null})),
    })
    .await;
    let client = server.client(Transport::Esb);
    let ids = vec!["0:172.20.4.11".to_owned(), "0:172.20.4.12".to_owned()];
    let states = client
        .list_agent_state(&"alice".into(), &ids)
        .await
        .unwrap();
    let alive: Vec<bool> = states.iter().map(AgentStateV2::is_alive).collect();
    assert_eq!(alive, [true, false]);
    assert!(
        client
            .list_agent_state(&"alice".into(), &ids)
            .await
            .unwrap()
            .is_empty()
    );
    let seen = server.seen();
    assert_eq!(
        seen[0].uri.path(),
        "/api/bk-gse/prod/api/v2/cluster/list_agent_state"
    );
    assert_eq!(seen[0].json(), json!({"agent_id_list": ids}));
}

#[tokio::test]
async fn gse_v1_goes_to_esb_keyed_by_cloud_and_ip() {
    let server = Server::start(|_, _| {
        Reply::Json(
            200,
            json!({"result": true, "code": 0, "message": "", "request_id": "e-1", "data": {
            "0:172.20.4.11": {"ip": "172.20.4.11", "bk_cloud_id": 0, "bk_agent_alive": 1}}}),
        )
    })
    .await;
    let hosts = [
        HostIp {
            bk_cloud_id: 0,
            ip: "172.20.4.11".to_owned(),
        },
        HostIp {
            bk_cloud_id: 0,
            ip: "172.20.4.99".to_owned(),
        },
    ];
    let status = server
        .client(Transport::Apigw)
        .get_agent_status(&"alice".into(), &hosts)
        .await
        .unwrap();
    assert!(status[&v1_key(&hosts[0])].is_alive());
    assert!(!status.contains_key(&v1_key(&hosts[1])));
    let seen = server.seen();
    assert_eq!(
        seen[0].uri.path(),
        "/api/c/compapi/v2/gse/get_agent_status/"
    );
    let body = seen[0].json();
    assert_eq!(body["bk_supplier_account"], "0");
    assert_eq!(
        body["hosts"],
        json!([{"bk_cloud_id": 0, "ip": "172.20.4.11"}, {"bk_cloud_id": 0, "ip": "172.20.4.99"}])
    );
}

#[test]
fn the_clients_debug_output_never_shows_the_secret() {
    let client = client_for("http://127.0.0.1:1", Transport::Apigw);
    let debug = format!("{client:?}");
    assert!(!debug.contains("s3cr3t"), "{debug}");
    assert!(debug.contains("BkClient"));
}
