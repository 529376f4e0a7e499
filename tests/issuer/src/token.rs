//! `POST /oauth/token`, client credentials, with Auth0's checks, statuses and error bodies.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::State as AxState;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use jsonwebtoken::{Algorithm, Header, Validation};

use crate::faults::Fault;
use crate::{keys, Client, State};

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

pub(crate) fn oauth_error(status: u16, error: &str, description: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(serde_json::json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// Answers as a fault says (after its delay). `delay_ms` alone returns `None` from the
/// caller's point of view: see [`token`].
pub(crate) async fn faulted(f: Fault) -> Response {
    if f.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(f.delay_ms)).await;
    }
    if f.drop_connection {
        // Headers go out, then the body stream fails: hyper aborts the connection.
        let s = futures::stream::once(async {
            Err::<Bytes, std::io::Error>(std::io::Error::other("fault: connection dropped"))
        });
        return Response::new(Body::from_stream(s));
    }
    let mut resp = if let Some(n) = f.body_bytes {
        let filler = format!(
            "{{\"access_token\":\"{}\",\"token_type\":\"Bearer\"}}",
            "x".repeat(n.saturating_sub(40))
        );
        (StatusCode::OK, filler).into_response()
    } else {
        let status = StatusCode::from_u16(f.status.unwrap_or(200)).unwrap_or(StatusCode::OK);
        (status, f.body.clone().unwrap_or_default()).into_response()
    };
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    for (k, v) in &f.headers {
        if let (Ok(k), Ok(v)) = (
            header::HeaderName::from_bytes(k.as_bytes()),
            header::HeaderValue::from_str(v),
        ) {
            resp.headers_mut().insert(k, v);
        }
    }
    resp
}

fn is_pure_delay(f: &Fault) -> bool {
    f.status.is_none() && f.body.is_none() && f.body_bytes.is_none() && !f.drop_connection
}

/// Form or JSON body into string parameters.
pub(crate) fn params(headers: &HeaderMap, body: &[u8]) -> Option<HashMap<String, String>> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ct.starts_with("application/json") {
        let v: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(body).ok()?;
        Some(
            v.into_iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string())))
                .collect(),
        )
    } else {
        serde_urlencoded::from_bytes(body).ok()
    }
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let b64 = v.strip_prefix("Basic ")?;
    let raw = String::from_utf8(STANDARD.decode(b64.trim()).ok()?).ok()?;
    let (u, p) = raw.split_once(':')?;
    let dec = |s: &str| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={s}"))
            .ok()
            .and_then(|mut v| v.pop())
            .map(|(_, v)| v)
    };
    Some((dec(u)?, dec(p)?))
}

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

pub(crate) async fn token(
    AxState(state): AxState<Arc<State>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.count("token");
    if let Some(f) = state.take_fault("token") {
        if f.after_handling {
            let _lost = issue(&state, &headers, &body);
            return faulted(f).await;
        }
        if is_pure_delay(&f) {
            tokio::time::sleep(Duration::from_millis(f.delay_ms)).await;
        } else {
            return faulted(f).await;
        }
    }
    match issue(&state, &headers, &body) {
        Ok(r) => r,
        Err(r) => r,
    }
}

fn issue(state: &State, headers: &HeaderMap, body: &[u8]) -> Result<Response, Response> {
    let p = params(headers, body)
        .ok_or_else(|| oauth_error(400, "invalid_request", "Invalid request body"))?;
    let get = |k: &str| p.get(k).map(String::as_str).filter(|s| !s.is_empty());
    let grant = get("grant_type").ok_or_else(|| {
        oauth_error(
            400,
            "invalid_request",
            "Missing required parameter: grant_type",
        )
    })?;
    match grant {
        "client_credentials" => {}
        "authorization_code" => return crate::grants::authorization_code(state, headers, &p),
        "refresh_token" => return crate::grants::refresh_token(state, headers, &p),
        "urn:ietf:params:oauth:grant-type:token-exchange" => {
            return crate::exchange::exchange(state, headers, &p)
        }
        "urn:auth0:params:oauth:grant-type:token-exchange:federated-connection-access-token" => {
            return crate::exchange::vault(state, headers, &p)
        }
        _ => {
            return Err(oauth_error(
                400,
                "unsupported_grant_type",
                &format!("Unsupported grant type: {grant}"),
            ))
        }
    }
    let client_id = authenticate(state, headers, &get)?;
    let client = &state.clients[&client_id];
    let audience = get("audience").ok_or_else(|| {
        oauth_error(
            403,
            "access_denied",
            "No audience parameter was provided, and no default audience has been configured",
        )
    })?;
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
    if !client.grants.contains("*") && !client.grants.contains(audience) {
        return Err(oauth_error(403, "access_denied", &format!(
            "Client is not authorized to access \"{audience}\". You need to create a \"client-grant\" associated to this API. See: https://auth0.com/docs/api/v2#!/Client_Grants/post_client_grants"
        )));
    }
    let scope = match get("scope") {
        None => api.scopes.clone(),
        Some(s) => {
            let asked: Vec<String> = s.split_whitespace().map(str::to_string).collect();
            let missing: Vec<&str> = asked
                .iter()
                .filter(|s| !api.scopes.contains(s))
                .map(String::as_str)
                .collect();
            if !missing.is_empty() {
                return Err(oauth_error(
                    403,
                    "access_denied",
                    &format!("Client has not been granted scopes: {}", missing.join(" ")),
                ));
            }
            asked
        }
    };
    let org = match get("organization") {
        None => None,
        Some(o) => Some(
            state
                .organizations
                .iter()
                .find(|x| x.id == o || x.name == o)
                .cloned()
                .ok_or_else(|| {
                    oauth_error(
                        400,
                        "invalid_request",
                        &format!("Organization {o} does not exist or the client is not a member"),
                    )
                })?,
        ),
    };
    let iat = now();
    let mut claims = serde_json::json!({
        "iss": state.issuer,
        "sub": format!("{client_id}@clients"),
        "aud": audience,
        "iat": iat,
        "exp": iat + api.lifetime,
        "jti": keys::random_hex(12),
        "scope": scope.join(" "),
        "gty": "client-credentials",
        "azp": client_id,
    });
    if let Some(o) = &org {
        claims["org_id"] = o.id.clone().into();
        claims["org_name"] = o.name.clone().into();
    }
    // The active key of the key ring (the initial RS256 key until a test rotates keys).
    let key = state.keyring.read().unwrap().active.clone();
    let mut header = Header::new(key.alg);
    header.kid = Some(key.kid.clone());
    let jwt = jsonwebtoken::encode(&header, &claims, &key.encoding)
        .map_err(|_| oauth_error(500, "server_error", "signing failed"))?;
    state.count("tokens_issued");
    Ok((
        StatusCode::OK,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(serde_json::json!({
            "access_token": jwt,
            "token_type": "Bearer",
            "expires_in": api.lifetime,
            "scope": scope.join(" "),
        })),
    )
        .into_response())
}

