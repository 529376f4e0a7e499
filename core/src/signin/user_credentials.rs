//! The tokens of a signed-in user, as the host stores them.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use crate::error::{Error, Result};
use crate::verify::claims::Claims;

/// The tokens of a signed-in user. `Debug` never shows a token; the tokens are zeroized on
/// drop. Serializable (`to_json`/`from_json`) for stores that keep one blob.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserCredentials {
    /// The access token.
    pub access_token: String,
    /// `Bearer`.
    pub token_type: String,
    /// When the access token expires, in seconds since the Unix epoch.
    pub expires_at: u64,
    /// Granted scopes, space-separated (sorted).
    #[serde(default)]
    pub scope: Option<String>,
    /// The refresh token, if the server sent one (it does for `offline_access`).
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// The ID token (a JWT), if the server sent one (it does for `openid`).
    #[serde(default)]
    pub id_token: Option<String>,
}

impl UserCredentials {
    /// Time left before the access token expires (zero once expired).
    ///
    /// See the example on [`CredentialsManager`](crate::CredentialsManager).
    pub fn remaining(&self) -> Duration {
        // Duration arithmetic: a stored `expires_at` past what a SystemTime holds must not panic.
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Duration::from_secs(self.expires_at).saturating_sub(now)
    }

    /// Whether the access token has at least `min_ttl` left.
    ///
    /// See the example on [`CredentialsManager`](crate::CredentialsManager).
    pub fn is_valid_for(&self, min_ttl: Duration) -> bool {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        self.expires_at > now.saturating_add(min_ttl.as_secs())
    }

    /// Whether every scope of the space-separated `scope` was granted.
    ///
    /// See the example on [`CredentialsManager`](crate::CredentialsManager).
    pub fn has_scope(&self, scope: &str) -> bool {
        let granted: Vec<&str> = self
            .scope
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        scope.split_whitespace().all(|s| granted.contains(&s))
    }

    /// `Bearer <access token>`, ready for an `Authorization` header.
    ///
    /// See the example on [`CredentialsManager`](crate::CredentialsManager).
    pub fn authorization_header(&self) -> String {
        format!("Bearer {}", self.access_token)
    }

    /// The ID token's claims, decoded without verification (it was verified when received).
    ///
    /// See the example on [`CredentialsManager`](crate::CredentialsManager).
    pub fn id_token_claims(&self) -> Option<Claims> {
        self.id_token
            .as_deref()
            .and_then(crate::verify::jws::unverified_claims)
    }

    /// The credentials as JSON, for [`Self::from_json`] (it holds the tokens: store it like a
    /// secret).
    ///
    /// See the example on [`CredentialsManager`](crate::CredentialsManager).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("credentials serialize")
    }

    /// Credentials a host kept in its own form: `expires_at` in seconds since the Unix epoch,
    /// whole or not (truncated). The one range rule of every surface: from 0 to
    /// [`LATEST_TIME`](crate::LATEST_TIME) (9999-12-31T23:59:59Z), else [`Error::Config`].
    ///
    /// See the example on [`CredentialsManager`](crate::CredentialsManager).
    pub fn new(
        access_token: impl Into<String>,
        token_type: impl Into<String>,
        expires_at: f64,
        scope: Option<String>,
        refresh_token: Option<String>,
        id_token: Option<String>,
    ) -> Result<Self> {
        Ok(Self {
            access_token: access_token.into(),
            token_type: token_type.into(),
            expires_at: expires_at_in_range(expires_at)?,
            scope,
            refresh_token,
            id_token,
        })
    }

    /// Credentials saved with [`Self::to_json`]; anything else is [`Error::Config`] (its
    /// message gives the error's category and position, never a value; `expires_at` as for
    /// [`Self::new`]).
    ///
    /// See the example on [`CredentialsManager`](crate::CredentialsManager).
    pub fn from_json(json: &str) -> Result<Self> {
        if !crate::text::is_json_object(json.as_bytes()) {
            return Err(Error::config(
                "stored credentials are not valid (not a JSON object)",
            ));
        }
        let creds: Self = serde_json::from_str(json).map_err(|e| {
            Error::config(format!(
                "stored credentials are not valid ({})",
                crate::text::json_error(&e)
            ))
        })?;
        expires_at_in_range(creds.expires_at as f64)?;
        Ok(creds)
    }
}

/// `expires_at` of [`UserCredentials::new`]: finite, from 0 to `LATEST_TIME`, whole seconds.
fn expires_at_in_range(secs: f64) -> Result<u64> {
    if !(secs.is_finite() && (0.0..=crate::LATEST_TIME as f64).contains(&secs)) {
        return Err(Error::config(format!(
            "expires_at is out of range: {secs} (from 0 to {}, 9999-12-31T23:59:59Z)",
            crate::LATEST_TIME
        )));
    }
    Ok(secs as u64)
}

impl fmt::Debug for UserCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |o: &Option<String>| o.as_ref().map(|_| "[redacted]");
        f.debug_struct("UserCredentials")
            .field("access_token", &"[redacted]")
            .field("token_type", &self.token_type)
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .field("refresh_token", &redacted(&self.refresh_token))
            .field("id_token", &redacted(&self.id_token))
            .finish()
    }
}

impl Drop for UserCredentials {
    fn drop(&mut self) {
        self.access_token.zeroize();
        self.refresh_token.zeroize();
        self.id_token.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// U1: one range rule for `expires_at`, from parts or from JSON.
    #[test]
    fn expires_at_is_from_0_to_the_latest_time() {
        let at = |secs: f64| UserCredentials::new("at", "Bearer", secs, None, None, None);
        assert_eq!(at(1.9).unwrap().expires_at, 1);
        assert_eq!(
            at(crate::LATEST_TIME as f64).unwrap().expires_at,
            crate::LATEST_TIME
        );
        for bad in [
            -1.0,
            crate::LATEST_TIME as f64 + 1.0,
            f64::NAN,
            f64::INFINITY,
        ] {
            assert_eq!(at(bad).unwrap_err().kind(), "config", "{bad}");
        }
        let json = |secs: u64| {
            format!(r#"{{"access_token":"at","token_type":"Bearer","expires_at":{secs}}}"#)
        };
        assert!(UserCredentials::from_json(&json(crate::LATEST_TIME)).is_ok());
        let e = UserCredentials::from_json(&json(crate::LATEST_TIME + 1)).unwrap_err();
        assert!(e.to_string().contains("expires_at is out of range"), "{e}");
    }
}
