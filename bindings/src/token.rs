//! An access token: an object (not a record) so that its `toString()`/`description` can redact
//! the token text.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::live;

/// An access token from the token endpoint or the cache.
///
/// `toString()` (Kotlin) and `description`/`debugDescription` (Swift) show the type, lifetime
/// and scope, never the token itself; call `accessToken()` or `authorizationHeader()` for it.
#[derive(uniffi::Object)]
#[uniffi::export(Display, Debug)]
pub struct Token {
    inner: tokenkeeper::Token,
    _live: live::Guard,
}

wraps!(Token, inner: tokenkeeper::Token, TOKENS);

impl Token {
    /// The core's token (for `TokenClient::invalidate_if_current`).
    pub(crate) fn core(&self) -> &tokenkeeper::Token {
        &self.inner
    }
}

#[uniffi::export]
impl Token {
    /// The bearer token to send to the API.
    pub fn access_token(&self) -> String {
        self.inner.access_token().to_string()
    }

    /// `Bearer`, as the server spelled it.
    pub fn token_type(&self) -> String {
        self.inner.token_type().to_string()
    }

    /// Lifetime granted by the server, in seconds.
    pub fn expires_in(&self) -> u64 {
        self.inner.expires_in()
    }

    /// When the token expires (measured from when the request was sent, so never late).
    pub fn expires_at(&self) -> SystemTime {
        self.inner.expires_at()
    }

    /// Time left before expiry (zero once expired).
    pub fn remaining(&self) -> Duration {
        self.inner.remaining()
    }

    /// Granted scopes (space-separated, sorted), when the server said.
    pub fn scope(&self) -> Option<String> {
        self.inner.scope().map(str::to_string)
    }

    /// `Bearer <token>`, ready for an `Authorization` header.
    pub fn authorization_header(&self) -> String {
        self.inner.authorization_header().to_string()
    }

    /// Whether both objects hold the very same fetched token (a cache hit returns the same one).
    pub fn is_same(&self, other: Arc<Token>) -> bool {
        self.inner.ptr_eq(&other.inner)
    }
}
