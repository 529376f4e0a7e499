//! `tk_verifier`: verification of access tokens and ID tokens (the core's `TokenVerifier`),
//! configured field by field through `tk_verifier_config`.

use std::ffi::c_char;
use std::time::Duration;

use tk_core::{SigningAlg, TokenVerifier, VerifierConfig, VerifyOptions};

use crate::boundary::{
    arg, arg_mut, call, free_handle, new_handle, opt_str_arg, out_ptr, str_arg, write_sized,
};
use crate::claims::tk_claims;
use crate::error::Failure;
use crate::status::tk_status;

/// What a verifier checks and how it gets keys (opaque). Create with `tk_verifier_config_new`,
/// adjust with `tk_verifier_config_*`, build verifiers with `tk_verifier_new` (which copies
/// it), free with `tk_verifier_config_free`. Not thread-safe: do not change it while another
/// thread uses it. Nothing is validated before `tk_verifier_new`.
pub struct tk_verifier_config {
    inner: VerifierConfig,
}

/// Verifies tokens against a tenant's JWKS (opaque, thread-safe: share one per tenant and
/// audience, the JWKS cache lives in it). Free with `tk_verifier_free` once no thread uses it.
pub struct tk_verifier {
    inner: TokenVerifier,
}

/// A verifier's counters (`tk_verifier_stats`). Fields are only ever appended.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct tk_verify_stats {
    /// Tokens that passed every check.
    pub verified: u64,
    /// Tokens rejected.
    pub rejected: u64,
    /// JWKS requests made (successful or not).
    pub jwks_fetches: u64,
}

/// A config for tokens of the tenant at `domain` (`tenant.auth0.com`, an `https://` URL, or an
/// `http://` URL of a loopback host) whose `aud` must contain `audience` (the API identifier
/// for access tokens, the client id for ID tokens). Defaults: issuer `https://{domain}/`,
/// leeway 60 s, RS256/PS256/ES256, tokens up to 16384 bytes, JWKS from
/// `{domain}/.well-known/jwks.json` kept 600 s and refetched for an unknown `kid` at most every
/// 30 s. On success `*out` is a new config.
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_config_new(
    domain: *const c_char,
    audience: *const c_char,
    out: *mut *mut tk_verifier_config,
) -> tk_status {
    const F: &str = "tk_verifier_config_new";
    call(F, || {
        let domain = unsafe { str_arg(F, domain, "domain") }?;
        let audience = unsafe { str_arg(F, audience, "audience") }?;
        let out = out_ptr(F, out, "out")?;
        let inner = VerifierConfig::new(domain, audience);
        unsafe { out.write(new_handle(tk_verifier_config { inner })) };
        Ok(())
    })
}

/// Frees a verifier config. NULL is ignored. Verifiers built from it are not affected.
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_config_free(config: *mut tk_verifier_config) {
    unsafe { free_handle(config) }
}

/// Applies `f` to the config behind `config`, inside the boundary.
unsafe fn set(
    func: &'static str,
    config: *mut tk_verifier_config,
    f: impl FnOnce(&mut VerifierConfig) -> Result<(), Failure>,
) -> tk_status {
    call(func, || {
        f(&mut unsafe { arg_mut(func, config, "config") }?.inner)
    })
}

/// Adds an accepted `iss`, compared exactly (`"https://login.example.com/"`). Once any is
/// added, only the added ones are accepted: add the canonical `https://{domain}/` too when a
/// tenant has a custom domain.
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_config_add_issuer(
    config: *mut tk_verifier_config,
    issuer: *const c_char,
) -> tk_status {
    const F: &str = "tk_verifier_config_add_issuer";
    unsafe {
        set(F, config, |c| {
            c.issuers.push(str_arg(F, issuer, "issuer")?.to_string());
            Ok(())
        })
    }
}

/// Clock skew allowed on `exp`, `nbf`, `iat` and `auth_time`, in seconds (default 60, at most
/// 600).
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_config_set_leeway_secs(
    config: *mut tk_verifier_config,
    secs: u64,
) -> tk_status {
    unsafe {
        set("tk_verifier_config_set_leeway_secs", config, |c| {
            c.leeway = Duration::from_secs(secs);
            Ok(())
        })
    }
}

/// Required organization: an id (`org_…`, compared with `org_id`) or a name (compared with
/// `org_name`). `""` for none (the default).
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_config_set_organization(
    config: *mut tk_verifier_config,
    organization: *const c_char,
) -> tk_status {
    const F: &str = "tk_verifier_config_set_organization";
    unsafe {
        set(F, config, |c| {
            c.organization = Some(str_arg(F, organization, "organization")?.to_string());
            Ok(())
        })
    }
}

