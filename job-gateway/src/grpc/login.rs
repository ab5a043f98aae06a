//! `LoginService`: a person's BlueKing `bk_token` turned into their BlueKing user, remembered for
//! `bk.login_cache_ms`. The same [`Logins`] checks the `x-bk-token` of every call when the app is
//! not login-exempt.
//!
//! Decision: only verified tokens are remembered, keyed by the token's SHA-256 (the token itself is
//! never kept, logged or put on a span). The bound is honest and tested: a token BlueKing expires
//! within `login_cache_ms` after it was verified still passes until that time has elapsed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use proto::jobgateway::v1 as pb;
use proto::jobgateway::v1::login_service_server::LoginService;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use tonic::{Request, Response, Status};
use tracing::Instrument;

use super::{rpc_span, status};
use crate::bk::{BkClient, LoginUser};
use crate::error::GatewayError;

/// Verified tokens kept at most; past it, entries older than the window are dropped first.
const CACHE_SOFT_LIMIT: usize = 10_000;

/// Verified users by the SHA-256 of their token, with the time BlueKing vouched for them.
type Verified = HashMap<[u8; 32], (Instant, LoginUser)>;

/// Verified login tokens; clones share the cache.
#[derive(Clone)]
pub struct Logins {
    bk: BkClient,
    login_url: String,
    ttl: Duration,
    cache: Arc<Mutex<Verified>>,
}

impl Logins {
    /// Asks `bk`, names `login_url` on refusal, remembers answers for `ttl`.
    pub fn new(bk: BkClient, login_url: String, ttl: Duration) -> Self {
        Self {
            bk,
            login_url,
            ttl,
            cache: Arc::default(),
        }
    }

    /// The page people log in at.
    pub fn login_url(&self) -> &str {
        &self.login_url
    }

    fn cached(&self, key: &[u8; 32]) -> Option<LoginUser> {
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache
            .get(key)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, u)| u.clone())
    }

    fn remember(&self, key: [u8; 32], user: &LoginUser) {
        if self.ttl.is_zero() {
            return;
        }
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= CACHE_SOFT_LIMIT {
            cache.retain(|_, (at, _)| at.elapsed() < self.ttl);
        }
        cache.insert(key, (Instant::now(), user.clone()));
    }

    /// The user `token` belongs to; NotLoggedIn when it is empty, unknown or expired.
    pub async fn verify(&self, token: &SecretString) -> Result<LoginUser, GatewayError> {
        let not_logged_in = || GatewayError::NotLoggedIn {
            login_url: self.login_url.clone(),
        };
        if token.expose_secret().trim().is_empty() {
            return Err(not_logged_in());
        }
        let key: [u8; 32] = Sha256::digest(token.expose_secret().as_bytes()).into();
        if let Some(user) = self.cached(&key) {
            return Ok(user);
        }
        match self.bk.login_user(token).await? {
            Some(user) => {
                self.remember(key, &user);
                Ok(user)
            }
            None => Err(not_logged_in()),
        }
    }
}

/// The `LoginService` adapter.
#[derive(Clone)]
pub struct LoginApi {
    logins: Logins,
}

impl LoginApi {
    /// An adapter over `logins`.
    pub fn new(logins: Logins) -> Self {
        Self { logins }
    }
}

#[tonic::async_trait]
impl LoginService for LoginApi {
    async fn verify_token(
        &self,
        request: Request<pb::VerifyTokenRequest>,
    ) -> Result<Response<pb::VerifyTokenResponse>, Status> {
        let span = rpc_span("VerifyToken");
        async {
            let token = SecretString::from(request.into_inner().bk_token);
            let user = self.logins.verify(&token).await.map_err(status)?;
            tracing::Span::current().record("operator", user.bk_username.as_str());
            Ok(Response::new(pb::VerifyTokenResponse {
                display_name: user
                    .display_name
                    .unwrap_or_else(|| user.bk_username.clone()),
                bk_username: user.bk_username,
            }))
        }
        .instrument(span)
        .await
    }
}
