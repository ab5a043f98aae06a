//! Validation and decoding rules of the conversions.

use proto::jobgateway::v1 as pb;
use tonic::Code;
use tonic_types::StatusExt;

use super::*;

fn violation(err: GatewayError) -> (String, String) {
    let status = tonic::Status::from(err);
    assert_eq!(status.code(), Code::InvalidArgument);
    let bad = status
        .get_details_bad_request()
        .expect("a BadRequest detail");
    let v = &bad.field_violations[0];
    (v.field.clone(), v.description.clone())
}

fn biz(id: i64) -> Option<pb::Scope> {
    Some(pb::Scope {
        bk_scope_type: pb::ScopeType::Biz as i32,
        bk_scope_id: id,
    })
}

#[test]
fn a_page_token_round_trips_only_with_the_same_filters() {
    let first = Page::parse(2, "", 500, "biz=3").unwrap();
    assert_eq!((first.offset, first.size), (0, 2));
    let token = first.next_token(2, 5);
    let second = Page::parse(2, &token, 500, "biz=3").unwrap();
    assert_eq!(second.offset, 2);
    assert_eq!(second.next_token(2, 4), "");
    let (field, _) = violation(Page::parse(2, &token, 500, "biz=4").unwrap_err());
    assert_eq!(field, "page_token");
    assert_eq!(Page::parse(0, "", 500, "").unwrap().size, 100);
    assert_eq!(Page::parse(9000, "", 500, "").unwrap().size, 500);
}

#[test]
fn a_missing_or_unspecified_scope_names_its_field() {
    let (field, why) = violation(scope("scope", None).unwrap_err());
    assert_eq!((field.as_str(), why.as_str()), ("scope", "is required"));
    let unspecified = Some(pb::Scope {
        bk_scope_type: 0,
        bk_scope_id: 3,
    });
    let (field, _) = violation(scope("scope", unspecified).unwrap_err());
    assert_eq!(field, "scope.bk_scope_type");
    let (field, _) = violation(scope("scope", biz(0)).unwrap_err());
    assert_eq!(field, "scope.bk_scope_id");
}

#[test]
fn an_inline_script_without_a_language_or_a_fractional_timeout_is_refused() {
    use pb::execute_script_request::{Account, Script};
    let request = |language: pb::ScriptLanguage, nanos: i32| pb::ExecuteScriptRequest {
        scope: biz(3),
        script: Some(Script::ScriptContent("echo hi".to_owned())),
        script_language: language as i32,
        timeout: Some(prost_types::Duration { seconds: 5, nanos }),
        account: Some(Account::AccountAlias("root".to_owned())),
        target: Some(pb::ExecuteTarget {
            bk_host_ids: vec![101],
            ..Default::default()
        }),
        ..Default::default()
    };
    let (field, _) = violation(
        bk::FastExecuteScript::try_from(request(pb::ScriptLanguage::Unspecified, 0)).unwrap_err(),
    );
    assert_eq!(field, "script_language");
    let (field, _) = violation(
        bk::FastExecuteScript::try_from(request(pb::ScriptLanguage::Shell, 1)).unwrap_err(),
    );
    assert_eq!(field, "timeout");
    let ok = bk::FastExecuteScript::try_from(request(pb::ScriptLanguage::Shell, 0)).unwrap();
    assert_eq!(ok.timeout_secs, Some(5));
    assert_eq!(ok.target.host_ids, [101]);
}

#[test]
fn run_statuses_keep_unknown_codes_and_only_job_finished_codes_finish() {
    assert_eq!(run_status(Some(3)), (pb::RunStatus::Succeeded, 3, true));
    assert_eq!(run_status(Some(2)), (pb::RunStatus::Running, 2, false));
    assert_eq!(run_status(Some(12)), (pb::RunStatus::StopFailed, 12, false));
    assert_eq!(
        run_status(Some(77)),
        (pb::RunStatus::Unrecognized, 77, false)
    );
    assert_eq!(run_status(None), (pb::RunStatus::Unspecified, 0, false));
}

