//! Prometheus metrics: a tower layer that counts every gRPC call by method and status code
//! with a latency histogram; the HTTP endpoint exposing a registry is in `scrape.rs`.
//!
//! Names and labels are go-grpc-prometheus's (`grpc_server_started_total`,
//! `grpc_server_handled_total`, `grpc_server_handling_seconds`; labels `grpc_type`,
//! `grpc_service`, `grpc_method`, `grpc_code`), so existing dashboards work. Only the methods
//! the server serves get their own labels ([`Methods`]); every other path is `unknown`, so no
//! caller can grow the series. [`new_registry`] adds the `process_*` metrics.
//!
//! gRPC carries its status in trailers (or, for errors before any message, in the headers of
//! a trailers-only response), so the layer wraps the response body and records when it sees
//! the trailers, when the body ends, or — if the client went away first — on drop as
//! CANCELLED. Each call is recorded exactly once, after its stream has finished. Requests that
//! are not gRPC (no `application/grpc` content type: static files served beside it) pass
//! uncounted.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use http::{HeaderMap, Request, Response};
use http_body::{Body, Frame};
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};
use tower::{Layer, Service};

pub use crate::methods::Methods;
pub use crate::scrape::{REFRESH_LIMIT, Refresh, render, serve, serve_with};

/// Latency buckets in seconds: fine at the low end, where a gateway's overhead lives.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    30.0, 60.0,
];

/// A registry holding the `process_*` metrics (CPU, memory, open files, start time) of this
/// process, where the platform reports them (Linux).
pub fn new_registry() -> Registry {
    let registry = Registry::new();
    #[cfg(target_os = "linux")]
    {
        let process = prometheus::process_collector::ProcessCollector::for_self();
        if let Err(e) = registry.register(Box::new(process)) {
            tracing::warn!(error = %e, "process metrics unavailable");
        }
    }
    registry
}

const LABELS: &[&str] = &["grpc_type", "grpc_service", "grpc_method"];

/// Counters and histograms of served gRPC calls.
#[derive(Clone)]
pub struct GrpcMetrics {
    started: IntCounterVec,
    handled: IntCounterVec,
    latency: HistogramVec,
}

impl GrpcMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let started = IntCounterVec::new(
            Opts::new("grpc_server_started_total", "gRPC calls started"),
            LABELS,
        )?;
        let handled = IntCounterVec::new(
            Opts::new(
                "grpc_server_handled_total",
                "gRPC calls completed, by method and code",
            ),
            &["grpc_type", "grpc_service", "grpc_method", "grpc_code"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "grpc_server_handling_seconds",
                "time from request to the end of the response stream, by method",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            LABELS,
        )?;
        registry.register(Box::new(started.clone()))?;
        registry.register(Box::new(handled.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        Ok(Self {
            started,
            handled,
            latency,
        })
    }

    /// The tower layer recording into these metrics, labelling the calls of `methods` by name
    /// and any other path as `unknown`.
    pub fn layer(&self, methods: Methods) -> GrpcMetricsLayer {
        GrpcMetricsLayer {
            metrics: Arc::new(self.clone()),
            methods,
        }
    }

    fn record(&self, labels: &[&str; 3], code: tonic::Code, started: Instant) {
        let [kind, service, method] = *labels;
        self.handled
            .with_label_values(&[kind, service, method, code_name(code)])
            .inc();
        self.latency
            .with_label_values(labels)
            .observe(started.elapsed().as_secs_f64());
    }
}

/// Upper-snake gRPC code names, as grpc-go and grpcurl print them.
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}

/// Layer for `tonic::transport::Server::layer`.
#[derive(Clone)]
pub struct GrpcMetricsLayer {
    metrics: Arc<GrpcMetrics>,
    methods: Methods,
}

impl<S> Layer<S> for GrpcMetricsLayer {
    type Service = GrpcMetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcMetricsService {
            inner,
            metrics: Arc::clone(&self.metrics),
            methods: self.methods.clone(),
        }
    }
}