/// Returns the authenticated client id, or Auth0's error.
pub(crate) fn authenticate<'a>(
    state: &State,
    headers: &HeaderMap,
    get: &impl Fn(&str) -> Option<&'a str>,
) -> Result<String, Response> {
    let unauthorized = || oauth_error(401, "access_denied", "Unauthorized");
    if let Some((id, secret)) = basic_credentials(headers) {
        if get("client_secret").is_some() || get("client_assertion").is_some() {
            return Err(oauth_error(
                400,
                "invalid_request",
                "Only one client authentication method may be used",
            ));
        }
        state.count("auth:client_secret_basic");
        return match state.clients.get(&id) {
            Some(Client {
                secret: Some(s), ..
            }) if *s == secret => Ok(id),
            _ => Err(unauthorized()),
        };
    }
    let id = get("client_id").ok_or_else(|| {
        oauth_error(
            400,
            "invalid_request",
            "Missing required parameter: client_id",
        )
    })?;
    let client = state.clients.get(id).ok_or_else(unauthorized)?;
    if let Some(assertion) = get("client_assertion") {
        if get("client_assertion_type") != Some(ASSERTION_TYPE) {
            return Err(oauth_error(
                400,
                "invalid_request",
                "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ));
        }
        state.count("auth:private_key_jwt");
        return verify_assertion(state, id, client, assertion).map(|_| id.to_string());
    }
    state.count("auth:client_secret_post");
    match (&client.secret, get("client_secret")) {
        (Some(s), Some(given)) if s == given => Ok(id.to_string()),
        (_, None) => Err(oauth_error(
            401,
            "invalid_client",
            "Client authentication is required",
        )),
        _ => Err(unauthorized()),
    }
}

fn verify_assertion(state: &State, id: &str, client: &Client, jwt: &str) -> Result<(), Response> {
    let bad = |why: &str| oauth_error(401, "invalid_client", why);
    let header = jsonwebtoken::decode_header(jwt).map_err(|_| bad("Invalid client assertion"))?;
    let claims = client
        .keys
        .iter()
        .filter(|k| match header.alg {
            Algorithm::ES256 => k.is_ec,
            Algorithm::RS256 | Algorithm::PS256 => !k.is_ec,
            _ => false,
        })
        .find_map(|k| {
            let mut v = Validation::new(header.alg);
            v.set_audience(&[&state.issuer]);
            v.set_issuer(&[id]);
            v.sub = Some(id.to_string());
            v.set_required_spec_claims(&["exp", "iat", "aud", "iss", "sub", "jti"]);
            v.leeway = 5;
            jsonwebtoken::decode::<serde_json::Value>(jwt, &k.public, &v).ok()
        })
        .ok_or_else(|| bad("Invalid client assertion signature or claims"))?
        .claims;
    let (iat, exp) = (
        claims["iat"].as_u64().unwrap_or(0),
        claims["exp"].as_u64().unwrap_or(0),
    );
    if exp.saturating_sub(iat) > 300 {
        return Err(bad("Client assertion lifetime is too long"));
    }
    let jti = claims["jti"].as_str().unwrap_or_default().to_string();
    if jti.is_empty() || !state.used_jti.lock().unwrap().insert(jti) {
        return Err(bad("Client assertion jti has already been used"));
    }
    Ok(())
}
