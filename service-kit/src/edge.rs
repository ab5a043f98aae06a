//! What every gRPC call passes through before the service: its deadline, and honest codes for
//! the failures tonic itself reports.
//!
//! Deadline: the caller's `grpc-timeout` is read here (and removed, so tonic's own timeout,
//! which answers CANCELLED `Timeout expired`, never fires). The handler runs with the deadline
//! in a task-local ([`remaining`]), so whatever it calls on the caller's behalf (job-gateway,
//! BlueKing) can be bounded by what is left; when it passes, the handler is dropped, which
//! cancels those calls, and the caller gets DEADLINE_EXCEEDED. A server stream still open at its
//! deadline ends there too, with DEADLINE_EXCEEDED in its trailers.
//!
//! Message size: tonic answers OUT_OF_RANGE when a message is over the decoding (or encoding)
//! limit; gRPC's code for that is RESOURCE_EXHAUSTED, so the answer is rewritten, with the
//! limit in the message, in the headers of a trailers-only answer and in trailers alike.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{HeaderMap, Request, Response};
use http_body::{Body, Frame};
use tokio::time::Instant;
use tonic::{Code, Status};
use tower::{Layer, Service};

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Time left before the deadline of the call being served, if the caller set one.
pub fn remaining() -> Option<Duration> {
    DEADLINE
        .try_with(|d| d.saturating_duration_since(Instant::now()))
        .ok()
}

/// `limit`, or less when the call being served has less time left.
pub fn bound(limit: Duration) -> Duration {
    remaining().map_or(limit, |left| left.min(limit))
}

/// Runs `fut` as if serving a call whose deadline is `deadline` (what the layer does; tests and
/// background work acting for a caller use it directly).
pub async fn with_deadline<F: Future>(deadline: Instant, fut: F) -> F::Output {
    DEADLINE.scope(deadline, fut).await
}

/// Layer for `tonic::transport::Server::layer`; put it inside the metrics layer so the codes it
/// produces are the ones counted.
#[derive(Debug, Clone, Copy, Default)]
pub struct EdgeLayer;

impl<S> Layer<S> for EdgeLayer {
    type Service = EdgeService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        EdgeService { inner }
    }
}

/// The service produced by [`EdgeLayer`].
#[derive(Debug, Clone)]
pub struct EdgeService<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for EdgeService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    ResBody: Default,
{
    type Response = Response<EdgeBody<ResBody>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let timeout = req
            .headers_mut()
            .remove("grpc-timeout")
            .and_then(|v| parse_timeout(v.to_str().ok()?));
        let deadline = timeout.map(|t| (Instant::now() + t, t));
        let fut = self.inner.call(req);
        Box::pin(async move {
            let mut resp = match deadline {
                None => fut.await?,
                Some((at, timeout)) => {
                    match tokio::time::timeout_at(at, with_deadline(at, fut)).await {
                        Ok(resp) => resp?,
                        Err(_) => {
                            return Ok(expired(timeout)
                                .into_http::<ResBody>()
                                .map(|b| EdgeBody::new(b, None)));
                        }
                    }
                }
            };
            honest_code(resp.headers_mut());
            Ok(resp.map(|b| EdgeBody::new(b, deadline)))
        })
    }
}

fn expired(timeout: Duration) -> Status {
    Status::deadline_exceeded(format!("deadline of {} ms exceeded", timeout.as_millis()))
}

/// A `grpc-timeout` value (`<digits><H|M|S|m|u|n>`, at most 8 digits), as the gRPC spec defines it.
pub fn parse_timeout(raw: &str) -> Option<Duration> {
    let unit = raw.chars().last()?;
    let digits = &raw[..raw.len() - unit.len_utf8()];
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        'H' => Duration::from_secs(n * 3600),
        'M' => Duration::from_secs(n * 60),
        'S' => Duration::from_secs(n),
        'm' => Duration::from_millis(n),
        'u' => Duration::from_micros(n),
        'n' => Duration::from_nanos(n),
        _ => return None,
    })
}

/// Rewrites tonic's OUT_OF_RANGE "message length too large" in `headers` (response headers or
/// trailers) to RESOURCE_EXHAUSTED naming the size and the limit.
fn honest_code(headers: &mut HeaderMap) {
    if headers.get("grpc-status").map(|v| v.as_bytes()) != Some(b"11") {
        return;
    }
    let Some(status) = Status::from_header_map(headers) else {
        return;
    };
    let Some(message) = too_large(status.message()) else {
        return;
    };
    let _ = Status::new(Code::ResourceExhausted, message).add_header(headers);
}

