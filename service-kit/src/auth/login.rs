//! A person's BlueKing login token on a call: `x-bk-token` metadata (the CLI) or the `bk_token`
//! cookie of BlueKing's login (a browser). A service that admits people
//! ([`super::BearerAuth::admitting_people`]) lets such a call in without a bearer token and
//! leaves a [`LoginToken`] in the request's extensions; the handler verifies it with
//! BlueKing's login service before acting, so nothing here vouches for the token.

use secrecy::SecretString;
use tonic::metadata::MetadataMap;

/// Metadata key carrying a person's BlueKing login token.
pub const LOGIN_TOKEN_HEADER: &str = "x-bk-token";
/// The cookie BlueKing's login sets with the token.
pub const LOGIN_COOKIE: &str = "bk_token";
/// Longest token taken; BlueKing's are far shorter.
const MAX_TOKEN: usize = 512;

/// A login token presented on a call, not yet verified.
#[derive(Clone)]
pub struct LoginToken(pub SecretString);

impl std::fmt::Debug for LoginToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginToken(..)")
    }
}

/// The login token of `metadata`: `x-bk-token`, else the `bk_token` cookie; `None` when
/// neither holds a plausible token (empty, too long, or not printable ASCII).
pub fn login_token(metadata: &MetadataMap) -> Option<LoginToken> {
    let header = metadata
        .get(LOGIN_TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let cookie = || {
        metadata
            .get_all("cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == LOGIN_COOKIE)
            .map(|(_, value)| value.trim().trim_matches('"'))
            .filter(|t| !t.is_empty())
    };
    let token = header.or_else(cookie)?;
    let plausible = token.len() <= MAX_TOKEN && token.bytes().all(|b| b.is_ascii_graphic());
    plausible.then(|| LoginToken(SecretString::from(token.to_owned())))
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn md(pairs: &[(&'static str, &str)]) -> MetadataMap {
        let mut m = MetadataMap::new();
        for (k, v) in pairs {
            m.append(*k, v.parse().unwrap());
        }
        m
    }

    fn token(pairs: &[(&'static str, &str)]) -> Option<String> {
        login_token(&md(pairs)).map(|t| t.0.expose_secret().to_owned())
    }

    #[test]
    fn the_header_is_taken_before_the_cookie() {
        let both = [
            ("x-bk-token", "from-header"),
            ("cookie", "bk_token=from-cookie"),
        ];
        assert_eq!(token(&both).as_deref(), Some("from-header"));
    }

    #[test]
    fn the_cookie_is_found_among_others_and_in_any_cookie_header() {
        let one = [("cookie", "lang=zh-cn; bk_token=abc123; csrftoken=x")];
        assert_eq!(token(&one).as_deref(), Some("abc123"));
        let split = [("cookie", "lang=zh-cn"), ("cookie", "bk_token=\"q1\"")];
        assert_eq!(token(&split).as_deref(), Some("q1"));
        let similar = [("cookie", "my_bk_token=nope; bk_token_x=no")];
        assert_eq!(token(&similar), None);
    }

    #[test]
    fn empty_or_implausible_tokens_are_not_taken() {
        assert_eq!(token(&[("x-bk-token", "  ")]), None);
        assert_eq!(token(&[("cookie", "bk_token=")]), None);
        assert_eq!(token(&[("x-bk-token", &"a".repeat(600))]), None);
        assert_eq!(token(&[]), None);
    }
}
