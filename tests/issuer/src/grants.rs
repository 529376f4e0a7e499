//! The user grants of `POST /oauth/token`: `authorization_code` (with PKCE) and
//! `refresh_token` (with rotation, reuse detection, and Multi-Resource Refresh Token policies:
//! `audience` names another API of the app's policies), and the tokens they mint: an access
//! token (a JWT for an API, with `aud` `[API, "{issuer}userinfo"]` when `openid` was asked;
//! opaque without an audience), an ID token and a refresh token. And `POST /oauth/revoke`
//! (RFC 7009): revoking a refresh token revokes its family.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State as AxState;

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::keys::random_hex;
use crate::token::{authenticate, faulted, now, oauth_error, params};
use crate::users::{OpaqueToken, RefreshEntry, UserGrant};
use crate::State;

/// Auth0's default ID token lifetime.
pub(crate) const ID_TOKEN_LIFETIME: u64 = 36_000;
/// Lifetime of opaque access tokens (no audience: good for `/userinfo` only).
pub(crate) const OPAQUE_LIFETIME: u64 = 86_400;
/// Scopes every user grant may carry besides an API's own.
pub(crate) const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

type Params = HashMap<String, String>;

fn invalid_grant(description: &str) -> Response {
    oauth_error(403, "invalid_grant", description)
}

/// The client of a user grant: a public client names itself with `client_id` only; a
/// confidential one authenticates as for client credentials.
fn user_client(state: &State, headers: &HeaderMap, p: &Params) -> Result<String, Response> {
    let get = |k: &str| p.get(k).map(String::as_str).filter(|s| !s.is_empty());
    let presents_credentials = headers.contains_key(header::AUTHORIZATION)
        || get("client_secret").is_some()
        || get("client_assertion").is_some();
    if !presents_credentials {
        if let Some(id) = get("client_id") {
            if state.clients.get(id).is_some_and(|c| c.public) {
                state.count("auth:none");
                return Ok(id.to_string());
            }
        }
    }
    authenticate(state, headers, &get)
}

/// `grant_type=authorization_code`.
pub(crate) fn authorization_code(
    state: &State,
    headers: &HeaderMap,
    p: &Params,
) -> Result<Response, Response> {
    let client_id = user_client(state, headers, p)?;
    let get = |k: &str| p.get(k).map(String::as_str).filter(|s| !s.is_empty());
    let code = get("code")
        .ok_or_else(|| oauth_error(400, "invalid_request", "Missing required parameter: code"))?;
    state.count("grant:authorization_code");
    let mut sessions = state.sessions.lock().unwrap();
    // Single use: whatever happens next, this code is spent.
    let Some(auth) = sessions.codes.remove(code) else {
        if let Some(family) = sessions.used_codes.get(code).cloned() {
            // RFC 6749 §4.1.2: a code used twice revokes what it granted.
            if let Some(f) = family {
                sessions.revoke_family(&f);
            }
            state.count("code_reuse");
        }
        return Err(invalid_grant("Invalid authorization code"));
    };
    sessions.used_codes.insert(code.to_string(), None);
    if auth.expires_at < now() {
        return Err(invalid_grant("Invalid authorization code"));
    }
    if auth.client_id != client_id {
        return Err(invalid_grant("Invalid authorization code"));
    }
    if get("redirect_uri") != Some(auth.redirect_uri.as_str()) {
        return Err(invalid_grant(
            "Unable to verify redirect_uri: it does not match the one sent to /authorize",
        ));
    }
    if let Some(challenge) = &auth.code_challenge {
        let verifier = get("code_verifier").ok_or_else(|| {
            oauth_error(
                403,
                "invalid_grant",
                "Parameter 'code_verifier' is required",
            )
        })?;
        let well_formed = (43..=128).contains(&verifier.len())
            && verifier
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
        let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        if !well_formed || computed != *challenge {
            return Err(invalid_grant("Failed to verify code verifier"));
        }
    }
    let family = auth
        .grant
        .scope
        .iter()
        .any(|s| s == "offline_access")
        .then(|| random_hex(12));
    sessions.used_codes.insert(code.to_string(), family.clone());
    let refresh = family.map(|f| new_refresh_token(&mut sessions, f, &auth.grant));
    drop(sessions);
    mint(state, &auth.grant, &auth.grant.scope, refresh)
}

