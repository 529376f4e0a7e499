//! How a client authenticates at the token endpoint: the auth method a credential allows, and
//! the form fields (or Basic header) of each method. One implementation for the
//! client-credentials client and the sign-in client.

use secrecy::ExposeSecret;

use super::credentials::{AuthMethod, Credentials};
use crate::error::{Error, Result};
use crate::http::AuthParts;

/// A checked pair of credential and auth method; `None` credentials is a public client.
#[derive(Debug, Clone)]
pub(crate) struct ClientAuth {
    client_id: String,
    credentials: Option<Credentials>,
    method: Option<AuthMethod>,
    /// The `aud` of client assertions: the tenant's issuer URL.
    issuer: String,
}

impl ClientAuth {
    /// Checks that `method` suits `credentials`, and that a key parses.
    pub fn new(
        client_id: &str,
        credentials: Option<&Credentials>,
        method: Option<AuthMethod>,
        issuer: &str,
    ) -> Result<Self> {
        if client_id.trim().is_empty() {
            return Err(Error::config("client_id is empty"));
        }
        let method = match (credentials, method) {
            (None, None) => None,
            (None, Some(_)) => {
                return Err(Error::config(
                    "an auth method needs credentials (a public client has none)",
                ))
            }
            (Some(Credentials::ClientSecret(s)), m) => {
                if s.expose_secret().is_empty() {
                    return Err(Error::config("client secret is empty"));
                }
                match m.unwrap_or(AuthMethod::ClientSecretPost) {
                    AuthMethod::PrivateKeyJwt => {
                        return Err(Error::config(
                            "private_key_jwt needs a private key, not a client secret",
                        ))
                    }
                    m => Some(m),
                }
            }
            (Some(Credentials::PrivateKey { pem, alg, .. }), m) => {
                if matches!(m, Some(m) if m != AuthMethod::PrivateKeyJwt) {
                    return Err(Error::config(
                        "a private key can only be used with private_key_jwt",
                    ));
                }
                super::assertion::check_key(pem.expose_secret(), *alg)?;
                Some(AuthMethod::PrivateKeyJwt)
            }
        };
        Ok(Self {
            client_id: client_id.to_string(),
            credentials: credentials.cloned(),
            method,
            issuer: issuer.to_string(),
        })
    }

    /// The method in use; `None` for a public client.
    pub fn method(&self) -> Option<AuthMethod> {
        self.method
    }

    /// The fields that authenticate one request (a new assertion each time: new `jti`,
    /// new `iat`).
    pub fn parts(&self) -> Result<AuthParts> {
        let id = self.client_id.clone();
        let mut fields = Vec::new();
        let mut basic = None;
        match (&self.credentials, self.method) {
            (Some(Credentials::ClientSecret(s)), Some(AuthMethod::ClientSecretBasic)) => {
                basic = Some((id, s.expose_secret().to_string()));
            }
            (Some(Credentials::ClientSecret(s)), _) => {
                fields.push(("client_id", id));
                fields.push(("client_secret", s.expose_secret().to_string()));
            }
            (Some(Credentials::PrivateKey { pem, alg, key_id }), _) => {
                let assertion = super::assertion::sign(
                    pem.expose_secret(),
                    *alg,
                    key_id.as_deref(),
                    &self.client_id,
                    &self.issuer,
                )?;
                fields.push(("client_id", id));
                fields.push((
                    "client_assertion_type",
                    super::assertion::ASSERTION_TYPE.to_string(),
                ));
                fields.push(("client_assertion", assertion));
            }
            (None, _) => fields.push(("client_id", id)),
        }
        Ok(AuthParts { fields, basic })
    }
}
