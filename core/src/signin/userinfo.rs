//! `GET {domain}/userinfo` with a user's access token.

use std::time::Duration;

use url::Url;

use crate::error::{Error, Result};
use crate::http::Transport;
use crate::verify::claims::Claims;

pub(crate) async fn fetch(transport: &Transport, url: &Url, access_token: &str) -> Result<Claims> {
    if access_token.is_empty() || !access_token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::config(
            "access token is empty or has characters not allowed in a header",
        ));
    }
    let on_retry = |attempt: u32, wait: Duration, e: &Error| {
        tracing::warn!(attempt, wait_ms = wait.as_millis() as u64, kind = e.kind(), error = %e, "retrying /userinfo request");
    };
    let reply = transport
        .get(url, Some(access_token), &on_retry)
        .await
        .map_err(|e| match e {
            // Auth0 answers a bad token with a bare 401 "Unauthorized" (the reason is in
            // WWW-Authenticate): the caller can act on it as an OAuth `invalid_token`.
            Error::InvalidResponse {
                status: Some(401), ..
            } => Error::OAuth {
                error: "invalid_token".into(),
                description: Some("the access token was not accepted by /userinfo".into()),
                status: 401,
            },
            Error::InvalidResponse {
                status: Some(403), ..
            } => Error::OAuth {
                error: "insufficient_scope".into(),
                description: Some("the access token does not allow /userinfo".into()),
                status: 403,
            },
            e => e,
        })?;
    parse(&reply.body)
}

/// A `/userinfo` answer: a JSON object with a string `sub`.
pub(crate) fn parse(body: &[u8]) -> Result<Claims> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| Error::invalid(Some(200), "/userinfo answered with something not JSON"))?;
    let serde_json::Value::Object(map) = value else {
        return Err(Error::invalid(
            Some(200),
            "/userinfo answered with JSON that is not an object",
        ));
    };
    if !map.get("sub").is_some_and(|s| s.is_string()) {
        return Err(Error::invalid(Some(200), "/userinfo answer has no sub"));
    }
    Ok(Claims::new(map))
}
