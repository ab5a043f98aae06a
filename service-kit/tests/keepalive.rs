//! The servers' HTTP/2 keepalive: a connection whose peer stops answering PINGs is closed,
//! instead of holding its streams and memory forever.

use std::time::{Duration, Instant};

use service_kit::grpc::ServerSettings;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_stream::wrappers::TcpListenerStream;

/// HTTP/2 frame type of PING.
const PING: u8 = 0x6;

#[tokio::test]
async fn a_peer_that_stops_answering_pings_is_disconnected() {
    let settings = ServerSettings {
        keepalive_interval_ms: 200,
        keepalive_timeout_ms: 200,
        ..ServerSettings::default()
    };
    let (_reporter, health) = tonic_health::server::health_reporter();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        settings
            .builder()
            .add_service(health)
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    // A client that says hello in HTTP/2 and then never answers anything.
    let mut conn = TcpStream::connect(addr).await.unwrap();
    conn.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .unwrap();
    conn.write_all(&[0, 0, 0, 0x4, 0, 0, 0, 0, 0])
        .await
        .unwrap();
    let started = Instant::now();
    let mut pings = 0;
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        let mut header = [0u8; 9];
        loop {
            if conn.read_exact(&mut header).await.is_err() {
                return;
            }
            let len =
                usize::from(header[0]) << 16 | usize::from(header[1]) << 8 | usize::from(header[2]);
            if header[3] == PING {
                pings += 1;
            }
            let mut payload = vec![0u8; len];
            if conn.read_exact(&mut payload).await.is_err() {
                return;
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the silent peer was never disconnected");
    assert!(pings >= 1, "no PING was sent");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}
