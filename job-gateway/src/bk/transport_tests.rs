//! Request building per front door: URL, method, headers, body or query; and JOB inputs.

use std::collections::BTreeMap;

use secrecy::SecretString;
use serde_json::{Value, json};

use super::*;
use crate::bk::{
    AccountRef, Credential, ExecuteJobPlan, FastExecuteScript, GlobalVarValue, HostIp, Operator,
    Scope, ScriptSource, TargetServer, VarContent, VarSelector,
};

fn endpoints(transport: Transport) -> Endpoints {
    let bk = BkSettings {
        transport,
        esb_url: "http://esb.test/".to_owned(),
        apigw_url: "http://gw.test".to_owned(),
        app_code: "ops-portal".to_owned(),
        app_secret: Some(SecretString::from("s3cr3t".to_owned())),
        ..BkSettings::default()
    };
    Endpoints::from_settings(&bk).unwrap()
}

fn build(transport: Transport, call: &ApiCall) -> reqwest::Request {
    endpoints(transport)
        .build(&reqwest::Client::new(), call, &"alice".into())
        .unwrap()
}

fn body(req: &reqwest::Request) -> Value {
    serde_json::from_slice(req.body().and_then(|b| b.as_bytes()).unwrap()).unwrap()
}

fn query(req: &reqwest::Request) -> BTreeMap<String, String> {
    req.url().query_pairs().into_owned().collect()
}

