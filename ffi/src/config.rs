//! `tk_config`: the core's `ClientConfig`, set field by field so fields can be added later
//! without breaking the ABI, its knob setters (`tk_config_set_http`, `tk_config_set_cache` and
//! the per-knob setters) through the core's by-name setters (`knobs.rs`).
//! Values are checked by the core: unknown names and unusable numbers at once, ranges when the
//! client is built (`tk_client_new` reports anything unusable as `TK_STATUS_CONFIG`). The
//! shared cache level is parsed by the core's `SharedCache::parse_optional`.

use std::ffi::c_char;

use tk_core::{AuthMethod, CachePolicy, ClientConfig, Credentials, SharedCache};

use crate::boundary::{
    arg_mut, call, edit, edit_str, editable, free_handle, make, opt_str_arg, str_arg,
};
use crate::failure::Failure;
use crate::knobs::{ms as to_secs, set_all, set_http, set_http_named, set_http_text_named};
use crate::status::tk_status;

/// A client configuration (opaque). Create with `tk_config_new`,
/// `tk_config_new_private_key_jwt` or `tk_config_from_env`; adjust with `tk_config_set_*`;
/// build clients from it with `tk_client_new` (which copies it); free with `tk_config_free`.
/// Not thread-safe: do not change it while another thread uses it.
pub struct tk_config {
    pub(crate) inner: ClientConfig,
}

editable!(tk_config, "config", ClientConfig);

impl tk_config {
    fn new(inner: ClientConfig) -> Self {
        Self { inner }
    }

    /// The core's config of a client built from this one.
    pub(crate) fn client_config(&self) -> ClientConfig {
        self.inner.clone()
    }
}

/// The body of every cache setter: `CachePolicy::set` for each (name, value).
unsafe fn set_cache(
    func: &'static str,
    config: *mut tk_config,
    knobs: &[(&str, f64)],
) -> tk_status {
    unsafe {
        edit(func, config, |c| {
            set_all(c.cache_mut(), CachePolicy::set, knobs)
        })
    }
}

// ---- the client config --------------------------------------------------------------------------

/// A config for a client secret (sent as `client_secret_post` unless
/// `tk_config_set_auth_method` says otherwise). `domain` is `tenant.auth0.com`, a full
/// `https://` URL, or an `http://` URL of a loopback host. An empty secret is
/// `TK_STATUS_CONFIG`. On success `*out` is a new config.
#[no_mangle]
pub unsafe extern "C" fn tk_config_new(
    domain: *const c_char,
    client_id: *const c_char,
    client_secret: *const c_char,
    out: *mut *mut tk_config,
) -> tk_status {
    const F: &str = "tk_config_new";
    unsafe {
        make(F, out, || {
            let domain = str_arg(F, domain, "domain")?;
            let client_id = str_arg(F, client_id, "client_id")?;
            let secret = str_arg(F, client_secret, "client_secret")?;
            let creds = Credentials::from_parts(Some(secret), None, None, None)?;
            Ok(tk_config::new(ClientConfig::new(domain, client_id, creds)))
        })
    }
}

/// A config for `private_key_jwt`: `private_key_pem` is the app's PKCS#8 (or PKCS#1/SEC1) PEM
/// private key, `alg` is `"RS256"`, `"PS256"` or `"ES256"`, `key_id` is the optional `kid`
/// header (NULL for none). An unknown `alg` is `TK_STATUS_CONFIG`; a bad key is reported by
/// `tk_client_new`.
#[no_mangle]
pub unsafe extern "C" fn tk_config_new_private_key_jwt(
    domain: *const c_char,
    client_id: *const c_char,
    private_key_pem: *const c_char,
    alg: *const c_char,
    key_id: *const c_char,
    out: *mut *mut tk_config,
) -> tk_status {
    const F: &str = "tk_config_new_private_key_jwt";
    unsafe {
        make(F, out, || {
            let domain = str_arg(F, domain, "domain")?;
            let client_id = str_arg(F, client_id, "client_id")?;
            let creds = private_key(F, private_key_pem, alg, key_id)?;
            Ok(tk_config::new(ClientConfig::new(domain, client_id, creds)))
        })
    }
}

