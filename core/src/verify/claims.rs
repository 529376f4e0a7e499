//! The claims of a verified token or of a `/userinfo` answer, with one meaning for each
//! accessor on every surface.

use std::fmt;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

/// The latest time a time claim reads as, in seconds since the Unix epoch:
/// 9999-12-31T23:59:59Z, the last second that Python's `datetime`, Java's `Instant` and
/// Swift's `Date` all hold. A far date (`"exp": 1e308`) is this date on every surface; a check
/// reads it as the far future it is.
pub const LATEST_TIME: u64 = 253_402_300_799;

/// The claims of a verified token (or of a `/userinfo` answer): a JSON object.
///
/// Returned by [`TokenVerifier::verify`](crate::TokenVerifier::verify) and
/// [`SignInClient::userinfo`](crate::SignInClient::userinfo); see the example on
/// [`TokenVerifier`](crate::TokenVerifier). `Debug` shows only `iss`, `sub`, `aud`, `exp` and
/// the number of claims.
#[derive(Clone, PartialEq)]
pub struct Claims(Map<String, Value>);

impl Claims {
    pub(crate) fn new(map: Map<String, Value>) -> Self {
        Self(map)
    }

    /// Claims built by the caller (a test, a copy kept earlier): nothing is checked. Verified
    /// claims come from the verifier.
    pub fn from_map(map: Map<String, Value>) -> Self {
        Self(map)
    }