fn new_refresh_token(
    sessions: &mut crate::users::Sessions,
    family: String,
    grant: &UserGrant,
) -> String {
    let rt = format!("v1.{}", random_hex(32));
    sessions.refresh.insert(
        rt.clone(),
        RefreshEntry {
            family,
            grant: grant.clone(),
            rotated: false,
        },
    );
    rt
}

/// `grant_type=refresh_token`.
pub(crate) fn refresh_token(
    state: &State,
    headers: &HeaderMap,
    p: &Params,
) -> Result<Response, Response> {
    let client_id = user_client(state, headers, p)?;
    let get = |k: &str| p.get(k).map(String::as_str).filter(|s| !s.is_empty());
    let rt = get("refresh_token").ok_or_else(|| {
        oauth_error(
            400,
            "invalid_request",
            "Missing required parameter: refresh_token",
        )
    })?;
    state.count("grant:refresh_token");
    let unknown = || invalid_grant("Unknown or invalid refresh token.");
    let rotate = state.clients.get(&client_id).is_some_and(|c| c.rotate);
    let mut sessions = state.sessions.lock().unwrap();
    let entry = sessions.refresh.get(rt).cloned().ok_or_else(unknown)?;
    if entry.grant.client_id != client_id || sessions.revoked_families.contains(&entry.family) {
        return Err(unknown());
    }
    if entry.rotated {
        // Reuse of a rotated-out token: like Auth0's reuse detection, revoke the whole family.
        sessions.revoke_family(&entry.family);
        state.count("refresh_reuse");
        return Err(unknown());
    }
    let policies = state
        .clients
        .get(&client_id)
        .map(|c| c.refresh_policies.clone())
        .unwrap_or_default();
    let mrrt = get("audience")
        .filter(|a| Some(*a) != entry.grant.audience.as_deref())
        .and_then(|a| {
            let policy = policies.iter().find(|p| p.audience == a);
            if policy.is_none() {
                // Auth0 silently ignores an audience outside the policies: the answer is for
                // the sign-in's own audience (a client must check `aud`).
                state.count("refresh_policy_ignored");
            }
            policy
        });
    let scope = match (mrrt, get("scope")) {
        // MRRT: the policy's scopes (only those of the asked ones), and the sign-in's OpenID
        // scopes.
        (Some(policy), asked) => {
            state.count("grant:refresh_token:mrrt");
            let allowed = |s: &String| {
                policy.scope.contains(s)
                    || (OIDC_SCOPES.contains(&s.as_str()) && entry.grant.scope.contains(s))
            };
            match asked {
                None => entry
                    .grant
                    .scope
                    .iter()
                    .filter(|s| OIDC_SCOPES.contains(&s.as_str()))
                    .chain(&policy.scope)
                    .cloned()
                    .collect(),
                Some(a) => a
                    .split_whitespace()
                    .map(str::to_string)
                    .filter(allowed)
                    .collect(),
            }
        }
        (None, None) => entry.grant.scope.clone(),
        (None, Some(s)) => {
            let asked: Vec<String> = s.split_whitespace().map(str::to_string).collect();
            if let Some(extra) = asked.iter().find(|s| !entry.grant.scope.contains(s)) {
                return Err(oauth_error(
                    403,
                    "access_denied",
                    &format!("Scope {extra} was not granted to the refresh token"),
                ));
            }
            asked
        }
    };
    let next = if rotate {
        if let Some(e) = sessions.refresh.get_mut(rt) {
            e.rotated = true;
        }
        Some(new_refresh_token(
            &mut sessions,
            entry.family.clone(),
            &entry.grant,
        ))
    } else {
        None
    };
    drop(sessions);
    // A refreshed ID token carries no nonce (OIDC Core §12.2).
    let grant = UserGrant {
        nonce: None,
        audience: mrrt
            .map(|p| p.audience.clone())
            .or(entry.grant.audience.clone()),
        ..entry.grant
    };
    mint(state, &grant, &scope, next)
}

