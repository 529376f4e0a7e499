//! `tk_config`: what a client is built from, set field by field so fields can be added later
//! without breaking the ABI. Nothing is validated here: `tk_client_new` hands the whole config
//! to the core, which reports anything unusable as `TK_STATUS_CONFIG`.

use std::ffi::c_char;
use std::time::Duration;

use tk_core::{
    AuthMethod, CachePolicy, ClientConfig, Credentials, HttpPolicy, RetryPolicy, SigningAlg,
};

use crate::boundary::{arg_mut, call, call_void, opt_str_arg, out_ptr, str_arg};
use crate::error::Failure;
use crate::status::tk_status;

/// A client configuration (opaque). Create with `tk_config_new`,
/// `tk_config_new_private_key_jwt` or `tk_config_from_env`; adjust with `tk_config_set_*`;
/// build clients from it with `tk_client_new` (which copies it); free with `tk_config_free`.
/// Not thread-safe: do not change it while another thread uses it.
pub struct tk_config {
    base: ClientConfig,
    cache: CachePolicy,
    retry: RetryPolicy,
    http: HttpPolicy,
}

impl tk_config {
    fn from_base(base: ClientConfig) -> Box<Self> {
        Box::new(Self {
            base,
            cache: CachePolicy::default(),
            retry: RetryPolicy::default(),
            http: HttpPolicy::default(),
        })
    }

    /// The core's config, with the policies set so far.
    pub(crate) fn build(&self) -> ClientConfig {
        self.base
            .clone()
            .cache_policy(self.cache.clone())
            .retry_policy(self.retry.clone())
            .http_policy(self.http.clone())
    }

    fn edit_base(&mut self, f: impl FnOnce(ClientConfig) -> ClientConfig) {
        self.base = f(self.base.clone());
    }
}

fn millis(v: u64) -> Duration {
    Duration::from_millis(v)
}

/// A config for a client secret (sent as `client_secret_post` unless
/// `tk_config_set_auth_method` says otherwise). `domain` is `tenant.auth0.com`, a full
/// `https://` URL, or an `http://` URL of a loopback host. On success `*out` is a new config.
#[no_mangle]
pub unsafe extern "C" fn tk_config_new(
    domain: *const c_char,
    client_id: *const c_char,
    client_secret: *const c_char,
    out: *mut *mut tk_config,
) -> tk_status {
    const F: &str = "tk_config_new";
    call(F, || {
        let domain = unsafe { str_arg(F, domain, "domain") }?;
        let client_id = unsafe { str_arg(F, client_id, "client_id") }?;
        let secret = unsafe { str_arg(F, client_secret, "client_secret") }?;
        let out = out_ptr(F, out, "out")?;
        let cfg = ClientConfig::new(domain, client_id, Credentials::client_secret(secret));
        unsafe { out.write(Box::into_raw(tk_config::from_base(cfg))) };
        Ok(())
    })
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
    call(F, || {
        let domain = unsafe { str_arg(F, domain, "domain") }?;
        let client_id = unsafe { str_arg(F, client_id, "client_id") }?;
        let pem = unsafe { str_arg(F, private_key_pem, "private_key_pem") }?;
        let alg = unsafe { str_arg(F, alg, "alg") }?;
        let key_id = unsafe { opt_str_arg(F, key_id, "key_id") }?;
        let out = out_ptr(F, out, "out")?;
        let mut creds = Credentials::private_key_jwt(pem, SigningAlg::parse(alg)?);
        if let Some(kid) = key_id {
            creds = creds.with_key_id(kid);
        }
        let cfg = ClientConfig::new(domain, client_id, creds);
        unsafe { out.write(Box::into_raw(tk_config::from_base(cfg))) };
        Ok(())
    })
}

/// A config from `AUTH0_DOMAIN`, `AUTH0_CLIENT_ID`, `AUTH0_CLIENT_SECRET` and the optional
/// `AUTH0_AUDIENCE` (the default audience). A missing variable is `TK_STATUS_CONFIG`.
#[no_mangle]
pub unsafe extern "C" fn tk_config_from_env(out: *mut *mut tk_config) -> tk_status {
    const F: &str = "tk_config_from_env";
    call(F, || {
        let out = out_ptr(F, out, "out")?;
        let cfg = ClientConfig::from_env()?;
        unsafe { out.write(Box::into_raw(tk_config::from_base(cfg))) };
        Ok(())
    })
}

/// Frees a config. NULL is ignored. Clients built from it are not affected.
#[no_mangle]
pub unsafe extern "C" fn tk_config_free(config: *mut tk_config) {
    call_void(|| {
        if !config.is_null() {
            drop(unsafe { Box::from_raw(config) });
        }
    })
}

/// Applies `f` to the config behind `config`, inside the boundary.
unsafe fn set(
    func: &'static str,
    config: *mut tk_config,
    f: impl FnOnce(&mut tk_config) -> Result<(), Failure>,
) -> tk_status {
    call(func, || f(unsafe { arg_mut(func, config, "config") }?))
}