    /// A claim as JSON; `None` when absent.
    ///
    /// See the example on [`TokenVerifier`](crate::TokenVerifier).
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// A string claim; `None` when absent or not a string.
    ///
    /// See the example on [`TokenVerifier`](crate::TokenVerifier).
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str)
    }

    /// Every claim, as a JSON object.
    ///
    /// See the example on [`TokenVerifier`](crate::TokenVerifier).
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    /// Every claim, as a JSON object, taken out.
    ///
    /// See the example on [`TokenVerifier`](crate::TokenVerifier).
    pub fn into_map(self) -> Map<String, Value> {
        self.0
    }

    /// The claims as a JSON object text.
    ///
    /// See the example on [`TokenVerifier`](crate::TokenVerifier).
    pub fn to_json(&self) -> String {
        Value::Object(self.0.clone()).to_string()
    }

    /// `iss`, the issuer; `None` when absent or not a string.
    ///
    /// See the example on [`TokenVerifier`](crate::TokenVerifier).
    pub fn iss(&self) -> Option<&str> {
        self.get_str("iss")
    }

    /// `sub`, the subject (the user's id, or `{client_id}@clients` for a client-credentials
    /// token); `None` when absent or not a string.
    ///
    /// See the example on [`TokenVerifier`](crate::TokenVerifier).
    pub fn sub(&self) -> Option<&str> {
        self.get_str("sub")
    }

    /// `aud` as a list, whether the token has a string or an array.
    ///
    /// See the example on [`TokenVerifier`](crate::TokenVerifier).
    pub fn aud(&self) -> Vec<&str> {
        match self.0.get("aud") {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        }
    }

    /// `azp`, the authorized party (the client the token was issued to); `None` when absent
    /// or not a string.
    ///
    /// See the example on [`TokenVerifier`](crate::TokenVerifier).
    pub fn azp(&self) -> Option<&str> {
        self.get_str("azp")
    }

    /// `scope`, the granted scopes, space-separated (see [`Self::scopes`]); `None` when absent
    /// or not a string.
    ///
    /// See the example on [`TokenVerifier`](crate::TokenVerifier).
    pub fn scope(&self) -> Option<&str> {
        self.get_str("scope")
    }

    /// The granted scopes, as a list.
    ///
    /// See the example on [`TokenVerifier`](crate::TokenVerifier).
    pub fn scopes(&self) -> Vec<&str> {
        self.scope().unwrap_or("").split_whitespace().collect()
    }

    /// Whether every scope of the space-separated `scope` was granted (one scope, or several:
    /// the same rule as [`crate::UserCredentials::has_scope`]).
    ///
    /// See the example on [`TokenVerifier`](crate::TokenVerifier).
    pub fn has_scope(&self, scope: &str) -> bool {
        let granted = self.scopes();
        scope.split_whitespace().all(|s| granted.contains(&s))
    }

    /// Whether `aud` (a string or an array) contains `audience`.
    ///
    /// See the example on [`TokenVerifier`](crate::TokenVerifier).
    pub fn has_audience(&self, audience: &str) -> bool {
        self.aud().contains(&audience)
    }

    /// A numeric claim as an integer, truncated toward zero (`1.5` is 1, `-1.5` is -1);
    /// `None` when absent, not a number, or out of range.
    ///
    /// See the example on [`TokenVerifier`](crate::TokenVerifier).
    pub fn get_i64(&self, name: &str) -> Option<i64> {
        let v = self.0.get(name)?;
        if let Some(i) = v.as_i64() {
            return Some(i);
        }
        v.as_f64()
            .filter(|f| f.is_finite() && *f >= i64::MIN as f64 && *f < i64::MAX as f64)
            .map(|f| f.trunc() as i64)
    }

    /// A numeric claim as a float; `None` when absent or not a number.
    ///
    /// See the example on [`TokenVerifier`](crate::TokenVerifier).
    pub fn get_f64(&self, name: &str) -> Option<f64> {
        self.0.get(name).and_then(Value::as_f64)
    }

    /// A boolean claim; `None` when absent or not a boolean.
    ///
    /// See the example on [`TokenVerifier`](crate::TokenVerifier).
    pub fn get_bool(&self, name: &str) -> Option<bool> {
        self.0.get(name).and_then(Value::as_bool)
    }

    /// `org_id`, the organization's id; `None` when absent or not a string.
    ///
    /// See the example on [`TokenVerifier`](crate::TokenVerifier).
    pub fn org_id(&self) -> Option<&str> {
        self.get_str("org_id")
    }

    /// `org_name`, the organization's name; `None` when absent or not a string.
    ///
    /// See the example on [`TokenVerifier`](crate::TokenVerifier).
    pub fn org_name(&self) -> Option<&str> {
        self.get_str("org_name")
    }

    /// The `act` chain of a token got by exchange (RFC 8693 §4.1): the `sub` of the current
    /// actor first, then of each earlier one (`act.act.sub`…). Empty when there is no `act`;
    /// it stops at the first level without a string `sub`, and after 32 levels.
    ///
    /// See the example on [`TokenVerifier`](crate::TokenVerifier).
    pub fn actor_chain(&self) -> Vec<&str> {
        let mut chain = Vec::new();
        let mut act = self.0.get("act");
        while let Some(Value::Object(a)) = act {
            match a.get("sub").and_then(Value::as_str) {
                Some(sub) if chain.len() < 32 => chain.push(sub),
                _ => break,
            }
            act = a.get("act");
        }
        chain
    }

    /// `nonce` (ID tokens); `None` when absent or not a string.
    ///
    /// See the example on [`TokenVerifier`](crate::TokenVerifier).
    pub fn nonce(&self) -> Option<&str> {
        self.get_str("nonce")
    }

    /// `exp`, the expiry, in seconds since the Unix epoch (a fraction truncated,
    /// at most [`LATEST_TIME`]); `None` when absent, not a number or negative.
    ///
    /// See the example on [`TokenVerifier`](crate::TokenVerifier).
    pub fn exp(&self) -> Option<u64> {
        self.numeric("exp")
    }

    /// `iat`, when the token was issued, in seconds since the Unix epoch (a fraction
    /// truncated, at most [`LATEST_TIME`]); `None` when absent, not a number or negative.
    ///
    /// See the example on [`TokenVerifier`](crate::TokenVerifier).
    pub fn iat(&self) -> Option<u64> {
        self.numeric("iat")
    }

    /// `nbf`, the start of validity, in seconds since the Unix epoch (a fraction truncated,
    /// at most [`LATEST_TIME`]); `None` when absent, not a number or negative.
    ///
    /// See the example on [`TokenVerifier`](crate::TokenVerifier).
    pub fn nbf(&self) -> Option<u64> {
        self.numeric("nbf")
    }

    /// `auth_time`, when the user authenticated (ID tokens), in seconds since the Unix epoch
    /// (a fraction truncated, at most [`LATEST_TIME`]); `None` when absent, not a number or
    /// negative.
    ///
    /// See the example on [`TokenVerifier`](crate::TokenVerifier).
    pub fn auth_time(&self) -> Option<u64> {
        self.numeric("auth_time")
    }

    /// A time claim (`exp`, `iat`, `nbf`, `auth_time`, or any other NumericDate) as a point in
    /// time; `None` when absent, not a number or negative. A far date reads as
    /// [`LATEST_TIME`], the same on every surface.
    ///
    /// See the example on [`TokenVerifier`](crate::TokenVerifier).
    pub fn time(&self, name: &str) -> Option<SystemTime> {
        self.numeric(name)
            .map(|s| UNIX_EPOCH + Duration::from_secs(s))
    }

    /// `exp` as a point in time: [`Self::time`] of `exp`.
    ///
    /// See the example on [`TokenVerifier`](crate::TokenVerifier).
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.time("exp")
    }

    /// A NumericDate in whole seconds, at most [`LATEST_TIME`].
    fn numeric(&self, name: &str) -> Option<u64> {
        self.0
            .get(name)
            .and_then(Value::as_f64)
            .filter(|f| *f >= 0.0)
            .map(|f| (f as u64).min(LATEST_TIME))
    }
}

impl fmt::Debug for Claims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Claims are not secrets, but they are personal data: show what identifies the token.
        f.debug_struct("Claims")
            .field("iss", &self.iss())
            .field("sub", &self.sub())
            .field("aud", &self.aud())
            .field("exp", &self.exp())
            .field("claims", &self.0.len())
            .finish()
    }
}
