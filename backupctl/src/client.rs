//! The connection to backup-service: one channel (TLS with the given CA for `https://`), and an
//! interceptor that adds who is calling to every request: `authorization: Bearer <token>`,
//! `x-bk-username` and `x-bk-token`, as configured.

use proto::backup::v1::backup_service_client::BackupServiceClient;
use proto::backup::v1::host_service_client::HostServiceClient;
use proto::backup::v1::schedule_service_client::ScheduleServiceClient;
use tonic::codec::CompressionEncoding;
use tonic::metadata::MetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

use crate::config::{Secret, Settings};
use crate::error::CliError;

/// Adds the caller's metadata to every call.
#[derive(Clone)]
pub struct Caller {
    token: Option<Secret>,
    user: Option<String>,
    bk_token: Option<Secret>,
}

impl tonic::service::Interceptor for Caller {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let bad =
            |what: &str| tonic::Status::invalid_argument(format!("{what} is not valid metadata"));
        let md = req.metadata_mut();
        if let Some(t) = &self.token {
            let v = MetadataValue::try_from(format!("Bearer {}", t.expose()))
                .map_err(|_| bad("the token"))?;
            md.insert("authorization", v);
        }
        if let Some(u) = &self.user {
            md.insert("x-bk-username", u.parse().map_err(|_| bad("--user"))?);
        }
        if let Some(t) = &self.bk_token {
            md.insert(
                "x-bk-token",
                t.expose().parse().map_err(|_| bad("--bk-token"))?,
            );
        }
        Ok(req)
    }
}

type Svc = InterceptedService<Channel, Caller>;

/// Clients of backup-service's services sharing one connection.
#[derive(Clone)]
pub struct Clients {
    channel: Channel,
    caller: Caller,
}

impl Clients {
    /// Connects to `settings.server`.
    pub async fn connect(settings: &Settings) -> Result<Self, CliError> {
        let connect_err = |cause: String| CliError::Connect {
            server: settings.server.clone(),
            cause,
        };
        let mut endpoint = Endpoint::from_shared(settings.server.clone())
            .map_err(|_| CliError::Usage(format!("--server `{}` is not a URL", settings.server)))?
            .connect_timeout(std::time::Duration::from_secs(10));
        if settings.server.starts_with("https://") {
            let mut tls = ClientTlsConfig::new().with_enabled_roots();
            if let Some(path) = &settings.ca_cert {
                let pem = std::fs::read(path).map_err(|e| {
                    CliError::Config(format!("cannot read CA file {}: {e}", path.display()))
                })?;
                tls = tls.ca_certificate(Certificate::from_pem(pem));
            }
            endpoint = endpoint
                .tls_config(tls)
                .map_err(|e| connect_err(e.to_string()))?;
        }
        let channel = endpoint
            .connect()
            .await
            .map_err(|e| connect_err(source_chain(&e)))?;
        Ok(Self {
            channel,
            caller: Caller {
                token: settings.token.clone(),
                user: settings.user.clone(),
                bk_token: settings.bk_token.clone(),
            },
        })
    }

    /// BackupService.
    pub fn backup(&self) -> BackupServiceClient<Svc> {
        BackupServiceClient::with_interceptor(self.channel.clone(), self.caller.clone())
            .accept_compressed(CompressionEncoding::Gzip)
            .max_decoding_message_size(256 * 1024 * 1024)
    }

    /// HostService.
    pub fn hosts(&self) -> HostServiceClient<Svc> {
        HostServiceClient::with_interceptor(self.channel.clone(), self.caller.clone())
            .accept_compressed(CompressionEncoding::Gzip)
    }

    /// ScheduleService.
    pub fn schedules(&self) -> ScheduleServiceClient<Svc> {
        ScheduleServiceClient::with_interceptor(self.channel.clone(), self.caller.clone())
            .accept_compressed(CompressionEncoding::Gzip)
    }
}

fn source_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        text.push_str(": ");
        text.push_str(&s.to_string());
        cur = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use tonic::service::Interceptor;

    use super::*;

    #[test]
    fn every_call_carries_the_token_the_user_and_the_login_token_configured() {
        let mut caller = Caller {
            token: Some(Secret::new("svc-token")),
            user: Some("alice".into()),
            bk_token: Some(Secret::new("tkn-alice")),
        };
        let req = caller.call(tonic::Request::new(())).unwrap();
        let md = req.metadata();
        assert_eq!(md.get("authorization").unwrap(), "Bearer svc-token");
        assert_eq!(md.get("x-bk-username").unwrap(), "alice");
        assert_eq!(md.get("x-bk-token").unwrap(), "tkn-alice");
        let mut person = Caller {
            token: None,
            user: None,
            bk_token: Some(Secret::new("tkn-bob")),
        };
        let req = person.call(tonic::Request::new(())).unwrap();
        assert!(req.metadata().get("authorization").is_none());
        assert_eq!(req.metadata().get("x-bk-token").unwrap(), "tkn-bob");
    }
}
