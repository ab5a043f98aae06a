//! The BlueKing-error → gRPC status table, code by code, with its rich details.

use tonic_types::StatusExt;

use super::*;
use crate::bk::{Permission, PermissionAction};

fn business(code: i64, permission: Option<Permission>) -> GatewayError {
    GatewayError::Bk(BkError::Business(Box::new(BusinessError {
        api: "fast_execute_script",
        code,
        message: "bk says no".to_owned(),
        request_id: Some("req-1".to_owned()),
        permission,
    })))
}

fn status(err: GatewayError) -> Status {
    Status::from(err)
}

#[test]
fn a_permission_denial_carries_code_message_request_id_and_the_permission() {
    let permission = Permission {
        system_id: Some("bk_job".to_owned()),
        actions: Some(vec![PermissionAction {
            id: Some("execute_script".to_owned()),
            ..PermissionAction::default()
        }]),
        apply_url: Some("https://iam.example/apply".to_owned()),
        ..Permission::default()
    };
    let s = status(business(9_900_403, Some(permission)));
    assert_eq!(s.code(), Code::PermissionDenied);
    let details = s.get_error_details();
    let info = details.error_info().unwrap();
    assert_eq!(
        (info.reason.as_str(), info.domain.as_str()),
        ("BK_PERMISSION_DENIED", BK_DOMAIN)
    );
    assert_eq!(info.metadata["bk_code"], "9900403");
    assert_eq!(info.metadata["bk_message"], "bk says no");
    assert_eq!(info.metadata["bk_request_id"], "req-1");
    assert_eq!(info.metadata["permission_actions"], "execute_script");
    assert_eq!(info.metadata["permission_system_id"], "bk_job");
    assert!(info.metadata["permission"].contains("\"execute_script\""));
    assert_eq!(
        details.help().unwrap().links[0].url,
        "https://iam.example/apply"
    );
}

#[test]
fn business_codes_map_to_the_documented_grpc_codes() {
    let table = [
        (1_244_006, Code::NotFound),
        (1_243_009, Code::NotFound),
        (1_110_008, Code::NotFound),
        (1_240_003, Code::InvalidArgument),
        (1_241_001, Code::InvalidArgument),
        (1_241_007, Code::InvalidArgument),
        (1_199_006, Code::InvalidArgument),
        (1_244_020, Code::InvalidArgument),
        (1_241_003, Code::FailedPrecondition),
        (1_199_048, Code::PermissionDenied),
        (1_640_301, Code::PermissionDenied),
        (1_244_033, Code::ResourceExhausted),
        (1_240_002, Code::Internal),
        (1_234_567, Code::Unknown),
    ];
    for (code, expected) in table {
        let s = status(business(code, None));
        assert_eq!(s.code(), expected, "code {code}");
        let info = s.get_error_details().error_info().cloned().unwrap();
        assert_eq!(info.metadata["bk_code"], code.to_string());
    }
}

#[test]
fn a_rate_limit_is_resource_exhausted_with_retry_info() {
    let s = status(GatewayError::Bk(BkError::RateLimited {
        api: "list_biz_hosts",
        code: 1_642_903,
        request_id: None,
        retry_after: Some(Duration::from_secs(3)),
    }));
    assert_eq!(s.code(), Code::ResourceExhausted);
    let details = s.get_error_details();
    assert_eq!(
        details.retry_info().unwrap().retry_delay,
        Some(Duration::from_secs(3))
    );
    assert_eq!(details.error_info().unwrap().reason, "BK_RATE_LIMITED");

    let s = status(GatewayError::Bk(BkError::RateLimited {
        api: "list_biz_hosts",
        code: 1_306_429,
        request_id: None,
        retry_after: None,
    }));
    assert_eq!(
        s.get_error_details().retry_info().unwrap().retry_delay,
        Some(DEFAULT_RETRY_DELAY)
    );
}

#[test]
fn transport_failures_map_by_what_they_prove() {
    let cases = [
        (
            BkError::NotDelivered {
                api: "a",
                reason: "connection refused".to_owned(),
            },
            Code::Unavailable,
        ),
        (
            BkError::Transport {
                api: "a",
                reason: "reset".to_owned(),
            },
            Code::Unavailable,
        ),
        (
            BkError::Unavailable {
                api: "a",
                http_status: 502,
                code: None,
                message: "http 502".to_owned(),
                request_id: None,
            },
            Code::Unavailable,
        ),
        (
            BkError::Timeout {
                api: "a",
                after: Duration::from_secs(10),
            },
            Code::DeadlineExceeded,
        ),
        (
            BkError::Auth {
                api: "a",
                who: AuthSubject::User,
                http_status: 401,
                code: Some(1_640_102),
                message: "m".to_owned(),
                request_id: None,
            },
            Code::PermissionDenied,
        ),
        (
            BkError::Auth {
                api: "a",
                who: AuthSubject::App,
                http_status: 401,
                code: Some(1_640_101),
                message: "m".to_owned(),
                request_id: None,
            },
            Code::Internal,
        ),
    ];
    for (err, expected) in cases {
        let text = err.to_string();
        assert_eq!(status(GatewayError::Bk(err)).code(), expected, "{text}");
    }
}

#[test]
fn an_undecodable_answer_is_internal_without_the_raw_body() {
    let s = status(GatewayError::Bk(BkError::Undecodable {
        api: "get_job_instance_status",
        http_status: 200,
        detail: "invalid type: string \"leaky\"".to_owned(),
        raw_body: "<html>leaky</html>".to_owned(),
        request_id: Some("r".to_owned()),
    }));
    assert_eq!(s.code(), Code::Internal);
    assert_eq!(
        s.message(),
        "undecodable answer from blueking `get_job_instance_status`"
    );
    assert!(!format!("{:?}", s.get_error_details()).contains("leaky"));
}

#[test]
fn our_own_validation_is_invalid_argument_with_field_violations() {
    let s = status(GatewayError::invalid(
        "scope.bk_scope_id",
        "must be positive",
    ));
    assert_eq!(s.code(), Code::InvalidArgument);
    assert_eq!(
        s.message(),
        "invalid request: `scope.bk_scope_id` must be positive"
    );
    let bad = s.get_error_details().bad_request().cloned().unwrap();
    assert_eq!(bad.field_violations[0].field, "scope.bk_scope_id");

    let s = status(GatewayError::Bk(BkError::Invalid {
        api: "fast_execute_script",
        field: "timeout",
        reason: "must be 1 to 86,400 seconds".to_owned(),
    }));
    assert_eq!(s.code(), Code::InvalidArgument);
    let bad = s.get_error_details().bad_request().cloned().unwrap();
    assert_eq!(bad.field_violations[0].field, "timeout");
}

#[test]
fn an_internal_error_hides_its_cause() {
    let s = status(GatewayError::Internal(anyhow::anyhow!(
        "db password is hunter2"
    )));
    assert_eq!(s.code(), Code::Internal);
    assert_eq!(s.message(), "internal error");
}
