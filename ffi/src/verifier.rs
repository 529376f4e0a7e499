//! `tk_verifier`: verification of access tokens and ID tokens (the core's `TokenVerifier`),
//! configured field by field through `tk_verifier_config`.

use std::ffi::c_char;
use std::time::Duration;

use tk_core::{SigningAlg, TokenVerifier, VerifierConfig, VerifyOptions};

use crate::boundary::{
    arg, call, edit, edit_str, editable, free_handle, get, make, new_handle, opt_str_arg, str_arg,
    write_sized,
};
use crate::claims::tk_claims;
use crate::knobs::{ms, set_http, set_http_named, set_http_text_named, set_named};
use crate::status::tk_status;

/// What a verifier checks and how it gets keys (opaque). Create with `tk_verifier_config_new`,
/// adjust with `tk_verifier_config_*`, build verifiers with `tk_verifier_new` (which copies
/// it), free with `tk_verifier_config_free`. Not thread-safe: do not change it while another
/// thread uses it. Nothing is validated before `tk_verifier_new`.
pub struct tk_verifier_config {
    inner: VerifierConfig,
}

editable!(tk_verifier_config, "config", VerifierConfig);

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
    unsafe {
        make(F, out, || {
            let domain = str_arg(F, domain, "domain")?;
            let audience = str_arg(F, audience, "audience")?;
            let inner = VerifierConfig::new(domain, audience);
            Ok(tk_verifier_config { inner })
        })
    }
}

/// Frees a verifier config. NULL is ignored. Verifiers built from it are not affected.
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_config_free(config: *mut tk_verifier_config) {
    unsafe { free_handle(config) }
}

/// A config from `AUTH0_DOMAIN` and `AUTH0_AUDIENCE` (both required) and the optional
/// `TOKENKEEPER_CA_FILE` (the core's `VerifierConfig::from_env`); adjust it like any other. A
/// missing variable is `TK_STATUS_CONFIG` naming it. On success `*out` is a new config.
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_config_from_env(
    out: *mut *mut tk_verifier_config,
) -> tk_status {
    unsafe {
        make("tk_verifier_config_from_env", out, || {
            Ok(tk_verifier_config {
                inner: VerifierConfig::from_env()?,
            })
        })
    }
}

/// Adds an accepted `iss`, compared exactly (`"https://login.example.com/"`). Once any is
/// added, only the added ones are accepted: add the canonical `https://{domain}/` too when a
/// tenant has a custom domain.
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_config_add_issuer(
    config: *mut tk_verifier_config,
    issuer: *const c_char,
) -> tk_status {
    let f = "tk_verifier_config_add_issuer";
    unsafe { edit_str(f, config, issuer, "issuer", |c, s| c.issuers.push(s.into())) }
}

/// Sets a knob by name, durations in seconds (the one time unit of the C API): `leeway`
/// (default 60, at most 600), `max_token_bytes`, `jwks_lifetime` (default 600),
/// `jwks_min_refetch_interval` (default 30, at least 1), or any HTTP knob of
/// `tk_verifier_config_set_http`. An unknown name or a negative or non-finite value is
/// `TK_STATUS_CONFIG` at once (the config unchanged); ranges are checked by `tk_verifier_new`.
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_config_set(
    config: *mut tk_verifier_config,
    name: *const c_char,
    value: f64,
) -> tk_status {
    let f = "tk_verifier_config_set";
    unsafe { set_named(f, config, name, value, tk_core::VerifierConfig::set) }
}

/// Clock skew allowed on `exp`, `nbf`, `iat` and `auth_time`, in seconds (default 60, at most
/// 600). Deprecated, kept for one release: `tk_verifier_config_set(config, "leeway", secs)`.
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_config_set_leeway_secs(
    config: *mut tk_verifier_config,
    secs: u64,
) -> tk_status {
    let f = "tk_verifier_config_set_leeway_secs";
    unsafe { edit(f, config, |c| c.leeway = Duration::from_secs(secs)) }
}

