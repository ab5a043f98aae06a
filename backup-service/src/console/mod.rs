//! The browser's way in, on the gRPC port: HTTP/1.1 and grpc-web (translated to gRPC by
//! tonic-web, so every call passes the same interceptors, auth included), CORS for the origins
//! `console.allowed_origins` names (none by default: the console itself is same-origin), and
//! the console's files, embedded at build time, at `/` ([`assets`]).
//!
//! Layers, outermost first: CORS (answers preflights before anything else sees them), grpc-web
//! translation ([`BrowserLayer`], which lets plain HTTP/1.1 past it), then the server's gRPC
//! layers. The files are the routes' fallback, so a path no
//! gRPC service claims is a file; a gRPC call to an unknown method still gets UNIMPLEMENTED.

pub mod assets;
mod web;

pub use web::{Browser, BrowserLayer};

use std::time::Duration;

use axum::body::Body;
use http::header::{self, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use tonic::service::Routes;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::ConsoleConfig;

/// Request headers a grpc-web caller from another origin may send.
const ALLOWED_HEADERS: &[&str] = &[
    "content-type",
    "x-grpc-web",
    "x-user-agent",
    "grpc-timeout",
    "authorization",
    "x-bk-username",
    "x-bk-token",
];

/// Response headers such a caller may read: where grpc-web carries a trailers-only status.
const EXPOSED_HEADERS: &[&str] = &["grpc-status", "grpc-message", "grpc-status-details-bin"];

/// The CORS layer for `config`: credentials allowed (the `bk_token` cookie), only the listed
/// origins; with none listed, no cross-origin page may call.
pub fn cors(config: &ConsoleConfig) -> CorsLayer {
    let origins = config
        .allowed_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok());
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_credentials(true)
        .allow_methods([Method::POST, Method::GET, Method::OPTIONS])
        .allow_headers(names(ALLOWED_HEADERS))
        .expose_headers(names(EXPOSED_HEADERS))
        .max_age(Duration::from_secs(24 * 3600))
}

fn names(headers: &[&'static str]) -> Vec<HeaderName> {
    headers.iter().map(|h| HeaderName::from_static(h)).collect()
}

/// `routes` with the console's files as their fallback (or, when the console is disabled, a
/// 404 saying so).
pub fn with_console(routes: Routes, config: &ConsoleConfig) -> Routes {
    let enabled = config.enabled;
    let router = routes
        .into_axum_router()
        .fallback(move |req: Request<Body>| fallback(enabled, req));
    Routes::from(router)
}

async fn fallback(enabled: bool, req: Request<Body>) -> Response<Body> {
    let grpc = req
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
    if grpc {
        let (parts, ()) = tonic::Status::unimplemented("")
            .into_http::<()>()
            .into_parts();
        return Response::from_parts(parts, Body::empty());
    }
    if !enabled {
        return text(
            StatusCode::NOT_FOUND,
            "the web console is disabled on this server (console.enabled = false)\n",
        );
    }
    let head = match *req.method() {
        Method::GET => false,
        Method::HEAD => true,
        _ => {
            let mut resp = text(StatusCode::METHOD_NOT_ALLOWED, "GET or HEAD only\n");
            resp.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return resp;
        }
    };
    assets::respond(req.uri().path(), req.headers(), head)
}

fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Body::from(body))
        .expect("static response")
}
