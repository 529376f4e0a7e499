//! `private_key_jwt` client assertions (RFC 7523), as Auth0 expects them.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use super::credentials::SigningAlg;
use crate::error::{Error, Result};

pub(crate) const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Auth0 rejects assertions that live longer than a minute.
const LIFETIME_SECS: u64 = 60;

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: u64,
    nbf: u64,
    exp: u64,
    jti: String,
}

fn encoding_key(pem: &str, alg: SigningAlg) -> Result<EncodingKey> {
    let key = match alg {
        SigningAlg::RS256 | SigningAlg::PS256 => EncodingKey::from_rsa_pem(pem.as_bytes()),
        SigningAlg::ES256 => EncodingKey::from_ec_pem(pem.as_bytes()),
    };
    // The key parser's message could echo key bytes: say only what kind of key was wanted.
    key.map_err(|_| {
        Error::config(format!(
            "private key is not a PEM {} key usable with {}",
            if alg == SigningAlg::ES256 {
                "P-256 EC"
            } else {
                "RSA"
            },
            alg.as_str()
        ))
    })
}

fn algorithm(alg: SigningAlg) -> Algorithm {
    match alg {
        SigningAlg::RS256 => Algorithm::RS256,
        SigningAlg::PS256 => Algorithm::PS256,
        SigningAlg::ES256 => Algorithm::ES256,
    }
}

/// Parses the key and signs a throw-away assertion, so a bad key is a configuration error at
/// construction rather than at the first request.
pub(crate) fn check_key(pem: &str, alg: SigningAlg) -> Result<()> {
    sign(pem, alg, None, "check", "https://check.invalid/").map(drop)
}

/// A fresh assertion: `iss` = `sub` = client id, `aud` = the issuer URL, unique `jti`.
pub(crate) fn sign(
    pem: &str,
    alg: SigningAlg,
    key_id: Option<&str>,
    client_id: &str,
    audience: &str,
) -> Result<String> {
    // The key is parsed per assertion so that only the zeroized PEM outlives a request.
    let key = encoding_key(pem, alg)?;
    let mut header = Header::new(algorithm(alg));
    header.kid = key_id.map(str::to_string);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let jti = super::random::secret_bytes::<16>();
    let claims = Claims {
        iss: client_id,
        sub: client_id,
        aud: audience,
        iat: now,
        nbf: now,
        exp: now + LIFETIME_SECS,
        jti: jti.iter().map(|b| format!("{b:02x}")).collect(),
    };
    jsonwebtoken::encode(&header, &claims, &key).map_err(|e| {
        Error::config(format!(
            "could not sign the client assertion: {:?}",
            e.kind()
        ))
    })
}
