//! `GET /authorize` in test mode: no login page. The fixture user (or the one named by
//! `login_hint`) is signed in at once and the browser is redirected (302) to the
//! `redirect_uri` with `code` and `state`. Errors a client can act on go back to the
//! `redirect_uri` as `error`/`error_description`, as Auth0 does; an unknown client or a
//! callback URL that is not allowed gets an error page (400) and no redirect.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{RawQuery, State as AxState};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::grants::OIDC_SCOPES;
use crate::keys::random_hex;
use crate::token::{faulted, now};
use crate::users::{Authorization, UserGrant};
use crate::State;

/// How long a code can wait for its exchange.
const CODE_LIFETIME: u64 = 60;

fn page(status: StatusCode, text: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text.to_string(),
    )
        .into_response()
}

/// `redirect_uri` with `params` appended to its query.
fn redirect(redirect_uri: &str, params: &[(&str, &str)]) -> Response {
    let query = serde_urlencoded::to_string(params).unwrap_or_default();
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    let location = format!("{redirect_uri}{sep}{query}");
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, location.as_str()),
            (header::CACHE_CONTROL, "no-store"),
        ],
    )
        .into_response()
}

pub(crate) async fn authorize(
    AxState(state): AxState<Arc<State>>,
    RawQuery(query): RawQuery,
) -> Response {
    state.count("authorize");
    if let Some(f) = state.take_fault("authorize") {
        return faulted(f).await;
    }
    let p: HashMap<String, String> =
        serde_urlencoded::from_str(query.as_deref().unwrap_or("")).unwrap_or_default();
    let get = |k: &str| p.get(k).map(String::as_str).filter(|s| !s.is_empty());
    let Some(client_id) = get("client_id") else {
        return page(
            StatusCode::BAD_REQUEST,
            "invalid_request: Missing required parameter: client_id",
        );
    };
    let Some(client) = state.clients.get(client_id) else {
        return page(
            StatusCode::BAD_REQUEST,
            "invalid_request: Unknown client: the client_id is not registered",
        );
    };
    let Some(redirect_uri) = get("redirect_uri") else {
        return page(
            StatusCode::BAD_REQUEST,
            "invalid_request: Missing required parameter: redirect_uri",
        );
    };
    if !client.callbacks.iter().any(|c| c == redirect_uri) {
        return page(
            StatusCode::BAD_REQUEST,
            &format!(
                "Callback URL mismatch. {redirect_uri} is not in the list of allowed callback URLs"
            ),
        );
    }
    let state_param = get("state").unwrap_or("");
    let fail = |error: &str, description: &str| {
        let mut params = vec![("error", error), ("error_description", description)];
        if !state_param.is_empty() {
            params.push(("state", state_param));
        }
        redirect(redirect_uri, &params)
    };
    match get("response_type") {
        Some("code") => {}
        Some(other) => {
            return fail(
                "unsupported_response_type",
                &format!("Unsupported response type: {other}"),
            )
        }
        None => {
            return fail(
                "invalid_request",
                "Missing required parameter: response_type",
            )
        }
    }
    if get("response_mode").is_some_and(|m| m != "query") {
        return fail("invalid_request", "Only response_mode=query is supported");
    }
    let code_challenge = match (get("code_challenge"), get("code_challenge_method")) {
        (Some(c), Some("S256")) => {
            if c.len() != 43 {
                return fail("invalid_request", "Parameter 'code_challenge' is malformed");
            }
            Some(c.to_string())
        }
        (Some(_), m) => {
            return fail(
                "invalid_request",
                &format!(
                    "Unsupported code_challenge_method {}: use S256",
                    m.unwrap_or("(plain)")
                ),
            )
        }
        (None, _) if client.public => {
            return fail(
                "invalid_request",
                "Parameter 'code_challenge' is required for public clients",
            )
        }
        (None, _) => None,
    };
    let audience = get("audience").map(str::to_string);
    let api_scopes = match &audience {
        Some(aud) => match state.apis.lock().unwrap().get(aud) {
            Some(api) => api.scopes.clone(),
            None => return fail("access_denied", &format!("Service not found: {aud}")),
        },
        None => vec![],
    };
    let user = match get("login_hint") {
        None => state.users[0].clone(),
        Some(h) => match state.users.iter().find(|u| u.email == h || u.sub == h) {
            Some(u) => u.clone(),
            None => return fail("access_denied", "Wrong email or password."),
        },
    };
    let organization = match get("organization") {
        None => None,
        Some(o) => {
            let found = state
                .organizations
                .iter()
                .find(|x| x.id == o || x.name.eq_ignore_ascii_case(o))
                .cloned();
            match found {
                Some(org) if user.organizations.contains(&org.id) => Some(org),
                Some(_) => {
                    return fail("access_denied", "user is not a member of the organization")
                }
                None => {
                    return fail(
                        "invalid_request",
                        &format!("parameter organization is invalid: {o}"),
                    )
                }
            }
        }
    };
    if get("max_age").is_some_and(|m| m.parse::<u64>().is_err()) {
        return fail("invalid_request", "max_age must be a number of seconds");
    }
    // Auth0 grants what was asked among the OIDC scopes and the API's own; unknown API
    // scopes are dropped, not refused.
    let mut scope: Vec<String> = Vec::new();
    for s in get("scope").unwrap_or("openid").split_whitespace() {
        if (OIDC_SCOPES.contains(&s) || api_scopes.iter().any(|a| a == s))
            && !scope.iter().any(|x| x == s)
        {
            scope.push(s.to_string());
        }
    }
    let code = random_hex(20);
    let t = now();
    state.sessions.lock().unwrap().codes.insert(
        code.clone(),
        Authorization {
            client_id: client_id.to_string(),
            redirect_uri: redirect_uri.to_string(),
            code_challenge,
            grant: UserGrant {
                client_id: client_id.to_string(),
                sub: user.sub.clone(),
                scope,
                audience,
                organization,
                nonce: get("nonce").map(str::to_string),
                auth_time: t,
            },
            expires_at: t + CODE_LIFETIME,
        },
    );
    let mut params = vec![("code", code.as_str())];
    if !state_param.is_empty() {
        params.push(("state", state_param));
    }
    redirect(redirect_uri, &params)
}

/// The fixture's `redirect_uri` lands here, so a test whose HTTP client follows redirects ends
/// on a 200 page whose URL carries the code.
pub(crate) async fn callback(AxState(state): AxState<Arc<State>>) -> Response {
    state.count("callback");
    page(
        StatusCode::OK,
        "Signed in to the tokenkeeper local issuer. You can close this window.",
    )
}
