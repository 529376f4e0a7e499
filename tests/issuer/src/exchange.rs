//! Token exchange at `POST /oauth/token`, as Auth0 has it:
//!
//! - `urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693) with a subject of type
//!   `…:token-type:access_token`: On-Behalf-Of. The subject must be a JWT this issuer signed,
//!   unexpired; the new token for `audience` keeps its `sub` and says who acts in `act`
//!   (the actor token's `sub`, else the calling client), nesting the subject's own `act`.
//! - the same grant with any other `subject_token_type`: Custom Token Exchange. Each type is a
//!   profile whose check (Auth0's Action) is a table of accepted subject tokens and the user
//!   each one stands for; the fixture has one, tests add more (`POST /__admin/exchange_profiles`
//!   `{"subject_token_type", "tokens": {token: sub}}`). An unknown type is `invalid_request`,
//!   a token its profile does not accept `invalid_grant`.
//! - `urn:auth0:params:oauth:grant-type:token-exchange:federated-connection-access-token`:
//!   Token Vault. The subject is the user's refresh token or access token, `connection` one of
//!   the fixture's, `login_hint` (when sent) the user's email or id; the answer is an opaque
//!   token of the connection, `issued_token_type` the federated type.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State as AxState;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use jsonwebtoken::Validation;
use serde::Deserialize;

use crate::keys::random_hex;
use crate::token::{authenticate, now, oauth_error};
use crate::State;

type Params = HashMap<String, String>;

pub const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
pub const REFRESH_TOKEN: &str = "urn:ietf:params:oauth:token-type:refresh_token";
pub const FEDERATED: &str = "http://auth0.com/oauth/token-type/federated-connection-access-token";
/// The Custom Token Exchange type of the fixture.
pub const LEGACY_TYPE: &str = "urn:tokenkeeper:legacy-session";
/// Token Vault connections of the fixture.
pub const CONNECTIONS: [&str; 2] = ["google-oauth2", "github"];
/// Lifetime of a federated connection's access token.
const FEDERATED_LIFETIME: u64 = 3_600;

fn invalid_request(d: &str) -> Response {
    oauth_error(400, "invalid_request", d)
}

fn invalid_grant(d: &str) -> Response {
    oauth_error(403, "invalid_grant", d)
}

/// The claims of a JWT this issuer signed (any published key), unexpired.
fn verified(state: &State, token: &str) -> Option<serde_json::Value> {
    let header = jsonwebtoken::decode_header(token).ok()?;
    let key = state.keyring.read().unwrap().find(header.kid.as_deref()?)?;
    if key.alg != header.alg {
        return None;
    }
    let mut v = Validation::new(key.alg);
    v.validate_aud = false;
    v.set_issuer(&[&state.issuer]);
    v.leeway = 0;
    jsonwebtoken::decode::<serde_json::Value>(token, &key.decoding, &v)
        .ok()
        .map(|d| d.claims)
}

/// `grant_type=urn:ietf:params:oauth:grant-type:token-exchange`.
pub(crate) fn exchange(
    state: &State,
    headers: &HeaderMap,
    p: &Params,
) -> Result<Response, Response> {
    let get = |k: &str| p.get(k).map(String::as_str).filter(|s| !s.is_empty());
    let client_id = authenticate(state, headers, &get)?;
    let subject = get("subject_token")
        .ok_or_else(|| invalid_request("Missing required parameter: subject_token"))?;
    let kind = get("subject_token_type")
        .ok_or_else(|| invalid_request("Missing required parameter: subject_token_type"))?;
    let audience =
        get("audience").ok_or_else(|| invalid_request("Missing required parameter: audience"))?;
    let (sub, prior_act) = if kind == ACCESS_TOKEN {
        state.count("grant:token_exchange:obo");
        let claims =
            verified(state, subject).ok_or_else(|| invalid_grant("Invalid subject token"))?;
        let sub = claims["sub"].as_str().unwrap_or_default().to_string();
        (sub, claims.get("act").cloned())
    } else {
        state.count("grant:token_exchange:custom");
        let profiles = state.exchange_profiles.lock().unwrap();
        let profile = profiles
            .get(kind)
            .ok_or_else(|| invalid_request(&format!("Unsupported subject_token_type: {kind}")))?;
        let sub = profile.get(subject).cloned().ok_or_else(|| {
            invalid_grant("The subject token was rejected by the token exchange profile")
        })?;
        (sub, None)
    };
    let actor = match (get("actor_token"), get("actor_token_type")) {
        (None, None) => format!("{client_id}@clients"),
        (Some(t), Some(_)) => {
            let claims = verified(state, t).ok_or_else(|| invalid_grant("Invalid actor token"))?;
            claims["sub"].as_str().unwrap_or_default().to_string()
        }
        _ => {
            return Err(invalid_request(
                "actor_token and actor_token_type go together",
            ))
        }
    };
    let api = state
        .apis
        .lock()
        .unwrap()
        .get(audience)
        .cloned()
        .ok_or_else(|| {
            oauth_error(
                403,
                "access_denied",
                &format!("Service not found: {audience}"),
            )
        })?;
    let client = &state.clients[&client_id];
    if !client.grants.contains("*") && !client.grants.contains(audience) {
        return Err(oauth_error(
            403,
            "access_denied",
            &format!("Client is not authorized to access \"{audience}\"."),
        ));
    }
    let scope = match get("scope") {
        None => api.scopes.clone(),
        Some(s) => {
            let asked: Vec<String> = s.split_whitespace().map(str::to_string).collect();
            if let Some(extra) = asked.iter().find(|s| !api.scopes.contains(s)) {
                return Err(oauth_error(
                    403,
                    "access_denied",
                    &format!("Scope {extra} is not allowed"),
                ));
            }
            asked
        }
    };
    let mut act = serde_json::json!({ "sub": actor });
    if let Some(prior) = prior_act {
        act["act"] = prior;
    }
    let iat = now();
    let mut claims = serde_json::json!({
        "iss": state.issuer,
        "sub": sub,
        "aud": audience,
        "iat": iat,
        "exp": iat + api.lifetime,
        "jti": random_hex(12),
        "scope": scope.join(" "),
        "azp": client_id,
        "gty": "token-exchange",
        "act": act,
    });
    if let Some(o) = get("organization") {
        let org = state
            .organizations
            .iter()
            .find(|x| x.id == o || x.name == o)
            .ok_or_else(|| invalid_request(&format!("Organization {o} does not exist")))?;
        claims["org_id"] = org.id.clone().into();
        claims["org_name"] = org.name.clone().into();
    }
    let key = state.keyring.read().unwrap().active.clone();
    state.count("exchanges_issued");
    Ok(answer(serde_json::json!({
        "access_token": key.sign(&claims),
        "issued_token_type": ACCESS_TOKEN,
        "token_type": "Bearer",
        "expires_in": api.lifetime,
        "scope": scope.join(" "),
    })))
}

