//! Helpers for tests that run a service binary as a real process: start it on port 0, learn
//! its address from its log, probe health and reflection, send it signals.
//!
//! Enabled by the `testing` feature; only dev-dependencies turn it on.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tokio_stream::StreamExt;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

/// A service process started by [`spawn_service`]; killed on drop if still running.
pub struct ServiceProcess {
    child: Child,
    /// The address its gRPC server listens on.
    pub addr: SocketAddr,
    lines: mpsc::Receiver<String>,
}

/// Starts `binary` with `envs` (plus `RUST_LOG=info`, human logs) and waits up to 60 s for
/// the log line `<name> serving addr=<ip:port>` that says it accepts connections.
pub fn spawn_service(binary: &str, args: &[&str], envs: &[(&str, String)]) -> ServiceProcess {
    let mut child = Command::new(binary)
        .args(args)
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
    let stderr = child.stderr.take().expect("stderr is piped");
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("[service] {line}");
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                if let Some(addr) = serving_addr(&line) {
                    return ServiceProcess { child, addr, lines };
                }
            }
            Err(_) => {
                let _ = child.kill();
                let status = child.wait();
                panic!("{binary} did not report its address (exit: {status:?})");
            }
        }
    }
}

fn serving_addr(line: &str) -> Option<SocketAddr> {
    if !line.contains(" serving") {
        return None;
    }
    let rest = &line[line.find("addr=")? + 5..];
    rest.split_whitespace().next()?.parse().ok()
}

impl ServiceProcess {
    /// `http://<addr>` for tonic clients.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sends SIGKILL: the process dies without any cleanup, as in a crash.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM (from this process: no `kill` program needed on the machine).
    pub fn terminate(&self) {
        let pid = rustix::process::Pid::from_child(&self.child);
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("send SIGTERM");
    }

    /// Sends SIGHUP (the services re-read their token file on it).
    pub fn hangup(&self) {
        let pid = rustix::process::Pid::from_child(&self.child);
        rustix::process::kill_process(pid, rustix::process::Signal::HUP).expect("send SIGHUP");
    }

    /// Waits up to `limit` for the process to exit; `None` if it is still running.
    ///
    /// Async so the caller's runtime keeps driving its client connections: a runtime blocked
    /// in a sleep could not answer the server's GOAWAY and would hold shutdown open.
    pub async fn wait_for_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }

    /// Log lines received so far (drains them).
    pub fn drain_log(&self) -> Vec<String> {
        self.lines.try_iter().collect()
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `binary` to completion with `envs`; returns its exit status and stderr.
pub fn run_to_exit(binary: &str, args: &[&str], envs: &[(&str, String)]) -> (ExitStatus, String) {
    let out = Command::new(binary)
        .args(args)
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {binary}: {e}"));
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn channel(endpoint: &str) -> Channel {
    Channel::from_shared(endpoint.to_owned())
        .expect("valid endpoint")
        .connect()
        .await
        .expect("connect")
}

/// `grpc.health.v1.Health/Check` for `service` ("" = the server as a whole).
pub async fn health_status(endpoint: &str, service: &str) -> tonic_health::ServingStatus {
    let mut client = HealthClient::new(channel(endpoint).await);
    let resp = client
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .expect("health check");
    match resp.into_inner().status {
        1 => tonic_health::ServingStatus::Serving,
        2 => tonic_health::ServingStatus::NotServing,
        _ => tonic_health::ServingStatus::Unknown,
    }
}

/// The service names listed through `grpc.reflection.v1`, sorted.
pub async fn reflected_services(endpoint: &str) -> Vec<String> {
    let mut client = ServerReflectionClient::new(channel(endpoint).await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = client
        .server_reflection_info(tokio_stream::once(request))
        .await
        .expect("reflection call")
        .into_inner();
    let msg = stream.next().await.expect("one response").expect("ok");
    let Some(MessageResponse::ListServicesResponse(list)) = msg.message_response else {
        panic!("unexpected reflection response: {msg:?}");
    };
    let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    names
}

/// The files `grpc.reflection.v1` returns for `symbol` (e.g. `google.rpc.BadRequest`): the
/// file defining it first, then what it imports; the error status when the symbol is unknown.
pub async fn reflected_files_for_symbol(
    endpoint: &str,
    symbol: &str,
) -> Result<Vec<String>, String> {
    use prost::Message;
    let mut client = ServerReflectionClient::new(channel(endpoint).await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::FileContainingSymbol(symbol.to_owned())),
    };
    let mut stream = client
        .server_reflection_info(tokio_stream::once(request))
        .await
        .expect("reflection call")
        .into_inner();
    let msg = stream.next().await.expect("one response").expect("ok");
    match msg.message_response {
        Some(MessageResponse::FileDescriptorResponse(files)) => Ok(files
            .file_descriptor_proto
            .iter()
            .map(|raw| {
                prost_types::FileDescriptorProto::decode(raw.as_slice())
                    .expect("a file descriptor")
                    .name()
                    .to_owned()
            })
            .collect()),
        Some(MessageResponse::ErrorResponse(e)) => Err(e.error_message),
        other => panic!("unexpected reflection response: {other:?}"),
    }
}

/// An HTTP/2 transport for generated gRPC clients without tonic's client-side deadline timer:
/// `grpc-timeout` is still sent, so what a caller sees is the server's own answer when the
/// deadline passes (tonic's `Channel` would give up first, with its own CANCELLED).
pub type Untimed = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    tonic::body::Body,
>;

/// An [`Untimed`] transport and the origin to pass to a generated client's `with_origin`.
pub fn untimed(addr: SocketAddr) -> (Untimed, http::Uri) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(true)
        .build_http();
    let origin = format!("http://{addr}").parse().expect("an origin");
    (client, origin)
}

/// The text of an `auth.tokens_file` holding `tokens`, each `(name, secret, policy)` where the
/// policy is its TOML line (`user = "alice"` or `delegator = true`).
pub fn token_file_text(tokens: &[(&str, &str, &str)]) -> String {
    tokens
        .iter()
        .map(|(name, secret, policy)| {
            format!("[[token]]\nname = \"{name}\"\nsecret = \"{secret}\"\n{policy}\n")
        })
        .collect()
}