/// The core's private-key credentials of the C arguments `private_key_pem`, `alg` (required)
/// and `key_id` (NULL for none).
pub(crate) unsafe fn private_key(
    func: &str,
    pem: *const c_char,
    alg: *const c_char,
    key_id: *const c_char,
) -> Result<Credentials, Failure> {
    let pem = unsafe { str_arg(func, pem, "private_key_pem") }?;
    let alg = unsafe { str_arg(func, alg, "alg") }?;
    let key_id = unsafe { opt_str_arg(func, key_id, "key_id") }?;
    Ok(Credentials::from_parts(None, Some(pem), Some(alg), key_id)?)
}

/// A config from `AUTH0_DOMAIN`, `AUTH0_CLIENT_ID`, one credential (`AUTH0_CLIENT_SECRET`,
/// `AUTH0_CLIENT_SECRET_FILE`, or `AUTH0_PRIVATE_KEY_FILE` with the optional
/// `AUTH0_PRIVATE_KEY_ALG` and `AUTH0_PRIVATE_KEY_ID`; an unreadable file is named, never
/// shown), the optional `AUTH0_AUDIENCE` (the default audience) and the optional `TOKENKEEPER_SHARED_CACHE` (the
/// shared cache level, as `tk_config_set_shared_cache`) and `TOKENKEEPER_CA_FILE` (the
/// `"ca_file"` text knob, read when the client is built). A missing variable, or a
/// `TOKENKEEPER_SHARED_CACHE` that does not parse, is `TK_STATUS_CONFIG`; an empty optional
/// variable is an unset one.
#[no_mangle]
pub unsafe extern "C" fn tk_config_from_env(out: *mut *mut tk_config) -> tk_status {
    unsafe {
        make("tk_config_from_env", out, || {
            Ok(tk_config::new(ClientConfig::from_env()?))
        })
    }
}

/// Frees a config. NULL is ignored. Clients built from it are not affected.
#[no_mangle]
pub unsafe extern "C" fn tk_config_free(config: *mut tk_config) {
    unsafe { free_handle(config) }
}

/// `"client_secret_post"` (default), `"client_secret_basic"` or `"private_key_jwt"`. An unknown
/// name is `TK_STATUS_CONFIG`.
#[no_mangle]
pub unsafe extern "C" fn tk_config_set_auth_method(
    config: *mut tk_config,
    method: *const c_char,
) -> tk_status {
    let f = "tk_config_set_auth_method";
    unsafe {
        edit_str(f, config, method, "method", |c, m| {
            *c = c.clone().auth_method(AuthMethod::parse(m)?);
            Ok(())
        })
    }
}

/// Overrides the token endpoint (default `{domain}/oauth/token`).
#[no_mangle]
pub unsafe extern "C" fn tk_config_set_token_url(
    config: *mut tk_config,
    url: *const c_char,
) -> tk_status {
    let f = "tk_config_set_token_url";
    unsafe { edit_str(f, config, url, "url", |c, u| *c = c.clone().token_url(u)) }
}

/// The audience used by `tk_client_get_token` when its `audience` is NULL or `""`.
#[no_mangle]
pub unsafe extern "C" fn tk_config_set_default_audience(
    config: *mut tk_config,
    audience: *const c_char,
) -> tk_status {
    let f = "tk_config_set_default_audience";
    unsafe {
        edit_str(f, config, audience, "audience", |c, a| {
            *c = c.clone().default_audience(a)
        })
    }
}

