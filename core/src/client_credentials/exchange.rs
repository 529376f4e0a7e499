//! Token exchange (RFC 8693) as Auth0 has it: On-Behalf-Of (an access token for a downstream
//! API), Custom Token Exchange (a `subject_token_type` of the tenant's own, checked by an
//! Action) and Token Vault (a federated connection's access token). The answers go through
//! the same cache as client-credentials tokens, keyed by a salted digest of the subject.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::request::TokenRequest;
use crate::error::{Error, Result, TokenCheck};

/// The token type URIs of RFC 8693 §3 and Auth0's Token Vault.
pub mod token_types {
    /// An OAuth access token (Auth0 On-Behalf-Of; a Token Vault access-token exchange).
    pub const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
    /// An OAuth refresh token (a Token Vault refresh-token exchange).
    pub const REFRESH_TOKEN: &str = "urn:ietf:params:oauth:token-type:refresh_token";
    /// An OpenID Connect ID token.
    pub const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
    /// A JWT of any kind.
    pub const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";
    /// What a Token Vault exchange asks for: the federated connection's access token.
    pub const FEDERATED_CONNECTION_ACCESS_TOKEN: &str =
        "http://auth0.com/oauth/token-type/federated-connection-access-token";
}

/// RFC 8693's grant: On-Behalf-Of and Custom Token Exchange.
pub(crate) const EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// Auth0's Token Vault grant.
pub(crate) const VAULT_GRANT: &str =
    "urn:auth0:params:oauth:grant-type:token-exchange:federated-connection-access-token";

/// What a token exchange sends: the subject token and its type, and what the answer is for.
///
/// With a `connection` it is a Token Vault exchange (the subject an Auth0 access or refresh
/// token; no audience); otherwise an RFC 8693 exchange for `audience` (the client's default
/// audience when none is given): On-Behalf-Of with [`token_types::ACCESS_TOKEN`], Custom
/// Token Exchange with a type of the tenant's own.
///
/// # Example
///
/// ```no_run
/// use tokenkeeper::{token_types, ClientConfig, Credentials, ExchangeRequest, TokenClient};
///
/// # async fn run(incoming: &str) -> tokenkeeper::Result<()> {
/// let config = ClientConfig::new("tenant.auth0.com", "middle-tier", Credentials::client_secret("…"));
/// let client = TokenClient::new(config)?;
/// // On-Behalf-Of: the caller's access token, for the downstream API. Cached until it (or the
/// // caller's token) expires: the next request with the same token is a cache hit.
/// let req = ExchangeRequest::new(incoming, token_types::ACCESS_TOKEN)
///     .audience("https://downstream.example.com")
///     .scope("read:things");
/// let token = client.exchange(&req).await?;
/// println!("{}", token.authorization_header());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct ExchangeRequest {
    subject_token: SecretString,
    subject_token_type: String,
    audience: Option<String>,
    scope: Option<String>,
    actor_token: Option<SecretString>,
    actor_token_type: Option<String>,
    organization: Option<String>,
    connection: Option<String>,
    login_hint: Option<String>,
}

/// What identifies an exchange's answer besides audience, scope and organization: the
/// subject (and actor) as salted digests, never the tokens.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ExchangeKey {
    subject: [u8; 32],
    subject_token_type: String,
    actor: Option<([u8; 32], String)>,
    connection: Option<String>,
    login_hint: Option<String>,
}

impl ExchangeRequest {
    /// An exchange of `subject_token`, of type `subject_token_type` (a URI: one of
    /// [`token_types`] or the tenant's own).
    ///
    /// See the example on [`ExchangeRequest`].
    pub fn new(subject_token: impl Into<String>, subject_token_type: impl Into<String>) -> Self {
        Self {
            subject_token: SecretString::from(subject_token.into()),
            subject_token_type: subject_token_type.into().trim().to_string(),
            audience: None,
            scope: None,
            actor_token: None,
            actor_token_type: None,
            organization: None,
            connection: None,
            login_hint: None,
        }
    }

