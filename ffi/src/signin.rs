//! User sign-in (authorization code + PKCE): `tk_signin_config`, `tk_signin_client`,
//! `tk_authorize_params`, `tk_login_tx`, and `/userinfo`.

use std::ffi::c_char;
use std::time::Duration;

use tk_core::{
    AuthMethod, AuthorizeParams, Credentials, LoginTransaction, SharedCache, SignInClient,
    SignInConfig,
};

use crate::boundary::{
    arg, edit, edit_str, editable, free_handle, get, get_str, make, new_handle, opt_str_arg,
    str_arg,
};
use crate::claims::tk_claims;
use crate::config::private_key;
use crate::knobs::{ms, set_http, set_http_named, set_http_text_named, set_named};
use crate::status::tk_status;
use crate::user_credentials::tk_user_credentials;

/// An application that signs users in (opaque). Create with `tk_signin_config_new`, adjust with
/// `tk_signin_config_*`, build clients with `tk_signin_client_new` (which copies it), free with
/// `tk_signin_config_free`. Not thread-safe: do not change it while another thread uses it.
/// Nothing is validated before `tk_signin_client_new`.
pub struct tk_signin_config {
    inner: SignInConfig,
}

/// Signs users in and renews their tokens (opaque, thread-safe). Free with
/// `tk_signin_client_free` once no thread uses it (credentials managers built from it keep
/// what they need).
pub struct tk_signin_client {
    pub(crate) inner: SignInClient,
}

/// Per-login options of `tk_signin_authorize` (opaque); each overrides the config's default.
/// Create with `tk_authorize_params_new`, free with `tk_authorize_params_free`.
pub struct tk_authorize_params {
    inner: AuthorizeParams,
}

/// One login in progress (opaque, immutable, thread-safe): the `/authorize` URL to open and what
/// the callback is checked against. It holds the PKCE code verifier, a secret: keep it until
/// the browser comes back (`tk_login_tx_to_json` to persist it across a restart). Free with
/// `tk_login_tx_free`.
pub struct tk_login_tx {
    inner: LoginTransaction,
}

editable!(tk_signin_config, "config", SignInConfig);
editable!(tk_authorize_params, "params", AuthorizeParams);

/// A config for the app `client_id` of the tenant at `domain` (`tenant.auth0.com`, an
/// `https://` URL, or an `http://` URL of a loopback host) that `/authorize` sends back to
/// `redirect_uri` (one of the app's allowed callback URLs). A public client (PKCE only) until
/// `tk_signin_config_set_client_secret` or `_set_private_key_jwt`. Defaults: scope
/// `"openid profile email"`, `offline_access` asked (for a refresh token), leeway 60 s. On
/// success `*out` is a new config.
#[no_mangle]
pub unsafe extern "C" fn tk_signin_config_new(
    domain: *const c_char,
    client_id: *const c_char,
    redirect_uri: *const c_char,
    out: *mut *mut tk_signin_config,
) -> tk_status {
    const F: &str = "tk_signin_config_new";
    unsafe {
        make(F, out, || {
            let domain = str_arg(F, domain, "domain")?;
            let client_id = str_arg(F, client_id, "client_id")?;
            let redirect_uri = str_arg(F, redirect_uri, "redirect_uri")?;
            let inner = SignInConfig::new(domain, client_id, redirect_uri);
            Ok(tk_signin_config { inner })
        })
    }
}

/// Frees a sign-in config. NULL is ignored. Clients built from it are not affected.
#[no_mangle]
pub unsafe extern "C" fn tk_signin_config_free(config: *mut tk_signin_config) {
    unsafe { free_handle(config) }
}

/// A config from `AUTH0_DOMAIN`, `AUTH0_CLIENT_ID` and `AUTH0_REDIRECT_URI` (required), the
/// credential variables of `tk_config_from_env` if the app is a confidential client (none: a
/// public client), and the optional `AUTH0_AUDIENCE`, `AUTH0_SCOPE` and `TOKENKEEPER_CA_FILE`
/// (the core's `SignInConfig::from_env`). A missing or unreadable variable is
/// `TK_STATUS_CONFIG` naming it. On success `*out` is a new config.
#[no_mangle]
pub unsafe extern "C" fn tk_signin_config_from_env(out: *mut *mut tk_signin_config) -> tk_status {
    unsafe {
        make("tk_signin_config_from_env", out, || {
            Ok(tk_signin_config {
                inner: SignInConfig::from_env()?,
            })
        })
    }
}

