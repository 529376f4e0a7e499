//! `/userinfo` answers, then every claim accessor on what was accepted.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tokenkeeper::fuzzing;
use tokenkeeper_fuzz::{canarized, check_error, CANARY};

fn run(body: &[u8], secrets: &[&str]) {
    match fuzzing::userinfo(body) {
        Ok(c) => {
            assert!(c.sub().is_some());
            for name in [
                "sub",
                "email",
                "email_verified",
                "updated_at",
                "aud",
                "exp",
                "org_id",
            ] {
                let _ = (
                    c.get(name),
                    c.get_str(name),
                    c.get_i64(name),
                    c.get_f64(name),
                    c.get_bool(name),
                );
            }
            let _ = (
                c.aud(),
                c.scopes(),
                c.has_scope("openid profile"),
                c.has_audience("x"),
            );
            let _ = (
                c.exp(),
                c.iat(),
                c.nbf(),
                c.auth_time(),
                c.org_id(),
                c.org_name(),
            );
            let json = c.to_json();
            assert!(serde_json::from_str::<serde_json::Value>(&json).is_ok());
        }
        Err(e) => check_error(&e, secrets),
    }
}

fuzz_target!(|data: &[u8]| {
    run(data, &[]);
    if let Some(body) = canarized(data, &[]) {
        run(&body, &[CANARY]);
    }
});
