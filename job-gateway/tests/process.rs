//! The job-gateway binary as an operator runs it: start-up, probes, settings errors, SIGTERM.

use std::time::{Duration, Instant};

use service_kit::testing::{health_status, reflected_services, run_to_exit, spawn_service};
use tonic_health::ServingStatus;

const BIN: &str = env!("CARGO_BIN_EXE_job-gateway");

fn base_env() -> Vec<(&'static str, String)> {
    vec![
        ("JOB_GATEWAY__LISTEN_ADDR", "127.0.0.1:0".to_owned()),
        ("JOB_GATEWAY__BK__APP_SECRET", "test-secret".to_owned()),
        (
            "JOB_GATEWAY__AUTH__TOKENS",
            "a-token-of-16-chars,another-token-16ch".to_owned(),
        ),
    ]
}

#[tokio::test]
async fn the_gateway_serves_health_and_reflection_then_stops_on_sigterm_with_exit_zero() {
    let mut gw = spawn_service(BIN, &[], &base_env());
    let endpoint = gw.endpoint();

    assert_eq!(health_status(&endpoint, "").await, ServingStatus::Serving);
    assert_eq!(
        health_status(&endpoint, "jobgateway.v1.JobService").await,
        ServingStatus::Serving
    );
    assert_eq!(
        reflected_services(&endpoint).await,
        [
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
            "jobgateway.v1.CmdbService",
            "jobgateway.v1.JobService",
            "jobgateway.v1.LoginService",
        ]
    );

    let started = Instant::now();
    gw.terminate();
    let status = gw
        .wait_for_exit(Duration::from_secs(5))
        .await
        .expect("job-gateway still running 5 s after SIGTERM");
    assert!(status.success(), "exit status {status}");
    // Well inside the 4 s grace period: nothing was in flight, so nothing was waited for.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(gw.drain_log().iter().any(|l| l.contains("NOT_SERVING")));
}

#[test]
fn a_malformed_url_setting_stops_start_up_with_one_line_naming_it() {
    let mut env = base_env();
    env.push(("JOB_GATEWAY__BK__ESB_URL", "not a url".to_owned()));
    let (status, stderr) = run_to_exit(BIN, &[], &env);
    assert_eq!(status.code(), Some(2));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(
            "job-gateway: invalid setting `bk.esb_url` (env JOB_GATEWAY__BK__ESB_URL): `not a url` is not a URL"
        ),
        "{stderr}"
    );
}

#[test]
fn a_missing_app_secret_stops_start_up_naming_the_setting() {
    let (status, stderr) = run_to_exit(BIN, &[], &[]);
    assert_eq!(status.code(), Some(2));
    assert_eq!(
        stderr.trim_end(),
        "job-gateway: invalid setting `bk.app_secret` (env JOB_GATEWAY__BK__APP_SECRET): is required (or set bk.app_secret_file)"
    );
}

#[test]
fn serving_without_tokens_stops_start_up_naming_the_setting() {
    let env: Vec<_> = base_env()
        .into_iter()
        .filter(|(k, _)| !k.contains("AUTH"))
        .collect();
    let (status, stderr) = run_to_exit(BIN, &[], &env);
    assert_eq!(status.code(), Some(2));
    assert!(
        stderr.starts_with("job-gateway: invalid setting `auth.tokens` (env JOB_GATEWAY__AUTH__TOKENS): no tokens configured"),
        "{stderr}"
    );
}

#[test]
fn help_documents_every_setting_with_its_environment_variable() {
    let out = std::process::Command::new(BIN)
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains(job_gateway::config::SETTINGS_HELP.lines().nth(3).unwrap()));
    assert!(help.contains("JOB_GATEWAY__BK__TRANSPORT"));
}

#[tokio::test]
async fn sighup_makes_the_gateway_reread_its_token_file_without_a_restart() {
    use proto::jobgateway::v1 as pb;
    use proto::jobgateway::v1::job_service_client::JobServiceClient;
    use tonic::Code;

    const OLD: &str = "old-token-0123456789";
    const NEW: &str = "new-token-0123456789";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.toml");
    let write = |secret: &str| {
        let text = service_kit::testing::token_file_text(&[("cron", secret, "user = \"alice\"")]);
        std::fs::write(&path, text).unwrap();
    };
    write(OLD);
    let mut env = base_env();
    env.retain(|(k, _)| *k != "JOB_GATEWAY__AUTH__TOKENS");
    env.push(("JOB_GATEWAY__AUTH__TOKENS_FILE", path.display().to_string()));
    // No polling: only SIGHUP reloads.
    env.push(("JOB_GATEWAY__AUTH__TOKENS_FILE_POLL_SECS", "0".to_owned()));
    let gw = spawn_service(BIN, &[], &env);
    let mut job = JobServiceClient::connect(gw.endpoint()).await.unwrap();
    // A request without a target fails our own check: INVALID_ARGUMENT once past the token
    // check, UNAUTHENTICATED before it, and nothing is sent to BlueKing either way.
    let mut code = async |token: &str| {
        let mut r = tonic::Request::new(pb::ExecuteScriptRequest::default());
        r.metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        job.execute_script(r).await.unwrap_err().code()
    };
    assert_eq!(code(OLD).await, Code::InvalidArgument);
    assert_eq!(code(NEW).await, Code::Unauthenticated);

    write(NEW);
    assert_eq!(
        code(OLD).await,
        Code::InvalidArgument,
        "reloaded without SIGHUP"
    );
    gw.hangup();
    let started = Instant::now();
    while (code(OLD).await, code(NEW).await) != (Code::Unauthenticated, Code::InvalidArgument) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no reload within 10 s of SIGHUP"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        gw.drain_log()
            .iter()
            .any(|l| l.contains("bearer tokens reloaded") && l.contains("SIGHUP"))
    );
}