/// A second cache level behind the process cache, shared by every process of the user on this
/// host (off by default): `"file"` (the directory `$XDG_CACHE_HOME/tokenkeeper`, else
/// `~/.cache/tokenkeeper`) or `"file:/some/dir"` (an absolute path; created 0700, made 0700
/// if wider; entries 0600, sealed with a key derived from the client's credential, named by
/// digests), or a Redis server shared by a fleet: `"redis://host:6379/0"`, `"rediss://…"`,
/// `"unix:///path/redis.sock"` (the same sealed entries; a Redis lock). On a
/// process-cache miss a client adopts the token another process published for the same key;
/// else one process per key fetches (under an `flock`) and publishes it, so N processes on a
/// cold key send one request. The shared level never makes `tk_client_get_token` fail: when it
/// is unusable (not a directory, not this user's, not writable…) the client fetches on its
/// own and counts `tk_stats.shared_errors`. With the
/// process cache disabled (`tk_config_set_cache(cfg, "enabled", 0)`) every call consults it.
///
/// NULL, `""` or a blank string turns it off. Anything else is parsed by the core
/// (`SharedCache::parse_optional`, the same on every surface): what does not parse
/// (`"file:"` without a directory, a relative directory, a malformed Redis URL, an unknown
/// scheme) is `TK_STATUS_CONFIG` at once, the config unchanged. NULL
/// also turns off what `TOKENKEEPER_SHARED_CACHE` set on a config from `tk_config_from_env`.
#[no_mangle]
pub unsafe extern "C" fn tk_config_set_shared_cache(
    config: *mut tk_config,
    shared_cache: *const c_char,
) -> tk_status {
    const F: &str = "tk_config_set_shared_cache";
    call(F, || {
        let config = unsafe { arg_mut(F, config, "config") }?;
        let spec = unsafe { opt_str_arg(F, shared_cache, "shared_cache") }?;
        let shared = SharedCache::parse_optional(spec)?;
        let inner = config.inner.clone();
        config.inner = match shared {
            Some(level) => inner.shared_cache(level),
            None => inner.without_shared_cache(),
        };
        Ok(())
    })
}

/// Sets one HTTP knob by its name, the same on every surface and config
/// (`tk_verifier_config_set_http`, `tk_signin_config_set_http`), in the core's units: seconds
/// for `connect_timeout` (default 5), `request_timeout` (15), `initial_backoff` (0.2),
/// `max_backoff` (5) and `max_retry_after` (30); whole numbers for `max_response_bytes`
/// (65536, at least 256) and `max_attempts` (3, the first included; 1..=10). An unknown name,
/// a negative, NaN or infinite value, or a fraction of a count is `TK_STATUS_CONFIG` at once
/// (the config is then unchanged); a value out of range is reported by `tk_client_new`.
#[no_mangle]
pub unsafe extern "C" fn tk_config_set_http(
    config: *mut tk_config,
    name: *const c_char,
    value: f64,
) -> tk_status {
    unsafe { set_http_named("tk_config_set_http", config, name, value) }
}

/// Sets one text HTTP knob by its name, the same on every config
/// (`tk_verifier_config_set_http_text`, `tk_signin_config_set_http_text`): `ca_file`, the path
/// of a PEM file of extra CA certificates trusted for HTTPS besides the system's roots. The
/// file is read when the client is built: an unreadable file, or one without a usable
/// certificate, is `TK_STATUS_CONFIG` from `tk_client_new`. A NULL `name` or `value` is
/// `TK_STATUS_NULL_PARAMETER`; invalid UTF-8, `TK_STATUS_INVALID_UTF8`; an unknown name, an
/// empty value or a number knob's name, `TK_STATUS_CONFIG` (the config is then unchanged).
#[no_mangle]
pub unsafe extern "C" fn tk_config_set_http_text(
    config: *mut tk_config,
    name: *const c_char,
    value: *const c_char,
) -> tk_status {
    unsafe { set_http_text_named("tk_config_set_http_text", config, name, value) }
}

