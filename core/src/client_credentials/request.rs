//! What a caller asks for: the seed's `audience`, `scope` and `organization` parameters, and
//! for a token exchange what identifies its subject (the key of its cache slot).

use std::sync::Arc;

use crate::error::{Error, Result};

/// A client-credentials token request.
///
/// The scope is kept as a sorted, de-duplicated set, so `"b a"` and `"a b"` are one request and
/// share one cached token.
///
/// # Example
///
/// ```
/// use tokenkeeper::TokenRequest;
///
/// let req = TokenRequest::new("https://api.example.com")
///     .scope("write:things read:things read:things")
///     .organization("org_abc123");
/// assert_eq!(req.audience_str(), "https://api.example.com");
/// assert_eq!(req.scope_str(), Some("read:things write:things"));
/// assert_eq!(req, TokenRequest::new("https://api.example.com")
///     .scope("read:things write:things")
///     .organization("org_abc123"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenRequest {
    audience: String,
    scope: Option<String>,
    organization: Option<String>,
    /// Which grant the token comes from; part of the cache key.
    grant: Grant,
}

/// The grant of a cached token, with what changes its answer besides audience, scope and
/// organization.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) enum Grant {
    #[default]
    ClientCredentials,
    Exchange(Arc<crate::client_credentials::exchange::ExchangeKey>),
}

impl TokenRequest {
    /// A request for an access token for the API `audience`, with no scope and no
    /// organization.
    ///
    /// See the example on [`TokenRequest`].
    pub fn new(audience: impl Into<String>) -> Self {
        Self {
            audience: audience.into(),
            scope: None,
            organization: None,
            grant: Grant::ClientCredentials,
        }
    }

    /// The key of an exchange's slot (its audience may be empty: a Token Vault exchange).
    pub(crate) fn for_exchange(
        audience: Option<&str>,
        scope: Option<&str>,
        organization: Option<&str>,
        key: crate::client_credentials::exchange::ExchangeKey,
    ) -> Self {
        let mut req = Self::new(audience.unwrap_or_default());
        if let Some(s) = scope {
            req = req.scope(s);
        }
        if let Some(o) = organization {
            req = req.organization(o);
        }
        req.grant = Grant::Exchange(Arc::new(key));
        req
    }

    /// Space-separated scopes; order and repeats do not matter. Empty means none.
    ///
    /// See the example on [`TokenRequest`].
    pub fn scope(mut self, scope: impl AsRef<str>) -> Self {
        self.scope = crate::oauth::scope::normalize(scope.as_ref());
        self
    }

    /// Organization name or identifier (`org_…`).
    ///
    /// See the example on [`TokenRequest`].
    pub fn organization(mut self, org: impl Into<String>) -> Self {
        let org = org.into();
        self.organization = (!org.trim().is_empty()).then(|| org.trim().to_string());
        self
    }

    /// The audience (the API identifier).
    ///
    /// See the example on [`TokenRequest`].
    pub fn audience_str(&self) -> &str {
        &self.audience
    }

    /// The scopes, sorted, de-duplicated and space-separated; `None` when there are none.
    ///
    /// See the example on [`TokenRequest`].
    pub fn scope_str(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// The organization, trimmed; `None` when there is none.
    ///
    /// See the example on [`TokenRequest`].
    pub fn organization_str(&self) -> Option<&str> {
        self.organization.as_deref()
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.audience.trim().is_empty() && self.grant == Grant::ClientCredentials {
            return Err(Error::config("audience is empty"));
        }
        if self.audience.len() > 2048 || self.scope.as_ref().is_some_and(|s| s.len() > 8192) {
            return Err(Error::config("audience or scope is too long"));
        }
        Ok(())
    }
}