/// Makes the app a confidential client (regular web app) authenticating with a client secret
/// (`client_secret_post` unless `tk_signin_config_set_auth_method` says `client_secret_basic`);
/// `""` makes it a public client again.
#[no_mangle]
pub unsafe extern "C" fn tk_signin_config_set_client_secret(
    config: *mut tk_signin_config,
    client_secret: *const c_char,
) -> tk_status {
    let f = "tk_signin_config_set_client_secret";
    unsafe {
        edit_str(f, config, client_secret, "client_secret", |c, s| {
            c.credentials = Credentials::optional_from_parts(Some(s), None, None, None)?;
            Ok(())
        })
    }
}

/// Makes the app a confidential client authenticating with `private_key_jwt`: the app's PEM
/// private key, `alg` `"RS256"`, `"PS256"` or `"ES256"` (another is `TK_STATUS_CONFIG`), and
/// an optional `kid` (NULL for none). A bad key is reported by `tk_signin_client_new`.
#[no_mangle]
pub unsafe extern "C" fn tk_signin_config_set_private_key_jwt(
    config: *mut tk_signin_config,
    private_key_pem: *const c_char,
    alg: *const c_char,
    key_id: *const c_char,
) -> tk_status {
    const F: &str = "tk_signin_config_set_private_key_jwt";
    unsafe {
        edit(F, config, |c| {
            c.credentials = Some(private_key(F, private_key_pem, alg, key_id)?);
            Ok(())
        })
    }
}

/// `"client_secret_post"`, `"client_secret_basic"` or `"private_key_jwt"` (for a confidential
/// client; an unknown name is `TK_STATUS_CONFIG`).
#[no_mangle]
pub unsafe extern "C" fn tk_signin_config_set_auth_method(
    config: *mut tk_signin_config,
    method: *const c_char,
) -> tk_status {
    let f = "tk_signin_config_set_auth_method";
    unsafe {
        edit_str(f, config, method, "method", |c, m| {
            c.auth_method = Some(AuthMethod::parse(m)?);
            Ok(())
        })
    }
}

/// The default API audience of the access token (`""` for none: an opaque access token, good
/// for `/userinfo` only).
#[no_mangle]
pub unsafe extern "C" fn tk_signin_config_set_audience(
    config: *mut tk_signin_config,
    audience: *const c_char,
) -> tk_status {
    let f = "tk_signin_config_set_audience";
    unsafe {
        edit_str(f, config, audience, "audience", |c, s| {
            c.audience = Some(s.into())
        })
    }
}

/// The default scopes, space separated (default `"openid profile email"`; `openid` is always
/// asked).
#[no_mangle]
pub unsafe extern "C" fn tk_signin_config_set_scope(
    config: *mut tk_signin_config,
    scope: *const c_char,
) -> tk_status {
    let f = "tk_signin_config_set_scope";
    unsafe { edit_str(f, config, scope, "scope", |c, s| c.scope = s.into()) }
}

/// The default organization (id `org_…` or name; `""` for none).
#[no_mangle]
pub unsafe extern "C" fn tk_signin_config_set_organization(
    config: *mut tk_signin_config,
    organization: *const c_char,
) -> tk_status {
    let f = "tk_signin_config_set_organization";
    unsafe {
        edit_str(f, config, organization, "organization", |c, s| {
            c.organization = Some(s.into())
        })
    }
}

/// Whether `offline_access` is added to the scopes, for a refresh token (default true).
#[no_mangle]
pub unsafe extern "C" fn tk_signin_config_set_offline_access(
    config: *mut tk_signin_config,
    offline_access: bool,
) -> tk_status {
    let f = "tk_signin_config_set_offline_access";
    unsafe { edit(f, config, |c| c.offline_access = offline_access) }
}

/// Adds an accepted ID-token `iss` (see `tk_verifier_config_add_issuer`).
#[no_mangle]
pub unsafe extern "C" fn tk_signin_config_add_issuer(
    config: *mut tk_signin_config,
    issuer: *const c_char,
) -> tk_status {
    let f = "tk_signin_config_add_issuer";
    unsafe { edit_str(f, config, issuer, "issuer", |c, s| c.issuers.push(s.into())) }
}

