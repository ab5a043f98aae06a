//! The console's built files (`console/dist`, made by `scripts/console.sh build`), embedded in
//! the binary when it is compiled; a binary built without them still serves, and `/` says how to
//! build them.
//!
//! Paths: a file that exists is served with its content type; Vite's content-hashed files under
//! `assets/` are cached for a year (`immutable`), everything else is revalidated (`no-cache`)
//! against its ETag. A path with no file extension that is not a file is one of the
//! single-page app's own routes and gets `index.html`; a missing file with an extension is 404.

use std::borrow::Cow;

use axum::body::Body;
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Response, StatusCode};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "../console/dist/"]
#[allow_missing = true]
struct Dist;

/// What a path names among the console's files.
#[derive(Debug, PartialEq, Eq)]
pub enum Target<'a> {
    /// This file.
    File(&'a str),
    /// A route of the app: `index.html`.
    App,
    /// Nothing.
    Missing,
}

/// Resolves a request path against the files `exists` knows.
pub fn resolve<'a>(path: &'a str, exists: impl Fn(&str) -> bool) -> Target<'a> {
    let file = path.trim_start_matches('/');
    if file.is_empty() {
        return Target::App;
    }
    if file.split('/').any(|seg| seg == "..") {
        return Target::Missing;
    }
    if exists(file) {
        return Target::File(file);
    }
    let last = file.rsplit('/').next().unwrap_or(file);
    if last.contains('.') {
        Target::Missing
    } else {
        Target::App
    }
}

/// The `Cache-Control` of a served file.
pub fn cache_control(file: &str) -> &'static str {
    if file.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    }
}

/// Whether the console's files were built into this binary.
pub fn built() -> bool {
    Dist::get("index.html").is_some()
}

/// What `scripts/console.sh build` was not run for: the answer to `/` of a binary built without
/// the console.
pub const NOT_BUILT: &str = "<!doctype html><meta charset=utf-8><title>bk-log-backup</title>\
<h1>The web console was not built into this binary</h1>\
<p>Build it with <code>scripts/console.sh build</code> (Node.js 18 or newer; it runs \
<code>npm ci</code> and <code>npm run build</code> in <code>console/</code>), then rebuild \
backup-service: <code>cargo build -p backup-service</code>. gRPC and grpc-web are served \
either way.</p>\n";

/// The response to `GET`/`HEAD path`.
pub fn respond(path: &str, request: &HeaderMap, head: bool) -> Response<Body> {
    let file = match resolve(path, |f| Dist::get(f).is_some()) {
        Target::File(f) => f,
        Target::App => "index.html",
        Target::Missing => {
            return plain(
                StatusCode::NOT_FOUND,
                "text/plain; charset=utf-8",
                "not found\n",
            );
        }
    };
    let Some(found) = Dist::get(file) else {
        return plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/html; charset=utf-8",
            NOT_BUILT,
        );
    };
    let etag = format!("\"{}\"", hex(&found.metadata.sha256_hash()[..16]));
    let mut resp = Response::builder()
        .header(
            header::CONTENT_TYPE,
            content_type(found.metadata.mimetype()),
        )
        .header(header::CACHE_CONTROL, cache_control(file))
        .header(header::ETAG, &etag)
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes());
    if fresh {
        resp = resp.status(StatusCode::NOT_MODIFIED);
        return resp.body(Body::empty()).expect("valid response");
    }
    resp = resp.header(header::CONTENT_LENGTH, found.data.len());
    let body = match (head, found.data) {
        (true, _) => Body::empty(),
        // Embedded files are 'static: served without a copy.
        (false, Cow::Borrowed(data)) => Body::from(Bytes::from_static(data)),
        (false, Cow::Owned(data)) => Body::from(data),
    };
    resp.body(body).expect("valid response")
}

/// `mime` with a UTF-8 charset for text.
fn content_type(mime: &str) -> HeaderValue {
    let textual = mime.starts_with("text/")
        || matches!(
            mime,
            "application/javascript" | "application/json" | "image/svg+xml"
        );
    let value = if textual && !mime.contains("charset") {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    };
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("application/octet-stream"))
}

fn plain(status: StatusCode, content_type: &'static str, body: &'static str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from(body))
        .expect("static response")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(f: &str) -> bool {
        matches!(f, "index.html" | "favicon.svg" | "assets/index-3f2a.js")
    }

    #[test]
    fn the_root_and_app_routes_are_the_app() {
        assert_eq!(resolve("/", files), Target::App);
        assert_eq!(resolve("", files), Target::App);
        assert_eq!(resolve("/records", files), Target::App);
        assert_eq!(resolve("/backups/0193-ab/watch", files), Target::App);
    }

    #[test]
    fn files_that_exist_are_served_and_missing_ones_with_an_extension_are_not_found() {
        assert_eq!(
            resolve("/assets/index-3f2a.js", files),
            Target::File("assets/index-3f2a.js")
        );
        assert_eq!(resolve("/favicon.svg", files), Target::File("favicon.svg"));
        assert_eq!(resolve("/assets/gone-1234.js", files), Target::Missing);
        assert_eq!(resolve("/robots.txt", files), Target::Missing);
    }

    #[test]
    fn a_path_climbing_out_names_nothing() {
        assert_eq!(resolve("/assets/../index.html", files), Target::Missing);
        assert_eq!(resolve("/../etc/passwd", files), Target::Missing);
    }

    #[test]
    fn only_hashed_assets_are_cached_for_good() {
        assert_eq!(
            cache_control("assets/index-3f2a.js"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(cache_control("index.html"), "no-cache");
        assert_eq!(cache_control("favicon.svg"), "no-cache");
    }

    #[test]
    fn text_types_say_utf_8() {
        assert_eq!(content_type("text/html"), "text/html; charset=utf-8");
        assert_eq!(
            content_type("application/javascript"),
            "application/javascript; charset=utf-8"
        );
        assert_eq!(content_type("image/png"), "image/png");
    }
}