/// `POST /oauth/revoke` (RFC 7009, as Auth0 has it): `token` and the client's authentication.
/// A refresh token of the client revokes its whole family; an unknown token is a success
/// (§2.2); a token of another client is refused.
pub(crate) async fn revoke(
    AxState(state): AxState<Arc<State>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.count("revoke");
    if let Some(f) = state.take_fault("revoke") {
        return faulted(f).await;
    }
    let answer = || -> Result<Response, Response> {
        let p = params(&headers, &body)
            .ok_or_else(|| oauth_error(400, "invalid_request", "Invalid request body"))?;
        let client_id = user_client(&state, &headers, &p)?;
        let token = p.get("token").filter(|t| !t.is_empty()).ok_or_else(|| {
            oauth_error(400, "invalid_request", "Missing required parameter: token")
        })?;
        let mut sessions = state.sessions.lock().unwrap();
        if let Some(entry) = sessions.refresh.get(token).cloned() {
            if entry.grant.client_id != client_id {
                return Err(oauth_error(
                    400,
                    "invalid_request",
                    "The refresh token was not issued to this client",
                ));
            }
            sessions.revoke_family(&entry.family);
            state.count("revoked");
        }
        Ok(StatusCode::OK.into_response())
    };
    answer().unwrap_or_else(|r| r)
}

/// The token response for a user grant.
fn mint(
    state: &State,
    grant: &UserGrant,
    scope: &[String],
    refresh_token: Option<String>,
) -> Result<Response, Response> {
    let iat = now();
    let openid = scope.iter().any(|s| s == "openid");
    let userinfo_aud = format!("{}userinfo", state.issuer);
    let user = state
        .users
        .iter()
        .find(|u| u.sub == grant.sub)
        .cloned()
        .ok_or_else(|| oauth_error(403, "invalid_grant", "The user no longer exists"))?;
    let key = state.keyring.read().unwrap().active.clone();
    let (access_token, expires_in) = match &grant.audience {
        Some(aud) => {
            let api = state
                .apis
                .lock()
                .unwrap()
                .get(aud)
                .cloned()
                .ok_or_else(|| {
                    oauth_error(403, "access_denied", &format!("Service not found: {aud}"))
                })?;
            let aud_claim = if openid {
                serde_json::json!([aud, userinfo_aud])
            } else {
                serde_json::json!(aud)
            };
            let mut claims = serde_json::json!({
                "iss": state.issuer,
                "sub": grant.sub,
                "aud": aud_claim,
                "iat": iat,
                "exp": iat + api.lifetime,
                "jti": random_hex(12),
                "scope": scope.join(" "),
                "azp": grant.client_id,
            });
            if let Some(o) = &grant.organization {
                claims["org_id"] = o.id.clone().into();
                claims["org_name"] = o.name.clone().into();
            }
            (key.sign(&claims), api.lifetime)
        }
        None => {
            let t = random_hex(24);
            state.sessions.lock().unwrap().opaque.insert(
                t.clone(),
                OpaqueToken {
                    sub: grant.sub.clone(),
                    scope: scope.to_vec(),
                    expires_at: iat + OPAQUE_LIFETIME,
                },
            );
            (t, OPAQUE_LIFETIME)
        }
    };
    let mut body = serde_json::json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": scope.join(" "),
    });
    if openid {
        let mut claims = serde_json::Value::Object(user.profile(scope));
        claims["iss"] = state.issuer.clone().into();
        claims["aud"] = grant.client_id.clone().into();
        claims["iat"] = iat.into();
        claims["exp"] = (iat + ID_TOKEN_LIFETIME).into();
        claims["auth_time"] = grant.auth_time.into();
        claims["sid"] = random_hex(8).into();
        if let Some(n) = &grant.nonce {
            claims["nonce"] = n.clone().into();
        }
        if let Some(o) = &grant.organization {
            claims["org_id"] = o.id.clone().into();
            claims["org_name"] = o.name.clone().into();
        }
        body["id_token"] = key.sign(&claims).into();
    }
    if let Some(rt) = refresh_token {
        body["refresh_token"] = rt.into();
    }
    // `tokens_issued` stays the count of client-credentials tokens.
    state.count("user_tokens_issued");
    Ok((
        StatusCode::OK,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(body),
    )
        .into_response())
}
