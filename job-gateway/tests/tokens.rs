//! Named tokens from `auth.tokens_file` against bk-sim: a fixed-user token acts as its user
//! and cannot name another (PERMISSION_DENIED, nothing reaches BlueKing), a delegator acts as
//! the user it names, a `sha256:` secret admits the token it was made from, and rewriting the
//! file rotates the tokens without a restart.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{GAME_BIZ, gateway, script, sim};
use job_gateway::config::Transport;
use proto::jobgateway::v1 as pb;
use sha2::{Digest, Sha256};
use tonic::{Code, Request};

const CRON: &str = "cron-token-0123456789";
const SAAS: &str = "saas-token-0123456789";

fn file(dir: &Path, tokens: &[(&str, &str, &str)]) -> std::path::PathBuf {
    let path = dir.join("tokens.toml");
    std::fs::write(&path, service_kit::testing::token_file_text(tokens)).unwrap();
    path
}

fn call<T>(message: T, token: &str, user: Option<&str>) -> Request<T> {
    let mut r = Request::new(message);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    if let Some(u) = user {
        r.metadata_mut().insert("x-bk-username", u.parse().unwrap());
    }
    r
}

fn topology() -> pb::GetBusinessTopologyRequest {
    pb::GetBusinessTopologyRequest {
        bk_biz_id: GAME_BIZ,
        include_idle_pool: false,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn a_fixed_user_token_naming_someone_else_is_permission_denied_and_nothing_runs() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = sim.settings(Transport::Esb);
    settings.auth.tokens.clear();
    settings.auth.tokens_file = Some(file(
        dir.path(),
        &[
            ("cron", CRON, "user = \"alice\""),
            ("saas", SAAS, "delegator = true"),
        ],
    ));
    let gw = gateway(settings).await;
    let mut job = gw.job().await;
    let err = job
        .execute_script(call(script("echo hi", &[103]), CRON, Some("bob")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert!(
        err.message().contains("`cron` acts as `alice`"),
        "{}",
        err.message()
    );
    assert_eq!(sim.count("fast_execute_script").await, 0);

    // Without the header, or naming itself, it acts as its user.
    let mut cmdb = gw.cmdb().await;
    cmdb.get_business_topology(call(topology(), CRON, None))
        .await
        .unwrap();
    cmdb.get_business_topology(call(topology(), CRON, Some("alice")))
        .await
        .unwrap();
    // A delegator acts as whom it names: BlueKing checks bob, who may not see business 3.
    let err = cmdb
        .get_business_topology(call(topology(), SAAS, Some("bob")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert!(err.message().contains("9900403"), "{}", err.message());
    let users: Vec<String> = sim
        .requests("search_biz_inst_topo")
        .await
        .iter()
        .map(|r| r["username"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(users, ["alice", "alice", "bob"]);
}

#[tokio::test]
async fn a_hashed_secret_admits_its_token_and_a_rewritten_file_rotates_tokens_without_a_restart() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let hashed = format!("sha256:{}", hex(&Sha256::digest(CRON.as_bytes())));
    let mut settings = sim.settings(Transport::Esb);
    settings.auth.tokens.clear();
    settings.auth.tokens_file_poll_secs = 1;
    settings.auth.tokens_file = Some(file(dir.path(), &[("cron", &hashed, "user = \"alice\"")]));
    let gw = gateway(settings).await;
    let mut cmdb = gw.cmdb().await;
    cmdb.get_business_topology(call(topology(), CRON, None))
        .await
        .unwrap();
    let err = cmdb
        .get_business_topology(call(topology(), &hashed, None))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);

    // Rotate: the old token goes, the new one comes, the process keeps running.
    file(dir.path(), &[("cron", SAAS, "user = \"alice\"")]);
    let started = Instant::now();
    loop {
        let old = cmdb
            .get_business_topology(call(topology(), CRON, None))
            .await;
        let new = cmdb
            .get_business_topology(call(topology(), SAAS, None))
            .await;
        if old
            .as_ref()
            .is_err_and(|e| e.code() == Code::Unauthenticated)
            && new.is_ok()
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no reload within 10 s: old {old:?}, new {new:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A broken file keeps the tokens in force.
    std::fs::write(dir.path().join("tokens.toml"), "[[token]]\nname = ").unwrap();
    cmdb.get_business_topology(call(topology(), SAAS, None))
        .await
        .unwrap();
}