/// Sets a knob by name, durations in seconds (the one time unit of the C API): `leeway`
/// (default 60, at most 600), `offline_access` (0 or 1, default 1), or any HTTP knob of
/// `tk_signin_config_set_http`. An unknown name or an unusable value is `TK_STATUS_CONFIG` at
/// once (the config unchanged).
#[no_mangle]
pub unsafe extern "C" fn tk_signin_config_set(
    config: *mut tk_signin_config,
    name: *const c_char,
    value: f64,
) -> tk_status {
    let f = "tk_signin_config_set";
    unsafe { set_named(f, config, name, value, tk_core::SignInConfig::set) }
}

/// Clock skew allowed when checking ID tokens, in seconds (default 60, at most 600).
/// Deprecated, kept for one release: `tk_signin_config_set(config, "leeway", secs)`.
#[no_mangle]
pub unsafe extern "C" fn tk_signin_config_set_leeway_secs(
    config: *mut tk_signin_config,
    secs: u64,
) -> tk_status {
    let f = "tk_signin_config_set_leeway_secs";
    unsafe { edit(f, config, |c| c.leeway = Duration::from_secs(secs)) }
}

/// Overrides `{domain}/authorize`.
#[no_mangle]
pub unsafe extern "C" fn tk_signin_config_set_authorize_url(
    config: *mut tk_signin_config,
    url: *const c_char,
) -> tk_status {
    let f = "tk_signin_config_set_authorize_url";
    unsafe {
        edit_str(f, config, url, "url", |c, s| {
            c.authorize_url = Some(s.into())
        })
    }
}

/// Overrides `{domain}/oauth/token`.
#[no_mangle]
pub unsafe extern "C" fn tk_signin_config_set_token_url(
    config: *mut tk_signin_config,
    url: *const c_char,
) -> tk_status {
    let f = "tk_signin_config_set_token_url";
    unsafe { edit_str(f, config, url, "url", |c, s| c.token_url = Some(s.into())) }
}

/// Overrides `{domain}/userinfo`.
#[no_mangle]
pub unsafe extern "C" fn tk_signin_config_set_userinfo_url(
    config: *mut tk_signin_config,
    url: *const c_char,
) -> tk_status {
    let f = "tk_signin_config_set_userinfo_url";
    unsafe {
        edit_str(f, config, url, "url", |c, s| {
            c.userinfo_url = Some(s.into())
        })
    }
}

/// Shares refresh-token renewals with every process (`"file"`, `"file:/dir"`) or host
/// (`"redis://…"`, `"rediss://…"`) on the level: the managers of this app spend each refresh
/// token once for the whole fleet, and the others adopt the rotated one (see docs/grants.md).
/// NULL or `""` turns it off. Parsed by the core as `tk_config_set_shared_cache`: what does not
/// parse is `TK_STATUS_CONFIG` at once; a level that cannot be opened is warned about when the
/// client is built, and renewals are then shared within the process only.
#[no_mangle]
pub unsafe extern "C" fn tk_signin_config_set_shared_cache(
    config: *mut tk_signin_config,
    shared_cache: *const c_char,
) -> tk_status {
    const F: &str = "tk_signin_config_set_shared_cache";
    unsafe {
        edit(F, config, |c| {
            let spec = opt_str_arg(F, shared_cache, "shared_cache")?;
            c.shared_cache = SharedCache::parse_optional(spec)?;
            Ok(())
        })
    }
}

/// Sets one HTTP knob by its name: the names, units and rules of `tk_config_set_http`. Retries
/// (`max_attempts`, backoff, `max_retry_after`) apply to the idempotent requests (JWKS,
/// `/userinfo`); the code exchange and the refresh grant are never retried (a code is single
/// use; a refresh token may rotate).
#[no_mangle]
pub unsafe extern "C" fn tk_signin_config_set_http(
    config: *mut tk_signin_config,
    name: *const c_char,
    value: f64,
) -> tk_status {
    unsafe { set_http_named("tk_signin_config_set_http", config, name, value) }
}

/// Sets one text HTTP knob (`ca_file`) by its name: the rules of `tk_config_set_http_text`.
#[no_mangle]
pub unsafe extern "C" fn tk_signin_config_set_http_text(
    config: *mut tk_signin_config,
    name: *const c_char,
    value: *const c_char,
) -> tk_status {
    unsafe { set_http_text_named("tk_signin_config_set_http_text", config, name, value) }
}

