//! gRPC adapters: one file per RPC group, each translating protos (through `convert`) to calls
//! on the shared [`BkClient`].
//!
//! Every RPC runs in a `grpc` span carrying the RPC name, the operator and the BlueKing request
//! id (the client records `bk_request_id` on the span that is current when it is called). The
//! operator is the caller's `x-bk-username`, or the configured default, which is logged. When
//! BlueKing's app is not login-exempt (`bk.login_exempt = false`), each call also carries the
//! user's proof (`x-bk-token`, checked here against BlueKing's login, or `x-bk-access-token`),
//! which travels upstream instead of `bk_username`.

mod agent;
mod cmdb;
mod convert;
mod job;
mod job_lookup;
mod login;
mod watch;

use std::sync::Arc;

use tonic::{Request, Status};
use tracing::{Span, field};

pub use cmdb::CmdbApi;
pub use job::{JobApi, WatchJobInstanceStream};
pub use login::{LoginApi, Logins};
pub use watch::{WatchKey, WatchSnapshot};

use crate::bk::{BkClient, Credential, Operator};
use crate::config::WatchSettings;
use crate::error::GatewayError;
use crate::watch::{Gauges, StreamBounds, WatchHub};

/// What every adapter shares: the BlueKing client, the watch hub and the verified logins.
pub(crate) struct Shared {
    bk: BkClient,
    logins: Logins,
    hub: WatchHub<WatchKey, WatchSnapshot>,
    bounds: StreamBounds,
}

/// Builds both adapters over one client and one watch hub.
pub fn services(
    bk: BkClient,
    logins: Logins,
    watch: &WatchSettings,
    gauges: Option<Gauges>,
) -> (CmdbApi, JobApi) {
    let mut hub = WatchHub::new(watch.backoff());
    if let Some(g) = gauges {
        hub = hub.with_gauges(g);
    }
    let shared = Arc::new(Shared {
        bk,
        logins,
        hub,
        bounds: watch.bounds(),
    });
    (CmdbApi::new(Arc::clone(&shared)), JobApi::new(shared))
}

/// The span of one RPC.
fn rpc_span(rpc: &'static str) -> Span {
    tracing::info_span!(
        "grpc",
        rpc,
        operator = field::Empty,
        bk_request_id = field::Empty
    )
}

/// Metadata carrying the user's BlueKing login token (the `bk_token` cookie).
pub const BK_TOKEN_HEADER: &str = "x-bk-token";
/// Metadata carrying the user's OAuth access token.
pub const ACCESS_TOKEN_HEADER: &str = "x-bk-access-token";

/// The BlueKing operator of a call: the authenticated caller's user (see
/// `service_kit::auth::operator`); the default stands in, logged, only with authentication off.
/// With a login-exempt app the name is all BlueKing needs. Otherwise the call must carry the
/// user's proof: a `bk_token` is verified through BlueKing's login (cached), must belong to the
/// named user (PERMISSION_DENIED otherwise) and names the user when nobody else did; an
/// `access_token` is passed on for BlueKing to check. Without either the call is
/// UNAUTHENTICATED and sends nothing upstream.
async fn operator<T>(shared: &Shared, request: &Request<T>) -> Result<Operator, Status> {
    let (name, defaulted) =
        service_kit::auth::operator(request, Some(shared.bk.default_operator()))?;
    let op = if shared.bk.login_exempt() {
        if defaulted {
            tracing::info!(
                operator = %name,
                "no x-bk-username from the caller; using the default operator"
            );
        }
        Operator::exempt(name)
    } else {
        match credential(request)? {
            Some(Credential::BkToken(token)) => {
                let user = shared.logins.verify(&token).await.map_err(status)?;
                if !defaulted && user.bk_username != name {
                    return Err(Status::permission_denied(format!(
                        "the x-bk-token belongs to `{}`, not to `{name}`",
                        user.bk_username
                    )));
                }
                Operator::proven(user.bk_username, Credential::BkToken(token))
            }
            Some(c) => Operator::proven(name, c),
            None => {
                return Err(status(GatewayError::NotLoggedIn {
                    login_url: shared.logins.login_url().to_owned(),
                }));
            }
        }
    };
    Span::current().record("operator", op.name());
    Ok(op)
}

/// The user's proof sent with a call, if any: `x-bk-token`, else `x-bk-access-token`.
fn credential<T>(request: &Request<T>) -> Result<Option<Credential>, Status> {
    let md = request.metadata();
    for (header, make) in [
        (BK_TOKEN_HEADER, Credential::BkToken as fn(_) -> _),
        (ACCESS_TOKEN_HEADER, Credential::AccessToken),
    ] {
        let Some(raw) = md.get(header) else {
            continue;
        };
        let text = raw
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 1024)
            .ok_or_else(|| {
                Status::invalid_argument(format!("{header} must be 1 to 1024 ascii characters"))
            })?;
        return Ok(Some(make(secrecy::SecretString::from(text.to_owned()))));
    }
    Ok(None)
}

/// Any failure below the adapters as a status (through the one mapping in `error.rs`).
fn status(err: impl Into<GatewayError>) -> Status {
    let status = Status::from(err.into());
    tracing::info!(code = ?status.code(), message = status.message(), "rpc failed");
    status
}
