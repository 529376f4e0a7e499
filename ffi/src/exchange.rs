//! `tk_exchange`: a token exchange request (RFC 8693: Auth0 On-Behalf-Of, Custom Token
//! Exchange; Token Vault), sent and cached by `tk_client_exchange`.

use std::ffi::c_char;

use tk_core::ExchangeRequest;

use crate::boundary::{arg, edit, edit_str, editable, free_handle, get, make, str_arg};
use crate::client::tk_client;
use crate::status::tk_status;
use crate::token::tk_token;

/// A token exchange request (opaque): the subject token and its type, and what the new token is
/// for. Create with `tk_exchange_new`, adjust with `tk_exchange_set_*`, send with
/// `tk_client_exchange` (as often as needed: the answer is cached), free with
/// `tk_exchange_free` (the tokens it holds are wiped). Not thread-safe to change while another
/// thread uses it; sending it from several threads at once is fine.
pub struct tk_exchange {
    inner: ExchangeRequest,
}

editable!(tk_exchange, "exchange", ExchangeRequest);

/// Changes the request in place through the core's by-value builder.
fn rebuild(r: &mut ExchangeRequest, f: impl FnOnce(ExchangeRequest) -> ExchangeRequest) {
    let old = std::mem::replace(r, ExchangeRequest::new("", ""));
    *r = f(old);
}

/// An exchange of `subject_token` of type `subject_token_type` (a URI: `TK_TOKEN_TYPE_*`, or the
/// tenant's own for Custom Token Exchange). Nothing is checked before `tk_client_exchange`.
/// On success `*out` is a new request.
#[no_mangle]
pub unsafe extern "C" fn tk_exchange_new(
    subject_token: *const c_char,
    subject_token_type: *const c_char,
    out: *mut *mut tk_exchange,
) -> tk_status {
    const F: &str = "tk_exchange_new";
    unsafe {
        make(F, out, || {
            let token = str_arg(F, subject_token, "subject_token")?;
            let kind = str_arg(F, subject_token_type, "subject_token_type")?;
            Ok(tk_exchange {
                inner: ExchangeRequest::new(token, kind),
            })
        })
    }
}

/// Frees an exchange request, wiping the tokens it holds. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn tk_exchange_free(exchange: *mut tk_exchange) {
    unsafe { free_handle(exchange) }
}

/// The API the new token is for; `""`: the client's default audience.
#[no_mangle]
pub unsafe extern "C" fn tk_exchange_set_audience(
    exchange: *mut tk_exchange,
    audience: *const c_char,
) -> tk_status {
    let f = "tk_exchange_set_audience";
    unsafe {
        edit_str(f, exchange, audience, "audience", |r, s| {
            rebuild(r, |r| r.audience(s))
        })
    }
}

/// The scopes asked, space separated (any order; `""`: none).
#[no_mangle]
pub unsafe extern "C" fn tk_exchange_set_scope(
    exchange: *mut tk_exchange,
    scope: *const c_char,
) -> tk_status {
    let f = "tk_exchange_set_scope";
    unsafe {
        edit_str(f, exchange, scope, "scope", |r, s| {
            rebuild(r, |r| r.scope(s))
        })
    }
}

/// The party acting for the subject (RFC 8693 `actor_token`) and its type, both required
/// (`""` for both: no actor).
#[no_mangle]
pub unsafe extern "C" fn tk_exchange_set_actor(
    exchange: *mut tk_exchange,
    actor_token: *const c_char,
    actor_token_type: *const c_char,
) -> tk_status {
    const F: &str = "tk_exchange_set_actor";
    unsafe {
        edit(F, exchange, |r| {
            let token = str_arg(F, actor_token, "actor_token")?;
            let kind = str_arg(F, actor_token_type, "actor_token_type")?;
            rebuild(r, |r| r.actor(token, kind));
            Ok(())
        })
    }
}