/// `connect_timeout` in milliseconds (see `tk_signin_config_set_http`).
/// Deprecated, kept for one release: `tk_signin_config_set(config, "connect_timeout", secs)` (seconds, the one time unit).
#[no_mangle]
pub unsafe extern "C" fn tk_signin_config_set_connect_timeout_ms(
    config: *mut tk_signin_config,
    ms: u64,
) -> tk_status {
    let f = "tk_signin_config_set_connect_timeout_ms";
    unsafe { set_http(f, config, &[("connect_timeout", self::ms(ms))]) }
}

/// `request_timeout` in milliseconds.
/// Deprecated, kept for one release: `tk_signin_config_set(config, "request_timeout", secs)` (seconds, the one time unit).
#[no_mangle]
pub unsafe extern "C" fn tk_signin_config_set_request_timeout_ms(
    config: *mut tk_signin_config,
    ms: u64,
) -> tk_status {
    let f = "tk_signin_config_set_request_timeout_ms";
    unsafe { set_http(f, config, &[("request_timeout", self::ms(ms))]) }
}

/// `max_attempts` of the idempotent requests (JWKS, `/userinfo`), the first included.
#[no_mangle]
pub unsafe extern "C" fn tk_signin_config_set_retry_max_attempts(
    config: *mut tk_signin_config,
    attempts: u32,
) -> tk_status {
    let f = "tk_signin_config_set_retry_max_attempts";
    unsafe { set_http(f, config, &[("max_attempts", attempts.into())]) }
}

/// Builds a sign-in client from a config (copied). Anything unusable is `TK_STATUS_CONFIG`; no
/// network. On success `*out` is a new client.
#[no_mangle]
pub unsafe extern "C" fn tk_signin_client_new(
    config: *const tk_signin_config,
    out: *mut *mut tk_signin_client,
) -> tk_status {
    unsafe {
        get("tk_signin_client_new", config, "config", out, |c| {
            let inner = SignInClient::new(c.inner.clone())?;
            Ok(new_handle(tk_signin_client { inner }))
        })
    }
}

/// Frees a sign-in client. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn tk_signin_client_free(client: *mut tk_signin_client) {
    unsafe { free_handle(client) }
}

// ---- authorize parameters ---------------------------------------------------------------------

/// Empty parameters (every value from the client's config). On success `*out` is new.
#[no_mangle]
pub unsafe extern "C" fn tk_authorize_params_new(out: *mut *mut tk_authorize_params) -> tk_status {
    let inner = AuthorizeParams::default();
    unsafe {
        make("tk_authorize_params_new", out, || {
            Ok(tk_authorize_params { inner })
        })
    }
}

/// Frees authorize parameters. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn tk_authorize_params_free(params: *mut tk_authorize_params) {
    unsafe { free_handle(params) }
}

/// The API audience of this login's access token.
#[no_mangle]
pub unsafe extern "C" fn tk_authorize_params_set_audience(
    params: *mut tk_authorize_params,
    audience: *const c_char,
) -> tk_status {
    let f = "tk_authorize_params_set_audience";
    unsafe {
        edit_str(f, params, audience, "audience", |p, s| {
            p.audience = Some(s.into())
        })
    }
}

/// The scopes of this login, space separated (`openid` is always asked).
#[no_mangle]
pub unsafe extern "C" fn tk_authorize_params_set_scope(
    params: *mut tk_authorize_params,
    scope: *const c_char,
) -> tk_status {
    let f = "tk_authorize_params_set_scope";
    unsafe { edit_str(f, params, scope, "scope", |p, s| p.scope = Some(s.into())) }
}

/// The organization of this login (id `org_…` or name); the ID token must carry it.
#[no_mangle]
pub unsafe extern "C" fn tk_authorize_params_set_organization(
    params: *mut tk_authorize_params,
    organization: *const c_char,
) -> tk_status {
    let f = "tk_authorize_params_set_organization";
    unsafe {
        edit_str(f, params, organization, "organization", |p, s| {
            p.organization = Some(s.into())
        })
    }
}

/// Where `/authorize` sends the browser back for this login (an allowed callback URL).
#[no_mangle]
pub unsafe extern "C" fn tk_authorize_params_set_redirect_uri(
    params: *mut tk_authorize_params,
    redirect_uri: *const c_char,
) -> tk_status {
    let f = "tk_authorize_params_set_redirect_uri";
    unsafe {
        edit_str(f, params, redirect_uri, "redirect_uri", |p, s| {
            p.redirect_uri = Some(s.into())
        })
    }
}