/// `"client_secret_post"` (default), `"client_secret_basic"` or `"private_key_jwt"`. An unknown
/// name is `TK_STATUS_CONFIG`.
#[no_mangle]
pub unsafe extern "C" fn tk_config_set_auth_method(
    config: *mut tk_config,
    method: *const c_char,
) -> tk_status {
    const F: &str = "tk_config_set_auth_method";
    unsafe {
        set(F, config, |c| {
            let m = AuthMethod::parse(str_arg(F, method, "method")?)?;
            c.edit_base(|b| b.auth_method(m));
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
    const F: &str = "tk_config_set_token_url";
    unsafe {
        set(F, config, |c| {
            let url = str_arg(F, url, "url")?;
            c.edit_base(|b| b.token_url(url));
            Ok(())
        })
    }
}

/// The audience used by `tk_client_get_token` when its `audience` is NULL.
#[no_mangle]
pub unsafe extern "C" fn tk_config_set_default_audience(
    config: *mut tk_config,
    audience: *const c_char,
) -> tk_status {
    const F: &str = "tk_config_set_default_audience";
    unsafe {
        set(F, config, |c| {
            let aud = str_arg(F, audience, "audience")?;
            c.edit_base(|b| b.default_audience(aud));
            Ok(())
        })
    }
}

/// Connect timeout in milliseconds (default 5000; 0 is refused by `tk_client_new`).
#[no_mangle]
pub unsafe extern "C" fn tk_config_set_connect_timeout_ms(
    config: *mut tk_config,
    ms: u64,
) -> tk_status {
    unsafe {
        set("tk_config_set_connect_timeout_ms", config, |c| {
            c.http.connect_timeout = millis(ms);
            Ok(())
        })
    }
}

/// Whole-request timeout in milliseconds, from sending to the last byte (default 15000).
#[no_mangle]
pub unsafe extern "C" fn tk_config_set_request_timeout_ms(
    config: *mut tk_config,
    ms: u64,
) -> tk_status {
    unsafe {
        set("tk_config_set_request_timeout_ms", config, |c| {
            c.http.request_timeout = millis(ms);
            Ok(())
        })
    }
}

/// Larger response bodies are `TK_STATUS_INVALID_RESPONSE` (default 65536, at least 256).
#[no_mangle]
pub unsafe extern "C" fn tk_config_set_max_response_bytes(
    config: *mut tk_config,
    bytes: usize,
) -> tk_status {
    unsafe {
        set("tk_config_set_max_response_bytes", config, |c| {
            c.http.max_response_bytes = bytes;
            Ok(())
        })
    }
}

/// Total attempts for network errors, timeouts, 429 and 5xx, the first included (default 3;
/// 1 = no retry; 1..=10).
#[no_mangle]
pub unsafe extern "C" fn tk_config_set_retry_max_attempts(
    config: *mut tk_config,
    attempts: u32,
) -> tk_status {
    unsafe {
        set("tk_config_set_retry_max_attempts", config, |c| {
            c.retry.max_attempts = attempts;
            Ok(())
        })
    }
}

/// Exponential backoff between attempts: first delay and cap, in milliseconds (default 200 and
/// 5000).
#[no_mangle]
pub unsafe extern "C" fn tk_config_set_retry_backoff_ms(
    config: *mut tk_config,
    initial_ms: u64,
    max_ms: u64,
) -> tk_status {
    unsafe {
        set("tk_config_set_retry_backoff_ms", config, |c| {
            c.retry.initial_backoff = millis(initial_ms);
            c.retry.max_backoff = millis(max_ms);
            Ok(())
        })
    }
}

/// A `Retry-After` longer than this (milliseconds, default 30000) is not waited for:
/// `TK_STATUS_RATE_LIMITED` is returned at once.
#[no_mangle]
pub unsafe extern "C" fn tk_config_set_max_retry_after_ms(
    config: *mut tk_config,
    ms: u64,
) -> tk_status {
    unsafe {
        set("tk_config_set_max_retry_after_ms", config, |c| {
            c.retry.max_retry_after = millis(ms);
            Ok(())
        })
    }
}

/// Whether tokens are cached and shared with every client of the process that has the same key
/// (default true).
#[no_mangle]
pub unsafe extern "C" fn tk_config_set_cache_enabled(
    config: *mut tk_config,
    enabled: bool,
) -> tk_status {
    unsafe {
        set("tk_config_set_cache_enabled", config, |c| {
            c.cache.enabled = enabled;
            Ok(())
        })
    }
}

/// A token with less than this left (milliseconds, default 30000, capped at a fifth of the
/// token's lifetime) is never returned.
#[no_mangle]
pub unsafe extern "C" fn tk_config_set_expiry_margin_ms(
    config: *mut tk_config,
    ms: u64,
) -> tk_status {
    unsafe {
        set("tk_config_set_expiry_margin_ms", config, |c| {
            c.cache.expiry_margin = millis(ms);
            Ok(())
        })
    }
}

/// Background refresh: starts in the last `fraction` of the usable lifetime (default 0.10, in
/// [0, 1)), at most `max_ms` milliseconds early (default 3600000).
#[no_mangle]
pub unsafe extern "C" fn tk_config_set_refresh_ahead(
    config: *mut tk_config,
    fraction: f64,
    max_ms: u64,
) -> tk_status {
    unsafe {
        set("tk_config_set_refresh_ahead", config, |c| {
            c.cache.refresh_ahead = fraction;
            c.cache.max_refresh_ahead = millis(max_ms);
            Ok(())
        })
    }
}

/// Random extra lead of a refresh, as a fraction of the usable lifetime (default 0.05, in
/// [0, 0.5]), so a fleet does not refresh in lock-step.
#[no_mangle]
pub unsafe extern "C" fn tk_config_set_jitter(config: *mut tk_config, fraction: f64) -> tk_status {
    unsafe {
        set("tk_config_set_jitter", config, |c| {
            c.cache.jitter = fraction;
            Ok(())
        })
    }
}
