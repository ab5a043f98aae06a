//! The client over real HTTP against a tiny axum server on `127.0.0.1:0` that records every
//! request and answers from a script: exact requests per transport, injected 429 / 502 /
//! hangs / refused connections, and request counts proving a launch is sent exactly once.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use serde_json::{Value, json};

use super::*;
use crate::config::{BkSettings, GseVersion, Transport};

mod cmdb_gse;
mod job;

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

impl Seen {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// What the server answers.
enum Reply {
    Json(u16, Value),
    JsonWithHeader(u16, Value, &'static str, &'static str),
    Text(u16, &'static str),
    Hang,
}

type Script = dyn Fn(usize, &Seen) -> Reply + Send + Sync;

struct Server {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    /// Serves `script(n, request)` for the n-th request (0-based).
    async fn start(script: impl Fn(usize, &Seen) -> Reply + Send + Sync + 'static) -> Self {
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let script: Arc<Script> = Arc::new(script);
        let log = Arc::clone(&seen);
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let log = Arc::clone(&log);
                let script = Arc::clone(&script);
                async move {
                    let req = Seen {
                        method,
                        uri,
                        headers,
                        body,
                    };
                    let n = {
                        let mut log = log.lock().unwrap();
                        log.push(req.clone());
                        log.len() - 1
                    };
                    match script(n, &req) {
                        Reply::Json(status, v) => {
                            (StatusCode::from_u16(status).unwrap(), axum::Json(v)).into_response()
                        }
                        Reply::JsonWithHeader(status, v, name, value) => {
                            let mut r = (StatusCode::from_u16(status).unwrap(), axum::Json(v))
                                .into_response();
                            r.headers_mut().insert(name, value.parse().unwrap());
                            r
                        }
                        Reply::Text(status, t) => {
                            (StatusCode::from_u16(status).unwrap(), t).into_response()
                        }
                        Reply::Hang => std::future::pending::<Response>().await,
                    }
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn client(&self, transport: Transport) -> BkClient {
        client_for(&self.base, transport)
    }
}

fn client_for(base: &str, transport: Transport) -> BkClient {
    let bk = BkSettings {
        transport,
        esb_url: base.to_owned(),
        apigw_url: base.to_owned(),
        app_code: "bk-log-backup".to_owned(),
        app_secret: Some(SecretString::from("s3cr3t".to_owned())),
        timeout_ms: 1_000,
        connect_timeout_ms: 300,
        gse_version: GseVersion::V1,
        rate_per_second: 0.0,
        biz_rate_per_second: 0.0,
        retry_max_attempts: 3,
        retry_base_ms: 1,
        retry_max_ms: 5,
        ..BkSettings::default()
    };
    BkClient::new(&bk).unwrap()
}

fn launched() -> Reply {
    Reply::Json(
        200,
        json!({"result": true, "code": 0, "data": {"job_instance_name": "backup-1f3c",
            "job_instance_id": 88120, "step_instance_id": 88121}, "job_request_id": "j-1"}),
    )
}

fn script_request() -> FastExecuteScript {
    FastExecuteScript {
        scope: Scope::biz(12),
        script: ScriptSource::Content {
            content: "ls -l \"$1\"".to_owned(),
            language: 1,
        },
        script_param: Some("/var/log".to_owned()),
        is_param_sensitive: false,
        timeout_secs: None,
        account: AccountRef::Id(41),
        target: TargetServer {
            host_ids: vec![2041, 2042],
            ..TargetServer::default()
        },
        task_name: Some("backup-1f3c".to_owned()),
        windows_interpreter: None,
        callback_url: None,
    }
}