/// Seconds since the user's last authentication beyond which they must log in again; checked
/// against the ID token's `auth_time`.
#[no_mangle]
pub unsafe extern "C" fn tk_authorize_params_set_max_age(
    params: *mut tk_authorize_params,
    max_age_secs: u64,
) -> tk_status {
    let f = "tk_authorize_params_set_max_age";
    unsafe { edit(f, params, |p| p.max_age = Some(max_age_secs)) }
}

/// Adds a query parameter (`prompt`, `login_hint`, `connection`, `screen_hint`,
/// `ui_locales`…). The core puts them after its own parameters, sorted by name (then value),
/// whatever the order they were added in. One the library sets itself (`state`, `scope`…) is
/// refused by `tk_signin_authorize` with `TK_STATUS_CONFIG`.
#[no_mangle]
pub unsafe extern "C" fn tk_authorize_params_add(
    params: *mut tk_authorize_params,
    name: *const c_char,
    value: *const c_char,
) -> tk_status {
    const F: &str = "tk_authorize_params_add";
    unsafe {
        edit_str(F, params, name, "name", |p, name| {
            let value = str_arg(F, value, "value")?;
            p.extra.push((name.into(), value.into()));
            Ok(())
        })
    }
}

// ---- the login ------------------------------------------------------------------------------

/// Starts a login: builds the `/authorize` URL (response type code, client id, redirect URI,
/// audience, scope, state, nonce, S256 code challenge, organization, extra parameters) with
/// `params` (NULL: the config's defaults). No network. On success `*out` is a new login
/// transaction: open `tk_login_tx_url` in a browser, then give the URL the browser was sent
/// back to `tk_signin_handle_callback`.
#[no_mangle]
pub unsafe extern "C" fn tk_signin_authorize(
    client: *const tk_signin_client,
    params: *const tk_authorize_params,
    out: *mut *mut tk_login_tx,
) -> tk_status {
    unsafe {
        get("tk_signin_authorize", client, "client", out, |c| {
            let default = AuthorizeParams::default();
            let params = params.as_ref().map_or(&default, |p| &p.inner);
            let inner = c.inner.authorize(params)?;
            Ok(new_handle(tk_login_tx { inner }))
        })
    }
}

/// Frees a login transaction. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn tk_login_tx_free(tx: *mut tk_login_tx) {
    unsafe { free_handle(tx) }
}