#[test]
fn agent_codes_decode_per_gse_generation() {
    assert_eq!(agent_state_v1(Some(1)), (pb::AgentState::Running, 1));
    assert_eq!(agent_state_v1(None), (pb::AgentState::NotFound, -2));
    assert_eq!(agent_state_v2(Some(2)), (pb::AgentState::Running, 2));
    assert_eq!(agent_state_v2(Some(6)), (pb::AgentState::Changing, 6));
    assert_eq!(agent_state_v2(Some(42)), (pb::AgentState::Unrecognized, 42));
}

#[test]
fn a_list_window_longer_than_30_days_is_refused_before_any_call() {
    let ts = |seconds| Some(prost_types::Timestamp { seconds, nanos: 0 });
    let request = pb::ListJobInstancesRequest {
        scope: biz(3),
        create_time_start: ts(1_000),
        create_time_end: ts(1_000 + 31 * 86_400),
        ..Default::default()
    };
    let (field, _) = violation(instance_list_query(request).unwrap_err());
    assert_eq!(field, "create_time_end");
}

#[test]
fn job_milliseconds_become_timestamps_and_durations() {
    let t = ts_ms(Some(1_700_000_000_123)).unwrap();
    assert_eq!((t.seconds, t.nanos), (1_700_000_000, 123_000_000));
    assert_eq!(ts_ms(Some(0)), None);
    let d = duration_ms(Some(2_500)).unwrap();
    assert_eq!((d.seconds, d.nanos), (2, 500_000_000));
}

#[test]
fn plan_times_in_seconds_or_milliseconds_become_the_same_timestamp() {
    // JOB stores plan times in seconds; its docs' examples show milliseconds.
    let secs = ts_plan(Some(1_546_272_000)).unwrap();
    let ms = ts_plan(Some(1_546_272_000_000)).unwrap();
    assert_eq!((secs.seconds, secs.nanos), (1_546_272_000, 0));
    assert_eq!((ms.seconds, ms.nanos), (1_546_272_000, 0));
    assert_eq!(ts_plan(Some(1_546_272_000_250)).unwrap().nanos, 250_000_000);
    assert_eq!(ts_plan(Some(0)), None);
    assert_eq!(ts_plan(Some(-5)), None);
}

#[test]
fn no_blueking_time_becomes_a_timestamp_past_the_year_9999() {
    let last_ms = (MAX_TIMESTAMP_SECONDS + 1) * 1000 - 1;
    assert_eq!(ts_ms(Some(last_ms)).unwrap().seconds, MAX_TIMESTAMP_SECONDS);
    assert_eq!(ts_ms(Some(last_ms + 1)), None);
    assert_eq!(ts_ms(Some(i64::MAX)), None);
    assert_eq!(ts_plan(Some(last_ms + 1)), None);
    assert_eq!(ts_plan(Some(i64::MAX)), None);
}

#[test]
fn a_request_time_past_the_year_9999_is_refused_not_overflowed() {
    let ts = |seconds| Some(prost_types::Timestamp { seconds, nanos: 0 });
    assert_eq!(
        ms_of("t", ts(MAX_TIMESTAMP_SECONDS)).unwrap(),
        MAX_TIMESTAMP_SECONDS * 1000
    );
    let (field, _) = violation(ms_of("t", ts(MAX_TIMESTAMP_SECONDS + 1)).unwrap_err());
    assert_eq!(field, "t");
    let (field, _) = violation(ms_of("t", ts(i64::MAX)).unwrap_err());
    assert_eq!(field, "t");
}

#[test]
fn no_job_duration_becomes_a_duration_longer_than_ten_thousand_years() {
    let longest = MAX_DURATION_SECONDS * 1000;
    assert_eq!(
        duration_ms(Some(longest)).unwrap().seconds,
        MAX_DURATION_SECONDS
    );
    assert_eq!(duration_ms(Some(longest + 1)), None);
    assert_eq!(duration_ms(Some(i64::MAX)), None);
    assert_eq!(duration_ms(Some(-1)), None);
}