/// The organization (name or `org_…` id; `""`: none).
#[no_mangle]
pub unsafe extern "C" fn tk_exchange_set_organization(
    exchange: *mut tk_exchange,
    organization: *const c_char,
) -> tk_status {
    let f = "tk_exchange_set_organization";
    unsafe {
        edit_str(f, exchange, organization, "organization", |r, s| {
            rebuild(r, |r| r.organization(s))
        })
    }
}

/// Makes it a Token Vault exchange: the federated connection (`google-oauth2`…) whose access
/// token is wanted (no audience then; the subject an Auth0 access or refresh token).
#[no_mangle]
pub unsafe extern "C" fn tk_exchange_set_connection(
    exchange: *mut tk_exchange,
    connection: *const c_char,
) -> tk_status {
    let f = "tk_exchange_set_connection";
    unsafe {
        edit_str(f, exchange, connection, "connection", |r, s| {
            rebuild(r, |r| r.connection(s))
        })
    }
}

/// Token Vault: which of the user's accounts on the connection (its user id or email).
#[no_mangle]
pub unsafe extern "C" fn tk_exchange_set_login_hint(
    exchange: *mut tk_exchange,
    login_hint: *const c_char,
) -> tk_status {
    let f = "tk_exchange_set_login_hint";
    unsafe {
        edit_str(f, exchange, login_hint, "login_hint", |r, s| {
            rebuild(r, |r| r.login_hint(s))
        })
    }
}

/// The token of the exchange: from the cache while fresh (per subject and actor token,
/// audience, scope set and organization, never past a JWT subject's `exp`), otherwise from the
/// token endpoint; concurrent callers of one exchange share one request. Blocks the calling
/// thread. A bad type URI or an actor without its type is `TK_STATUS_CONFIG`, an expired JWT
/// subject `TK_STATUS_INVALID_TOKEN` (no request sent), the issuer's refusal `TK_STATUS_OAUTH`.
/// On success `*out` is a new token handle.
#[no_mangle]
pub unsafe extern "C" fn tk_client_exchange(
    client: *const tk_client,
    exchange: *const tk_exchange,
    out: *mut *mut tk_token,
) -> tk_status {
    const F: &str = "tk_client_exchange";
    unsafe {
        get(F, client, "client", out, |c| {
            let x = arg(F, exchange, "exchange")?;
            Ok(tk_token::new_raw(c.core().exchange_blocking(&x.inner)?))
        })
    }
}

/// Forgets the cached answer of the exchange only if it is still `token` (an API rejected it):
/// `*out_dropped` says whether it was dropped, as `tk_client_invalidate_if_current`.
#[no_mangle]
pub unsafe extern "C" fn tk_client_invalidate_exchange_if_current(
    client: *const tk_client,
    exchange: *const tk_exchange,
    token: *const tk_token,
    out_dropped: *mut bool,
) -> tk_status {
    const F: &str = "tk_client_invalidate_exchange_if_current";
    unsafe {
        get(F, client, "client", out_dropped, |c| {
            let x = arg(F, exchange, "exchange")?;
            let token = arg(F, token, "token")?;
            Ok(c.core()
                .invalidate_exchange_if_current(&x.inner, token.inner()))
        })
    }
}

#[cfg(test)]
mod tests {
    use tk_core::token_types;

    /// The header's `TK_TOKEN_TYPE_*` macros (cbindgen.toml) are the core's constants.
    #[test]
    fn the_header_names_the_core_token_types() {
        let header = include_str!("../include/tokenkeeper.h");
        for (name, uri) in [
            ("ACCESS_TOKEN", token_types::ACCESS_TOKEN),
            ("REFRESH_TOKEN", token_types::REFRESH_TOKEN),
            ("ID_TOKEN", token_types::ID_TOKEN),
            ("JWT", token_types::JWT),
        ] {
            let line = format!("#define TK_TOKEN_TYPE_{name} \"{uri}\"");
            assert!(header.contains(&line), "{line}");
        }
    }
}