/// `grant_type=urn:auth0:params:oauth:grant-type:token-exchange:federated-connection-access-token`.
pub(crate) fn vault(state: &State, headers: &HeaderMap, p: &Params) -> Result<Response, Response> {
    let get = |k: &str| p.get(k).map(String::as_str).filter(|s| !s.is_empty());
    let client_id = authenticate(state, headers, &get)?;
    state.count("grant:token_vault");
    let subject = get("subject_token")
        .ok_or_else(|| invalid_request("Missing required parameter: subject_token"))?;
    if get("requested_token_type") != Some(FEDERATED) {
        return Err(invalid_request(&format!(
            "requested_token_type must be {FEDERATED}"
        )));
    }
    let connection = get("connection")
        .ok_or_else(|| invalid_request("Missing required parameter: connection"))?;
    if !CONNECTIONS.contains(&connection) {
        return Err(invalid_request(&format!(
            "Connection {connection} is not enabled for Token Vault"
        )));
    }
    let sub = match get("subject_token_type") {
        Some(REFRESH_TOKEN) => {
            let sessions = state.sessions.lock().unwrap();
            let e = sessions
                .refresh
                .get(subject)
                .filter(|e| !e.rotated && !sessions.revoked_families.contains(&e.family))
                .filter(|e| e.grant.client_id == client_id)
                .ok_or_else(|| invalid_grant("Unknown or invalid refresh token."))?;
            e.grant.sub.clone()
        }
        Some(ACCESS_TOKEN) => {
            let claims =
                verified(state, subject).ok_or_else(|| invalid_grant("Invalid subject token"))?;
            claims["sub"].as_str().unwrap_or_default().to_string()
        }
        _ => {
            return Err(invalid_request(
                "subject_token_type must be an access or refresh token",
            ))
        }
    };
    let user = state.users.iter().find(|u| u.sub == sub);
    if let Some(hint) = get("login_hint") {
        if !user.is_some_and(|u| u.email == hint || u.sub == hint) {
            return Err(invalid_grant("No federated account matches the login_hint"));
        }
    }
    if user.is_none() {
        return Err(invalid_grant("The user has no account on this connection"));
    }
    state.count("exchanges_issued");
    Ok(answer(serde_json::json!({
        "access_token": format!("fca.{connection}.{}", random_hex(16)),
        "issued_token_type": FEDERATED,
        "token_type": "Bearer",
        "expires_in": FEDERATED_LIFETIME,
        "scope": format!("{connection}:read"),
    })))
}

fn answer(body: serde_json::Value) -> Response {
    (
        StatusCode::OK,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(body),
    )
        .into_response()
}

/// `POST /__admin/exchange_profiles`: a Custom Token Exchange profile, or more tokens for one.
#[derive(Deserialize)]
pub(crate) struct Profile {
    subject_token_type: String,
    tokens: HashMap<String, String>,
}

pub(crate) async fn add_profile(
    AxState(state): AxState<Arc<State>>,
    Json(p): Json<Profile>,
) -> Json<serde_json::Value> {
    let mut profiles = state.exchange_profiles.lock().unwrap();
    let tokens = profiles.entry(p.subject_token_type.clone()).or_default();
    tokens.extend(p.tokens);
    Json(serde_json::json!({ "subject_token_type": p.subject_token_type, "tokens": tokens.len() }))
}
