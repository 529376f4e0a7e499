//! Keys the issuer generates at start: its RS256 signing key, and the private keys of the
//! `private_key_jwt` test client (handed to tests so they can sign assertions).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{DecodingKey, EncodingKey};
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rand::RngCore;
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;

pub struct SigningKey {
    pub kid: String,
    pub encoding: EncodingKey,
    pub jwk: serde_json::Value,
    pub decoding: DecodingKey,
}

pub fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand::rng().fill_bytes(&mut b);
    b.iter().map(|b| format!("{b:02x}")).collect()
}

fn rsa_key() -> RsaPrivateKey {
    // rsa 0.9 wants a rand_core 0.6 RNG; its OsRng is one.
    RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("RSA key generation")
}

impl SigningKey {
    pub fn generate() -> Self {
        let key = rsa_key();
        let pem = key.to_pkcs8_pem(LineEnding::LF).expect("PKCS#8 PEM");
        let kid = random_hex(8);
        let public = key.to_public_key();
        let jwk = serde_json::json!({
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": kid,
            "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
        });
        let pub_pem = public
            .to_public_key_pem(LineEnding::LF)
            .expect("public PEM");
        Self {
            kid,
            encoding: EncodingKey::from_rsa_pem(pem.as_bytes()).expect("encoding key"),
            decoding: DecodingKey::from_rsa_pem(pub_pem.as_bytes()).expect("decoding key"),
            jwk,
        }
    }
}

/// A client's key pair for `private_key_jwt`: the private PEM goes to the test, the public key
/// stays with the issuer.
pub struct ClientKeyPair {
    pub private_pem: String,
    pub public: DecodingKey,
    pub is_ec: bool,
}

impl ClientKeyPair {
    pub fn rsa() -> Self {
        let key = rsa_key();
        let public = key
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("public PEM");
        Self {
            private_pem: key.to_pkcs8_pem(LineEnding::LF).expect("PEM").to_string(),
            public: DecodingKey::from_rsa_pem(public.as_bytes()).expect("decoding key"),
            is_ec: false,
        }
    }

    pub fn ec() -> Self {
        let key = p256::SecretKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
        let public = key
            .public_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("public PEM");
        Self {
            private_pem: key.to_pkcs8_pem(LineEnding::LF).expect("PEM").to_string(),
            public: DecodingKey::from_ec_pem(public.as_bytes()).expect("decoding key"),
            is_ec: true,
        }
    }
}