/// Required `azp` (the client the token was issued to). `""` for none (the default).
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_config_set_authorized_party(
    config: *mut tk_verifier_config,
    authorized_party: *const c_char,
) -> tk_status {
    const F: &str = "tk_verifier_config_set_authorized_party";
    unsafe {
        set(F, config, |c| {
            c.authorized_party =
                Some(str_arg(F, authorized_party, "authorized_party")?.to_string());
            Ok(())
        })
    }
}

/// Accepted algorithms, separated by spaces or commas: a subset of `"RS256 PS256 ES256"` (the
/// default). Another name is `TK_STATUS_CONFIG` (the config is then unchanged).
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_config_set_algorithms(
    config: *mut tk_verifier_config,
    algorithms: *const c_char,
) -> tk_status {
    const F: &str = "tk_verifier_config_set_algorithms";
    unsafe {
        set(F, config, |c| {
            let list = str_arg(F, algorithms, "algorithms")?;
            c.algorithms = list
                .split(|ch: char| ch == ',' || ch.is_whitespace())
                .filter(|s| !s.is_empty())
                .map(SigningAlg::parse)
                .collect::<Result<_, _>>()?;
            Ok(())
        })
    }
}

/// Larger tokens are rejected as malformed before anything is decoded (default 16384; 256 to
/// 1048576).
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_config_set_max_token_bytes(
    config: *mut tk_verifier_config,
    bytes: usize,
) -> tk_status {
    unsafe {
        set("tk_verifier_config_set_max_token_bytes", config, |c| {
            c.max_token_bytes = bytes;
            Ok(())
        })
    }
}

/// Overrides `{domain}/.well-known/jwks.json`.
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_config_set_jwks_url(
    config: *mut tk_verifier_config,
    url: *const c_char,
) -> tk_status {
    const F: &str = "tk_verifier_config_set_jwks_url";
    unsafe {
        set(F, config, |c| {
            c.jwks_url = Some(str_arg(F, url, "url")?.to_string());
            Ok(())
        })
    }
}

/// How long a fetched JWKS is used before it is fetched again, in seconds (default 600; not 0).
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_config_set_jwks_lifetime_secs(
    config: *mut tk_verifier_config,
    secs: u64,
) -> tk_status {
    unsafe {
        set("tk_verifier_config_set_jwks_lifetime_secs", config, |c| {
            c.jwks_lifetime = Duration::from_secs(secs);
            Ok(())
        })
    }
}

/// A token naming an unknown `kid` refetches the JWKS, but at most once per this many seconds
/// (default 30), so a flood of made-up `kid`s is not a flood of JWKS requests.
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_config_set_jwks_min_refetch_interval_secs(
    config: *mut tk_verifier_config,
    secs: u64,
) -> tk_status {
    unsafe {
        set(
            "tk_verifier_config_set_jwks_min_refetch_interval_secs",
            config,
            |c| {
                c.jwks_min_refetch_interval = Duration::from_secs(secs);
                Ok(())
            },
        )
    }
}

/// Connect timeout of a JWKS request in milliseconds (default 5000; 0 is refused by
/// `tk_verifier_new`).
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_config_set_connect_timeout_ms(
    config: *mut tk_verifier_config,
    ms: u64,
) -> tk_status {
    unsafe {
        set("tk_verifier_config_set_connect_timeout_ms", config, |c| {
            c.http.connect_timeout = Duration::from_millis(ms);
            Ok(())
        })
    }
}

/// Whole-request timeout of a JWKS request in milliseconds (default 15000).
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_config_set_request_timeout_ms(
    config: *mut tk_verifier_config,
    ms: u64,
) -> tk_status {
    unsafe {
        set("tk_verifier_config_set_request_timeout_ms", config, |c| {
            c.http.request_timeout = Duration::from_millis(ms);
            Ok(())
        })
    }
}

/// Total attempts of a JWKS request, the first included (default 3; 1 = no retry; 1..=10).
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_config_set_retry_max_attempts(
    config: *mut tk_verifier_config,
    attempts: u32,
) -> tk_status {
    unsafe {
        set("tk_verifier_config_set_retry_max_attempts", config, |c| {
            c.retry.max_attempts = attempts;
            Ok(())
        })
    }
}

