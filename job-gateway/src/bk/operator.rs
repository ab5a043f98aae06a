//! Who a call acts as toward BlueKing, and how BlueKing is told. An app on ESB's login-exempt
//! whitelist names its user with `bk_username`; an app that is not must prove the user with the
//! user's own login ticket (`bk_token`, the `bk_token` cookie of BlueKing's login) or an OAuth
//! `access_token`, which BlueKing verifies and maps to the user itself. The name is kept for
//! logs and for keying shared pollers; the secrets never appear in `Debug` or in a log.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};

/// How a call proves its user to BlueKing.
#[derive(Clone)]
pub enum Credential {
    /// `bk_username`: the app is login-exempt.
    Username,
    /// The user's login ticket.
    BkToken(SecretString),
    /// An OAuth access token (on the API gateway it replaces the app's own credentials).
    AccessToken(SecretString),
}

/// The user a call acts as.
#[derive(Clone)]
pub struct Operator {
    name: String,
    credential: Credential,
}

impl Operator {
    /// `name`, named by `bk_username` (a login-exempt app).
    pub fn exempt(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            credential: Credential::Username,
        }
    }

    /// `name`, proven by `credential`.
    pub fn proven(name: impl Into<String>, credential: Credential) -> Self {
        Self {
            name: name.into(),
            credential,
        }
    }

    /// The BlueKing username (as the caller named it).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How the call proves its user.
    pub fn credential(&self) -> &Credential {
        &self.credential
    }

    /// Adds the user's fields to ESB credentials or a gateway's `X-Bkapi-Authorization`
    /// object (`bk_username`, `bk_token` or `access_token`).
    pub(crate) fn add_to(&self, auth: &mut Map<String, Value>) {
        let (key, value) = match &self.credential {
            Credential::Username => ("bk_username", self.name.as_str()),
            Credential::BkToken(t) => ("bk_token", t.expose_secret()),
            Credential::AccessToken(t) => ("access_token", t.expose_secret()),
        };
        auth.insert(key.to_owned(), json!(value));
    }
}

impl From<&str> for Operator {
    /// A login-exempt operator.
    fn from(name: &str) -> Self {
        Self::exempt(name)
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl fmt::Debug for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = match self.credential {
            Credential::Username => "bk_username",
            Credential::BkToken(_) => "bk_token",
            Credential::AccessToken(_) => "access_token",
        };
        write!(f, "Operator({:?} by {how})", self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_names_the_user_and_the_kind_of_credential_but_never_the_secret() {
        let op = Operator::proven(
            "alice",
            Credential::BkToken(SecretString::from("tkn-alice".to_owned())),
        );
        let shown = format!("{op:?} {op}");
        assert!(shown.contains("alice") && shown.contains("bk_token"));
        assert!(!shown.contains("tkn-alice"), "{shown}");
    }

    #[test]
    fn each_credential_fills_its_own_field() {
        let mut m = Map::new();
        Operator::exempt("bob").add_to(&mut m);
        Operator::proven(
            "bob",
            Credential::AccessToken(SecretString::from("at-1".to_owned())),
        )
        .add_to(&mut m);
        assert_eq!(
            Value::Object(m),
            json!({"bk_username": "bob", "access_token": "at-1"})
        );
    }
}
