//! The claims of a verified token or of a `/userinfo` answer, with one meaning for each
//! accessor on every surface.

use std::fmt;

use serde_json::{Map, Value};

/// The claims of a verified token (or of a `/userinfo` answer): a JSON object.
#[derive(Clone, PartialEq)]
pub struct Claims(Map<String, Value>);

impl Claims {
    pub(crate) fn new(map: Map<String, Value>) -> Self {
        Self(map)
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// A string claim.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str)
    }

    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    pub fn into_map(self) -> Map<String, Value> {
        self.0
    }

    /// The claims as a JSON object text.
    pub fn to_json(&self) -> String {
        Value::Object(self.0.clone()).to_string()
    }

    pub fn iss(&self) -> Option<&str> {
        self.get_str("iss")
    }

    pub fn sub(&self) -> Option<&str> {
        self.get_str("sub")
    }

    /// `aud` as a list, whether the token has a string or an array.
    pub fn aud(&self) -> Vec<&str> {
        match self.0.get("aud") {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        }
    }

    pub fn azp(&self) -> Option<&str> {
        self.get_str("azp")
    }

    pub fn scope(&self) -> Option<&str> {
        self.get_str("scope")
    }

    /// The granted scopes, as a list.
    pub fn scopes(&self) -> Vec<&str> {
        self.scope().unwrap_or("").split_whitespace().collect()
    }

    /// Whether every scope of the space-separated `scope` was granted (one scope, or several:
    /// the same rule as [`crate::UserCredentials::has_scope`]).
    pub fn has_scope(&self, scope: &str) -> bool {
        let granted = self.scopes();
        scope.split_whitespace().all(|s| granted.contains(&s))
    }

    /// Whether `aud` (a string or an array) contains `audience`.
    pub fn has_audience(&self, audience: &str) -> bool {
        self.aud().contains(&audience)
    }

    /// A numeric claim as an integer, truncated toward zero (`1.5` is 1, `-1.5` is -1);
    /// `None` when absent, not a number, or out of range.
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
    pub fn get_f64(&self, name: &str) -> Option<f64> {
        self.0.get(name).and_then(Value::as_f64)
    }

    /// A boolean claim; `None` when absent or not a boolean.
    pub fn get_bool(&self, name: &str) -> Option<bool> {
        self.0.get(name).and_then(Value::as_bool)
    }

    pub fn org_id(&self) -> Option<&str> {
        self.get_str("org_id")
    }

    pub fn org_name(&self) -> Option<&str> {
        self.get_str("org_name")
    }

    pub fn nonce(&self) -> Option<&str> {
        self.get_str("nonce")
    }

    pub fn exp(&self) -> Option<u64> {
        self.numeric("exp")
    }

    pub fn iat(&self) -> Option<u64> {
        self.numeric("iat")
    }

    pub fn nbf(&self) -> Option<u64> {
        self.numeric("nbf")
    }

    pub fn auth_time(&self) -> Option<u64> {
        self.numeric("auth_time")
    }

    fn numeric(&self, name: &str) -> Option<u64> {
        self.0
            .get(name)
            .and_then(Value::as_f64)
            .filter(|f| *f >= 0.0)
            .map(|f| f as u64)
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
