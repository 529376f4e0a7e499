//! The client's own credentials (a secret or a private key), how they are presented at the
//! token endpoint, and the algorithms of client assertions.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, Result};

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    /// `client_id` and `client_secret` in the form body (the seed's example, and the default).
    ClientSecretPost,
    /// HTTP Basic with the url-encoded client id and secret.
    ClientSecretBasic,
    /// A JWT client assertion signed with the app's private key.
    PrivateKeyJwt,
}

impl AuthMethod {
    /// Parses the OAuth registry names (`client_secret_post`, …).
    ///
    /// See the example on [`Credentials`].
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "client_secret_post" => Ok(Self::ClientSecretPost),
            "client_secret_basic" => Ok(Self::ClientSecretBasic),
            "private_key_jwt" => Ok(Self::PrivateKeyJwt),
            other => Err(Error::config(format!(
                "unknown auth method {other:?}: expected client_secret_post, client_secret_basic or private_key_jwt"
            ))),
        }
    }

    /// The OAuth registry name (`client_secret_post`, …), the inverse of [`Self::parse`].
    ///
    /// See the example on [`Credentials`].
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretPost => "client_secret_post",
            Self::ClientSecretBasic => "client_secret_basic",
            Self::PrivateKeyJwt => "private_key_jwt",
        }
    }
}

/// Algorithm of a `private_key_jwt` client assertion (the ones Auth0 accepts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (an RSA key).
    RS256,
    /// RSASSA-PSS with SHA-256 (an RSA key).
    PS256,
    /// ECDSA on P-256 with SHA-256 (a P-256 EC key).
    ES256,
}

impl SigningAlg {
    /// Parses a JWS algorithm name (`RS256`, `PS256`, `ES256`, case-sensitive); any other is
    /// [`Error::Config`].
    ///
    /// See the example on [`Credentials`].
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "RS256" => Ok(Self::RS256),
            "PS256" => Ok(Self::PS256),
            "ES256" => Ok(Self::ES256),
            other => Err(Error::config(format!(
                "unsupported signing algorithm {other:?}: expected RS256, PS256 or ES256"
            ))),
        }
    }

    /// The JWS algorithm name (`RS256`…), the inverse of [`Self::parse`].
    ///
    /// See the example on [`Credentials`].
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::PS256 => "PS256",
            Self::ES256 => "ES256",
        }
    }
}

/// The client's secret material. Zeroized on drop; `Debug` never shows it.
///
/// # Example
///
/// ```
/// use tokenkeeper::{ClientConfig, Credentials, SigningAlg};
///
/// let secret = Credentials::client_secret("s3cr3t");
/// assert_eq!(format!("{secret:?}"), "ClientSecret([redacted])");
///
/// // A private key is parsed and checked when the client is built, not here.
/// let pem = "-----BEGIN PRIVATE KEY-----\n…\n-----END PRIVATE KEY-----\n";
/// let key = Credentials::private_key_jwt(pem, SigningAlg::ES256).with_key_id("key-1");
/// let config = ClientConfig::new("tenant.auth0.com", "client-id", key);
///
/// // From separate parts (keyword arguments, C setters): a secret or a key, never both.
/// assert!(Credentials::from_parts(Some("s3cr3t"), Some(pem), None, None).is_err());
/// let key = Credentials::from_parts(None, Some(pem), Some("ES256"), Some("key-1"))?;
/// assert!(matches!(key, Credentials::PrivateKey { alg: SigningAlg::ES256, .. }));
/// # Ok::<(), tokenkeeper::Error>(())
/// ```
#[derive(Clone)]
pub enum Credentials {
    /// A client secret, for `client_secret_post` (the default) or `client_secret_basic`.
    ClientSecret(SecretString),
    /// A private key, for `private_key_jwt`: each request carries a fresh client assertion
    /// signed with it.
    PrivateKey {
        /// The private key, PEM-encoded (RSA for RS256 and PS256, P-256 EC for ES256).
        pem: SecretString,
        /// The algorithm the client assertions are signed with.
        alg: SigningAlg,
        /// Optional `kid` header, for apps that registered several credentials.
        key_id: Option<String>,
    },
}

impl Credentials {
    /// A client secret ([`Self::ClientSecret`]).
    ///
    /// See the example on [`Credentials`].
    pub fn client_secret(secret: impl Into<String>) -> Self {
        Self::ClientSecret(SecretString::from(secret.into()))
    }