/// Required organization: a value starting with `org_` is an id, compared with `org_id` only,
/// exactly; any other value is a name, compared with `org_name` only, case-insensitively.
/// `""` for none (the default). A name that starts with `org_`:
/// `tk_verifier_config_set_organization_name`.
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_config_set_organization(
    config: *mut tk_verifier_config,
    organization: *const c_char,
) -> tk_status {
    let f = "tk_verifier_config_set_organization";
    unsafe {
        edit_str(f, config, organization, "organization", |c, s| {
            c.organization = Some(s.into())
        })
    }
}

/// Required organization name, whatever it starts with: compared with `org_name` only,
/// case-insensitively. With `tk_verifier_config_set_organization` too, both must match. `""`
/// for none (the default).
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_config_set_organization_name(
    config: *mut tk_verifier_config,
    name: *const c_char,
) -> tk_status {
    let f = "tk_verifier_config_set_organization_name";
    unsafe {
        edit_str(f, config, name, "name", |c, s| {
            c.organization_name = Some(s.into())
        })
    }
}

/// Required `azp` (the client the token was issued to). `""` for none (the default).
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_config_set_authorized_party(
    config: *mut tk_verifier_config,
    authorized_party: *const c_char,
) -> tk_status {
    let f = "tk_verifier_config_set_authorized_party";
    unsafe {
        edit_str(f, config, authorized_party, "authorized_party", |c, s| {
            c.authorized_party = Some(s.into())
        })
    }
}