/// Sets one cache knob by its name: `expiry_margin` (seconds, default 30: a token with less
/// left is never returned; capped at a fifth of the token's lifetime), `refresh_ahead` (a
/// fraction in [0, 1), default 0.10: a background refresh starts in that last part of the
/// usable lifetime), `max_refresh_ahead` (seconds, default 3600: at most that early), `jitter`
/// (a fraction in [0, 0.5], default 0.05: random extra lead) and `enabled` (1 or 0, default 1:
/// tokens shared with every client of the process that has the same key; 0: every call goes to
/// the shared cache level if one is set, else to the token endpoint). Errors as
/// `tk_config_set_http`.
#[no_mangle]
pub unsafe extern "C" fn tk_config_set_cache(
    config: *mut tk_config,
    name: *const c_char,
    value: f64,
) -> tk_status {
    let f = "tk_config_set_cache";
    unsafe {
        edit_str(f, config, name, "name", |c, n| {
            set_all(c.cache_mut(), CachePolicy::set, &[(n, value)])
        })
    }
}

// The per-knob setters: `tk_config_set_http` / `tk_config_set_cache` in their own units.

/// `connect_timeout` in milliseconds (see `tk_config_set_http`).
/// Deprecated, kept for one release: `tk_config_set_http(config, "connect_timeout", secs)` (seconds, the one time unit).
#[no_mangle]
pub unsafe extern "C" fn tk_config_set_connect_timeout_ms(
    config: *mut tk_config,
    ms: u64,
) -> tk_status {
    let f = "tk_config_set_connect_timeout_ms";
    unsafe { set_http(f, config, &[("connect_timeout", to_secs(ms))]) }
}

/// `request_timeout` in milliseconds: the whole request, from sending to the last byte.
/// Deprecated, kept for one release: `tk_config_set_http(config, "request_timeout", secs)` (seconds, the one time unit).
#[no_mangle]
pub unsafe extern "C" fn tk_config_set_request_timeout_ms(
    config: *mut tk_config,
    ms: u64,
) -> tk_status {
    let f = "tk_config_set_request_timeout_ms";
    unsafe { set_http(f, config, &[("request_timeout", to_secs(ms))]) }
}

/// `max_response_bytes`: larger response bodies are `TK_STATUS_INVALID_RESPONSE`.
#[no_mangle]
pub unsafe extern "C" fn tk_config_set_max_response_bytes(
    config: *mut tk_config,
    bytes: usize,
) -> tk_status {
    let f = "tk_config_set_max_response_bytes";
    unsafe { set_http(f, config, &[("max_response_bytes", bytes as f64)]) }
}

/// `max_attempts`: total attempts for network errors, timeouts, 429 and 5xx, the first
/// included (1 = no retry).
#[no_mangle]
pub unsafe extern "C" fn tk_config_set_retry_max_attempts(
    config: *mut tk_config,
    attempts: u32,
) -> tk_status {
    let f = "tk_config_set_retry_max_attempts";
    unsafe { set_http(f, config, &[("max_attempts", attempts.into())]) }
}

/// `initial_backoff` and `max_backoff` in milliseconds: the exponential backoff between
/// attempts, its first delay and its cap.
/// Deprecated, kept for one release: `tk_config_set_http(config, "initial_backoff", secs)` and `"max_backoff"` (seconds, the one time unit).
#[no_mangle]
pub unsafe extern "C" fn tk_config_set_retry_backoff_ms(
    config: *mut tk_config,
    initial_ms: u64,
    max_ms: u64,
) -> tk_status {
    let knobs = [
        ("initial_backoff", to_secs(initial_ms)),
        ("max_backoff", to_secs(max_ms)),
    ];
    unsafe { set_http("tk_config_set_retry_backoff_ms", config, &knobs) }
}

/// `max_retry_after` in milliseconds: a longer `Retry-After` is not waited for,
/// `TK_STATUS_RATE_LIMITED` is returned at once.
/// Deprecated, kept for one release: `tk_config_set_http(config, "max_retry_after", secs)` (seconds, the one time unit).
#[no_mangle]
pub unsafe extern "C" fn tk_config_set_max_retry_after_ms(
    config: *mut tk_config,
    ms: u64,
) -> tk_status {
    let f = "tk_config_set_max_retry_after_ms";
    unsafe { set_http(f, config, &[("max_retry_after", to_secs(ms))]) }
}

