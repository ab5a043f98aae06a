use super::*;

fn settings(tokens: &[&str]) -> AuthSettings {
    AuthSettings {
        tokens: tokens
            .iter()
            .map(|t| SecretString::from(t.to_string()))
            .collect(),
        ..AuthSettings::default()
    }
}

fn with_file(text: &str) -> (tempfile::TempDir, AuthSettings) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.toml");
    std::fs::write(&path, text).unwrap();
    let s = AuthSettings {
        tokens_file: Some(path),
        ..AuthSettings::default()
    };
    (dir, s)
}

fn md(pairs: &[(&'static str, &str)]) -> MetadataMap {
    let mut m = MetadataMap::new();
    for (k, v) in pairs {
        m.insert(*k, v.parse().unwrap());
    }
    m
}

const TOKEN: &str = "0123456789abcdef-token";
const FILE: &str = "[[token]]\nname = \"cron\"\nsecret = \"cron-token-0123456789\"\nuser = \"alice\"\n\
                    [[token]]\nname = \"saas\"\nsecret = \"saas-token-0123456789\"\ndelegator = true\n";

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[test]
fn a_configured_token_is_admitted() {
    let auth = BearerAuth::new(&settings(&["another-long-token-xx", TOKEN]));
    auth.check(&md(&[("authorization", &bearer(TOKEN))]))
        .unwrap();
}

#[test]
fn a_legacy_token_is_a_delegator_known_by_its_position() {
    let auth = BearerAuth::new(&settings(&["another-long-token-xx", TOKEN]));
    let who = auth
        .identify(&md(&[
            ("authorization", &bearer(TOKEN)),
            (USERNAME_HEADER, "bob"),
        ]))
        .unwrap();
    assert_eq!(
        who,
        Some(Caller {
            token: "token#2".to_owned(),
            user: Some("bob".to_owned())
        })
    );
}

#[test]
fn a_legacy_token_may_be_stored_as_its_sha256() {
    use sha2::{Digest, Sha256};
    let hex: String = Sha256::digest(TOKEN.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let s = settings(&[&format!("sha256:{hex}")]);
    assert!(s.problem().is_none());
    let auth = BearerAuth::new(&s);
    auth.check(&md(&[("authorization", &bearer(TOKEN))]))
        .unwrap();
    let bad = settings(&["sha256:not-hex-at-all-but-long-enough"]);
    assert_eq!(bad.problem().unwrap().0, "auth.tokens");
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
fn a_fixed_user_token_acts_as_its_user_and_may_not_name_another() {
    let (_dir, s) = with_file(FILE);
    let auth = BearerAuth::new(&s);
    let alone = auth
        .identify(&md(&[("authorization", &bearer("cron-token-0123456789"))]))
        .unwrap()
        .unwrap();
    assert_eq!(
        (alone.token.as_str(), alone.user.as_deref()),
        ("cron", Some("alice"))
    );
    let same = auth.identify(&md(&[
        ("authorization", &bearer("cron-token-0123456789")),
        (USERNAME_HEADER, "alice"),
    ]));
    assert_eq!(same.unwrap().unwrap().user.as_deref(), Some("alice"));
    let other = auth
        .identify(&md(&[
            ("authorization", &bearer("cron-token-0123456789")),
            (USERNAME_HEADER, "bob"),
        ]))
        .unwrap_err();
    assert_eq!(other.code(), tonic::Code::PermissionDenied);
    assert!(
        other.message().contains("`cron` acts as `alice`"),
        "{}",
        other.message()
    );
}

#[test]
fn a_delegator_acts_as_the_user_it_names_and_never_as_a_default() {
    let (_dir, s) = with_file(FILE);
    let auth = BearerAuth::new(&s);
    let ask = |user: Option<&str>| {
        let mut r = Request::new(());
        r.metadata_mut().insert(
            "authorization",
            bearer("saas-token-0123456789").parse().unwrap(),
        );
        if let Some(u) = user {
            r.metadata_mut().insert(USERNAME_HEADER, u.parse().unwrap());
        }
        let caller = auth.identify(r.metadata()).unwrap().unwrap();
        r.extensions_mut().insert(caller);
        operator(&r, Some("admin"))
    };
    assert_eq!(ask(Some("bob")).unwrap(), ("bob".to_owned(), false));
    let err = ask(None).unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(
        err.message().contains("`saas` is a delegator"),
        "{}",
        err.message()
    );
}

#[test]
fn a_reload_replaces_the_tokens_and_a_broken_file_keeps_the_last_good_set() {
    let (_dir, s) = with_file(FILE);
    let auth = BearerAuth::new(&s);
    let path = s.tokens_file.clone().unwrap();
    let cron = md(&[("authorization", &bearer("cron-token-0123456789"))]);
    std::fs::write(
        &path,
        "[[token]]\nname = \"cron\"\nsecret = \"rotated-token-0123456\"\nuser = \"alice\"\n",
    )
    .unwrap();
    assert_eq!(auth.reload().unwrap(), 1);
    assert_eq!(
        auth.check(&cron).unwrap_err().code(),
        tonic::Code::Unauthenticated
    );
    let rotated = md(&[("authorization", &bearer("rotated-token-0123456"))]);
    auth.check(&rotated).unwrap();
    std::fs::write(&path, "[[token]]\nname = ").unwrap();
    assert!(auth.reload().is_err());
    auth.check(&rotated).unwrap();
}

#[test]
fn no_tokens_without_the_explicit_opt_out_is_a_settings_problem() {
    assert_eq!(settings(&[]).problem().unwrap().0, "auth.tokens");
    let open = AuthSettings {
        allow_unauthenticated: true,
        ..AuthSettings::default()
    };
    assert!(open.problem().is_none());
    BearerAuth::new(&open).check(&md(&[])).unwrap();
    assert!(settings(&["short"]).problem().is_some());
    let (_dir, broken) = with_file("[[token]]\nname = \"x\"\n");
    assert_eq!(broken.problem().unwrap().0, "auth.tokens_file");
}

#[test]
fn without_authentication_the_operator_is_the_header_else_the_default() {
    let ask = |user: Option<&str>, default: Option<&str>| {
        let mut r = Request::new(());
        if let Some(u) = user {
            r.metadata_mut().insert(USERNAME_HEADER, u.parse().unwrap());
        }
        operator(&r, default)
    };
    assert_eq!(
        ask(None, Some("admin")).unwrap(),
        ("admin".to_owned(), true)
    );
    assert_eq!(
        ask(Some("alice"), Some("admin")).unwrap(),
        ("alice".to_owned(), false)
    );
    assert_eq!(
        ask(None, None).unwrap_err().code(),
        tonic::Code::InvalidArgument
    );
}

#[test]
fn a_malformed_username_is_rejected_not_replaced() {
    let err = username(&md(&[(USERNAME_HEADER, "al ice;rm")])).unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
}

fn intercept(auth: &BearerAuth, pairs: &[(&'static str, &str)]) -> Result<Request<()>, Status> {
    use tonic::service::Interceptor;
    let mut r = Request::new(());
    *r.metadata_mut() = md(pairs);
    auth.clone().call(r)
}

#[test]
fn a_service_admitting_people_lets_a_login_token_in_for_the_handler_to_verify() {
    let people = BearerAuth::new(&settings(&[TOKEN])).admitting_people();
    let r = intercept(&people, &[("x-bk-token", "tkn-bob")]).unwrap();
    assert!(r.extensions().get::<LoginToken>().is_some());
    assert!(r.extensions().get::<Caller>().is_none());
    let cookie = intercept(&people, &[("cookie", "bk_token=tkn-bob")]).unwrap();
    assert!(cookie.extensions().get::<LoginToken>().is_some());
    let none = intercept(&people, &[]).unwrap_err();
    assert_eq!(none.code(), tonic::Code::Unauthenticated);
    assert!(none.message().contains("x-bk-token"), "{none:?}");
}

#[test]
fn a_bearer_token_decides_even_beside_a_login_token_and_services_not_admitting_people_refuse_one() {
    let people = BearerAuth::new(&settings(&[TOKEN])).admitting_people();
    let both = intercept(
        &people,
        &[
            ("authorization", &bearer(TOKEN)),
            (USERNAME_HEADER, "alice"),
            ("x-bk-token", "tkn-bob"),
        ],
    )
    .unwrap();
    assert!(both.extensions().get::<LoginToken>().is_none());
    assert_eq!(
        both.extensions()
            .get::<Caller>()
            .and_then(|c| c.user.clone()),
        Some("alice".to_owned())
    );
    let services_only = BearerAuth::new(&settings(&[TOKEN]));
    let refused = intercept(&services_only, &[("x-bk-token", "tkn-bob")]).unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
}
