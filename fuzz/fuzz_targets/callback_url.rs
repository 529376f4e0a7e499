//! URLs from outside: the callback URL the browser comes back with (`state`, `code`, `error`,
//! `iss`, repeated parameters), and the domains and URLs a configuration reads (`AUTH0_DOMAIN`,
//! endpoint overrides, `TOKENKEEPER_SHARED_CACHE`).
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tokenkeeper::{LoginTransaction, SharedCache, SignInClient, SignInConfig};
use tokenkeeper_fuzz::check_error;

const STATE: &str = "st4te-Zk1pQ0wXy";
const VERIFIER: &str = "v3rifier-NotShown-8s7d6f5g4h3j2k1";

fn client() -> &'static SignInClient {
    static C: OnceLock<SignInClient> = OnceLock::new();
    C.get_or_init(|| {
        SignInClient::new(SignInConfig::new(
            "http://127.0.0.1:9",
            "client-id",
            "http://127.0.0.1:9/callback",
        ))
        .expect("a valid sign-in configuration")
    })
}

fn tx(state: &str) -> LoginTransaction {
    LoginTransaction {
        url: "http://127.0.0.1:9/authorize".into(),
        state: state.into(),
        nonce: "nonce-value".into(),
        code_verifier: VERIFIER.into(),
        redirect_uri: "http://127.0.0.1:9/callback".into(),
        scope: "openid".into(),
        audience: None,
        organization: None,
        max_age: None,
    }
}

/// Whether `s`, read as a URL would read it, holds `text`.
fn holds(s: &str, text: &str) -> bool {
    let stripped: String = s
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let in_pairs = |part: Option<&str>| {
        part.is_some_and(|p| {
            url::form_urlencoded::parse(p.as_bytes())
                .any(|(k, v)| k.contains(text) || v.contains(text))
        })
    };
    stripped.contains(text)
        || url::Url::parse(s).is_ok_and(|u| in_pairs(u.query()) || in_pairs(u.fragment()))
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    for state in [STATE, ""] {
        match client().callback_code(&tx(state), s) {
            Ok(code) => {
                assert!(!state.is_empty(), "an empty stored state never matches");
                assert!(!code.is_empty());
                let url = url::Url::parse(s).expect("an accepted callback is a URL");
                let states: Vec<_> = url.query_pairs().filter(|(k, _)| k == "state").collect();
                assert_eq!(states.len(), 1);
                assert_eq!(states[0].1, state);
            }
            Err(e) => {
                // The state is a secret unless the input holds it itself (an `error` value is
                // shown on purpose), as URL parsing reads it: tabs and newlines dropped,
                // parameters percent-decoded.
                let shown = if holds(s, STATE) {
                    vec![VERIFIER]
                } else {
                    vec![VERIFIER, STATE]
                };
                check_error(&e, &shown);
            }
        }
    }
    // Configuration text: typed errors, and only HTTPS or loopback HTTP accepted.
    match tokenkeeper::fuzzing::domain(s) {
        Ok(issuer) => assert!(issuer.starts_with("https://") || issuer.starts_with("http://")),
        Err(e) => assert_eq!(e.kind(), "config"),
    }
    match tokenkeeper::fuzzing::checked_url(s) {
        Ok(u) => {
            let u = url::Url::parse(&u).expect("a checked URL reparses");
            assert!(u.username().is_empty() && u.password().is_none());
            assert!(u.scheme() == "https" || u.scheme() == "http");
        }
        Err(e) => assert_eq!(e.kind(), "config"),
    }
    if let Err(e) = SharedCache::parse(s) {
        assert_eq!(e.kind(), "config");
    }
});
