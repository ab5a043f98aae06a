//! The browser's way in on backup-service's one port: grpc-web over HTTP/1.1 (unary and the
//! WatchBackup stream) with the same authentication as native gRPC, CORS only for the origins
//! `console.allowed_origins` names, the console's files at `/`, and gRPC's own health,
//! reflection and UNIMPLEMENTED untouched beside them.

use bytes::Bytes;
use e2e::TOKEN;
use e2e::flow::start;
use e2e::stack::{Door, Stack};
use prost::Message as _;
use proto::backup::v1 as pb;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use sqlx::postgres::PgConnectOptions;

const OTHER_ORIGIN: &str = "http://console.example.test:8080";

/// An HTTP/1.1-only client, as a browser's fetch may be.
fn http1() -> reqwest::Client {
    reqwest::Client::builder()
        .http1_only()
        .build()
        .expect("client")
}

/// One grpc-web data frame holding `msg`.
fn frame(msg: &impl prost::Message) -> Vec<u8> {
    let body = msg.encode_to_vec();
    let mut out = vec![0u8];
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

/// A grpc-web answer: its data frames and the status from its trailer frame (or, for a
/// trailers-only answer, its headers).
struct WebAnswer {
    messages: Vec<Bytes>,
    status: Option<String>,
    message: Option<String>,
}

fn parse(headers: &HeaderMap, body: &[u8]) -> WebAnswer {
    let mut answer = WebAnswer {
        messages: Vec::new(),
        status: headers
            .get("grpc-status")
            .map(|v| v.to_str().unwrap().to_owned()),
        message: headers
            .get("grpc-message")
            .map(|v| v.to_str().unwrap().to_owned()),
    };
    let mut rest = body;
    while rest.len() >= 5 {
        let flag = rest[0];
        let len = u32::from_be_bytes(rest[1..5].try_into().unwrap()) as usize;
        let payload = &rest[5..5 + len];
        if flag & 0x80 == 0 {
            answer.messages.push(Bytes::copy_from_slice(payload));
        } else {
            for line in std::str::from_utf8(payload).unwrap().split("\r\n") {
                if let Some((k, v)) = line.split_once(':') {
                    match k.trim().to_ascii_lowercase().as_str() {
                        "grpc-status" => answer.status = Some(v.trim().to_owned()),
                        "grpc-message" => answer.message = Some(v.trim().to_owned()),
                        _ => {}
                    }
                }
            }
        }
        rest = &rest[5 + len..];
    }
    assert!(rest.is_empty(), "a grpc-web body is whole frames");
    answer
}

/// Calls `method` of BackupService by grpc-web over HTTP/1.1 with `headers`.
async fn web_call(
    stack: &Stack,
    method: &str,
    msg: &impl prost::Message,
    headers: &[(&str, &str)],
) -> (reqwest::StatusCode, HeaderMap, WebAnswer) {
    let mut req = http1()
        .post(format!(
            "http://{}/backup.v1.BackupService/{method}",
            stack.backup.addr
        ))
        .header(CONTENT_TYPE, "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .body(frame(msg));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("grpc-web answers over HTTP/1.1");
    assert_eq!(resp.version(), reqwest::Version::HTTP_11);
    let (status, headers) = (resp.status(), resp.headers().clone());
    let body = resp.bytes().await.expect("body");
    let answer = parse(&headers, &body);
    (status, headers, answer)
}

fn as_alice() -> Vec<(&'static str, String)> {
    vec![
        ("authorization", format!("Bearer {TOKEN}")),
        ("x-bk-username", "alice".to_owned()),
    ]
}

fn borrowed<'a>(h: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    h.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[sqlx::test(migrations = false)]
async fn a_grpc_web_call_over_http_1_1_reaches_backup_service_with_the_same_authentication(
    _p: sqlx::pool::PoolOptions<sqlx::Postgres>,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    let mut native = stack.client("alice").await;
    let id = native
        .start_backup(start(&[1001], "/data/logs", "log"))
        .await
        .expect("start")
        .into_inner()
        .backup
        .unwrap()
        .backup_id;

    let list = pb::ListBackupsRequest {
        bk_biz_id: 3,
        ..Default::default()
    };
    let (code, headers, answer) = web_call(&stack, "ListBackups", &list, &[]).await;
    assert_eq!(code, 200);
    assert_eq!(
        answer.status.as_deref(),
        Some("16"),
        "no token is UNAUTHENTICATED, as over gRPC: {:?}",
        answer.message
    );
    assert!(answer.messages.is_empty());
    assert!(
        headers[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/grpc-web"),
        "{headers:?}"
    );

    let wrong = [
        ("authorization", "Bearer not-the-token-0123456789"),
        ("x-bk-username", "alice"),
    ];
    let (_, _, answer) = web_call(&stack, "ListBackups", &list, &wrong).await;
    assert_eq!(answer.status.as_deref(), Some("16"), "{:?}", answer.message);

    let alice = as_alice();
    let (_, _, answer) = web_call(&stack, "ListBackups", &list, &borrowed(&alice)).await;
    assert_eq!(answer.status.as_deref(), Some("0"), "{:?}", answer.message);
    assert_eq!(answer.messages.len(), 1);
    let listed = pb::ListBackupsResponse::decode(answer.messages[0].clone()).unwrap();
    assert_eq!(
        listed
            .backups
            .iter()
            .map(|b| b.backup_id.as_str())
            .collect::<Vec<_>>(),
        [id.as_str()]
    );

    // A person, as a browser calls: the BlueKing login token as the bk_token cookie, no bearer
    // token. Alice may see business 3; bob may not.
    let cookie = [("cookie", "theme=dark; bk_token=tkn-alice")];
    let (_, _, answer) = web_call(&stack, "ListBackups", &list, &cookie).await;
    assert_eq!(answer.status.as_deref(), Some("0"), "{:?}", answer.message);
    let bob = [("cookie", "bk_token=tkn-bob")];
    let (_, _, answer) = web_call(&stack, "ListBackups", &list, &bob).await;
    assert_eq!(answer.status.as_deref(), Some("7"), "{:?}", answer.message);
    let expired = [("cookie", "bk_token=tkn-nobody")];
    let (_, _, answer) = web_call(&stack, "ListBackups", &list, &expired).await;
    assert_eq!(answer.status.as_deref(), Some("16"), "{:?}", answer.message);

    // The server stream the console's progress view reads: snapshot first, the terminal
    // state last, then an OK trailer frame.
    let watch = pb::WatchBackupRequest {
        backup_id: id.clone(),
        after_seq: 0,
    };
    let (_, _, answer) = web_call(&stack, "WatchBackup", &watch, &borrowed(&alice)).await;
    assert_eq!(answer.status.as_deref(), Some("0"), "{:?}", answer.message);
    let events: Vec<pb::WatchBackupResponse> = answer
        .messages
        .iter()
        .map(|m| pb::WatchBackupResponse::decode(m.clone()).unwrap())
        .collect();
    assert!(matches!(
        events.first().and_then(|e| e.event.as_ref()),
        Some(pb::watch_backup_response::Event::Snapshot(_))
    ));
    match events.last().and_then(|e| e.event.as_ref()) {
        Some(pb::watch_backup_response::Event::StateChanged(s)) => {
            assert_eq!(s.state, pb::BackupState::Succeeded as i32, "{s:?}")
        }
        other => panic!("the stream ends with the terminal state, not {other:?}"),
    }

    // A malformed request is refused as over gRPC, naming the field.
    let bad = pb::WatchBackupRequest {
        backup_id: "not-a-uuid".to_owned(),
        after_seq: 0,
    };
    let (_, _, answer) = web_call(&stack, "WatchBackup", &bad, &borrowed(&alice)).await;
    assert_eq!(answer.status.as_deref(), Some("3"), "{:?}", answer.message);
    assert!(answer.message.unwrap_or_default().contains("backup_id"));
    stack.stop().await;
}

async fn preflight(stack: &Stack, origin: &str) -> HeaderMap {
    let resp = http1()
        .request(
            reqwest::Method::OPTIONS,
            format!(
                "http://{}/backup.v1.BackupService/ListBackups",
                stack.backup.addr
            ),
        )
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,x-grpc-web,x-user-agent,x-bk-token",
        )
        .send()
        .await
        .expect("preflight answered");
    assert!(resp.status().is_success(), "{}", resp.status());
    resp.headers().clone()
}

#[sqlx::test(migrations = false)]
async fn cors_preflight_is_allowed_for_a_configured_origin_and_refused_for_another(
    _p: sqlx::pool::PoolOptions<sqlx::Postgres>,
    db: PgConnectOptions,
) {
    let stack = Stack::start_with(&db, Door::Esb, |s| {
        s.console.allowed_origins = vec![OTHER_ORIGIN.to_owned()];
    })
    .await;
    let allowed = preflight(&stack, OTHER_ORIGIN).await;
    assert_eq!(allowed["access-control-allow-origin"], OTHER_ORIGIN);
    assert_eq!(allowed["access-control-allow-credentials"], "true");
    let headers = allowed["access-control-allow-headers"].to_str().unwrap();
    for h in ["content-type", "x-grpc-web", "x-bk-token"] {
        assert!(headers.contains(h), "{h} not allowed: {headers}");
    }
    assert!(
        allowed["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );

    let refused = preflight(&stack, "http://evil.example.test").await;
    assert!(
        refused.get("access-control-allow-origin").is_none(),
        "{refused:?}"
    );

    // The actual call from the allowed origin can read its status headers.
    let alice = as_alice();
    let mut headers = borrowed(&alice);
    headers.push(("origin", OTHER_ORIGIN));
    let list = pb::ListBackupsRequest {
        bk_biz_id: 3,
        ..Default::default()
    };
    let (_, h, answer) = web_call(&stack, "ListBackups", &list, &headers).await;
    assert_eq!(answer.status.as_deref(), Some("0"));
    assert_eq!(h["access-control-allow-origin"], OTHER_ORIGIN);
    assert!(
        h["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .contains("grpc-status")
    );
    stack.stop().await;

    // Without the setting no other origin is allowed.
    let stack = Stack::start(&db, Door::Esb).await;
    let refused = preflight(&stack, OTHER_ORIGIN).await;
    assert!(
        refused.get("access-control-allow-origin").is_none(),
        "{refused:?}"
    );
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn the_console_is_served_at_the_root_with_app_routes_falling_back_to_index_html(
    _p: sqlx::pool::PoolOptions<sqlx::Postgres>,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    let base = format!("http://{}", stack.backup.addr);
    let client = http1();
    let root = client.get(format!("{base}/")).send().await.expect("GET /");
    assert_eq!(root.version(), reqwest::Version::HTTP_11);
    let root_type = root.headers()[CONTENT_TYPE].to_str().unwrap().to_owned();
    assert_eq!(root_type, "text/html; charset=utf-8");
    if !backup_service::console::assets::built() {
        // This binary was built without `scripts/console.sh build`: `/` says how.
        assert_eq!(root.status(), 503);
        let page = root.text().await.unwrap();
        assert!(page.contains("scripts/console.sh build"), "{page}");
        stack.stop().await;
        return;
    }
    assert_eq!(root.status(), 200);
    assert_eq!(root.headers()["cache-control"], "no-cache");
    let page = root.text().await.unwrap();
    assert!(page.contains("<div id=\"app\">"), "{page}");

    let route = client.get(format!("{base}/records")).send().await.unwrap();
    assert_eq!(route.status(), 200);
    assert_eq!(
        route.text().await.unwrap(),
        page,
        "an app route is index.html"
    );

    // The page's own script: hashed, cached for good, served as JavaScript.
    let script = page
        .split("src=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("index.html loads a script");
    assert!(script.starts_with("/assets/"), "{script}");
    let js = client.get(format!("{base}{script}")).send().await.unwrap();
    assert_eq!(js.status(), 200);
    assert_eq!(js.headers()[CONTENT_TYPE], "text/javascript; charset=utf-8");
    assert_eq!(
        js.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let etag = js.headers()["etag"].clone();
    let again = client
        .get(format!("{base}{script}"))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    let missing = client
        .get(format!("{base}/assets/gone-0000.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let post = client.post(format!("{base}/")).send().await.unwrap();
    assert_eq!(post.status(), 405);
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn health_reflection_and_unimplemented_are_unchanged_beside_the_console(
    _p: sqlx::pool::PoolOptions<sqlx::Postgres>,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    let endpoint = format!("http://{}", stack.backup.addr);
    assert_eq!(
        service_kit::testing::health_status(&endpoint, "backup.v1.BackupService").await,
        tonic_health::ServingStatus::Serving
    );
    let services = service_kit::testing::reflected_services(&endpoint).await;
    assert!(
        services.iter().any(|s| s == "backup.v1.BackupService"),
        "{services:?}"
    );

    // A gRPC call to a method nobody serves is UNIMPLEMENTED, not the console's page.
    let mut grpc = tonic::client::Grpc::new(stack.backup.channel().await);
    grpc.ready().await.unwrap();
    let err = grpc
        .unary::<_, pb::ListBackupsResponse, _>(
            tonic::Request::new(pb::ListBackupsRequest::default()),
            "/backup.v1.NoSuchService/Nothing".parse().unwrap(),
            tonic_prost::ProstCodec::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unimplemented, "{err:?}");
    stack.stop().await;
}