/// Cache `enabled` (see `tk_config_set_cache`).
#[no_mangle]
pub unsafe extern "C" fn tk_config_set_cache_enabled(
    config: *mut tk_config,
    enabled: bool,
) -> tk_status {
    let f = "tk_config_set_cache_enabled";
    unsafe { set_cache(f, config, &[("enabled", f64::from(u8::from(enabled)))]) }
}

/// Cache `expiry_margin` in milliseconds.
/// Deprecated, kept for one release: `tk_config_set_cache(config, "expiry_margin", secs)` (seconds, the one time unit).
#[no_mangle]
pub unsafe extern "C" fn tk_config_set_expiry_margin_ms(
    config: *mut tk_config,
    ms: u64,
) -> tk_status {
    let f = "tk_config_set_expiry_margin_ms";
    unsafe { set_cache(f, config, &[("expiry_margin", to_secs(ms))]) }
}

/// Cache `refresh_ahead` (a fraction) and `max_refresh_ahead` in milliseconds.
#[no_mangle]
pub unsafe extern "C" fn tk_config_set_refresh_ahead(
    config: *mut tk_config,
    fraction: f64,
    max_ms: u64,
) -> tk_status {
    let knobs = [
        ("refresh_ahead", fraction),
        ("max_refresh_ahead", to_secs(max_ms)),
    ];
    unsafe { set_cache("tk_config_set_refresh_ahead", config, &knobs) }
}

/// Cache `jitter` (a fraction).
#[no_mangle]
pub unsafe extern "C" fn tk_config_set_jitter(config: *mut tk_config, fraction: f64) -> tk_status {
    unsafe { set_cache("tk_config_set_jitter", config, &[("jitter", fraction)]) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn shared_of(config: *mut tk_config) -> Option<SharedCache> {
        unsafe { &*config }.client_config().shared().cloned()
    }

    #[test]
    fn the_shared_cache_is_parsed_by_the_core_and_turned_off_by_null_or_empty() {
        let mut config = std::ptr::null_mut();
        let s = unsafe {
            tk_config_new(
                c"https://tenant.example.com".as_ptr(),
                c"id".as_ptr(),
                c"secret".as_ptr(),
                &mut config,
            )
        };
        assert_eq!(s, tk_status::Ok);
        assert_eq!(shared_of(config), None, "off by default");
        let set = |spec: Option<&std::ffi::CStr>| unsafe {
            tk_config_set_shared_cache(config, spec.map_or(std::ptr::null(), |s| s.as_ptr()))
        };
        assert_eq!(set(Some(c"file:/var/tmp/tk")), tk_status::Ok);
        let dir = SharedCache::File {
            dir: Some(PathBuf::from("/var/tmp/tk")),
        };
        assert_eq!(shared_of(config), Some(dir.clone()));
        for bad in [
            c"redis://127.0.0.1:notaport/0",
            c"nope",
            c"file:",
            c"file:relative/dir",
        ] {
            assert_eq!(set(Some(bad)), tk_status::Config, "{bad:?}");
            assert_eq!(crate::error::tk_last_error_status(), tk_status::Config);
            assert_eq!(shared_of(config), Some(dir.clone()), "unchanged by {bad:?}");
        }
        for off in [c"", c"  "] {
            assert_eq!(set(Some(c"file")), tk_status::Ok);
            assert_eq!(set(Some(off)), tk_status::Ok, "{off:?}");
            assert_eq!(shared_of(config), None, "{off:?}");
        }
        assert_eq!(set(Some(c"file")), tk_status::Ok);
        assert_eq!(shared_of(config), Some(SharedCache::File { dir: None }));
        assert_eq!(set(None), tk_status::Ok);
        assert_eq!(shared_of(config), None);
        assert_eq!(set(Some(c"caf\xc3\x28")), tk_status::InvalidUtf8);
        let null = unsafe { tk_config_set_shared_cache(std::ptr::null_mut(), c"file".as_ptr()) };
        assert_eq!(null, tk_status::NullParameter);
        unsafe { tk_config_free(config) };
    }
}
