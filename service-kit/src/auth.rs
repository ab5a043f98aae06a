//! Caller authentication and identity, shared by both services.
//!
//! Callers present `authorization: Bearer <token>`; tokens come from settings. The check is an
//! interceptor applied to the product services only, so health and reflection stay open for
//! load balancers and grpcurl. The caller's BlueKing username travels separately in
//! `x-bk-username`: it is who BlueKing checks permissions for and who records name as
//! operator, not a credential.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tonic::metadata::MetadataMap;
use tonic::{Request, Status};

/// Metadata key carrying the caller's BlueKing username.
pub const USERNAME_HEADER: &str = "x-bk-username";

/// The `[auth]` section of both services.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// Accepted bearer tokens; a comma-separated list in the environment.
    #[serde(deserialize_with = "secret_list")]
    pub tokens: Vec<SecretString>,
    /// Serve without checking tokens (development only); must be set explicitly.
    pub allow_unauthenticated: bool,
}

fn secret_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<SecretString>, D::Error> {
    Ok(crate::settings::string_or_list(d)?
        .into_iter()
        .map(SecretString::from)
        .collect())
}

impl AuthSettings {
    /// Why these settings cannot be served, if they cannot.
    pub fn problem(&self) -> Option<&'static str> {
        if self.tokens.is_empty() && !self.allow_unauthenticated {
            return Some(
                "no tokens configured: set auth.tokens (or auth.allow_unauthenticated = true for development)",
            );
        }
        if self.tokens.iter().any(|t| t.expose_secret().len() < 16) {
            return Some("every token must be at least 16 characters");
        }
        None
    }
}

/// Interceptor that admits a call only with one of the configured bearer tokens.
#[derive(Clone)]
pub struct BearerAuth {
    tokens: Arc<[SecretString]>,
    enabled: bool,
}

impl std::fmt::Debug for BearerAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerAuth")
            .field("tokens", &self.tokens.len())
            .field("enabled", &self.enabled)
            .finish()
    }
}

impl BearerAuth {
    /// The interceptor for `settings`; with no tokens and `allow_unauthenticated` it admits all.
    pub fn new(settings: &AuthSettings) -> Self {
        Self {
            tokens: settings.tokens.clone().into(),
            enabled: !settings.tokens.is_empty() || !settings.allow_unauthenticated,
        }
    }

    /// Checks the `authorization` metadata.
    pub fn check(&self, metadata: &MetadataMap) -> Result<(), Status> {
        self.identify(metadata).map(|_| ())
    }

    /// Checks the `authorization` metadata and says who presented it: the configured token it
    /// matched (`None` when authentication is off).
    pub fn identify(&self, metadata: &MetadataMap) -> Result<Option<Caller>, Status> {
        if !self.enabled {
            return Ok(None);
        }
        let header = metadata
            .get("authorization")
            .ok_or_else(|| Status::unauthenticated("missing authorization metadata"))?;
        let presented = header
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .ok_or_else(|| Status::unauthenticated("authorization must be `Bearer <token>`"))?;
        // Every token is compared, whichever matches.
        let matched = self.tokens.iter().enumerate().fold(None, |found, (i, t)| {
            let eq = constant_time_eq(t.expose_secret().as_bytes(), presented.as_bytes());
            if eq { Some(i) } else { found }
        });
        match matched {
            Some(i) => Ok(Some(Caller(format!("token#{}", i + 1)))),
            None => Err(Status::unauthenticated("invalid bearer token")),
        }
    }
}

/// Who an authenticated call came from: which configured token it presented (`token#1` is the
/// first of `auth.tokens`), never the token itself. The interceptor puts it in the request's
/// extensions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Caller(pub String);

impl tonic::service::Interceptor for BearerAuth {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(caller) = self.identify(request.metadata())? {
            request.extensions_mut().insert(caller);
        }
        Ok(request)
    }
}

/// Compares without an early exit on the first differing byte.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The BlueKing username of the caller: `x-bk-username` when sent, else `default`.
///
/// The boolean says whether the default was used, so callers can log it. A malformed name is
/// INVALID_ARGUMENT rather than silently replaced.
pub fn operator(metadata: &MetadataMap, default: &str) -> Result<(String, bool), Status> {
    let Some(raw) = metadata.get(USERNAME_HEADER) else {
        return Ok((default.to_owned(), true));
    };
    let name = raw
        .to_str()
        .map_err(|_| Status::invalid_argument("x-bk-username must be ascii"))?
        .trim();
    if name.is_empty() {
        return Ok((default.to_owned(), true));
    }
    let valid = name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@'));
    if !valid {
        return Err(Status::invalid_argument(
            "x-bk-username must be 1-64 characters of letters, digits, `_`, `-`, `.` or `@`",
        ));
    }
    Ok((name.to_owned(), false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(tokens: &[&str]) -> AuthSettings {
        AuthSettings {
            tokens: tokens
                .iter()
                .map(|t| SecretString::from(t.to_string()))
                .collect(),
            allow_unauthenticated: false,
        }
    }

    fn md(pairs: &[(&'static str, &str)]) -> MetadataMap {
        let mut m = MetadataMap::new();
        for (k, v) in pairs {
            m.insert(*k, v.parse().unwrap());
        }
        m
    }

    const TOKEN: &str = "0123456789abcdef-token";

    #[test]
    fn a_configured_token_is_admitted() {
        let auth = BearerAuth::new(&settings(&["another-long-token-xx", TOKEN]));
        auth.check(&md(&[("authorization", &format!("Bearer {TOKEN}"))]))
            .unwrap();
    }

    #[test]
    fn a_caller_is_known_by_which_token_it_presented() {
        let auth = BearerAuth::new(&settings(&["another-long-token-xx", TOKEN]));
        let who = auth
            .identify(&md(&[("authorization", &format!("Bearer {TOKEN}"))]))
            .unwrap();
        assert_eq!(who, Some(Caller("token#2".to_owned())));
    }

    #[test]
    fn a_missing_or_wrong_token_is_unauthenticated() {
        let auth = BearerAuth::new(&settings(&[TOKEN]));
        for m in [
            md(&[]),
            md(&[("authorization", "Bearer nope")]),
            md(&[("authorization", TOKEN)]),
            md(&[("authorization", &format!("Basic {TOKEN}"))]),
        ] {
            assert_eq!(
                auth.check(&m).unwrap_err().code(),
                tonic::Code::Unauthenticated
            );
        }
    }

    #[test]
    fn no_tokens_without_the_explicit_opt_out_is_a_settings_problem() {
        assert!(settings(&[]).problem().is_some());
        let open = AuthSettings {
            tokens: vec![],
            allow_unauthenticated: true,
        };
        assert!(open.problem().is_none());
        BearerAuth::new(&open).check(&md(&[])).unwrap();
        assert!(settings(&["short"]).problem().is_some());
    }

    #[test]
    fn the_operator_defaults_when_no_username_is_sent() {
        assert_eq!(
            operator(&md(&[]), "admin").unwrap(),
            ("admin".to_owned(), true)
        );
        assert_eq!(
            operator(&md(&[(USERNAME_HEADER, "alice")]), "admin").unwrap(),
            ("alice".to_owned(), false)
        );
    }

    #[test]
    fn a_malformed_username_is_rejected_not_replaced() {
        let err = operator(&md(&[(USERNAME_HEADER, "al ice;rm")]), "admin").unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
    }
}