/// Builds a verifier from a config (copied). Anything unusable in the config is
/// `TK_STATUS_CONFIG`; no network until the first verification. On success `*out` is a new
/// verifier.
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_new(
    config: *const tk_verifier_config,
    out: *mut *mut tk_verifier,
) -> tk_status {
    const F: &str = "tk_verifier_new";
    call(F, || {
        let config = unsafe { arg(F, config, "config") }?;
        let out = out_ptr(F, out, "out")?;
        let inner = TokenVerifier::new(config.inner.clone())?;
        unsafe { out.write(new_handle(tk_verifier { inner })) };
        Ok(())
    })
}

/// Frees a verifier. NULL is ignored. Claims obtained from it stay valid until freed.
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_free(verifier: *mut tk_verifier) {
    unsafe { free_handle(verifier) }
}

/// Verifies an access token (signature with the JWKS key, `iss`, `aud`, `exp`, `nbf`, `iat`,
/// and `azp`/organization when configured). On success `*out` is a new claims handle (free it
/// with `tk_claims_free`). A rejection is `TK_STATUS_INVALID_TOKEN`:
/// `tk_last_error_token_check_code` (or `_token_check`, the name) says which check failed.
/// Blocks the calling thread only when the JWKS must be fetched.
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_verify(
    verifier: *const tk_verifier,
    token: *const c_char,
    out: *mut *mut tk_claims,
) -> tk_status {
    const F: &str = "tk_verifier_verify";
    call(F, || {
        let verifier = unsafe { arg(F, verifier, "verifier") }?;
        let token = unsafe { str_arg(F, token, "token") }?;
        let out = out_ptr(F, out, "out")?;
        let claims = verifier.inner.verify_blocking(token)?;
        unsafe { out.write(tk_claims::new_raw(claims)) };
        Ok(())
    })
}

/// Verifies an OpenID Connect ID token (the verifier's audience is the client id): the checks
/// of `tk_verifier_verify`, plus `sub` and `iat` required, `azp` equal to the client id when
/// `aud` has several values, `nonce` equal to `nonce` (NULL: not checked) and, when
/// `max_age_secs` is not negative, `auth_time` no older than `max_age_secs` (plus leeway).
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_verify_id_token(
    verifier: *const tk_verifier,
    token: *const c_char,
    nonce: *const c_char,
    max_age_secs: i64,
    out: *mut *mut tk_claims,
) -> tk_status {
    const F: &str = "tk_verifier_verify_id_token";
    call(F, || {
        let verifier = unsafe { arg(F, verifier, "verifier") }?;
        let token = unsafe { str_arg(F, token, "token") }?;
        let nonce = unsafe { opt_str_arg(F, nonce, "nonce") }?;
        let out = out_ptr(F, out, "out")?;
        let mut options = VerifyOptions::id_token(nonce);
        options.max_age = u64::try_from(max_age_secs).ok();
        let claims = verifier.inner.verify_with_blocking(token, &options)?;
        unsafe { out.write(tk_claims::new_raw(claims)) };
        Ok(())
    })
}

/// Fetches the JWKS now (at start-up, or after learning of a key rotation). On success
/// `*out_keys` is the number of usable keys.
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_refresh_jwks(
    verifier: *const tk_verifier,
    out_keys: *mut usize,
) -> tk_status {
    const F: &str = "tk_verifier_refresh_jwks";
    call(F, || {
        let verifier = unsafe { arg(F, verifier, "verifier") }?;
        let out = out_ptr(F, out_keys, "out_keys")?;
        let n = verifier.inner.refresh_jwks_blocking()?;
        unsafe { out.write(n) };
        Ok(())
    })
}

/// A snapshot of the verifier's counters. Pass `sizeof(tk_verify_stats)` as `out_size` (the
/// library writes at most that many bytes; at least the three fields of version 0.1, else
/// `TK_STATUS_BUFFER_TOO_SMALL`).
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_stats(
    verifier: *const tk_verifier,
    out: *mut tk_verify_stats,
    out_size: usize,
) -> tk_status {
    const F: &str = "tk_verifier_stats";
    call(F, || {
        let verifier = unsafe { arg(F, verifier, "verifier") }?;
        let s = verifier.inner.stats();
        let stats = tk_verify_stats {
            verified: s.verified,
            rejected: s.rejected,
            jwks_fetches: s.jwks_fetches,
        };
        unsafe { write_sized(F, out, out_size, 3 * std::mem::size_of::<u64>(), stats) }
    })
}