/// The `/authorize` URL to open in the browser, copied into `buf` (`len` bytes) with its NUL;
/// `*out_len` receives the length needed, NUL included, also with `TK_STATUS_BUFFER_TOO_SMALL`
/// (then `buf` is left untouched; `buf` may be NULL with `len` 0 to ask for the length).
#[no_mangle]
pub unsafe extern "C" fn tk_login_tx_url(
    tx: *const tk_login_tx,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> tk_status {
    unsafe {
        get_str("tk_login_tx_url", tx, "tx", buf, len, out_len, |t| {
            Ok((&*t.inner.url).into())
        })
    }
}

/// The `state` the callback must carry. Buffer rules as `tk_login_tx_url`.
#[no_mangle]
pub unsafe extern "C" fn tk_login_tx_state(
    tx: *const tk_login_tx,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> tk_status {
    unsafe {
        get_str("tk_login_tx_state", tx, "tx", buf, len, out_len, |t| {
            Ok((&*t.inner.state).into())
        })
    }
}

/// The `nonce` the ID token must carry. Buffer rules as `tk_login_tx_url`.
#[no_mangle]
pub unsafe extern "C" fn tk_login_tx_nonce(
    tx: *const tk_login_tx,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> tk_status {
    unsafe {
        get_str("tk_login_tx_nonce", tx, "tx", buf, len, out_len, |t| {
            Ok((&*t.inner.nonce).into())
        })
    }
}

/// The whole transaction as JSON, to persist it until the browser comes back (restore with
/// `tk_login_tx_from_json`). It holds the PKCE code verifier: store it like a secret and wipe
/// the buffer after use. Buffer rules as `tk_login_tx_url`.
#[no_mangle]
pub unsafe extern "C" fn tk_login_tx_to_json(
    tx: *const tk_login_tx,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> tk_status {
    unsafe {
        get_str("tk_login_tx_to_json", tx, "tx", buf, len, out_len, |t| {
            Ok(t.inner.to_json().into())
        })
    }
}

/// A transaction saved with `tk_login_tx_to_json`. Anything else is `TK_STATUS_CONFIG`. On
/// success `*out` is a new transaction.
#[no_mangle]
pub unsafe extern "C" fn tk_login_tx_from_json(
    json: *const c_char,
    out: *mut *mut tk_login_tx,
) -> tk_status {
    const F: &str = "tk_login_tx_from_json";
    unsafe {
        make(F, out, || {
            let inner = LoginTransaction::from_json(str_arg(F, json, "json")?)?;
            Ok(tk_login_tx { inner })
        })
    }
}

/// Finishes a login from the URL the browser was sent back to: checks `state` (a forged or
/// stale callback is `TK_STATUS_INVALID_RESPONSE`), turns an `error` in it into
/// `TK_STATUS_OAUTH`, exchanges the code at `/oauth/token` with the PKCE verifier, and verifies
/// the ID token (`TK_STATUS_INVALID_TOKEN` with the failed check). Blocks the calling thread.
/// On success `*out` is new user credentials.
#[no_mangle]
pub unsafe extern "C" fn tk_signin_handle_callback(
    client: *const tk_signin_client,
    tx: *const tk_login_tx,
    callback_url: *const c_char,
    out: *mut *mut tk_user_credentials,
) -> tk_status {
    const F: &str = "tk_signin_handle_callback";
    unsafe {
        get(F, client, "client", out, |c| {
            let tx = &arg(F, tx, "tx")?.inner;
            let url = str_arg(F, callback_url, "callback_url")?;
            Ok(tk_user_credentials::new_raw(
                c.inner.handle_callback_blocking(tx, url)?,
            ))
        })
    }
}

/// Exchanges an authorization code the app got by other means (grant `authorization_code`
/// with the transaction's PKCE verifier) and verifies the ID token, as
/// `tk_signin_handle_callback` does after checking `state`.
#[no_mangle]
pub unsafe extern "C" fn tk_signin_exchange_code(
    client: *const tk_signin_client,
    tx: *const tk_login_tx,
    code: *const c_char,
    out: *mut *mut tk_user_credentials,
) -> tk_status {
    const F: &str = "tk_signin_exchange_code";
    unsafe {
        get(F, client, "client", out, |c| {
            let tx = &arg(F, tx, "tx")?.inner;
            let code = str_arg(F, code, "code")?;
            Ok(tk_user_credentials::new_raw(
                c.inner.exchange_code_blocking(tx, code)?,
            ))
        })
    }
}

/// One `refresh_token` grant, asking for `scope` (NULL: the granted ones). A refused refresh
/// token is `TK_STATUS_REAUTHENTICATION_REQUIRED`. The result's refresh token is the new one
/// when the server rotated it, otherwise there is none (`tk_user_credentials_has_refresh_token`):
/// keep the one you sent. Prefer `tk_credentials_manager_*`, which handles rotation.
#[no_mangle]
pub unsafe extern "C" fn tk_signin_refresh(
    client: *const tk_signin_client,
    refresh_token: *const c_char,
    scope: *const c_char,
    out: *mut *mut tk_user_credentials,
) -> tk_status {
    const F: &str = "tk_signin_refresh";
    unsafe {
        get(F, client, "client", out, |c| {
            let rt = str_arg(F, refresh_token, "refresh_token")?;
            let scope = opt_str_arg(F, scope, "scope")?;
            Ok(tk_user_credentials::new_raw(
                c.inner.refresh_blocking(rt, scope)?,
            ))
        })
    }
}

/// The user's profile from `/userinfo` for an access token (opaque, or a JWT whose `aud`
/// includes `{issuer}userinfo`). A rejected token is `TK_STATUS_OAUTH` `invalid_token`, HTTP
/// 401. On success `*out` is a new claims handle (`sub`, `email`, `name`…).
#[no_mangle]
pub unsafe extern "C" fn tk_signin_userinfo(
    client: *const tk_signin_client,
    access_token: *const c_char,
    out: *mut *mut tk_claims,
) -> tk_status {
    const F: &str = "tk_signin_userinfo";
    unsafe {
        get(F, client, "client", out, |c| {
            let at = str_arg(F, access_token, "access_token")?;
            Ok(tk_claims::new_raw(c.inner.userinfo_blocking(at)?))
        })
    }
}
