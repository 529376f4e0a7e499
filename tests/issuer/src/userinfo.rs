//! `GET /userinfo` (and `POST`): the user's profile for an access token, opaque or a JWT whose
//! `aud` includes `{issuer}userinfo`. A missing or bad token gets Auth0's 401 `Unauthorized`
//! with a `WWW-Authenticate: Bearer error="invalid_token"` header.

use std::sync::Arc;

use axum::extract::State as AxState;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jsonwebtoken::Validation;

use crate::token::{faulted, now};
use crate::State;

fn unauthorized(description: &str) -> Response {
    let challenge = format!("Bearer error=\"invalid_token\", error_description=\"{description}\"");
    (
        StatusCode::UNAUTHORIZED,
        [
            (header::WWW_AUTHENTICATE, challenge.as_str()),
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
        ],
        "Unauthorized",
    )
        .into_response()
}

pub(crate) async fn userinfo(AxState(state): AxState<Arc<State>>, headers: HeaderMap) -> Response {
    state.count("userinfo");
    if let Some(f) = state.take_fault("userinfo") {
        return faulted(f).await;
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, t) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| t.trim())
        })
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return unauthorized("missing access token");
    };
    let (sub, scope) = match subject(&state, token) {
        Ok(s) => s,
        Err(why) => return unauthorized(why),
    };
    let Some(user) = state.users.iter().find(|u| u.sub == sub) else {
        return unauthorized("unknown user");
    };
    (
        StatusCode::OK,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(serde_json::Value::Object(user.profile(&scope))),
    )
        .into_response()
}

/// The token's user and scopes, or why it is refused.
fn subject(state: &State, token: &str) -> Result<(String, Vec<String>), &'static str> {
    if let Some(o) = state.sessions.lock().unwrap().opaque.get(token) {
        if o.expires_at < now() {
            return Err("expired access token");
        }
        return Ok((o.sub.clone(), o.scope.clone()));
    }
    let header = jsonwebtoken::decode_header(token).map_err(|_| "invalid access token")?;
    let key = header
        .kid
        .as_deref()
        .and_then(|kid| state.keyring.read().unwrap().find(kid))
        .ok_or("invalid access token")?;
    if key.alg != header.alg {
        return Err("invalid access token");
    }
    let mut v = Validation::new(key.alg);
    v.set_audience(&[format!("{}userinfo", state.issuer)]);
    v.set_issuer(&[&state.issuer]);
    v.leeway = 0;
    let data = jsonwebtoken::decode::<serde_json::Value>(token, &key.decoding, &v)
        .map_err(|_| "invalid access token")?;
    let sub = data.claims["sub"]
        .as_str()
        .ok_or("invalid access token")?
        .to_string();
    let scope = data.claims["scope"]
        .as_str()
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    Ok((sub, scope))
}
