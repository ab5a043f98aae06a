//! The channel to job-gateway: HTTP/2 keepalive PINGs (so a dead connection is found before a
//! call is), the `grpc-timeout` a call carries (what is left of the caller's deadline, when
//! serving one), and that timeout's expiry reported as DEADLINE_EXCEEDED: tonic's client
//! enforces `grpc-timeout` itself and would say CANCELLED `Timeout expired`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tonic::Status;
use tonic::codegen::http;
use tonic::transport::{Channel, Endpoint};

use super::CALL_TIMEOUT;
use crate::config::JobGatewaySettings;

/// The channel to job-gateway, with its own `grpc-timeout` timer's expiry reported as
/// DEADLINE_EXCEEDED (tonic says CANCELLED `Timeout expired`).
#[derive(Debug, Clone)]
pub(super) struct Wire(Channel);

impl Wire {
    /// A lazily connecting channel to `settings.url`.
    pub(super) fn connect_lazy(
        settings: &JobGatewaySettings,
    ) -> Result<Self, tonic::transport::Error> {
        let mut endpoint = Endpoint::from_shared(settings.url.clone())?
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true);
        if settings.keepalive_interval_ms > 0 {
            endpoint = endpoint
                .http2_keep_alive_interval(Duration::from_millis(settings.keepalive_interval_ms))
                .keep_alive_timeout(Duration::from_millis(settings.keepalive_timeout_ms))
                .keep_alive_while_idle(true);
        }
        Ok(Self(endpoint.connect_lazy()))
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl tower::Service<http::Request<tonic::body::Body>> for Wire {
    type Response = http::Response<tonic::body::Body>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.0.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        let call = self.0.call(req);
        Box::pin(async move { call.await.map_err(timed_out) })
    }
}

fn timed_out(e: tonic::transport::Error) -> BoxError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(err) = source {
        if err.is::<tonic::TimeoutExpired>() {
            return Box::new(Status::deadline_exceeded(
                "job-gateway did not answer within the call's deadline",
            ));
        }
        source = err.source();
    }
    Box::new(e)
}

/// Taken off the caller's remaining time when forwarding it, so job-gateway gives up (and
/// says DEADLINE_EXCEEDED) just before we must answer, rather than just after.
const FORWARD_MARGIN: Duration = Duration::from_millis(20);

/// The `grpc-timeout` of a call: [`CALL_TIMEOUT`], or what is left of the deadline of the
/// call being served (less [`FORWARD_MARGIN`]) when that is less.
pub fn call_timeout() -> Duration {
    match service_kit::edge::remaining() {
        None => CALL_TIMEOUT,
        Some(left) => left.saturating_sub(FORWARD_MARGIN).min(CALL_TIMEOUT),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::{Gateway, Runner};

    #[tokio::test]
    async fn a_call_made_for_a_caller_carries_no_more_than_its_remaining_time() {
        assert_eq!(call_timeout(), CALL_TIMEOUT);
        let deadline = tokio::time::Instant::now() + Duration::from_millis(500);
        service_kit::edge::with_deadline(deadline, async {
            let t = call_timeout();
            assert!(
                t <= Duration::from_millis(480) && t > Duration::from_millis(300),
                "{t:?}"
            );
        })
        .await;
        let past = tokio::time::Instant::now();
        service_kit::edge::with_deadline(past, async {
            assert_eq!(call_timeout(), Duration::ZERO);
        })
        .await;
    }

    /// Reads frames from `conn` until a PING arrives; false if the connection ends first.
    async fn ping_arrives(conn: &mut tokio::net::TcpStream) -> bool {
        use tokio::io::AsyncReadExt;
        let mut preface = [0u8; 24];
        if conn.read_exact(&mut preface).await.is_err() {
            return false;
        }
        let mut header = [0u8; 9];
        loop {
            if conn.read_exact(&mut header).await.is_err() {
                return false;
            }
            if header[3] == 0x6 {
                return true;
            }
            let len =
                usize::from(header[0]) << 16 | usize::from(header[1]) << 8 | usize::from(header[2]);
            let mut payload = vec![0u8; len];
            if conn.read_exact(&mut payload).await.is_err() {
                return false;
            }
        }
    }

    #[tokio::test]
    async fn the_client_pings_job_gateway_to_find_a_dead_connection() {
        use tokio::io::AsyncWriteExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let settings = JobGatewaySettings {
            url: format!("http://{}", listener.local_addr().unwrap()),
            keepalive_interval_ms: 100,
            keepalive_timeout_ms: 1000,
            ..JobGatewaySettings::default()
        };
        let gateway = Gateway::new(&settings, Runner::Script).unwrap();
        // A call opens the connection; the "server" answers only HTTP/2's SETTINGS.
        let call = tokio::spawn(async move { gateway.agent_status(3, &[1], "admin").await });
        let (mut conn, _) = listener.accept().await.unwrap();
        conn.write_all(&[0, 0, 0, 0x4, 0, 0, 0, 0, 0])
            .await
            .unwrap();
        conn.write_all(&[0, 0, 0, 0x4, 0x1, 0, 0, 0, 0])
            .await
            .unwrap();
        let pinged = tokio::time::timeout(Duration::from_secs(5), ping_arrives(&mut conn)).await;
        assert_eq!(pinged.ok(), Some(true), "no keepalive PING from the client");
        call.abort();
    }
}
