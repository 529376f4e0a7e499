//! JWTs: size, segments, base64url, the header (`alg`, `kid`, `typ`, `crit`), the payload's
//! JSON (duplicates) and every claim check after the signature. The input is either a whole
//! token, or `header JSON \0 payload JSON` made into one (with a dummy signature).
#![no_main]
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use tokenkeeper::fuzzing::{self, AUDIENCE, ISSUER};
use tokenkeeper::VerifyOptions;
use tokenkeeper_fuzz::{canarize, check_error, CANARY};

/// Claims and header members the core names in its messages on purpose (truncated, printable).
const SHOWN: [&str; 7] = ["iss", "aud", "azp", "org_id", "org_name", "kid", "typ"];

fn options(flags: u8) -> VerifyOptions {
    VerifyOptions {
        audience: None,
        organization: match flags & 3 {
            1 => Some("org_abc123".into()),
            2 => Some("acme".into()),
            _ => None,
        },
        organization_name: (flags & 32 != 0).then(|| "org_named".into()),
        nonce: (flags & 4 != 0).then(|| "n-0S6_WzA2Mj".into()),
        max_age: (flags & 8 != 0).then_some(3600),
        id_token: flags & 16 != 0,
    }
}

fn run(token: &str, flags: u8, secrets: &[&str]) {
    let o = options(flags);
    match fuzzing::jwt(token, &o) {
        Ok(c) => {
            assert_eq!(c.iss(), Some(ISSUER));
            assert!(c.has_audience(o.audience.as_deref().unwrap_or(AUDIENCE)));
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs();
            assert!(c.get_f64("exp").is_some_and(|e| e + 60.0 > now as f64));
            if o.id_token {
                assert!(c.sub().is_some());
            }
        }
        Err(e) => {
            check_error(&e, secrets);
            assert!(matches!(e, tokenkeeper::Error::InvalidToken { .. }));
        }
    }
    let _ = fuzzing::unverified_claims(token);
}

fn b64(s: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(s)
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, data)) = data.split_first() else {
        return;
    };
    match data.iter().position(|b| *b == 0) {
        None => {
            if let Ok(token) = std::str::from_utf8(data) {
                run(token, flags, &[]);
            }
        }
        Some(at) => {
            let (header, payload) = (&data[..at], &data[at + 1..]);
            let token = format!("{}.{}.c2ln", b64(header), b64(payload));
            run(&token, flags, &[]);
            // The same token with its strings replaced: none of them may be shown.
            let canarized = |part: &[u8]| {
                serde_json::from_slice::<serde_json::Value>(part)
                    .ok()
                    .map(|mut v| {
                        canarize(&mut v, &SHOWN);
                        serde_json::to_vec(&v).unwrap()
                    })
            };
            if let (Some(h), Some(p)) = (canarized(header), canarized(payload)) {
                let token = format!("{}.{}.c2ln", b64(&h), b64(&p));
                run(&token, flags, &[CANARY]);
            }
        }
    }
});
