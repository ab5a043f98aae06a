//! Failure classification of BlueKing answers: business errors, permission objects, rate
//! limits, 5xx, auth failures and undecodable bodies, per front door.

use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::json;

use super::*;
use crate::bk::JobInstanceStatus;

fn fail(status: u16, headers: &[(&'static str, &str)], body: &[u8]) -> BkError {
    let mut h = HeaderMap::new();
    for (k, v) in headers {
        h.insert(*k, HeaderValue::from_str(v).unwrap());
    }
    decode::<serde_json::Value>(
        "api",
        Success::ResultAndCode,
        StatusCode::from_u16(status).unwrap(),
        &h,
        body,
    )
    .expect_err("must fail")
}

#[test]
fn a_permission_denial_keeps_code_message_request_id_and_permission() {
    let body = json!({"result": false, "code": 9900403, "message": "User (alice) permission not allowed",
        "permission": {"system_id": "bk_job", "system_name": "Job", "actions": [{"id": "access_business",
            "name": "Business access", "related_resource_types": [{"system_id": "bk_cmdb", "type": "biz",
            "instances": [[{"id": "12", "type": "biz", "name": "payments"}]]}]}]},
        "job_request_id": "5d1e"});
    let BkError::Business(b) = fail(200, &[], body.to_string().as_bytes()) else {
        panic!()
    };
    assert_eq!(
        (b.code, b.message.as_str(), b.request_id.as_deref()),
        (9900403, "User (alice) permission not allowed", Some("5d1e"))
    );
    let p = b.permission.unwrap();
    let action = &p.actions.unwrap()[0];
    assert_eq!(action.id.as_deref(), Some("access_business"));
    let rrt = &action.related_resource_types.as_ref().unwrap()[0];
    assert_eq!(
        rrt.instances.as_ref().unwrap()[0][0].id.as_deref(),
        Some("12")
    );
}

#[test]
fn cmdbs_native_error_keys_are_read_too() {
    let body =
        json!({"result": false, "bk_error_code": 1199006, "bk_error_msg": "'page.limit' bad"});
    let BkError::Business(b) = fail(200, &[], body.to_string().as_bytes()) else {
        panic!()
    };
    assert_eq!((b.code, b.message.as_str()), (1199006, "'page.limit' bad"));
}

#[test]
fn gateway_429_is_a_rate_limit_with_its_code_request_id_and_retry_after() {
    let body = br#"{"code": 1642903, "code_name": "RATE_LIMIT_RESTRICTION", "message": "API rate limit exceeded by resource strategy", "result": false, "data": null}"#;
    let err = fail(
        429,
        &[("x-bkapi-request-id", "gw-1"), ("retry-after", "2")],
        body,
    );
    let BkError::RateLimited {
        code,
        request_id,
        retry_after,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        (*code, request_id.as_deref(), *retry_after),
        (1642903, Some("gw-1"), Some(Duration::from_secs(2)))
    );
    assert!(err.proves_not_delivered());
}

#[test]
fn esb_rate_limit_and_backend_errors_come_as_http_200_codes() {
    let limited = fail(200, &[], br#"{"result": false, "code": 1306429, "message": "Access frequency limit", "data": null, "request_id": "e1"}"#);
    assert!(
        matches!(limited, BkError::RateLimited { code: 1306429, .. }),
        "{limited:?}"
    );
    let upstream = fail(200, &[], br#"{"result": false, "code": 1306201, "message": "Component request third-party system [JOBV3] interface [x] error: Status Code: 502", "data": null}"#);
    assert!(
        matches!(
            upstream,
            BkError::Unavailable {
                code: Some(1306201),
                ..
            }
        ),
        "{upstream:?}"
    );
    assert!(!upstream.proves_not_delivered() && upstream.is_retryable_for_reads());
}

#[test]
fn a_plain_text_5xx_is_unavailable_and_a_bare_401_is_an_app_auth_failure() {
    let err = fail(502, &[], b"Bad Gateway");
    assert!(
        matches!(
            err,
            BkError::Unavailable {
                http_status: 502,
                code: None,
                ..
            }
        ),
        "{err:?}"
    );
    let err = fail(401, &[], b"");
    assert!(
        matches!(
            err,
            BkError::Auth {
                who: AuthSubject::App,
                http_status: 401,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn auth_failures_name_whose_credentials_were_rejected() {
    let cases: [(u16, &str, AuthSubject); 4] = [
        (
            200,
            r#"{"result": false, "code": 1306000, "message": "APP Secret [bk_app_secret] cannot be empty"}"#,
            AuthSubject::App,
        ),
        (
            200,
            r#"{"result": false, "code": 1306000, "message": "User authentication failed, please provide a valid user identity, such as bk_token, bk_username"}"#,
            AuthSubject::User,
        ),
        (
            401,
            r#"{"code": 1640101, "code_name": "APP_VERIFY_FAILED", "message": "App authentication failed", "result": false}"#,
            AuthSubject::App,
        ),
        (
            401,
            r#"{"result": false, "code": 1247002, "message": "Missing user info"}"#,
            AuthSubject::User,
        ),
    ];
    for (status, body, expected) in cases {
        match fail(status, &[], body.as_bytes()) {
            BkError::Auth { who, .. } => assert_eq!(who, expected, "{body}"),
            other => panic!("{body}: {other:?}"),
        }
    }
    let form_error = fail(
        200,
        &[],
        br#"{"result": false, "code": 1306000, "message": "hosts item is invalid"}"#,
    );
    assert!(
        matches!(form_error, BkError::Business(ref b) if b.code == 1306000),
        "{form_error:?}"
    );
}

#[test]
fn an_undecodable_body_is_kept_for_the_log_but_not_shown() {
    let err = fail(
        200,
        &[("x-bk-job-request-id", "j-9")],
        b"<html>oops secret-ish</html>",
    );
    let BkError::Undecodable {
        raw_body,
        request_id,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(raw_body, "<html>oops secret-ish</html>");
    assert_eq!(request_id.as_deref(), Some("j-9"));
    assert!(!err.to_string().contains("oops"), "{err}");

    let wrong_shape = decode::<JobInstanceStatus>(
        "api",
        Success::ResultAndCode,
        StatusCode::OK,
        &HeaderMap::new(),
        br#"{"result": true, "code": 0, "data": {"finished": "maybe"}}"#,
    )
    .unwrap_err();
    assert!(
        matches!(wrong_shape, BkError::Undecodable { .. }),
        "{wrong_shape:?}"
    );
}

#[test]
fn gse_v2_succeeds_on_code_zero_alone_and_treats_none_found_as_empty() {
    let d = decode::<Vec<serde_json::Value>>("list_agent_state", Success::GseV2, StatusCode::OK, &HeaderMap::new(),
        br#"{"code": 0, "message": "success", "data": [{"bk_agent_id": "0:1.2.3.4", "status_code": 2}]}"#).unwrap();
    assert_eq!(d.data.unwrap().len(), 1);
    let none = decode::<Vec<serde_json::Value>>(
        "list_agent_state",
        Success::GseV2,
        StatusCode::OK,
        &HeaderMap::new(),
        br#"{"code": 1011003, "message": "not found", "data": null}"#,
    )
    .unwrap();
    assert!(none.data.is_none());
}
