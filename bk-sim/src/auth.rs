//! Authentication as each front door does it: ESB reads credentials from the body (or the
//! `X-Bkapi-Authorization` header when present); the gateway reads only the header.

use axum::http::HeaderMap;
use serde_json::{Map, Value};

use crate::api::Caller;
use crate::envelope::{Answer, esb_error, gateway_error};
use crate::login::Sessions;
use crate::world::World;

#[derive(Debug, Default)]
struct Creds {
    app_code: Option<String>,
    app_secret: Option<String>,
    bk_token: Option<String>,
    bk_username: Option<String>,
    access_token: Option<String>,
}

fn text(m: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|k| m.get(*k).and_then(Value::as_str))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn creds(m: &Map<String, Value>) -> Creds {
    Creds {
        app_code: text(m, &["bk_app_code", "app_code"]),
        app_secret: text(m, &["bk_app_secret", "app_secret"]),
        bk_token: text(m, &["bk_token"]),
        bk_username: text(m, &["bk_username", "username"]),
        access_token: text(m, &["access_token"]),
    }
}

fn header_json(headers: &HeaderMap) -> Option<Result<Map<String, Value>, ()>> {
    let raw = headers.get("x-bkapi-authorization")?;
    let parsed = raw
        .to_str()
        .ok()
        .and_then(|s| serde_json::from_str::<Value>(s).ok());
    Some(match parsed {
        Some(Value::Object(m)) => Ok(m),
        _ => Err(()),
    })
}

/// ESB: app code and secret known and matching, then a user from `bk_token` (or `bk_username` for
/// login-exempt apps). Failures are HTTP 200 `1306000`.
pub fn esb(
    world: &World,
    sessions: &Sessions,
    headers: &HeaderMap,
    params: &Map<String, Value>,
    request_id: &str,
) -> Result<Caller, Box<Answer>> {
    let c = match header_json(headers) {
        Some(Ok(m)) => creds(&m),
        Some(Err(())) => {
            return Err(Box::new(esb_error(
                1_306_000,
                "Request header X-Bkapi-Authorization is not a valid JSON",
                request_id,
            )));
        }
        None => creds(params),
    };
    let fail = |msg: &str| Box::new(esb_error(1_306_000, msg, request_id));
    let Some(code) = c.app_code else {
        return Err(fail("APP Code [bk_app_code] cannot be empty"));
    };
    let Some(secret) = c.app_secret else {
        return Err(fail("APP Secret [bk_app_secret] cannot be empty"));
    };
    let Some(app) = world.apps.get(&code).filter(|a| a.secret == secret) else {
        return Err(fail(
            "APP authentication failed, please check if bk_app_code and bk_app_secret are valid",
        ));
    };
    let username = match (c.bk_token, c.bk_username) {
        (Some(t), _) => match sessions.user(world, &t) {
            Some(u) => u.to_string(),
            None => {
                return Err(fail(
                    "User authentication failed, please check if the bk_token is valid",
                ));
            }
        },
        (None, Some(u)) if app.login_exempt => u,
        _ => {
            return Err(fail(
                "User authentication failed, please provide a valid user identity, such as bk_token, bk_username",
            ));
        }
    };
    Ok(Caller {
        app_code: code,
        username: Some(username),
    })
}

fn app_failed(reason: &str) -> Box<Answer> {
    Box::new(gateway_error(
        401,
        1_640_101,
        "APP_VERIFY_FAILED",
        &format!("App authentication failed [reason=\"{reason}\"]"),
    ))
}

fn user_failed(reason: &str) -> Box<Answer> {
    Box::new(gateway_error(
        401,
        1_640_102,
        "USER_VERIFY_FAILED",
        &format!("User authentication failed [reason=\"{reason}\"]"),
    ))
}

/// API gateway: the header only. JOB user resources also verify the user; CMDB and GSE resources take the
/// user as given.
pub fn gateway(
    world: &World,
    sessions: &Sessions,
    headers: &HeaderMap,
    gateway: &str,
    verify_user: bool,
) -> Result<Caller, Box<Answer>> {
    let c = match header_json(headers) {
        None => return Err(app_failed("app code cannot be empty")),
        Some(Err(())) => {
            return Err(app_failed(
                "request header X-Bkapi-Authorization is not a valid JSON",
            ));
        }
        Some(Ok(m)) => creds(&m),
    };
    if c.access_token.is_some() && c.app_code.is_none() {
        return Err(app_failed("access_token is invalid"));
    }
    let Some(code) = c.app_code else {
        return Err(app_failed("app code cannot be empty"));
    };
    let Some(app) = world
        .apps
        .get(&code)
        .filter(|a| Some(&a.secret) == c.app_secret.as_ref())
    else {
        return Err(app_failed("bk_app_code or bk_app_secret is incorrect"));
    };
    if app
        .gateways
        .as_ref()
        .is_some_and(|g| !g.iter().any(|x| x == gateway))
    {
        return Err(Box::new(gateway_error(
            403,
            1_640_301,
            "APP_NO_PERMISSION",
            "App has no permission to the resource",
        )));
    }
    let token_user = match &c.bk_token {
        Some(t) => match sessions.user(world, t) {
            Some(u) => Some(u.to_string()),
            None => return Err(user_failed("bk_token is invalid")),
        },
        None => None,
    };
    let username = match (token_user, c.bk_username) {
        (Some(u), _) => Some(u),
        (None, Some(u)) if app.login_exempt || !verify_user => Some(u),
        (None, _) if verify_user => {
            return Err(user_failed(
                "user authentication failed, please provide a valid user identity, such as bk_token",
            ));
        }
        (None, u) => u,
    };
    Ok(Caller {
        app_code: code,
        username,
    })
}
