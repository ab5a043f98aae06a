//! The configured bearer tokens: each has a name and a policy, and its secret is kept either
//! as given or as a SHA-256 hash (`sha256:<64 hex digits>`), compared in constant time.
//!
//! The token file (`auth.tokens_file`) is TOML, one `[[token]]` table per token:
//!
//! ```toml
//! [[token]]
//! name = "saas-backend"          # shown in logs and audit; not secret
//! secret = "sha256:<hex>"        # or the token itself, at least 16 characters
//! delegator = true               # may name any user in x-bk-username
//!
//! [[token]]
//! name = "nightly-cron"
//! secret = "a-long-random-token-value"
//! user = "alice"                 # always acts as alice
//! ```
//!
//! Legacy `auth.tokens` entries (plain or `sha256:` too) are delegators named `token#1`,
//! `token#2`, … in order.

use std::path::Path;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// What a token may do about the caller's BlueKing user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Policy {
    /// Always acts as this BlueKing user; naming anyone else is PERMISSION_DENIED.
    User(String),
    /// A trusted backend that has logged its user in and names them in `x-bk-username`.
    Delegator,
}

/// How a token's secret is stored.
enum Secret {
    Plain(SecretString),
    Sha256([u8; 32]),
}

/// One configured token.
pub(crate) struct Token {
    pub(crate) name: String,
    secret: Secret,
    pub(crate) policy: Policy,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("name", &self.name)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Token {
    /// A legacy `auth.tokens` entry (plain or `sha256:`): a delegator named `token#<n>`.
    pub(crate) fn legacy(n: usize, raw: &SecretString) -> Result<Self, String> {
        let secret = secret(raw.expose_secret()).map_err(|m| format!("token #{n} {m}"))?;
        Ok(Self {
            name: format!("token#{n}"),
            secret,
            policy: Policy::Delegator,
        })
    }

    /// Whether `presented` is this token, without an early exit on the first differing byte.
    pub(crate) fn matches(&self, presented: &str) -> bool {
        match &self.secret {
            Secret::Plain(s) => {
                constant_time_eq(s.expose_secret().as_bytes(), presented.as_bytes())
            }
            Secret::Sha256(h) => constant_time_eq(h, &Sha256::digest(presented.as_bytes())),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenFile {
    #[serde(default)]
    token: Vec<TokenEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenEntry {
    name: String,
    secret: SecretString,
    user: Option<String>,
    #[serde(default)]
    delegator: bool,
}

/// Reads and checks the token file; the error names the file and what is wrong.
pub(crate) fn load(path: &Path) -> Result<Vec<Token>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Parses the token file's text.
pub(crate) fn parse(text: &str) -> Result<Vec<Token>, String> {
    let file: TokenFile = toml::from_str(text).map_err(|e| e.message().to_owned())?;
    let mut tokens: Vec<Token> = Vec::with_capacity(file.token.len());
    for e in file.token {
        let name = e.name.trim().to_owned();
        if name.is_empty() {
            return Err("a token has an empty name".to_owned());
        }
        if tokens.iter().any(|t| t.name == name) {
            return Err(format!("token name `{name}` appears twice"));
        }
        let policy = match (e.user, e.delegator) {
            (Some(user), false) => Policy::User(
                super::valid_username(user.trim())
                    .map_err(|m| format!("token `{name}`: user {m}"))?,
            ),
            (None, true) => Policy::Delegator,
            _ => {
                return Err(format!(
                    "token `{name}`: set exactly one of `user = \"<BlueKing user>\"` or `delegator = true`"
                ));
            }
        };
        let secret =
            secret(e.secret.expose_secret()).map_err(|m| format!("token `{name}`: secret {m}"))?;
        tokens.push(Token {
            name,
            secret,
            policy,
        });
    }
    Ok(tokens)
}

fn secret(raw: &str) -> Result<Secret, &'static str> {
    let Some(hex) = raw.strip_prefix("sha256:") else {
        if raw.len() < 16 {
            return Err("must be at least 16 characters");
        }
        return Ok(Secret::Plain(SecretString::from(raw.to_owned())));
    };
    let bad = "must be `sha256:` and 64 hex digits";
    if hex.len() != 64 {
        return Err(bad);
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad)?;
    }
    Ok(Secret::Sha256(out))
}

/// Compares without an early exit on the first differing byte.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn a_hashed_secret_matches_the_token_it_was_made_from_and_nothing_else() {
        let hash = hex(&Sha256::digest(b"the-real-token-0123"));
        let text =
            format!("[[token]]\nname = \"cron\"\nsecret = \"sha256:{hash}\"\nuser = \"alice\"\n");
        let tokens = parse(&text).unwrap();
        assert!(tokens[0].matches("the-real-token-0123"));
        assert!(!tokens[0].matches(&format!("sha256:{hash}")));
        assert_eq!(tokens[0].policy, Policy::User("alice".to_owned()));
    }

    #[test]
    fn a_token_needs_exactly_one_policy() {
        let both = "[[token]]\nname = \"x\"\nsecret = \"0123456789abcdefgh\"\nuser = \"a\"\ndelegator = true\n";
        let neither = "[[token]]\nname = \"x\"\nsecret = \"0123456789abcdefgh\"\n";
        for text in [both, neither] {
            assert!(parse(text).unwrap_err().contains("exactly one"), "{text}");
        }
    }

    #[test]
    fn short_secrets_bad_hashes_and_duplicate_names_are_refused() {
        let short = "[[token]]\nname = \"x\"\nsecret = \"short\"\ndelegator = true\n";
        assert!(parse(short).unwrap_err().contains("16 characters"));
        let bad_hash = "[[token]]\nname = \"x\"\nsecret = \"sha256:zz\"\ndelegator = true\n";
        assert!(parse(bad_hash).unwrap_err().contains("64 hex digits"));
        let twice = "[[token]]\nname = \"x\"\nsecret = \"0123456789abcdefgh\"\ndelegator = true\n\
                     [[token]]\nname = \"x\"\nsecret = \"0123456789abcdefgX\"\ndelegator = true\n";
        assert!(parse(twice).unwrap_err().contains("twice"));
    }
}
