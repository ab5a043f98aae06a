//! Caller authentication and identity, shared by both services.
//!
//! Services present `authorization: Bearer <token>`. Each configured token has a name and a
//! policy ([`Policy`]): it acts as one fixed BlueKing user, or it is a trusted *delegator*
//! that names the user per call in `x-bk-username`. Tokens come from `auth.tokens_file`
//! (see [`tokens`] for its format; re-read on change and on SIGHUP, see [`reload`]) and from
//! the legacy `auth.tokens` list, whose entries are delegators named `token#1`, `token#2`, ….
//!
//! The check is an interceptor applied to the product services only, so health and reflection
//! stay open for load balancers and grpcurl. It puts the caller's identity ([`Caller`]) in the
//! request's extensions; a fixed-user token naming someone else is PERMISSION_DENIED before
//! any handler runs. Handlers take the BlueKing user from [`operator`], which never falls back
//! to a default operator while authentication is on.
//!
//! A service that admits people ([`BearerAuth::admitting_people`]) also lets in a call without
//! a bearer token that carries a BlueKing login token ([`login`]); the handler must verify it.

pub mod login;
pub mod reload;
pub mod tokens;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use secrecy::SecretString;
use serde::Deserialize;
use tonic::metadata::MetadataMap;
use tonic::{Request, Status};

pub use login::{LoginToken, login_token};
pub use tokens::Policy;
use tokens::Token;

/// Metadata key carrying the caller's BlueKing username.
pub const USERNAME_HEADER: &str = "x-bk-username";

/// The `[auth]` section of both services.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// Legacy bearer tokens, each a delegator named `token#<n>`; a comma-separated list in the
    /// environment.
    #[serde(deserialize_with = "secret_list")]
    pub tokens: Vec<SecretString>,
    /// TOML file of named tokens with policies, re-read on change and on SIGHUP.
    pub tokens_file: Option<PathBuf>,
    /// How often the token file's modification time is checked, in seconds; 0 = on SIGHUP only.
    pub tokens_file_poll_secs: u64,
    /// Serve without checking tokens (development only); must be set explicitly.
    pub allow_unauthenticated: bool,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            tokens: Vec::new(),
            tokens_file: None,
            tokens_file_poll_secs: 5,
            allow_unauthenticated: false,
        }
    }
}

fn secret_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<SecretString>, D::Error> {
    Ok(crate::settings::string_or_list(d)?
        .into_iter()
        .map(SecretString::from)
        .collect())
}

impl AuthSettings {
    /// Why these settings cannot be served, if they cannot: the setting's key and the reason.
    pub fn problem(&self) -> Option<(&'static str, String)> {
        if self.tokens.is_empty() && self.tokens_file.is_none() && !self.allow_unauthenticated {
            return Some((
                "auth.tokens",
                "no tokens configured: set auth.tokens_file or auth.tokens (or auth.allow_unauthenticated = true for development)".to_owned(),
            ));
        }
        for (i, raw) in self.tokens.iter().enumerate() {
            if let Err(e) = Token::legacy(i + 1, raw) {
                return Some(("auth.tokens", e));
            }
        }
        if let Some(path) = &self.tokens_file
            && let Err(e) = tokens::load(path)
        {
            return Some(("auth.tokens_file", e));
        }
        None
    }

    fn enabled(&self) -> bool {
        !self.tokens.is_empty() || self.tokens_file.is_some() || !self.allow_unauthenticated
    }

    /// The legacy tokens followed by the token file's (`Err` if the file cannot be used).
    fn load(&self) -> Result<Vec<Token>, String> {
        let mut all: Vec<Token> = (self.tokens.iter().enumerate())
            .map(|(i, s)| Token::legacy(i + 1, s))
            .collect::<Result<_, _>>()?;
        if let Some(path) = &self.tokens_file {
            all.extend(tokens::load(path)?);
        }
        Ok(all)
    }
}

/// Who an authenticated call came from; the interceptor puts it in the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Caller {
    /// The name of the token presented (`token#1` is the first of `auth.tokens`), never the
    /// token itself.
    pub token: String,
    /// The BlueKing user the call acts as: the token's fixed user, or the user a delegator
    /// named; `None` for a delegator that named nobody.
    pub user: Option<String>,
}

/// Interceptor that admits a call only with one of the configured bearer tokens and applies
/// the token's policy to `x-bk-username`.
#[derive(Clone)]
pub struct BearerAuth {
    tokens: Arc<RwLock<Arc<[Token]>>>,
    settings: Arc<AuthSettings>,
    enabled: bool,
    people: bool,
}

impl std::fmt::Debug for BearerAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerAuth")
            .field("tokens", &self.current().len())
            .field("enabled", &self.enabled)
            .finish()
    }
}

impl BearerAuth {
    /// The interceptor for `settings` (checked by [`AuthSettings::problem`] first); with no
    /// tokens and `allow_unauthenticated` it admits all.
    pub fn new(settings: &AuthSettings) -> Self {
        let tokens = settings.load().unwrap_or_else(|e| {
            tracing::error!(error = %e, "tokens unusable; falling back to the auth.tokens list alone");
            let legacy = AuthSettings {
                tokens_file: None,
                ..settings.clone()
            };
            legacy.load().unwrap_or_default()
        });
        Self {
            tokens: Arc::new(RwLock::new(tokens.into())),
            settings: Arc::new(settings.clone()),
            enabled: settings.enabled(),
            people: false,
        }
    }

