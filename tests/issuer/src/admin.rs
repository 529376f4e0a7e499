//! Admin endpoints of sign-in and validation tests:
//!
//! - `GET /__admin/keys`: `{"active": kid, "published": [{"kid", "alg"}…]}`
//! - `POST /__admin/keys` `{"alg": "RS256"|"PS256"|"ES256", "activate": true}`: a new signing key,
//!   published in the JWKS (and signing from now on when `activate`); answers `{"kid", "alg"}`.
//! - `POST /__admin/keys/retire` `{"kid"}`: removes a key from the JWKS (not the active one).
//! - `POST /__admin/sign` `{"claims": {…}, "header": {…}}`: a token signed by the active key,
//!   with `header` members merged over `{alg, typ, kid}` (to build bad tokens from any language).
//! - `POST /__admin/revoke_refresh_tokens`: revokes every refresh token.

use std::sync::Arc;

use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use crate::keyring::{alg_name, parse_alg, Key};
use crate::State;

fn bad(msg: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({ "error": msg })),
    )
        .into_response()
}

pub(crate) async fn list_keys(AxState(state): AxState<Arc<State>>) -> Json<serde_json::Value> {
    let ring = state.keyring.read().unwrap();
    let published: Vec<serde_json::Value> = ring
        .published
        .iter()
        .map(|k| serde_json::json!({"kid": k.kid, "alg": alg_name(k.alg)}))
        .collect();
    Json(serde_json::json!({ "active": ring.active.kid, "published": published }))
}

#[derive(Deserialize)]
pub(crate) struct NewKey {
    #[serde(default = "rs256")]
    alg: String,
    #[serde(default = "yes")]
    activate: bool,
}

fn rs256() -> String {
    "RS256".into()
}

fn yes() -> bool {
    true
}

pub(crate) async fn add_key(
    AxState(state): AxState<Arc<State>>,
    Json(req): Json<NewKey>,
) -> Response {
    let Some(alg) = parse_alg(&req.alg) else {
        return bad("alg must be RS256, PS256 or ES256");
    };
    // Key generation is CPU work: keep it off the server's async threads.
    let key = match tokio::task::spawn_blocking(move || Key::generate(alg)).await {
        Ok(k) => k,
        Err(_) => return bad("key generation failed"),
    };
    let k = state.keyring.write().unwrap().add(key, req.activate);
    Json(serde_json::json!({"kid": k.kid, "alg": alg_name(k.alg)})).into_response()
}

#[derive(Deserialize)]
pub(crate) struct Retire {
    kid: String,
}

pub(crate) async fn retire_key(
    AxState(state): AxState<Arc<State>>,
    Json(req): Json<Retire>,
) -> Response {
    match state.keyring.write().unwrap().retire(&req.kid) {
        Ok(()) => Json(serde_json::json!({"retired": req.kid})).into_response(),
        Err(e) => bad(e),
    }
}

#[derive(Deserialize)]
pub(crate) struct Sign {
    claims: serde_json::Value,
    #[serde(default)]
    header: Option<serde_json::Value>,
}

pub(crate) async fn sign(AxState(state): AxState<Arc<State>>, Json(req): Json<Sign>) -> Response {
    if !req.claims.is_object() {
        return bad("claims must be a JSON object");
    }
    let key = state.keyring.read().unwrap().active.clone();
    let header = key.header(req.header.as_ref());
    let token = key.sign_raw(&header.to_string(), &req.claims.to_string());
    Json(serde_json::json!({ "token": token })).into_response()
}

pub(crate) async fn revoke_refresh_tokens(
    AxState(state): AxState<Arc<State>>,
) -> Json<serde_json::Value> {
    let n = state.sessions.lock().unwrap().revoke_all();
    Json(serde_json::json!({ "revoked": n }))
}
