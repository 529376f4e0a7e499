//! The claim checks of the pipeline that need more than a compare: the token type, the
//! organization, typed claim reads, and the errors they give.

use serde_json::{Map, Value};

use super::jwks::printable;
use crate::error::{Error, Result, TokenCheck};
use crate::text::truncate;

/// RFC 8725 §3.11 / RFC 9068: an access token is `at+jwt` or plain `JWT` (Auth0's default),
/// an ID token `JWT`; a token with ID-token claims is never accepted as an access token.
pub(crate) fn check_type(typ: Option<&str>, c: &Map<String, Value>, id_token: bool) -> Result<()> {
    let fits = match typ {
        None | Some("jwt") => true,
        Some("at+jwt") => !id_token,
        Some(_) => false,
    };
    if !fits {
        return Err(invalid(
            TokenCheck::TokenType,
            format!(
                "typ {:?} is not that of {}",
                truncate(&printable(typ.unwrap_or_default()), 32),
                if id_token {
                    "an ID token"
                } else {
                    "an access token"
                }
            ),
        ));
    }
    if !id_token {
        if let Some(claim) = ["nonce", "at_hash", "c_hash"]
            .into_iter()
            .find(|k| c.contains_key(*k))
        {
            return Err(invalid(
                TokenCheck::TokenType,
                format!("the token has {claim}: an ID token, not an access token"),
            ));
        }
    }
    Ok(())
}

/// A required organization. Auth0's rule: a value that starts with `org_` is an id, anything
/// else a name. Nothing else is inferred: an id is never matched against `org_name` (an
/// organization may be *named* after another's id), nor a name against `org_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Organization<'a> {
    /// Compared with `org_id`, exactly.
    Id(&'a str),
    /// Compared with `org_name`, case-insensitively (Auth0 stores names in lower case).
    Name(&'a str),
}

impl<'a> Organization<'a> {
    /// An id when `value` starts with `org_`, otherwise a name.
    pub(crate) fn parse(value: &'a str) -> Self {
        if value.starts_with("org_") {
            Self::Id(value)
        } else {
            Self::Name(value)
        }
    }
}

pub(crate) fn check_organization(c: &Map<String, Value>, org: Organization<'_>) -> Result<()> {
    let (claim, want, matches) = match org {
        Organization::Id(id) => ("org_id", id, string_claim(c, "org_id")? == id),
        Organization::Name(name) => {
            let got = string_claim(c, "org_name")?;
            ("org_name", name, got.to_lowercase() == name.to_lowercase())
        }
    };
    if matches {
        return Ok(());
    }
    let got = string_claim(c, claim)?;
    Err(invalid(
        TokenCheck::Organization,
        format!(
            "{claim} {:?} is not {want:?}",
            truncate(&printable(got), 100)
        ),
    ))
}

pub(crate) fn invalid(check: TokenCheck, detail: impl Into<String>) -> Error {
    Error::InvalidToken {
        check,
        detail: detail.into(),
    }
}

pub(crate) fn missing(name: &str) -> Error {
    invalid(TokenCheck::MissingClaim, format!("the token has no {name}"))
}

pub(crate) fn wrong_type(name: &str, expected: &str) -> Error {
    invalid(
        TokenCheck::MissingClaim,
        format!("{name} is not {expected}"),
    )
}

pub(crate) fn string_claim<'a>(c: &'a Map<String, Value>, name: &str) -> Result<&'a str> {
    match c.get(name) {
        None => Err(missing(name)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(wrong_type(name, "a string")),
    }
}

/// A NumericDate (seconds since the epoch, integer or not).
pub(crate) fn numeric_claim(c: &Map<String, Value>, name: &str) -> Result<Option<f64>> {
    match c.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|f| f.is_finite() && *f >= 0.0)
            .map(Some)
            .ok_or_else(|| wrong_type(name, "a NumericDate")),
        Some(_) => Err(wrong_type(name, "a number")),
    }
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
