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

    /// Credentials saved with [`Self::to_json`]; anything else is [`Error::Config`] (its
    /// message gives the error's category and position, never a value).
    ///
    /// See the example on [`CredentialsManager`](crate::CredentialsManager).
    pub fn from_json(json: &str) -> Result<Self> {
        if !crate::text::is_json_object(json.as_bytes()) {
            return Err(Error::config(
                "stored credentials are not valid (not a JSON object)",
            ));
        }
        serde_json::from_str(json).map_err(|e| {
            Error::config(format!(
                "stored credentials are not valid ({})",
                crate::text::json_error(&e)
            ))
        })
    }
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
