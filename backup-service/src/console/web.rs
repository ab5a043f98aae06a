//! grpc-web beside plain HTTP: tonic-web's translation answers every HTTP/1.1 request that is
//! not grpc-web with 400, which would leave a browser no way to load the console's files on
//! the same port. [`BrowserLayer`] sends grpc-web calls (any HTTP version) and HTTP/2 through
//! the translation, and lets other HTTP/1.1 requests (`GET /`, `GET /assets/…`) through to the
//! routes as they are.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Request, Response, Version};
use tonic::body::Body;
use tonic_web::{GrpcWebLayer, GrpcWebService};
use tower::{Layer, Service, ServiceExt as _};

/// Layer for `tonic::transport::Server::layer`, inside CORS.
#[derive(Debug, Clone, Copy, Default)]
pub struct BrowserLayer;

impl<S: Clone> Layer<S> for BrowserLayer {
    type Service = Browser<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Browser {
            web: GrpcWebLayer::new().layer(inner.clone()),
            plain: inner,
        }
    }
}

/// The service produced by [`BrowserLayer`].
#[derive(Debug, Clone)]
pub struct Browser<S> {
    web: GrpcWebService<S>,
    plain: S,
}

/// Whether `req` goes through grpc-web translation: a grpc-web call, or anything over HTTP/2
/// (native gRPC, which the translation passes through untouched).
pub fn translated<B>(req: &Request<B>) -> bool {
    let grpc_web = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc-web"));
    grpc_web || req.version() == Version::HTTP_2
}

impl<S, ResBody> Service<Request<Body>> for Browser<S>
where
    S: Service<Request<Body>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    ResBody::Error: Into<tonic::codegen::StdError> + std::fmt::Display,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, S::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Each call takes a clone of the service it goes to and waits for that one's readiness.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        if translated(&req) {
            Box::pin(self.web.clone().oneshot(req))
        } else {
            let plain = self.plain.clone().oneshot(req);
            Box::pin(async move { Ok(plain.await?.map(Body::new)) })
        }
    }
}