    /// A PEM private key for `private_key_jwt` ([`Self::PrivateKey`], no `kid`); the key is
    /// parsed and checked when the client is built ([`Error::Config`] if unusable).
    ///
    /// See the example on [`Credentials`].
    pub fn private_key_jwt(pem: impl Into<String>, alg: SigningAlg) -> Self {
        Self::PrivateKey {
            pem: SecretString::from(pem.into()),
            alg,
            key_id: None,
        }
    }

    /// Sets the `kid` of a private-key credential (no effect on a secret).
    ///
    /// See the example on [`Credentials`].
    pub fn with_key_id(mut self, kid: impl Into<String>) -> Self {
        if let Self::PrivateKey { key_id, .. } = &mut self {
            *key_id = Some(kid.into());
        }
        self
    }

    pub(crate) fn material(&self) -> &str {
        match self {
            Self::ClientSecret(s) => s.expose_secret(),
            Self::PrivateKey { pem, .. } => pem.expose_secret(),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ClientSecret(_) => f.write_str("ClientSecret([redacted])"),
            Self::PrivateKey { alg, key_id, .. } => f
                .debug_struct("PrivateKey")
                .field("pem", &"[redacted]")
                .field("alg", alg)
                .field("key_id", key_id)
                .finish(),
        }
    }
}

impl SigningAlg {
    /// Every algorithm, in the order of preference.
    pub const ALL: [SigningAlg; 3] = [Self::RS256, Self::PS256, Self::ES256];

    /// A list of algorithm names separated by commas or spaces (`"RS256, ES256"`); empty
    /// names are skipped, an unknown one is [`Error::Config`], an empty list too.
    ///
    /// See the example on [`Credentials`].
    pub fn parse_list(s: &str) -> Result<Vec<Self>> {
        Self::parse_all(s.split([',', ' ']).filter(|p| !p.trim().is_empty()))
    }

    /// The algorithms of several names, without repeats.
    ///
    /// See the example on [`Credentials`].
    pub fn parse_all<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Vec<Self>> {
        let mut out = Vec::new();
        for n in names {
            let a = Self::parse(n.trim())?;
            if !out.contains(&a) {
                out.push(a);
            }
        }
        if out.is_empty() {
            return Err(Error::config("no algorithm given"));
        }
        Ok(out)
    }
}

impl Credentials {
    /// The credential of a surface that takes its parts separately (keyword arguments, C
    /// setters, environment): exactly one of `secret` and `private_key`; `alg` (default
    /// RS256) and `key_id` only with a key. Empty strings count as absent.
    ///
    /// See the example on [`Credentials`].
    pub fn from_parts(
        secret: Option<&str>,
        private_key: Option<&str>,
        alg: Option<&str>,
        key_id: Option<&str>,
    ) -> Result<Self> {
        Self::optional_from_parts(secret, private_key, alg, key_id)?
            .ok_or_else(|| Error::config("give a client secret or a private key"))
    }

    /// [`Self::from_parts`] for a client that may be public: neither part gives `None`.
    ///
    /// See the example on [`Credentials`].
    pub fn optional_from_parts(
        secret: Option<&str>,
        private_key: Option<&str>,
        alg: Option<&str>,
        key_id: Option<&str>,
    ) -> Result<Option<Self>> {
        fn given(o: Option<&str>) -> Option<&str> {
            o.filter(|s| !s.is_empty())
        }
        let (secret, key) = (given(secret), given(private_key));
        let (alg, key_id) = (given(alg), given(key_id));
        match (secret, key) {
            (Some(_), Some(_)) => Err(Error::config(
                "give a client secret or a private key, not both",
            )),
            (Some(s), None) => {
                if alg.is_some() || key_id.is_some() {
                    return Err(Error::config(
                        "a signing algorithm or key id needs a private key, not a client secret",
                    ));
                }
                Ok(Some(Self::client_secret(s)))
            }
            (None, Some(pem)) => {
                let alg = alg.map(SigningAlg::parse).transpose()?;
                let c = Self::private_key_jwt(pem, alg.unwrap_or(SigningAlg::RS256));
                Ok(Some(match key_id {
                    Some(k) => c.with_key_id(k),
                    None => c,
                }))
            }
            (None, None) if alg.is_some() || key_id.is_some() => Err(Error::config(
                "a signing algorithm or key id needs a private key",
            )),
            (None, None) => Ok(None),
        }
    }
}