/// Our wording of tonic's "Error, {de,en}coded message length too large: found N bytes, the
/// limit is: L bytes".
fn too_large(message: &str) -> Option<String> {
    let (which, rest) = if let Some(rest) =
        message.strip_prefix("Error, decoded message length too large: found ")
    {
        ("request", rest)
    } else {
        let rest = message.strip_prefix("Error, encoded message length too large: found ")?;
        ("response", rest)
    };
    let (found, limit) = rest.split_once(" bytes, the limit is: ")?;
    let limit = limit.strip_suffix(" bytes")?;
    Some(format!(
        "{which} message of {found} bytes is over the limit of {limit} bytes"
    ))
}

pin_project_lite::pin_project! {
    /// A response body whose trailers get [`EdgeLayer`]'s honest codes, and which ends with
    /// DEADLINE_EXCEEDED when its call's deadline passes before it does.
    pub struct EdgeBody<B> {
        #[pin]
        inner: B,
        deadline: Option<(Pin<Box<tokio::time::Sleep>>, Duration)>,
        ended: bool,
    }
}

impl<B> EdgeBody<B> {
    fn new(inner: B, deadline: Option<(Instant, Duration)>) -> Self {
        Self {
            inner,
            deadline: deadline.map(|(at, t)| (Box::pin(tokio::time::sleep_until(at)), t)),
            ended: false,
        }
    }
}

impl<B: Body> Body for EdgeBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        if *this.ended {
            return Poll::Ready(None);
        }
        match this.inner.poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => match frame.into_trailers() {
                Ok(mut trailers) => {
                    honest_code(&mut trailers);
                    Poll::Ready(Some(Ok(Frame::trailers(trailers))))
                }
                Err(frame) => Poll::Ready(Some(Ok(frame))),
            },
            Poll::Pending => {
                let Some((sleep, timeout)) = this.deadline else {
                    return Poll::Pending;
                };
                if sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                *this.ended = true;
                let mut trailers = HeaderMap::new();
                let _ = expired(*timeout).add_header(&mut trailers);
                Poll::Ready(Some(Ok(Frame::trailers(trailers))))
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        if self.ended {
            return http_body::SizeHint::with_exact(0);
        }
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_parse_in_every_unit_and_bad_ones_are_ignored() {
        assert_eq!(parse_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse_timeout("2S"), Some(Duration::from_secs(2)));
        assert_eq!(parse_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_timeout("99999u"), Some(Duration::from_micros(99_999)));
        for bad in ["", "m", "123456789m", "12x", "-1S", "1.5S"] {
            assert_eq!(parse_timeout(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_oversized_message_becomes_resource_exhausted_with_the_limit() {
        let mut headers = HeaderMap::new();
        Status::out_of_range(
            "Error, decoded message length too large: found 5000000 bytes, the limit is: 4194304 bytes",
        )
        .add_header(&mut headers)
        .unwrap();
        honest_code(&mut headers);
        let status = Status::from_header_map(&headers).unwrap();
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(
            status.message(),
            "request message of 5000000 bytes is over the limit of 4194304 bytes"
        );
    }

    #[test]
    fn an_oversized_response_is_named_as_such() {
        assert_eq!(
            too_large(
                "Error, encoded message length too large: found 10 bytes, the limit is: 4 bytes"
            )
            .as_deref(),
            Some("response message of 10 bytes is over the limit of 4 bytes")
        );
    }

    #[test]
    fn other_out_of_range_answers_are_left_alone() {
        let mut headers = HeaderMap::new();
        Status::out_of_range("page_token past the end")
            .add_header(&mut headers)
            .unwrap();
        honest_code(&mut headers);
        assert_eq!(
            Status::from_header_map(&headers).unwrap().code(),
            Code::OutOfRange
        );
    }

    #[tokio::test]
    async fn the_remaining_time_is_known_only_inside_a_deadline() {
        assert_eq!(remaining(), None);
        assert_eq!(bound(Duration::from_secs(5)), Duration::from_secs(5));
        let deadline = Instant::now() + Duration::from_millis(300);
        with_deadline(deadline, async {
            let left = remaining().unwrap();
            assert!(left <= Duration::from_millis(300) && left > Duration::from_millis(100));
            assert!(bound(Duration::from_secs(5)) <= Duration::from_millis(300));
            assert_eq!(bound(Duration::from_millis(10)), Duration::from_millis(10));
        })
        .await;
    }
}
