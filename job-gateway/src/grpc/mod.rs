//! gRPC adapters: one file per RPC group, each translating protos (through `convert`) to calls
//! on the shared [`BkClient`].
//!
//! Every RPC runs in a `grpc` span carrying the RPC name, the operator and the BlueKing request
//! id (the client records `bk_request_id` on the span that is current when it is called). The
//! operator is the caller's `x-bk-username`, or the configured default, which is logged.

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
pub use login::LoginApi;
pub use watch::{WatchKey, WatchSnapshot};

use crate::bk::BkClient;
use crate::config::WatchSettings;
use crate::error::GatewayError;
use crate::watch::{Gauges, StreamBounds, WatchHub};

/// What every adapter shares: the BlueKing client and the watch hub.
pub(crate) struct Shared {
    bk: BkClient,
    hub: WatchHub<WatchKey, WatchSnapshot>,
    bounds: StreamBounds,
}

/// Builds both adapters over one client and one watch hub.
pub fn services(bk: BkClient, watch: &WatchSettings, gauges: Option<Gauges>) -> (CmdbApi, JobApi) {
    let mut hub = WatchHub::new(watch.backoff());
    if let Some(g) = gauges {
        hub = hub.with_gauges(g);
    }
    let shared = Arc::new(Shared {
        bk,
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

/// The BlueKing operator of a call: the authenticated caller's user (see
/// `service_kit::auth::operator`); the default stands in, logged, only with authentication off.
fn operator<T>(bk: &BkClient, request: &Request<T>) -> Result<String, Status> {
    let (name, defaulted) = service_kit::auth::operator(request, Some(bk.default_operator()))?;
    if defaulted {
        tracing::info!(
            operator = %name,
            "no x-bk-username from the caller; using the default operator"
        );
    }
    Span::current().record("operator", name.as_str());
    Ok(name)
}

/// Any failure below the adapters as a status (through the one mapping in `error.rs`).
fn status(err: impl Into<GatewayError>) -> Status {
    let status = Status::from(err.into());
    tracing::info!(code = ?status.code(), message = status.message(), "rpc failed");
    status
}
