//! JWS compact serialization: base64url JSON segments decoded strictly (no duplicate member),
//! and a payload read without verification (for tokens verified earlier).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::{Deserialize, Deserializer, Error as _, MapAccess, Visitor};
use serde_json::{Map, Value};

use std::fmt;

use super::checks::invalid;
use super::claims::Claims;
use super::jwks::printable;
use crate::error::{Result, TokenCheck};
use crate::text::truncate;

/// A base64url JSON object with no duplicate member (a header with two `alg`s, or claims with
/// two `aud`s, must not mean one thing to us and another to someone else).
pub(crate) fn decode_object(segment: &str, what: &str) -> Result<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(segment).map_err(|_| {
        invalid(
            TokenCheck::Malformed,
            format!("the {what} is not base64url"),
        )
    })?;
    serde_json::from_slice::<UniqueObject>(&bytes)
        .map(|o| o.0)
        .map_err(|e| {
            // Only our own reason (a duplicate member, by name) is shown: serde's text for a
            // wrong type quotes the value (found by fuzzing).
            let text = e.to_string();
            let why = if e.is_data() && text.starts_with(DUPLICATE) {
                truncate(&printable(&text), 120)
            } else {
                format!("{:?} error at column {}", e.classify(), e.column())
            };
            invalid(
                TokenCheck::Malformed,
                format!("the {what} is not a JSON object: {why}"),
            )
        })
}

struct UniqueObject(Map<String, Value>);

const DUPLICATE: &str = "duplicate member";

impl<'de> Deserialize<'de> for UniqueObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = UniqueObject;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut a: A,
            ) -> std::result::Result<UniqueObject, A::Error> {
                let mut m = Map::new();
                while let Some((k, v)) = a.next_entry::<String, Value>()? {
                    if m.contains_key(&k) {
                        return Err(A::Error::custom(format!(
                            "{DUPLICATE} {:?}",
                            truncate(&k, 32)
                        )));
                    }
                    m.insert(k, v);
                }
                Ok(UniqueObject(m))
            }
        }
        d.deserialize_map(V)
    }
}

/// Decodes a JWT's payload without verifying anything (for tokens verified earlier).
pub(crate) fn unverified_claims(token: &str) -> Option<Claims> {
    let payload = token.split('.').nth(1)?;
    decode_object(payload, "payload").ok().map(Claims::new)
}