    /// The API the new token is for; empty means the client's default audience.
    ///
    /// See the example on [`ExchangeRequest`].
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = non_empty(audience.into());
        self
    }

    /// Space-separated scopes; order and repeats do not matter. Empty means none.
    ///
    /// See the example on [`ExchangeRequest`].
    pub fn scope(mut self, scope: impl AsRef<str>) -> Self {
        self.scope = crate::oauth::scope::normalize(scope.as_ref());
        self
    }

    /// The party acting for the subject (RFC 8693 `actor_token`), and its type.
    ///
    /// See the example on [`ExchangeRequest`].
    pub fn actor(
        mut self,
        actor_token: impl Into<String>,
        actor_token_type: impl Into<String>,
    ) -> Self {
        let token = actor_token.into();
        self.actor_token = (!token.is_empty()).then(|| SecretString::from(token));
        self.actor_token_type = non_empty(actor_token_type.into());
        self
    }

    /// Organization name or identifier (`org_…`).
    ///
    /// See the example on [`ExchangeRequest`].
    pub fn organization(mut self, organization: impl Into<String>) -> Self {
        self.organization = non_empty(organization.into());
        self
    }

    /// A Token Vault exchange: the federated connection (`google-oauth2`…) whose access token
    /// is wanted.
    ///
    /// See the example on [`ExchangeRequest`].
    pub fn connection(mut self, connection: impl Into<String>) -> Self {
        self.connection = non_empty(connection.into());
        self
    }

    /// Token Vault: which of the user's accounts on the connection (its user id or email).
    ///
    /// See the example on [`ExchangeRequest`].
    pub fn login_hint(mut self, login_hint: impl Into<String>) -> Self {
        self.login_hint = non_empty(login_hint.into());
        self
    }

    /// The parts as a surface takes them: `None` or empty means not given.
    #[allow(clippy::too_many_arguments)]
    pub fn from_parts(
        subject_token: &str,
        subject_token_type: &str,
        audience: Option<&str>,
        scope: Option<&str>,
        actor_token: Option<&str>,
        actor_token_type: Option<&str>,
        organization: Option<&str>,
        connection: Option<&str>,
        login_hint: Option<&str>,
    ) -> Self {
        let mut r = Self::new(subject_token, subject_token_type);
        r.audience = audience.and_then(|s| non_empty(s.into()));
        r.scope = scope.and_then(crate::oauth::scope::normalize);
        if actor_token.is_some_and(|t| !t.is_empty()) || actor_token_type.is_some() {
            r = r.actor(
                actor_token.unwrap_or_default(),
                actor_token_type.unwrap_or_default(),
            );
        }
        r.organization = organization.and_then(|s| non_empty(s.into()));
        r.connection = connection.and_then(|s| non_empty(s.into()));
        r.login_hint = login_hint.and_then(|s| non_empty(s.into()));
        r
    }

    /// Whether this is a Token Vault exchange (it names a connection).
    pub fn is_token_vault(&self) -> bool {
        self.connection.is_some()
    }

    /// Checks the request and makes its cache key; `default_audience` is the client's.
    pub(crate) fn resolve(
        &self,
        default_audience: Option<&str>,
        salt: &[u8; 32],
    ) -> Result<TokenRequest> {
        let subject = self.subject_token.expose_secret();
        if subject.is_empty() {
            return Err(Error::config("subject_token is empty"));
        }
        if subject.len() > 16 * 1024 {
            return Err(Error::config("subject_token is longer than 16 KiB"));
        }
        check_type("subject_token_type", &self.subject_token_type)?;
        match (&self.actor_token, &self.actor_token_type) {
            (Some(_), Some(t)) => check_type("actor_token_type", t)?,
            (Some(_), None) => return Err(Error::config("actor_token needs an actor_token_type")),
            (None, Some(_)) => {
                return Err(Error::config("actor_token_type without an actor_token"))
            }
            (None, None) => {}
        }
        let audience = if self.is_token_vault() {
            if self.audience.is_some() {
                return Err(Error::config(
                    "a Token Vault exchange (connection) takes no audience",
                ));
            }
            if ![token_types::ACCESS_TOKEN, token_types::REFRESH_TOKEN]
                .contains(&self.subject_token_type.as_str())
            {
                return Err(Error::config(
                    "a Token Vault exchange takes an access or refresh token as its subject",
                ));
            }
            None
        } else {
            if self.login_hint.is_some() {
                return Err(Error::config(
                    "login_hint is for a Token Vault exchange (connection)",
                ));
            }
            Some(
                self.audience
                    .as_deref()
                    .or(default_audience)
                    .ok_or_else(|| {
                        Error::config("no audience given and no default audience configured")
                    })?,
            )
        };
        let key = ExchangeKey {
            subject: digest(subject, salt),
            subject_token_type: self.subject_token_type.clone(),
            actor: self
                .actor_token
                .as_ref()
                .zip(self.actor_token_type.as_ref())
                .map(|(t, ty)| (digest(t.expose_secret(), salt), ty.clone())),
            connection: self.connection.clone(),
            login_hint: self.login_hint.clone(),
        };
        let req = TokenRequest::for_exchange(
            audience,
            self.scope.as_deref(),
            self.organization.as_deref(),
            key,
        );
        req.validate()?;
        if let Some(exp) = self.subject_expiry() {
            if exp <= SystemTime::now() {
                return Err(Error::InvalidToken {
                    check: TokenCheck::Expired,
                    detail: "the subject token has expired".into(),
                });
            }
        }
        Ok(req)
    }

    /// The form of the token request (client authentication is added by the transport).
    pub(crate) fn form<'a>(&'a self, req: &'a TokenRequest) -> Vec<(&'a str, &'a str)> {
        let mut form = vec![(
            "grant_type",
            if self.is_token_vault() {
                VAULT_GRANT
            } else {
                EXCHANGE_GRANT
            },
        )];
        form.push(("subject_token", self.subject_token.expose_secret()));
        form.push(("subject_token_type", &self.subject_token_type));
        if let Some(c) = &self.connection {
            form.push((
                "requested_token_type",
                token_types::FEDERATED_CONNECTION_ACCESS_TOKEN,
            ));
            form.push(("connection", c));
        } else {
            form.push(("audience", req.audience_str()));
        }
        if let Some(h) = &self.login_hint {
            form.push(("login_hint", h));
        }
        if let (Some(t), Some(ty)) = (&self.actor_token, &self.actor_token_type) {
            form.push(("actor_token", t.expose_secret()));
            form.push(("actor_token_type", ty));
        }
        if let Some(s) = req.scope_str() {
            form.push(("scope", s));
        }
        if let Some(o) = req.organization_str() {
            form.push(("organization", o));
        }
        form
    }

    /// The subject's `exp` when it is a JWT (read, not verified: it only shortens how long
    /// the answer is cached, which the issuer's own check makes right either way).
    pub(crate) fn subject_expiry(&self) -> Option<SystemTime> {
        jwt_expiry(self.subject_token.expose_secret())
    }

    /// The entry parts of the shared level beyond the client's: every input of the answer.
    /// The tokens go into the key derivation only, never into a stored name.
    pub(crate) fn shared_parts(&self) -> Vec<&str> {
        let mut parts = vec![
            if self.is_token_vault() {
                VAULT_GRANT
            } else {
                EXCHANGE_GRANT
            },
            self.subject_token.expose_secret(),
            &self.subject_token_type,
        ];
        if let (Some(t), Some(ty)) = (&self.actor_token, &self.actor_token_type) {
            parts.extend([t.expose_secret(), ty.as_str()]);
        } else {
            parts.extend(["", ""]);
        }
        parts.push(self.connection.as_deref().unwrap_or(""));
        parts.push(self.login_hint.as_deref().unwrap_or(""));
        parts
    }
}

