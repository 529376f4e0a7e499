//! JWKS documents: every key kind and member, then key selection by `kid` and algorithm.
#![no_main]
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tokenkeeper::fuzzing;
use tokenkeeper_fuzz::{canarized, check_error, CANARY};

fn run(body: &[u8], secrets: &[&str]) {
    // Every kid of the document, and none, with each algorithm.
    let kids: Vec<String> = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|d| d.get("keys").and_then(Value::as_array).cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|k| k.get("kid").and_then(Value::as_str).map(str::to_string))
        .take(8)
        .collect();
    let mut lookups = Vec::new();
    for alg in ["RS256", "PS256", "ES256"] {
        lookups.push((None, alg));
        lookups.push((Some("unknown-kid"), alg));
        lookups.extend(kids.iter().map(|k| (Some(k.as_str()), alg)));
    }
    match fuzzing::jwks(body, &lookups) {
        Ok((n, found)) => {
            assert!(n <= 64, "at most 64 keys are kept");
            assert!(found.iter().all(|f| !f) || n > 0);
        }
        Err(e) => {
            check_error(&e, secrets);
            assert!(matches!(e, tokenkeeper::Error::InvalidToken { .. }));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    run(data, &[]);
    if let Some(body) = canarized(data, &["kid", "kty", "alg", "use", "crv"]) {
        run(&body, &[CANARY]);
    }
});
