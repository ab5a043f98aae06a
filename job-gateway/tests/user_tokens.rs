//! An app that is not login-exempt (`bk.login_exempt = false`) against bk-sim, whose world then
//! refuses `bk_username`: each call carries the user's `x-bk-token`, verified through BlueKing's
//! login and sent upstream as `bk_token`, on both front doors. A call without it, with an expired
//! one, or with someone else's, never reaches CMDB.

mod common;

use common::*;
use job_gateway::config::{Settings, Transport};
use proto::jobgateway::v1 as pb;
use tonic::{Code, Request};

const LOGIN_URL: &str = "https://paas.example.com/login/";
const BOTH: [Transport; 2] = [Transport::Esb, Transport::Apigw];

/// The test world with its app no longer login-exempt, and login tokens for alice and bob.
async fn strict_sim() -> Sim {
    let world = WORLD
        .replacen("login_exempt = true", "login_exempt = false", 1)
        .replacen(
            "name = \"alice\"\n",
            "name = \"alice\"\ntoken = \"tkn-alice\"\n",
            1,
        )
        .replacen(
            "name = \"bob\"\n",
            "name = \"bob\"\ntoken = \"tkn-bob\"\n",
            1,
        );
    sim_with_world(&world).await
}

fn settings(sim: &Sim, transport: Transport, login_exempt: bool) -> Settings {
    let mut s = sim.settings(transport);
    s.bk.login_url = LOGIN_URL.to_owned();
    s.bk.login_exempt = login_exempt;
    s
}

/// ListBusinesses as `user`, with `bk_token` in `x-bk-token` when given.
fn businesses(user: &str, bk_token: Option<&str>) -> Request<pb::ListBusinessesRequest> {
    let mut r = req(pb::ListBusinessesRequest::default(), Some(user));
    if let Some(t) = bk_token {
        r.metadata_mut().insert("x-bk-token", t.parse().unwrap());
    }
    r
}

fn ids(r: &pb::ListBusinessesResponse) -> Vec<i64> {
    r.businesses.iter().map(|b| b.bk_biz_id).collect()
}

/// GetJobInstanceStatus of an instance that does not exist, as `user` with `bk_token`: JOB
/// checks the user on both front doors before it looks the instance up.
fn job_status(user: &str, bk_token: &str) -> Request<pb::GetJobInstanceStatusRequest> {
    let mut r = req(
        pb::GetJobInstanceStatusRequest {
            scope: biz(GAME_BIZ),
            job_instance_id: 999_999,
            with_host_results: false,
        },
        Some(user),
    );
    r.metadata_mut()
        .insert("x-bk-token", bk_token.parse().unwrap());
    r
}

#[tokio::test]
async fn the_users_bk_token_reaches_blueking_instead_of_a_username_on_both_transports() {
    let sim = strict_sim().await;
    for transport in BOTH {
        // A login-exempt configuration names the user, which this world's JOB refuses.
        let exempt = gateway(settings(&sim, transport, true)).await;
        sim.clear_requests().await;
        let refused = exempt
            .job()
            .await
            .get_job_instance_status(job_status("alice", "tkn-alice"))
            .await
            .unwrap_err();
        let seen = sim.requests("get_job_instance_status").await;
        assert_eq!(seen.len(), 1, "{transport:?}: {seen:?}");
        assert!(
            seen[0]["username"].is_null(),
            "{transport:?}: {seen:?} {refused:?}"
        );
        // Sent as bk_token, the same call gets past JOB's user check as alice.
        let gw = gateway(settings(&sim, transport, false)).await;
        sim.clear_requests().await;
        let not_found = gw
            .job()
            .await
            .get_job_instance_status(job_status("alice", "tkn-alice"))
            .await
            .unwrap_err();
        assert_eq!(
            not_found.code(),
            Code::NotFound,
            "{transport:?}: {not_found:?}"
        );
        let seen = sim.requests("get_job_instance_status").await;
        assert_eq!(seen.len(), 1, "{transport:?}: {seen:?}");
        assert_eq!(seen[0]["username"], "alice", "{transport:?}");
        // And CMDB answers as alice: her business only.
        let r = gw
            .cmdb()
            .await
            .list_businesses(businesses("alice", Some("tkn-alice")))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(ids(&r), [3], "{transport:?}");
    }
}

#[tokio::test]
async fn without_a_bk_token_the_call_is_unauthenticated_names_the_login_page_and_sends_nothing() {
    let sim = strict_sim().await;
    for transport in BOTH {
        let gw = gateway(settings(&sim, transport, false)).await;
        sim.clear_requests().await;
        let err = gw
            .cmdb()
            .await
            .list_businesses(businesses("alice", None))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
        assert!(err.message().contains(LOGIN_URL), "{}", err.message());
        assert_eq!(sim.count("search_business").await, 0, "{transport:?}");
    }
}

#[tokio::test]
async fn someone_elses_or_an_expired_bk_token_never_reaches_cmdb() {
    let sim = strict_sim().await;
    for transport in BOTH {
        let gw = gateway(settings(&sim, transport, false)).await;
        let mut cmdb = gw.cmdb().await;
        sim.clear_requests().await;
        let err = cmdb
            .list_businesses(businesses("alice", Some("tkn-bob")))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
        assert!(err.message().contains("bob"), "{}", err.message());
        let err = cmdb
            .list_businesses(businesses("alice", Some("tkn-nobody")))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
        assert_eq!(sim.count("search_business").await, 0, "{transport:?}");
    }
    // Expired: a fresh gateway (nothing cached) asks BlueKing, which no longer knows it.
    let gw = gateway(settings(&sim, Transport::Esb, false)).await;
    let r = reqwest::Client::new()
        .post(format!("{}/_sim/login/tokens/tkn-bob/expire", sim.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let err = gw
        .cmdb()
        .await
        .list_businesses(businesses("bob", Some("tkn-bob")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
}
