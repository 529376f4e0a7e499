//! The issuer's signing keys: the active one signs every token, the published ones are in the
//! JWKS. Keys can be added (RS256, PS256, ES256) and retired, so tests can rotate keys the way
//! a tenant does.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;

use crate::keys::{random_hex, SigningKey};

pub(crate) struct Key {
    pub alg: Algorithm,
    pub kid: String,
    pub encoding: EncodingKey,
    pub decoding: DecodingKey,
    pub jwk: serde_json::Value,
    /// SPKI PEM of the public key (what a careless verifier might use as an HMAC secret).
    pub public_pem: String,
}

impl Key {
    /// The issuer's initial RS256 key.
    pub fn from_signing(s: &SigningKey) -> Self {
        let n = URL_SAFE_NO_PAD
            .decode(s.jwk["n"].as_str().unwrap_or_default())
            .unwrap_or_default();
        let e = URL_SAFE_NO_PAD
            .decode(s.jwk["e"].as_str().unwrap_or_default())
            .unwrap_or_default();
        let public = rsa::RsaPublicKey::new(
            rsa::BigUint::from_bytes_be(&n),
            rsa::BigUint::from_bytes_be(&e),
        )
        .expect("the generated key is valid");
        Self {
            alg: Algorithm::RS256,
            kid: s.kid.clone(),
            encoding: s.encoding.clone(),
            decoding: s.decoding.clone(),
            jwk: s.jwk.clone(),
            public_pem: public
                .to_public_key_pem(LineEnding::LF)
                .expect("public PEM"),
        }
    }

    /// A fresh key for `alg` (RS256, PS256 or ES256); panics on any other algorithm.
    pub fn generate(alg: Algorithm) -> Self {
        let kid = random_hex(8);
        match alg {
            Algorithm::RS256 | Algorithm::PS256 => {
                let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)
                    .expect("RSA key generation");
                let pem = key.to_pkcs8_pem(LineEnding::LF).expect("PKCS#8 PEM");
                let public = key.to_public_key();
                let public_pem = public
                    .to_public_key_pem(LineEnding::LF)
                    .expect("public PEM");
                let jwk = serde_json::json!({
                    "kty": "RSA",
                    "use": "sig",
                    "alg": alg_name(alg),
                    "kid": kid,
                    "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
                    "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
                });
                Self {
                    alg,
                    kid,
                    encoding: EncodingKey::from_rsa_pem(pem.as_bytes()).expect("encoding key"),
                    decoding: DecodingKey::from_rsa_pem(public_pem.as_bytes())
                        .expect("decoding key"),
                    jwk,
                    public_pem,
                }
            }
            Algorithm::ES256 => {
                let key = p256::SecretKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
                let pem = key.to_pkcs8_pem(LineEnding::LF).expect("PKCS#8 PEM");
                let public = key.public_key();
                let point = public.to_encoded_point(false);
                let public_pem = public
                    .to_public_key_pem(LineEnding::LF)
                    .expect("public PEM");
                let jwk = serde_json::json!({
                    "kty": "EC",
                    "use": "sig",
                    "alg": "ES256",
                    "kid": kid,
                    "crv": "P-256",
                    "x": URL_SAFE_NO_PAD.encode(point.x().expect("uncompressed point")),
                    "y": URL_SAFE_NO_PAD.encode(point.y().expect("uncompressed point")),
                });
                Self {
                    alg,
                    kid,
                    encoding: EncodingKey::from_ec_pem(pem.as_bytes()).expect("encoding key"),
                    decoding: DecodingKey::from_ec_pem(public_pem.as_bytes())
                        .expect("decoding key"),
                    jwk,
                    public_pem,
                }
            }
            other => panic!("the local issuer signs with RS256, PS256 or ES256, not {other:?}"),
        }
    }

    /// `header.payload.signature` over the exact header and payload JSON given (so tests can
    /// build tokens with odd headers, duplicate members…), signed with this key's algorithm.
    pub fn sign_raw(&self, header_json: &str, payload_json: &str) -> String {
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header_json),
            URL_SAFE_NO_PAD.encode(payload_json)
        );
        let sig = jsonwebtoken::crypto::sign(message.as_bytes(), &self.encoding, self.alg)
            .expect("signing with a generated key");
        format!("{message}.{sig}")
    }

    /// `{alg, typ: JWT, kid}` with `extra` members merged over it.
    pub fn header(&self, extra: Option<&serde_json::Value>) -> serde_json::Value {
        let mut h = serde_json::json!({ "alg": alg_name(self.alg), "typ": "JWT", "kid": self.kid });
        if let Some(serde_json::Value::Object(m)) = extra {
            for (k, v) in m {
                h[k] = v.clone();
            }
        }
        h
    }

    pub fn sign(&self, claims: &serde_json::Value) -> String {
        self.sign_raw(&self.header(None).to_string(), &claims.to_string())
    }
}

pub(crate) fn alg_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::RS256 => "RS256",
        Algorithm::PS256 => "PS256",
        Algorithm::ES256 => "ES256",
        _ => "unsupported",
    }
}

pub(crate) fn parse_alg(s: &str) -> Option<Algorithm> {
    match s {
        "RS256" => Some(Algorithm::RS256),
        "PS256" => Some(Algorithm::PS256),
        "ES256" => Some(Algorithm::ES256),
        _ => None,
    }
}

pub(crate) struct KeyRing {
    pub active: Arc<Key>,
    pub published: Vec<Arc<Key>>,
}

impl KeyRing {
    pub fn new(initial: Key) -> Self {
        let k = Arc::new(initial);
        Self {
            active: k.clone(),
            published: vec![k],
        }
    }

    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<&serde_json::Value> = self.published.iter().map(|k| &k.jwk).collect();
        serde_json::json!({ "keys": keys })
    }

    pub fn find(&self, kid: &str) -> Option<Arc<Key>> {
        self.published.iter().find(|k| k.kid == kid).cloned()
    }

    /// Publishes a key, and makes it the signing key when `activate`.
    pub fn add(&mut self, key: Key, activate: bool) -> Arc<Key> {
        let k = Arc::new(key);
        self.published.push(k.clone());
        if activate {
            self.active = k.clone();
        }
        k
    }

    /// Removes a key from the JWKS. The active key cannot be retired.
    pub fn retire(&mut self, kid: &str) -> Result<(), &'static str> {
        if self.active.kid == kid {
            return Err("the active signing key cannot be retired; add and activate another first");
        }
        let before = self.published.len();
        self.published.retain(|k| k.kid != kid);
        if self.published.len() == before {
            return Err("no published key has this kid");
        }
        Ok(())
    }
}
