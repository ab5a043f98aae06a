//! BlueKing login: who a `bk_token` belongs to, on both front doors.
//!
//! ESB's `bk_login/get_user` answers inside the ESB envelope; ESB itself verifies the `bk_token` before
//! the component runs, so an unknown or expired token is ESB's own `1306000`. The login gateway's
//! `bk-tokens/verify/` and `bk-tokens/userinfo/` answer `{"data": …}` with no `result`/`code`, and an
//! unknown, expired or missing token is HTTP 400 `{"error": {"code": "VALIDATION_ERROR", …}}`.

use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::api::Caller;
use crate::envelope::{Answer, Transport};
use crate::state::AppState;
use crate::world::model::UserDef;

/// The login APIs the simulator serves on the gateway (`/login/api/v3/open/bk-tokens/{api}/`).
pub const GATEWAY_APIS: &[&str] = &["verify", "userinfo"];

fn profile(u: &UserDef) -> (String, String, String) {
    (
        u.display_name.clone().unwrap_or_else(|| u.name.clone()),
        u.language.clone().unwrap_or_else(|| "zh-cn".to_string()),
        u.time_zone
            .clone()
            .unwrap_or_else(|| "Asia/Shanghai".to_string()),
    )
}

/// Answers one login call whose app credentials already passed the front door.
pub fn answer(
    st: &AppState,
    transport: Transport,
    api: &str,
    caller: &Caller,
    bk_token: Option<&str>,
    lang_en: bool,
    request_id: &str,
) -> Answer {
    if transport == Transport::Esb {
        let user = caller
            .username
            .as_deref()
            .and_then(|u| st.world.users.get(u));
        let data = match user {
            Some(u) => {
                let (display, language, zone) = profile(u);
                json!({"bk_username": u.name, "chname": display, "language": language, "time_zone": zone})
            }
            None => json!({"bk_username": caller.username, "chname": caller.username}),
        };
        let body = json!({"result": true, "code": 0, "message": "", "data": data, "request_id": request_id});
        return Answer {
            status: StatusCode::OK,
            code: 0,
            response: (StatusCode::OK, axum::Json(body)).into_response(),
        };
    }
    let user = bk_token
        .and_then(|t| st.sessions.user(&st.world, t))
        .and_then(|u| st.world.users.get(u));
    let Some(u) = user else {
        let message = if lang_en {
            "Login session has expired"
        } else {
            "登录态已过期"
        };
        let body = json!({"error": {"code": "VALIDATION_ERROR", "message": message}});
        return Answer {
            status: StatusCode::BAD_REQUEST,
            code: 400,
            response: (StatusCode::BAD_REQUEST, axum::Json(body)).into_response(),
        };
    };
    let mut data = json!({"bk_username": u.name, "tenant_id": "system"});
    if api == "userinfo" {
        let (display, language, zone) = profile(u);
        data["display_name"] = Value::String(display);
        data["language"] = Value::String(language);
        data["time_zone"] = Value::String(zone);
    }
    Answer {
        status: StatusCode::OK,
        code: 0,
        response: (StatusCode::OK, axum::Json(json!({"data": data}))).into_response(),
    }
}
