//! What hosts hand back from storage: `UserCredentials` and `LoginTransaction` JSON
//! (`from_json`), then their accessors, `to_json` round trips and redacted `Debug`.
#![no_main]
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tokenkeeper::{LoginTransaction, UserCredentials};
use tokenkeeper_fuzz::{canarized, check_error, CANARY};

fn run(s: &str, secrets: &[&str]) {
    match UserCredentials::from_json(s) {
        Ok(c) => {
            let _ = (c.remaining(), c.is_valid_for(Duration::from_secs(60)));
            let _ = (c.is_valid_for(Duration::MAX), c.has_scope("read:things"));
            let _ = (c.authorization_header(), c.id_token_claims());
            assert_eq!(UserCredentials::from_json(&c.to_json()).as_ref(), Ok(&c));
            // Debug does not depend on the tokens at all.
            let mut other = c.clone();
            other.access_token = "x".into();
            other.refresh_token = c.refresh_token.as_ref().map(|_| "y".into());
            other.id_token = c.id_token.as_ref().map(|_| "z".into());
            assert_eq!(
                format!("{c:?}"),
                format!("{other:?}"),
                "Debug shows a token"
            );
        }
        Err(e) => {
            check_error(&e, secrets);
            assert_eq!(e.kind(), "config");
        }
    }
    match LoginTransaction::from_json(s) {
        Ok(t) => {
            assert_eq!(LoginTransaction::from_json(&t.to_json()).as_ref(), Ok(&t));
            let mut other = t.clone();
            other.code_verifier = "v".into();
            assert_eq!(
                format!("{t:?}"),
                format!("{other:?}"),
                "Debug shows the verifier"
            );
        }
        Err(e) => {
            check_error(&e, secrets);
            assert_eq!(e.kind(), "config");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    run(s, &[]);
    if let Some(body) = canarized(data, &[]) {
        run(std::str::from_utf8(&body).unwrap(), &[CANARY]);
    }
});