/// The service produced by [`GrpcMetricsLayer`].
#[derive(Clone)]
pub struct GrpcMetricsService<S> {
    inner: S,
    metrics: Arc<GrpcMetrics>,
    methods: Methods,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for GrpcMetricsService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = Response<MeteredBody<ResBody>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        if !is_grpc(req.headers()) {
            // Plain HTTP beside gRPC (a web console's files) is no call to count.
            let fut = self.inner.call(req);
            return Box::pin(async move {
                let resp = fut.await?;
                Ok(resp.map(|inner| MeteredBody {
                    inner,
                    pending: None,
                }))
            });
        }
        let (service, method, kind) = self.methods.labels(req.uri().path());
        let labels = [kind.to_owned(), service.to_owned(), method.to_owned()];
        self.metrics
            .started
            .with_label_values(&[kind, service, method])
            .inc();
        let mut unanswered = Unanswered(Some(Pending {
            metrics: Arc::clone(&self.metrics),
            labels,
            started: Instant::now(),
            header_code: None,
        }));
        let fut = self.inner.call(req);
        Box::pin(async move {
            // Dropped before the handler answers (the client went away): recorded CANCELLED by
            // `unanswered`'s drop.
            let resp = fut.await?;
            let mut pending = unanswered.0.take().expect("taken only here");
            pending.header_code = status_code(resp.headers());
            let (parts, body) = resp.into_parts();
            Ok(Response::from_parts(
                parts,
                MeteredBody {
                    inner: body,
                    pending: Some(pending),
                },
            ))
        })
    }
}

/// A call whose handler has not answered yet: recorded CANCELLED if it is dropped so, since
/// the client that went away will never see an answer. The pending record is taken out of
/// it once the handler answers (or fails, which tonic's handlers never do).
struct Unanswered(Option<Pending>);

impl Drop for Unanswered {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            p.record(tonic::Code::Cancelled);
        }
    }
}

struct Pending {
    metrics: Arc<GrpcMetrics>,
    labels: [String; 3],
    started: Instant,
    header_code: Option<tonic::Code>,
}

impl Pending {
    fn record(self, code: tonic::Code) {
        let [a, b, c] = &self.labels;
        self.metrics.record(&[a, b, c], code, self.started);
    }
}

/// Whether a request is a gRPC call (`application/grpc`, `application/grpc+proto`, ...).
fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"))
}

fn status_code(headers: &HeaderMap) -> Option<tonic::Code> {
    let raw = headers
        .get("grpc-status")?
        .to_str()
        .ok()?
        .parse::<i32>()
        .ok()?;
    Some(tonic::Code::from_i32(raw))
}

pin_project_lite::pin_project! {
    /// A response body that records its call's metrics when the call ends.
    pub struct MeteredBody<B> {
        #[pin]
        inner: B,
        pending: Option<Pending>,
    }

    impl<B> PinnedDrop for MeteredBody<B> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(p) = this.project().pending.take() {
                let code = p.header_code.unwrap_or(tonic::Code::Cancelled);
                p.record(code);
            }
        }
    }
}

impl<B: Body> Body for MeteredBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                // Take the pending record only on the trailers frame, never on a data frame.
                if let Some(trailers) = frame.trailers_ref()
                    && let Some(p) = this.pending.take()
                {
                    let code = status_code(trailers).or(p.header_code);
                    p.record(code.unwrap_or(tonic::Code::Unknown));
                }
            }
            Poll::Ready(None) => {
                if let Some(p) = this.pending.take() {
                    let code = p.header_code.unwrap_or(tonic::Code::Unknown);
                    p.record(code);
                }
            }
            Poll::Ready(Some(Err(_))) => {
                if let Some(p) = this.pending.take() {
                    p.record(tonic::Code::Internal);
                }
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