/// Accepted algorithms, separated by spaces or commas: a subset of `"RS256 PS256 ES256"` (the
/// default), parsed by the core. Another name, or none, is `TK_STATUS_CONFIG` (the config is
/// then unchanged).
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_config_set_algorithms(
    config: *mut tk_verifier_config,
    algorithms: *const c_char,
) -> tk_status {
    let f = "tk_verifier_config_set_algorithms";
    unsafe {
        edit_str(f, config, algorithms, "algorithms", |c, s| {
            c.algorithms = SigningAlg::parse_list(s)?;
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
    let f = "tk_verifier_config_set_max_token_bytes";
    unsafe { edit(f, config, |c| c.max_token_bytes = bytes) }
}

/// Overrides `{domain}/.well-known/jwks.json`.
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_config_set_jwks_url(
    config: *mut tk_verifier_config,
    url: *const c_char,
) -> tk_status {
    let f = "tk_verifier_config_set_jwks_url";
    unsafe { edit_str(f, config, url, "url", |c, s| c.jwks_url = Some(s.into())) }
}

/// How long a fetched JWKS is used before it is fetched again, in seconds (default 600; not 0).
/// Deprecated, kept for one release: `tk_verifier_config_set(config, "jwks_lifetime", secs)` (seconds, the one time unit).
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_config_set_jwks_lifetime_secs(
    config: *mut tk_verifier_config,
    secs: u64,
) -> tk_status {
    let f = "tk_verifier_config_set_jwks_lifetime_secs";
    unsafe { edit(f, config, |c| c.jwks_lifetime = Duration::from_secs(secs)) }
}

/// A token naming an unknown `kid` refetches the JWKS, but at most once per this many seconds
/// (default 30), so a flood of made-up `kid`s is not a flood of JWKS requests.
/// Deprecated, kept for one release: `tk_verifier_config_set(config, "jwks_min_refetch_interval", secs)` (seconds, the one time unit).
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_config_set_jwks_min_refetch_interval_secs(
    config: *mut tk_verifier_config,
    secs: u64,
) -> tk_status {
    let f = "tk_verifier_config_set_jwks_min_refetch_interval_secs";
    unsafe {
        edit(f, config, |c| {
            c.jwks_min_refetch_interval = Duration::from_secs(secs)
        })
    }
}

/// Sets one HTTP knob of the JWKS requests by its name: the names, units and rules of
/// `tk_config_set_http` (`connect_timeout`, `request_timeout`, `max_response_bytes`,
/// `max_attempts`, `initial_backoff`, `max_backoff`, `max_retry_after`).
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_config_set_http(
    config: *mut tk_verifier_config,
    name: *const c_char,
    value: f64,
) -> tk_status {
    unsafe { set_http_named("tk_verifier_config_set_http", config, name, value) }
}

/// Sets one text HTTP knob (`ca_file`) of the JWKS requests by its name: the rules of
/// `tk_config_set_http_text`.
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_config_set_http_text(
    config: *mut tk_verifier_config,
    name: *const c_char,
    value: *const c_char,
) -> tk_status {
    unsafe { set_http_text_named("tk_verifier_config_set_http_text", config, name, value) }
}

/// `connect_timeout` of the JWKS requests in milliseconds (see `tk_verifier_config_set_http`).
/// Deprecated, kept for one release: `tk_verifier_config_set(config, "connect_timeout", secs)` (seconds, the one time unit).
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_config_set_connect_timeout_ms(
    config: *mut tk_verifier_config,
    ms: u64,
) -> tk_status {
    let f = "tk_verifier_config_set_connect_timeout_ms";
    unsafe { set_http(f, config, &[("connect_timeout", self::ms(ms))]) }
}

/// `request_timeout` of the JWKS requests in milliseconds.
/// Deprecated, kept for one release: `tk_verifier_config_set(config, "request_timeout", secs)` (seconds, the one time unit).
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_config_set_request_timeout_ms(
    config: *mut tk_verifier_config,
    ms: u64,
) -> tk_status {
    let f = "tk_verifier_config_set_request_timeout_ms";
    unsafe { set_http(f, config, &[("request_timeout", self::ms(ms))]) }
}

/// `max_attempts` of the JWKS requests, the first included.
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_config_set_retry_max_attempts(
    config: *mut tk_verifier_config,
    attempts: u32,
) -> tk_status {
    let f = "tk_verifier_config_set_retry_max_attempts";
    unsafe { set_http(f, config, &[("max_attempts", attempts.into())]) }
}

/// Builds a verifier from a config (copied). Anything unusable in the config is
/// `TK_STATUS_CONFIG`; no network until the first verification. On success `*out` is a new
/// verifier.
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_new(
    config: *const tk_verifier_config,
    out: *mut *mut tk_verifier,
) -> tk_status {
    unsafe {
        get("tk_verifier_new", config, "config", out, |c| {
            let inner = TokenVerifier::new(c.inner.clone())?;
            Ok(new_handle(tk_verifier { inner }))
        })
    }
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
    unsafe {
        get(F, verifier, "verifier", out, |v| {
            let claims = v.inner.verify_blocking(str_arg(F, token, "token")?)?;
            Ok(tk_claims::new_raw(claims))
        })
    }
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
    unsafe {
        get(F, verifier, "verifier", out, |v| {
            let token = str_arg(F, token, "token")?;
            let mut options = VerifyOptions::id_token(opt_str_arg(F, nonce, "nonce")?);
            options.max_age = u64::try_from(max_age_secs).ok();
            let claims = v.inner.verify_with_blocking(token, &options)?;
            Ok(tk_claims::new_raw(claims))
        })
    }
}

/// Fetches the JWKS now (at start-up, or after learning of a key rotation). On success
/// `*out_keys` is the number of usable keys.
#[no_mangle]
pub unsafe extern "C" fn tk_verifier_refresh_jwks(
    verifier: *const tk_verifier,
    out_keys: *mut usize,
) -> tk_status {
    let f = "tk_verifier_refresh_jwks";
    unsafe {
        get(f, verifier, "verifier", out_keys, |v| {
            Ok(v.inner.refresh_jwks_blocking()?)
        })
    }
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
        let s = unsafe { arg(F, verifier, "verifier") }?.inner.stats();
        let stats = tk_verify_stats {
            verified: s.verified,
            rejected: s.rejected,
            jwks_fetches: s.jwks_fetches,
        };
        unsafe { write_sized(F, out, out_size, 3 * size_of::<u64>(), stats) }
    })
}