impl std::fmt::Debug for ExchangeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExchangeRequest")
            .field("subject_token", &"[redacted]")
            .field("subject_token_type", &self.subject_token_type)
            .field("audience", &self.audience)
            .field("scope", &self.scope)
            .field(
                "actor_token",
                &self.actor_token.as_ref().map(|_| "[redacted]"),
            )
            .field("actor_token_type", &self.actor_token_type)
            .field("organization", &self.organization)
            .field("connection", &self.connection)
            .field("login_hint", &self.login_hint)
            .finish()
    }
}

fn non_empty(s: String) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// A token type is a URI (RFC 8693 §3): it has a scheme, and nothing a form could mangle.
fn check_type(name: &str, t: &str) -> Result<()> {
    let scheme = t.split_once(':').map(|(s, _)| s).unwrap_or("");
    let uri = !scheme.is_empty()
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        && t.len() <= 512
        && t.bytes().all(|b| b.is_ascii_graphic());
    if uri {
        Ok(())
    } else {
        Err(Error::config(format!(
            "{name} must be a URI such as {}",
            token_types::ACCESS_TOKEN
        )))
    }
}

fn digest(token: &str, salt: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(token.as_bytes());
    h.finalize().into()
}

/// The `exp` of a compact JWS, if `token` is one with a numeric `exp`.
fn jwt_expiry(token: &str) -> Option<SystemTime> {
    let mut parts = token.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || payload.len() > 16 * 1024 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let exp = claims.get("exp")?.as_f64()?;
    (exp.is_finite() && (0.0..1e11).contains(&exp))
        .then(|| UNIX_EPOCH + Duration::from_secs_f64(exp))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        format!("e30.{}.sig", URL_SAFE_NO_PAD.encode(payload))
    }

    #[test]
    fn the_expiry_of_a_jwt_subject_is_read_and_anything_else_has_none() {
        assert_eq!(
            jwt_expiry(&jwt(r#"{"exp":2000000000}"#)),
            Some(UNIX_EPOCH + Duration::from_secs(2_000_000_000))
        );
        for t in [
            "opaque",
            "a.b",
            "a.b.c.d",
            &jwt(r#"{"exp":"soon"}"#),
            &jwt(r#"{"exp":-1}"#),
            &jwt("[]"),
            "e30.!!!.sig",
        ] {
            assert_eq!(jwt_expiry(t), None, "{t}");
        }
    }

    #[test]
    fn keys_differ_by_subject_actor_and_type_and_never_hold_the_token() {
        let salt = [7u8; 32];
        let key = |r: &ExchangeRequest| r.resolve(Some("https://api"), &salt).unwrap();
        let a = ExchangeRequest::new("subject-a", token_types::ACCESS_TOKEN);
        let b = ExchangeRequest::new("subject-b", token_types::ACCESS_TOKEN);
        assert_eq!(key(&a), key(&a.clone()));
        assert_ne!(key(&a), key(&b));
        assert_ne!(key(&a), key(&a.clone().actor("actor", token_types::JWT)));
        assert_ne!(
            key(&a),
            key(&ExchangeRequest::new("subject-a", "urn:example:legacy"))
        );
        assert_ne!(key(&a), key(&a.clone().scope("read:things")));
        assert_ne!(key(&a), TokenRequest::new("https://api"));
        assert!(!format!("{:?}{:?}", key(&a), a).contains("subject-a"));
    }

    #[test]
    fn bad_requests_are_config_errors() {
        let salt = [0u8; 32];
        let bad = [
            ExchangeRequest::new("", token_types::ACCESS_TOKEN),
            ExchangeRequest::new("t", "not a uri"),
            ExchangeRequest::new("t", ""),
            ExchangeRequest::new("t", token_types::ACCESS_TOKEN).actor("a", ""),
            ExchangeRequest::new("t", token_types::JWT).connection("google-oauth2"),
            ExchangeRequest::new("t", token_types::ACCESS_TOKEN)
                .connection("google-oauth2")
                .audience("https://api"),
            ExchangeRequest::new("t", token_types::ACCESS_TOKEN).login_hint("a@b"),
        ];
        for r in bad {
            let e = r.resolve(Some("https://api"), &salt).unwrap_err();
            assert_eq!(e.kind(), "config", "{r:?}: {e}");
        }
        let no_audience = ExchangeRequest::new("t", token_types::ACCESS_TOKEN);
        assert_eq!(
            no_audience.resolve(None, &salt).unwrap_err().kind(),
            "config"
        );
        let expired = ExchangeRequest::new(jwt(r#"{"exp":1000}"#), token_types::ACCESS_TOKEN);
        assert!(matches!(
            expired.resolve(Some("https://api"), &salt),
            Err(Error::InvalidToken {
                check: TokenCheck::Expired,
                ..
            })
        ));
    }

    #[test]
    fn the_form_of_each_kind() {
        let salt = [0u8; 32];
        let obo = ExchangeRequest::new("t", token_types::ACCESS_TOKEN).scope("b a");
        let req = obo.resolve(Some("https://api"), &salt).unwrap();
        assert_eq!(
            obo.form(&req),
            [
                ("grant_type", EXCHANGE_GRANT),
                ("subject_token", "t"),
                ("subject_token_type", token_types::ACCESS_TOKEN),
                ("audience", "https://api"),
                ("scope", "a b"),
            ]
        );
        let vault = ExchangeRequest::new("rt", token_types::REFRESH_TOKEN)
            .connection("google-oauth2")
            .login_hint("me@example.com");
        let req = vault.resolve(Some("https://api"), &salt).unwrap();
        assert_eq!(
            vault.form(&req),
            [
                ("grant_type", VAULT_GRANT),
                ("subject_token", "rt"),
                ("subject_token_type", token_types::REFRESH_TOKEN),
                (
                    "requested_token_type",
                    token_types::FEDERATED_CONNECTION_ACCESS_TOKEN
                ),
                ("connection", "google-oauth2"),
                ("login_hint", "me@example.com"),
            ]
        );
    }
}
