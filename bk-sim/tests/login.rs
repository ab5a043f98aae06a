//! BlueKing login on both front doors: ESB `bk_login/get_user` and the login gateway's
//! `bk-tokens/verify/` and `bk-tokens/userinfo/`, token expiry by hand and by time.

mod common;

use common::*;
use serde_json::{Value, json};

fn app_header() -> String {
    json!({"bk_app_code": APP, "bk_app_secret": SECRET}).to_string()
}

impl Sim {
    async fn login_gw(&self, api: &str, token: &str, en: bool) -> (u16, Value) {
        let mut req = self
            .http
            .get(format!(
                "{}/api/bk-login/prod/login/api/v3/open/bk-tokens/{api}/",
                self.base
            ))
            .header("X-Bkapi-Authorization", app_header())
            .query(&[("bk_token", token)]);
        if en {
            req = req.header("Blueking-Language", "en");
        }
        let r = req.send().await.expect("login call");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn get_user(&self, token: &str) -> Value {
        let body = json!({"bk_app_code": APP, "bk_app_secret": SECRET, "bk_token": token});
        self.esb_raw("bk_login", "get_user", body).await.body
    }

    async fn expire(&self, token: &str) -> u16 {
        let r = self
            .http
            .post(format!("{}/_sim/login/tokens/{token}/expire", self.base))
            .send()
            .await
            .expect("admin call");
        r.status().as_u16()
    }
}

#[tokio::test]
async fn gateway_verify_answers_the_token_owner_without_a_result_code_envelope() {
    let s = spawn().await;
    let (status, body) = s.login_gw("verify", "tkn-alice", false).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"data": {"bk_username": "alice", "tenant_id": "system"}})
    );
}

#[tokio::test]
async fn gateway_userinfo_adds_display_name_language_and_time_zone() {
    let s = spawn().await;
    let (status, body) = s.login_gw("userinfo", "tkn-alice", false).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["bk_username"], "alice");
    assert_eq!(body["data"]["display_name"], "Alice Liu");
    assert_eq!(body["data"]["language"], "en");
    assert_eq!(body["data"]["time_zone"], "Europe/Berlin");
    let (_, admin) = s.login_gw("userinfo", "tkn-admin", false).await;
    assert_eq!(admin["data"]["display_name"], "admin");
    assert_eq!(admin["data"]["language"], "zh-cn");
}

#[tokio::test]
async fn gateway_refuses_an_unknown_token_with_400_validation_error_in_the_callers_language() {
    let s = spawn().await;
    let (status, body) = s.login_gw("verify", "no-such-token", false).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"error": {"code": "VALIDATION_ERROR", "message": "登录态已过期"}})
    );
    let (status, body) = s.login_gw("userinfo", "no-such-token", true).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["message"], "Login session has expired");
}

#[tokio::test]
async fn gateway_login_without_app_credentials_is_the_gateways_401() {
    let s = spawn().await;
    let r = s
        .http
        .get(format!(
            "{}/api/bk-login/prod/login/api/v3/open/bk-tokens/verify/?bk_token=tkn-alice",
            s.base
        ))
        .send()
        .await
        .expect("login call");
    assert_eq!(r.status().as_u16(), 401);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["code"], 1_640_101);
}

#[tokio::test]
async fn esb_get_user_answers_in_the_esb_envelope_and_refuses_an_unknown_token_with_1306000() {
    let s = spawn().await;
    let ok = s.get_user("tkn-alice").await;
    assert_eq!(ok["result"], true);
    assert_eq!(ok["code"], 0);
    assert_eq!(ok["data"]["bk_username"], "alice");
    assert_eq!(ok["data"]["chname"], "Alice Liu");
    assert_eq!(ok["request_id"].as_str().map(str::len), Some(32));
    let bad = s.get_user("no-such-token").await;
    assert_eq!(bad["result"], false);
    assert_eq!(bad["code"], 1_306_000);
    assert_eq!(bad["data"], Value::Null);
}

#[tokio::test]
async fn an_expired_token_fails_on_both_doors_and_for_other_apis_until_reset() {
    let s = spawn().await;
    assert_eq!(s.expire("tkn-alice").await, 204);
    assert_eq!(s.login_gw("verify", "tkn-alice", false).await.0, 400);
    assert_eq!(s.get_user("tkn-alice").await["code"], 1_306_000);
    let search = json!({"bk_app_code": APP, "bk_app_secret": SECRET, "bk_token": "tkn-alice"});
    let r = s.esb_raw("cc", "search_business", search).await;
    assert_eq!(r.body["code"], 1_306_000);
    // Other tokens are untouched.
    assert_eq!(s.login_gw("verify", "tkn-admin", false).await.0, 200);
    let reset = s
        .http
        .post(format!("{}/_sim/reset", s.base))
        .send()
        .await
        .expect("reset");
    assert_eq!(reset.status().as_u16(), 204);
    assert_eq!(s.login_gw("verify", "tkn-alice", false).await.0, 200);
}

#[tokio::test]
async fn expiring_a_token_the_world_lacks_is_404() {
    let s = spawn().await;
    assert_eq!(s.expire("no-such-token").await, 404);
}

#[tokio::test]
async fn a_login_ttl_of_zero_expires_every_token_and_a_long_one_none() {
    let s = spawn_with(|st| st.login_ttl_ms = Some(0)).await;
    assert_eq!(s.login_gw("verify", "tkn-alice", false).await.0, 400);
    assert_eq!(s.get_user("tkn-alice").await["result"], false);
    let long = spawn_with(|st| st.login_ttl_ms = Some(3_600_000)).await;
    assert_eq!(long.login_gw("verify", "tkn-alice", false).await.0, 200);
}

#[tokio::test]
async fn the_request_log_never_holds_the_token() {
    let s = spawn().await;
    s.login_gw("verify", "tkn-alice", false).await;
    s.get_user("tkn-alice").await;
    let log = s.admin_get("/requests?api=verify").await;
    assert_eq!(log["count"], 1);
    assert_eq!(log["requests"][0]["system"], "login");
    let all = s.admin_get("/requests").await.to_string();
    assert!(!all.contains("tkn-alice"), "{all}");
}
