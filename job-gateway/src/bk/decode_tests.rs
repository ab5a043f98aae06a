//! Decoding of composed success examples, shaped as BlueKing answers, into the typed `data`:
//! documented nulls, unknown statuses and the docs-vs-server spellings.

use http::{HeaderMap, StatusCode};
use serde_json::json;

use super::*;
use crate::bk::{
    AccountInfo, BatchIpLogs, Business, Host, HostProperty, HostStatus, JobInstanceStatus,
    JobInstanceSummary, JobPage, JobPlanDetail, JobStatus, Listing,
};

fn ok<T: DeserializeOwned>(body: serde_json::Value) -> Decoded<T> {
    decode(
        "api",
        Success::ResultAndCode,
        StatusCode::OK,
        &HeaderMap::new(),
        body.to_string().as_bytes(),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn job_status_example_decodes_without_message_and_keeps_the_job_request_id() {
    let d: Decoded<JobInstanceStatus> = ok(json!({
        "result": true, "code": 0,
        "data": {"finished": true,
            "job_instance": {"job_instance_id": 88120, "bk_scope_type": "biz", "bk_scope_id": "12",
                "name": "list-var-log", "create_time": 1718000000000i64, "status": 4,
                "start_time": 1718000000400i64, "end_time": 1718000002900i64, "total_time": 2500},
            "step_instance_list": [{"status": 4, "total_time": 2500, "name": "list-var-log",
                "step_instance_id": 88121, "execute_count": 0, "create_time": 1718000000000i64,
                "end_time": 1718000002900i64, "type": 1, "start_time": 1718000000400i64,
                "step_ip_result_list": [{"bk_host_id": 2042, "ip": "172.20.4.12", "bk_cloud_id": 0,
                    "status": 104, "tag": "", "exit_code": 2, "error_code": 0,
                    "start_time": 1718000000500i64, "end_time": 1718000002800i64, "total_time": 2300}]}]},
        "job_request_id": "3b9e4d1a6c7f48e29d0a1b2c3d4e5f60"
    }));
    assert_eq!(
        d.request_id.as_deref(),
        Some("3b9e4d1a6c7f48e29d0a1b2c3d4e5f60")
    );
    let data = d.data.unwrap();
    let job = data.job_instance.unwrap();
    assert_eq!(JobStatus::from_code(job.status.unwrap()), JobStatus::Failed);
    let step = &data.step_instance_list.unwrap()[0];
    assert_eq!(step.step_type, Some(1));
    let host = &step.step_ip_result_list.as_ref().unwrap()[0];
    assert_eq!(
        HostStatus::from_code(host.status.unwrap()),
        HostStatus::ScriptNonZeroExit
    );
    assert_eq!(host.exit_code, Some(2));
}

#[test]
fn documented_nulls_and_unknown_statuses_decode_and_are_kept() {
    let d: Decoded<JobInstanceStatus> = ok(json!({
        "result": true, "code": 0,
        "data": {"finished": false,
            "job_instance": {"job_instance_id": 1, "bk_biz_id": null, "name": "x", "status": 42,
                "create_time": 1, "start_time": null, "end_time": null, "total_time": null},
            "step_instance_list": [{"step_instance_id": 2, "status": 77, "type": 9,
                "start_time": null, "step_ip_result_list": null}]}
    }));
    let data = d.data.unwrap();
    let job = data.job_instance.unwrap();
    assert_eq!(job.run_status(), Some(JobStatus::Unknown(42)));
    assert!(!JobStatus::from_code(42).is_finished());
    assert_eq!(job.start_time, None);
    let step = &data.step_instance_list.unwrap()[0];
    assert_eq!(step.run_status(), Some(JobStatus::Unknown(77)));
    assert_eq!(
        (
            step.status,
            step.step_type,
            step.step_ip_result_list.clone()
        ),
        (Some(77), Some(9), None)
    );
}

#[test]
fn instance_list_accepts_the_servers_and_the_docs_keys() {
    let d: Decoded<JobPage<JobInstanceSummary>> = ok(json!({"result": true, "code": 0, "data": {
        "data": [
            {"job_instance_id": 88200, "status": 3, "type": 0, "job_plan_id": -1},
            {"id": 88201, "task_status": 4, "task_type": 1}
        ], "start": 0, "length": 50, "total": 2}}));
    let page = d.data.unwrap();
    let items = page.data.unwrap();
    assert_eq!(
        items
            .iter()
            .map(|i| (i.instance_id(), i.status_code(), i.type_code()))
            .collect::<Vec<_>>(),
        [
            (Some(88200), Some(3), Some(0)),
            (Some(88201), Some(4), Some(1))
        ]
    );
    assert_eq!(page.total, Some(2));
}

#[test]
fn plan_detail_in_the_docs_shape_decodes_with_both_spellings() {
    let d: Decoded<JobPlanDetail> = ok(json!({"result": true, "code": 0, "data": {
        "job_plan_id": 3150, "name": "deploy-web",
        "global_var_list": [{"id": 9071, "type": 3, "name": "web_hosts", "required": 0,
            "server": {"ip_list": [{"bk_host_id": 2045, "bk_cloud_id": 0, "ip": "172.20.4.15"}],
                       "topo_node_list": [{"id": 3308, "node_type": "module"}]}}],
        "step_list": [
            {"id": 40110, "type": 1, "name": "stop", "script_info": {"script_type": 1,
                "script_content": "c3lzdGVtY3RsIHN0b3AgIiQxIg==", "script_param": "YXBwLXdlYiAzMA==",
                "account": "root"}},
            {"id": 40112, "type": 2, "name": "push", "file_info": {
                "file_source": [{"file_list": ["/opt/pkg/a.tgz"], "server": {"variable": "web_hosts"},
                                 "account": {"id": 41, "name": "root"}, "file_type": 1}],
                "file_destination": {"path": "/data/", "account": {"id": 42, "name": "app"}},
                "upload_speed_limit": 500, "download_speed_limit": 400}}]}}));
    let plan = d.data.unwrap();
    assert_eq!(plan.plan_id(), Some(3150));
    let steps = plan.step_list.unwrap();
    let script = steps[0].script_info.as_ref().unwrap();
    assert_eq!(
        script.decoded_content().as_deref(),
        Some("systemctl stop \"$1\"")
    );
    assert_eq!(script.decoded_param().as_deref(), Some("app-web 30"));
    assert_eq!(script.account, Some(AccountInfo::Name("root".to_owned())));
    let file = steps[1].file_info.as_ref().unwrap();
    assert_eq!(file.sources().len(), 1);
    assert_eq!(
        (file.source_limit(), file.destination_limit()),
        (Some(500), Some(400))
    );
}

#[test]
fn batch_logs_of_a_file_step_decode_with_the_other_list_null() {
    let d: Decoded<BatchIpLogs> = ok(json!({"result": true, "code": 0, "data": {
        "log_type": 2, "job_instance_id": 88300, "step_instance_id": 88301, "script_task_logs": null,
        "file_task_logs": [{"bk_host_id": 2044, "ip": "172.20.4.14", "bk_cloud_id": 0, "file_logs": [
            {"mode": 0, "src_ip": {"bk_host_id": 2044, "bk_cloud_id": 0, "ip": "172.20.4.14"},
             "src_path": "/opt/pkg/app.tgz", "status": 4, "log_content": "ok",
             "size": "12.5 MB", "speed": "2048 KB/s", "process": "100%"}]}]}}));
    let logs = d.data.unwrap();
    assert_eq!(logs.script_task_logs, None);
    let file = &logs.file_task_logs.unwrap()[0].file_logs.clone().unwrap()[0];
    assert_eq!(
        (file.mode, file.dest_ip.clone(), file.process.as_deref()),
        (Some(0), None, Some("100%"))
    );
}

#[test]
fn cmdb_answers_decode_with_null_permission_null_info_and_raw_values() {
    let d: Decoded<Listing<Business>> = ok(json!({"result": true, "code": 0, "message": "success",
        "permission": null, "data": {"count": 1, "info": [{"bk_biz_id": 12, "bk_biz_name": "payments", "default": 0}]},
        "request_id": "c0ffee"}));
    assert_eq!(d.request_id.as_deref(), Some("c0ffee"));
    assert_eq!(d.data.unwrap().info.unwrap()[0].bk_biz_id, Some(12));

    let past_end: Decoded<Listing<Host>> =
        ok(json!({"result": true, "code": 0, "message": "success",
        "permission": null, "data": {"count": 2, "info": null}}));
    assert_eq!(past_end.data.unwrap().info, None);

    let hosts: Decoded<Listing<Host>> = ok(json!({"result": true, "code": 0, "data": {"count": 1,
        "info": [{"bk_host_id": 2043, "bk_os_type": null, "bk_host_innerip": "172.20.5.21,172.20.5.22"}]}}));
    let host = &hosts.data.unwrap().info.unwrap()[0];
    assert_eq!(host.bk_os_type, None);
    assert_eq!(
        crate::bk::split_list(host.bk_host_innerip.as_deref()),
        ["172.20.5.21", "172.20.5.22"]
    );

    let props: Decoded<Vec<HostProperty>> = ok(json!({"result": true, "code": 0, "data": [
        {"bk_property_id": "bk_host_id", "bk_property_name": "host ID", "bk_property_value": 2041},
        {"bk_property_id": "bk_comment", "bk_property_name": "comment", "bk_property_value": null}]}));
    let props = props.data.unwrap();
    assert_eq!(props[0].bk_property_value, Some(json!(2041)));
    assert_eq!(props[1].bk_property_value, None);
}