fn params(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn job_status_call() -> ApiCall {
    ApiCall::new(
        System::Job,
        "get_job_instance_status",
        Effect::Read,
        "/api/v3/get_job_instance_status".to_owned(),
        params(json!({"bk_scope_type": "biz", "bk_scope_id": "12", "job_instance_id": 88120, "return_ip_result": true})),
    )
    .gateway_get()
}

#[test]
fn esb_posts_json_with_the_credentials_in_the_body() {
    let req = build(Transport::Esb, &job_status_call());
    assert_eq!(req.method(), Method::POST);
    assert_eq!(
        req.url().as_str(),
        "http://esb.test/api/c/compapi/v2/jobv3/get_job_instance_status/"
    );
    assert_eq!(req.headers()["blueking-language"], "en");
    assert_eq!(req.headers()["content-type"], "application/json");
    assert!(req.headers().get("x-bkapi-authorization").is_none());
    assert_eq!(
        body(&req),
        json!({"bk_app_code": "ops-portal", "bk_app_secret": "s3cr3t", "bk_username": "alice",
               "bk_scope_type": "biz", "bk_scope_id": "12", "job_instance_id": 88120, "return_ip_result": true})
    );
}

#[test]
fn the_gateway_gets_job_reads_with_query_parameters_and_the_auth_header() {
    let req = build(Transport::Apigw, &job_status_call());
    assert_eq!(req.method(), Method::GET);
    assert_eq!(
        req.url().path(),
        "/api/bk-job/prod/api/v3/get_job_instance_status"
    );
    let expected: BTreeMap<String, String> = [
        ("bk_scope_type", "biz"),
        ("bk_scope_id", "12"),
        ("job_instance_id", "88120"),
        ("return_ip_result", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(query(&req), expected);
    assert!(req.body().is_none());
    assert_eq!(req.headers()["content-type"], "application/json");
    assert_eq!(req.headers()["blueking-language"], "en");
    let auth = &req.headers()["x-bkapi-authorization"];
    assert!(auth.is_sensitive());
    let auth: Value = serde_json::from_slice(auth.as_bytes()).unwrap();
    assert_eq!(
        auth,
        json!({"bk_app_code": "ops-portal", "bk_app_secret": "s3cr3t", "bk_username": "alice"})
    );
    assert!(!format!("{req:?}").contains("s3cr3t"));
}

#[test]
fn cmdb_on_the_gateway_puts_ids_in_the_path_only_and_on_esb_in_the_body() {
    let call = ApiCall::new(
        System::Cmdb,
        "list_biz_hosts",
        Effect::Read,
        "/api/v3/hosts/app/12/list_hosts".to_owned(),
        params(
            json!({"bk_biz_id": 12, "fields": ["bk_host_id"], "page": {"start": 0, "limit": 500}}),
        ),
    )
    .path_params(&["bk_biz_id"]);
    let gw = build(Transport::Apigw, &call);
    assert_eq!(gw.method(), Method::POST);
    assert_eq!(
        gw.url().as_str(),
        "http://gw.test/api/bk-cmdb/prod/api/v3/hosts/app/12/list_hosts"
    );
    assert_eq!(
        body(&gw),
        json!({"fields": ["bk_host_id"], "page": {"start": 0, "limit": 500}})
    );

    let esb = build(Transport::Esb, &call);
    assert_eq!(
        esb.url().as_str(),
        "http://esb.test/api/c/compapi/v2/cc/list_biz_hosts/"
    );
    assert_eq!(body(&esb)["bk_biz_id"], json!(12));
}

#[test]
fn a_gateway_get_with_only_path_ids_has_no_query_and_extra_query_is_appended() {
    let base_info = ApiCall::new(
        System::Cmdb,
        "get_host_base_info",
        Effect::Read,
        "/api/v3/hosts/0/2041".to_owned(),
        params(json!({"bk_host_id": 2041})),
    )
    .path_params(&["bk_host_id"])
    .gateway_get();
    let req = build(Transport::Apigw, &base_info);
    assert_eq!(
        req.url().as_str(),
        "http://gw.test/api/bk-cmdb/prod/api/v3/hosts/0/2041"
    );

    let mut topo = ApiCall::new(
        System::Cmdb,
        "search_biz_inst_topo",
        Effect::Read,
        "/api/v3/find/topoinst/biz/12".to_owned(),
        params(json!({"bk_biz_id": 12, "with_default": "1"})),
    )
    .path_params(&["bk_biz_id", "with_default"]);
    topo.gateway_query.push(("with_default", "1".to_owned()));
    let req = build(Transport::Apigw, &topo);
    assert_eq!(
        req.url().as_str(),
        "http://gw.test/api/bk-cmdb/prod/api/v3/find/topoinst/biz/12?with_default=1"
    );
    assert_eq!(body(&req), json!({}));
}

#[test]
fn gse_v1_always_uses_esb_and_gse_v2_always_the_gateway() {
    let v1 = ApiCall::new(
        System::GseV1,
        "get_agent_status",
        Effect::Read,
        String::new(),
        Map::new(),
    );
    let req = build(Transport::Apigw, &v1);
    assert_eq!(
        req.url().as_str(),
        "http://esb.test/api/c/compapi/v2/gse/get_agent_status/"
    );
    assert_eq!(body(&req)["bk_username"], "alice");

    let v2 = ApiCall::new(
        System::GseV2,
        "list_agent_state",
        Effect::Read,
        "/api/v2/cluster/list_agent_state".to_owned(),
        params(json!({"agent_id_list": ["0:172.20.4.11"]})),
    );
    let req = build(Transport::Esb, &v2);
    assert_eq!(
        req.url().as_str(),
        "http://gw.test/api/bk-gse/prod/api/v2/cluster/list_agent_state"
    );
    assert_eq!(body(&req), json!({"agent_id_list": ["0:172.20.4.11"]}));
    assert!(req.headers().contains_key("x-bkapi-authorization"));
}

fn proven(credential: Credential) -> Operator {
    Operator::proven("alice", credential)
}

#[test]
fn a_users_bk_token_replaces_bk_username_on_both_front_doors_and_an_access_token_the_app_too() {
    let secret = |s: &str| SecretString::from(s.to_owned());
    let call = job_status_call();
    let esb = endpoints(Transport::Esb)
        .build(
            &reqwest::Client::new(),
            &call,
            &proven(Credential::BkToken(secret("tkn-alice"))),
        )
        .unwrap();
    let b = body(&esb);
    assert_eq!(b["bk_token"], "tkn-alice");
    assert_eq!(b["bk_app_code"], "ops-portal");
    assert!(b.get("bk_username").is_none(), "{b}");
    let header = |op| {
        let req = endpoints(Transport::Apigw)
            .build(&reqwest::Client::new(), &call, &op)
            .unwrap();
        let auth = &req.headers()["x-bkapi-authorization"];
        assert!(auth.is_sensitive());
        serde_json::from_slice::<Value>(auth.as_bytes()).unwrap()
    };
    assert_eq!(
        header(proven(Credential::BkToken(secret("tkn-alice")))),
        json!({"bk_app_code": "ops-portal", "bk_app_secret": "s3cr3t", "bk_token": "tkn-alice"})
    );
    assert_eq!(
        header(proven(Credential::AccessToken(secret("at-9")))),
        json!({"access_token": "at-9"})
    );
}

fn script() -> FastExecuteScript {
    FastExecuteScript {
        scope: Scope::biz(12),
        script: ScriptSource::Content {
            content: "ls -l \"$1\"".to_owned(),
            language: 1,
        },
        script_param: Some("/var/log".to_owned()),
        is_param_sensitive: false,
        timeout_secs: Some(600),
        account: AccountRef::Alias("root".to_owned()),
        target: TargetServer {
            host_ids: vec![2041, 2042],
            ips: vec![HostIp {
                bk_cloud_id: 0,
                ip: "172.20.4.11".to_owned(),
            }],
            ..TargetServer::default()
        },
        task_name: Some("backup-1f3c".to_owned()),
        windows_interpreter: None,
        callback_url: None,
    }
}

#[test]
fn fast_execute_script_base64s_content_and_param_and_targets_host_ids_only() {
    let m = Value::Object(script().params().unwrap());
    assert_eq!(
        m,
        json!({"bk_scope_type": "biz", "bk_scope_id": "12", "script_content": "bHMgLWwgIiQxIg==",
               "script_language": 1, "script_param": "L3Zhci9sb2c=", "is_param_sensitive": 0,
               "timeout": 600, "account_alias": "root", "target_server": {"host_id_list": [2041, 2042]},
               "task_name": "backup-1f3c"})
    );
    let mut by_ip = script();
    by_ip.target.host_ids.clear();
    let m = by_ip.params().unwrap();
    assert_eq!(
        m["target_server"],
        json!({"ip_list": [{"bk_cloud_id": 0, "ip": "172.20.4.11"}]})
    );
}

#[test]
fn fast_execute_script_limits_are_checked_before_sending() {
    type Mutation = Box<dyn Fn(&mut FastExecuteScript)>;
    let cases: Vec<(Mutation, &str)> = vec![
        (Box::new(|s| s.timeout_secs = Some(86_401)), "timeout"),
        (Box::new(|s| s.timeout_secs = Some(0)), "timeout"),
        (Box::new(|s| s.target = TargetServer::default()), "target"),
        (
            Box::new(|s| s.task_name = Some("x".repeat(513))),
            "task_name",
        ),
        (
            Box::new(|s| s.script_param = Some("p".repeat(65_536))),
            "script_param",
        ),
        (
            Box::new(|s| s.windows_interpreter = Some("python".to_owned())),
            "windows_interpreter",
        ),
        (
            Box::new(|s| s.script = ScriptSource::VersionId(0)),
            "script_version_id",
        ),
    ];
    for (mutate, field) in cases {
        let mut s = script();
        mutate(&mut s);
        match s.params() {
            Err(BkError::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
}

#[test]
fn execute_job_plan_sends_host_list_and_value_variables() {
    let plan = ExecuteJobPlan {
        scope: Scope::biz(12),
        job_plan_id: 3150,
        global_vars: vec![
            GlobalVarValue {
                selector: VarSelector::Id(9071),
                content: VarContent::Hosts(TargetServer {
                    host_ids: vec![2045],
                    topo_nodes: vec![("module".to_owned(), 3308)],
                    dynamic_groups: vec!["cq2k".to_owned()],
                    ..TargetServer::default()
                }),
            },
            GlobalVarValue {
                selector: VarSelector::Name("release_tag".to_owned()),
                content: VarContent::Value("v2.8.1".to_owned()),
            },
        ],
        callback_url: None,
    };
    assert_eq!(
        Value::Object(plan.params().unwrap()),
        json!({"bk_scope_type": "biz", "bk_scope_id": "12", "job_plan_id": 3150, "global_var_list": [
            {"id": 9071, "server": {"host_id_list": [2045], "topo_node_list": [{"id": 3308, "node_type": "module"}],
                                    "dynamic_group_list": [{"id": "cq2k"}]}},
            {"name": "release_tag", "value": "v2.8.1"}]})
    );
}
