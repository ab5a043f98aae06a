//! `LoginService.VerifyToken` against bk-sim over both front doors: a valid `bk_token` gives its
//! BlueKing user, an empty, unknown or expired one is UNAUTHENTICATED naming the login page, the
//! cache bound holds, and an unreachable BlueKing is UNAVAILABLE.

mod common;

use std::time::{Duration, Instant};

use common::*;
use job_gateway::config::{Settings, Transport};
use proto::jobgateway::v1 as pb;
use proto::jobgateway::v1::login_service_client::LoginServiceClient;
use tonic::Code;
use tonic::transport::Channel;

const LOGIN_URL: &str = "https://paas.example.com/login/";
const BOTH: [Transport; 2] = [Transport::Esb, Transport::Apigw];

/// The test world with login tokens: alice (with a display name) and admin.
async fn login_sim() -> Sim {
    let world = WORLD
        .replacen(
            "name = \"alice\"\n",
            "name = \"alice\"\ntoken = \"tkn-alice\"\ndisplay_name = \"Alice Liu\"\n",
            1,
        )
        .replacen(
            "name = \"admin\"\n",
            "name = \"admin\"\ntoken = \"tkn-admin\"\n",
            1,
        );
    sim_with_world(&world).await
}

fn settings(sim: &Sim, transport: Transport, cache_ms: u64) -> Settings {
    let mut s = sim.settings(transport);
    s.bk.login_url = LOGIN_URL.to_owned();
    s.bk.login_cache_ms = cache_ms;
    s
}

async fn client(gw: &Gateway) -> LoginServiceClient<Channel> {
    LoginServiceClient::new(gw.channel().await)
}

async fn verify(
    c: &mut LoginServiceClient<Channel>,
    token: &str,
) -> Result<pb::VerifyTokenResponse, tonic::Status> {
    let r = pb::VerifyTokenRequest {
        bk_token: token.to_owned(),
    };
    c.verify_token(req(r, None)).await.map(|r| r.into_inner())
}

/// The bk-sim API name of the login call over `transport`.
fn login_api(transport: Transport) -> &'static str {
    match transport {
        Transport::Esb => "get_user",
        Transport::Apigw => "userinfo",
    }
}

async fn expire(sim: &Sim, token: &str) {
    let r = reqwest::Client::new()
        .post(format!("{}/_sim/login/tokens/{token}/expire", sim.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
}

fn assert_not_logged_in(err: &tonic::Status) {
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
    assert!(err.message().contains(LOGIN_URL), "{}", err.message());
}

#[tokio::test]
async fn a_valid_token_gives_its_blueking_user_and_display_name_on_both_transports() {
    let sim = login_sim().await;
    for transport in BOTH {
        let gw = gateway(settings(&sim, transport, 0)).await;
        let mut c = client(&gw).await;
        let alice = verify(&mut c, "tkn-alice").await.unwrap();
        assert_eq!(alice.bk_username, "alice", "{transport:?}");
        assert_eq!(alice.display_name, "Alice Liu", "{transport:?}");
        let admin = verify(&mut c, "tkn-admin").await.unwrap();
        assert_eq!(admin.bk_username, "admin");
        assert_eq!(admin.display_name, "admin");
        let asked = sim.requests(login_api(transport)).await;
        assert!(!asked.is_empty(), "{transport:?} asked no login api");
    }
}

#[tokio::test]
async fn an_unknown_or_empty_token_is_unauthenticated_and_names_the_login_page() {
    let sim = login_sim().await;
    for transport in BOTH {
        let gw = gateway(settings(&sim, transport, 0)).await;
        let mut c = client(&gw).await;
        assert_not_logged_in(&verify(&mut c, "no-such-token").await.unwrap_err());
        sim.clear_requests().await;
        assert_not_logged_in(&verify(&mut c, " ").await.unwrap_err());
        assert_eq!(sim.count(login_api(transport)).await, 0, "empty token sent");
    }
}

#[tokio::test]
async fn an_expired_token_is_unauthenticated_on_both_transports() {
    for transport in BOTH {
        let sim = login_sim().await;
        let gw = gateway(settings(&sim, transport, 0)).await;
        let mut c = client(&gw).await;
        verify(&mut c, "tkn-alice").await.unwrap();
        expire(&sim, "tkn-alice").await;
        assert_not_logged_in(&verify(&mut c, "tkn-alice").await.unwrap_err());
    }
}

#[tokio::test]
async fn a_token_expired_within_the_cache_window_passes_until_the_window_ends_then_is_refused() {
    const CACHE_MS: u64 = 800;
    for transport in BOTH {
        let sim = login_sim().await;
        let gw = gateway(settings(&sim, transport, CACHE_MS)).await;
        let mut c = client(&gw).await;
        verify(&mut c, "tkn-alice").await.unwrap();
        // The cache entry was made before the answer left job-gateway, so it is older than this.
        let verified_at = Instant::now();
        expire(&sim, "tkn-alice").await;
        let cached = verify(&mut c, "tkn-alice").await.unwrap();
        assert_eq!(cached.bk_username, "alice");
        assert_eq!(sim.count(login_api(transport)).await, 1, "{transport:?}");
        let window_end = verified_at + Duration::from_millis(CACHE_MS);
        tokio::time::sleep_until(window_end.into()).await;
        assert_not_logged_in(&verify(&mut c, "tkn-alice").await.unwrap_err());
        assert_eq!(sim.count(login_api(transport)).await, 2, "{transport:?}");
    }
}

#[tokio::test]
async fn blueking_unreachable_is_unavailable_and_the_error_does_not_quote_the_token() {
    let sim = login_sim().await;
    for transport in BOTH {
        let mut s = settings(&sim, transport, 0);
        s.bk.esb_url = "http://127.0.0.1:9".to_owned();
        s.bk.apigw_url = "http://127.0.0.1:9".to_owned();
        let gw = gateway(s).await;
        let mut c = client(&gw).await;
        let err = verify(&mut c, "tkn-alice").await.unwrap_err();
        assert_eq!(err.code(), Code::Unavailable, "{transport:?}: {err:?}");
        assert!(
            !format!("{err:?}").contains("tkn-alice"),
            "token leaked: {err:?}"
        );
    }
}