    /// The same interceptor, also admitting a call that carries no `authorization` but a
    /// person's login token ([`login_token`]): it puts the [`LoginToken`] in the request's
    /// extensions for the handler to verify.
    pub fn admitting_people(self) -> Self {
        Self {
            people: true,
            ..self
        }
    }

    fn current(&self) -> Arc<[Token]> {
        Arc::clone(&self.tokens.read().expect("token set lock"))
    }

    /// Re-reads the token file; a file that cannot be used keeps the last good set.
    pub fn reload(&self) -> Result<usize, String> {
        let fresh: Arc<[Token]> = self.settings.load()?.into();
        let n = fresh.len();
        *self.tokens.write().expect("token set lock") = fresh;
        Ok(n)
    }

    /// Checks the `authorization` metadata.
    pub fn check(&self, metadata: &MetadataMap) -> Result<(), Status> {
        self.identify(metadata).map(|_| ())
    }

    /// Checks the `authorization` metadata and the token's policy against `x-bk-username`, and
    /// says who the caller is (`None` when authentication is off).
    pub fn identify(&self, metadata: &MetadataMap) -> Result<Option<Caller>, Status> {
        if !self.enabled {
            return Ok(None);
        }
        let header = metadata.get("authorization").ok_or_else(|| {
            Status::unauthenticated(if self.people {
                "no credentials: a service sends `authorization: Bearer <token>`, a person their BlueKing login token as `x-bk-token` metadata or the `bk_token` cookie"
            } else {
                "missing authorization metadata"
            })
        })?;
        let presented = header
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .ok_or_else(|| Status::unauthenticated("authorization must be `Bearer <token>`"))?;
        let tokens = self.current();
        // Every token is compared, whichever matches.
        let matched = tokens
            .iter()
            .fold(
                None,
                |found, t| if t.matches(presented) { Some(t) } else { found },
            )
            .ok_or_else(|| Status::unauthenticated("invalid bearer token"))?;
        let named = username(metadata)?;
        let user = decide(&matched.name, &matched.policy, named)?;
        Ok(Some(Caller {
            token: matched.name.clone(),
            user,
        }))
    }
}

/// The user a call acts as under `policy` when `named` is the `x-bk-username` sent, or why not.
pub fn decide(
    token: &str,
    policy: &Policy,
    named: Option<String>,
) -> Result<Option<String>, Status> {
    match (policy, named) {
        (Policy::Delegator, named) => Ok(named),
        (Policy::User(fixed), None) => Ok(Some(fixed.clone())),
        (Policy::User(fixed), Some(n)) if n == *fixed => Ok(Some(n)),
        (Policy::User(fixed), Some(n)) => Err(Status::permission_denied(format!(
            "token `{token}` acts as `{fixed}` and may not act as `{n}` (only a delegator token may name the user)"
        ))),
    }
}

impl tonic::service::Interceptor for BearerAuth {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if self.people
            && request.metadata().get("authorization").is_none()
            && let Some(token) = login_token(request.metadata())
        {
            request.extensions_mut().insert(token);
            return Ok(request);
        }
        if let Some(caller) = self.identify(request.metadata())? {
            request.extensions_mut().insert(caller);
        }
        Ok(request)
    }
}

/// The BlueKing user a call acts as, and whether `default` stood in.
///
/// With authentication on it is the [`Caller`]'s user; a delegator that named nobody is
/// INVALID_ARGUMENT — `default` is never used then. With authentication off it is
/// `x-bk-username`, else `default`, else INVALID_ARGUMENT. A malformed name is INVALID_ARGUMENT
/// rather than silently replaced.
pub fn operator<T>(request: &Request<T>, default: Option<&str>) -> Result<(String, bool), Status> {
    let required = |who: &str| {
        Status::invalid_argument(format!(
            "x-bk-username metadata is required{who}: it names the BlueKing user the call acts as"
        ))
    };
    if let Some(caller) = request.extensions().get::<Caller>() {
        return match &caller.user {
            Some(user) => Ok((user.clone(), false)),
            None => Err(required(&format!(
                " (token `{}` is a delegator)",
                caller.token
            ))),
        };
    }
    match (username(request.metadata())?, default) {
        (Some(name), _) => Ok((name, false)),
        (None, Some(d)) => Ok((d.to_owned(), true)),
        (None, None) => Err(required("")),
    }
}

/// The `x-bk-username` sent, if any (empty counts as none); malformed is INVALID_ARGUMENT.
pub fn username(metadata: &MetadataMap) -> Result<Option<String>, Status> {
    let Some(raw) = metadata.get(USERNAME_HEADER) else {
        return Ok(None);
    };
    let name = raw
        .to_str()
        .map_err(|_| Status::invalid_argument("x-bk-username must be ascii"))?
        .trim();
    if name.is_empty() {
        return Ok(None);
    }
    valid_username(name)
        .map(Some)
        .map_err(|m| Status::invalid_argument(format!("x-bk-username {m}")))
}

/// `name` as a BlueKing username, or what is wrong with it.
fn valid_username(name: &str) -> Result<String, &'static str> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@'));
    if valid {
        Ok(name.to_owned())
    } else {
        Err("must be 1-64 characters of letters, digits, `_`, `-`, `.` or `@`")
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
