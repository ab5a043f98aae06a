//! BlueKing login: who a person's `bk_token` belongs to, through the configured front door.
//!
//! ESB `bk_login/get_user` answers in the ESB envelope; ESB verifies the token itself, so a bad
//! one comes back as `result: false` (ESB `1306000`, "user authentication failed"). The login
//! gateway answers `{"data": …}` with no `result`/`code`, and a bad token as HTTP 400
//! `{"error": {"code": "VALIDATION_ERROR", …}}`. Both become `Ok(None)`, "not logged in"; our own
//! app being rejected, rate limits and outages stay errors (docs/blueking.md, "Login").

use http::{HeaderMap, StatusCode};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::Value;

use super::client::BkClient;
use super::envelope::{self, Success};
use super::error::{AuthSubject, BkError, BkResult};
use super::transport::System;
use crate::config::Transport;

/// The BlueKing user a login token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginUser {
    /// The stable user id (`bk_username`).
    pub bk_username: String,
    /// The name shown to people, when BlueKing gave one.
    pub display_name: Option<String>,
}

/// ESB `get_user` `data`: `bk_username` (v2) or `username` (legacy v1), `chname` the display name.
#[derive(Debug, Deserialize)]
struct EsbUser {
    bk_username: Option<String>,
    username: Option<String>,
    chname: Option<String>,
}

/// Login gateway `data`.
#[derive(Debug, Deserialize)]
struct GatewayUser {
    bk_username: Option<String>,
    display_name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct GatewayAnswer<T> {
    data: Option<T>,
    error: Option<Value>,
}

impl BkClient {
    /// The user `bk_token` belongs to; `Ok(None)` when BlueKing says it is unknown or expired.
    pub async fn login_user(&self, bk_token: &SecretString) -> BkResult<Option<LoginUser>> {
        // Login goes through the front door JOB and CMDB use (`bk.transport`).
        let door = self.front_door(System::Job);
        self.login_exchange(bk_token, |api, status, headers, body| match door {
            Transport::Esb => decode_esb(api, status, headers, body),
            Transport::Apigw => decode_gateway(api, status, headers, body),
        })
        .await
    }
}

fn user(
    api: &'static str,
    status: StatusCode,
    name: Option<String>,
    display: Option<String>,
    body: &[u8],
) -> BkResult<Option<LoginUser>> {
    match name.filter(|n| !n.is_empty()) {
        Some(bk_username) => Ok(Some(LoginUser {
            bk_username,
            display_name: display.filter(|d| !d.is_empty()),
        })),
        None => Err(undecodable(api, status, "no `bk_username` in `data`", body)),
    }
}

fn undecodable(api: &'static str, status: StatusCode, detail: &str, body: &[u8]) -> BkError {
    BkError::Undecodable {
        api,
        http_status: status.as_u16(),
        detail: detail.to_owned(),
        raw_body: String::from_utf8_lossy(&body[..body.len().min(2048)]).into_owned(),
        request_id: None,
    }
}

/// Decodes an ESB `bk_login/get_user` answer.
pub(crate) fn decode_esb(
    api: &'static str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> BkResult<Option<LoginUser>> {
    match envelope::decode::<EsbUser>(api, Success::ResultAndCode, status, headers, body) {
        Ok(d) => match d.data {
            Some(u) => user(api, status, u.bk_username.or(u.username), u.chname, body),
            None => Err(undecodable(api, status, "no `data`", body)),
        },
        // ESB's own user check, or any other `result: false` of the component: not logged in.
        Err(BkError::Auth {
            who: AuthSubject::User,
            ..
        })
        | Err(BkError::Business(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Decodes a login gateway `bk-tokens/userinfo/` (or `verify/`) answer.
pub(crate) fn decode_gateway(
    api: &'static str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> BkResult<Option<LoginUser>> {
    let parsed = serde_json::from_slice::<GatewayAnswer<GatewayUser>>(body).ok();
    match (status, parsed) {
        (StatusCode::OK, Some(GatewayAnswer { data: Some(u), .. })) => {
            user(api, status, u.bk_username, u.display_name, body)
        }
        (StatusCode::BAD_REQUEST, Some(GatewayAnswer { error: Some(_), .. })) => Ok(None),
        _ => match envelope::decode::<Value>(api, Success::ResultAndCode, status, headers, body) {
            Err(e) => Err(e),
            Ok(_) => Err(undecodable(api, status, "not a login answer", body)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esb(body: &str) -> BkResult<Option<LoginUser>> {
        decode_esb(
            "get_user",
            StatusCode::OK,
            &HeaderMap::new(),
            body.as_bytes(),
        )
    }

    fn gw(status: u16, body: &str) -> BkResult<Option<LoginUser>> {
        let status = StatusCode::from_u16(status).unwrap();
        decode_gateway("userinfo", status, &HeaderMap::new(), body.as_bytes())
    }

    #[test]
    fn esb_get_user_accepts_the_v2_and_the_legacy_name_field() {
        let v2 = esb(r#"{"result":true,"code":0,"data":{"bk_username":"alice","chname":"Alice"}}"#);
        assert_eq!(
            v2.unwrap(),
            Some(LoginUser {
                bk_username: "alice".into(),
                display_name: Some("Alice".into())
            })
        );
        let v1 = esb(r#"{"result":true,"code":0,"data":{"username":"bob"}}"#).unwrap();
        assert_eq!(v1.map(|u| u.bk_username).as_deref(), Some("bob"));
    }

    #[test]
    fn esb_result_false_about_the_user_is_not_logged_in_but_about_our_app_is_an_error() {
        let bad = r#"{"result":false,"code":1306000,"data":null,"message":"User authentication failed, please check if the bk_token is valid"}"#;
        assert_eq!(esb(bad).unwrap(), None);
        let other = r#"{"result":false,"code":1302100,"data":null,"message":"expired"}"#;
        assert_eq!(esb(other).unwrap(), None);
        let app = r#"{"result":false,"code":1306000,"data":null,"message":"APP authentication failed, please check if bk_app_code and bk_app_secret are valid"}"#;
        assert!(matches!(
            esb(app),
            Err(BkError::Auth {
                who: AuthSubject::App,
                ..
            })
        ));
    }

    #[test]
    fn gateway_400_validation_error_is_not_logged_in_and_401_is_our_app() {
        let expired = r#"{"error":{"code":"VALIDATION_ERROR","message":"登录态已过期"}}"#;
        assert_eq!(gw(400, expired).unwrap(), None);
        let ok = gw(
            200,
            r#"{"data":{"bk_username":"alice","tenant_id":"system"}}"#,
        )
        .unwrap();
        assert_eq!(
            ok.map(|u| (u.bk_username, u.display_name)),
            Some(("alice".into(), None))
        );
        let app = r#"{"code":1640101,"code_name":"APP_VERIFY_FAILED","message":"App authentication failed","result":false,"data":null}"#;
        assert!(matches!(gw(401, app), Err(BkError::Auth { .. })));
        assert!(matches!(
            gw(503, "<html>"),
            Err(BkError::Unavailable { .. })
        ));
    }

    #[test]
    fn a_success_without_a_username_is_undecodable() {
        assert!(matches!(
            gw(200, r#"{"data":{"tenant_id":"system"}}"#),
            Err(BkError::Undecodable { .. })
        ));
    }
}
