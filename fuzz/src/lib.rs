//! What every fuzz target asserts of the core's answers to hostile input.

use serde_json::Value;
use tokenkeeper::Error;

/// A secret-looking value: the targets put it in place of input strings and check that no
/// error text repeats it.
pub const CANARY: &str = "tkCANARYs3cr3tQ7x";

/// An error message longer than this was built from unbounded input.
pub const MAX_MESSAGE_CHARS: usize = 1200;

/// What must hold of any error from a parser: a kind, bounded printable text without the
/// secrets, in `Display` and `Debug` alike.
pub fn check_error(e: &Error, secrets: &[&str]) {
    assert!(!e.kind().is_empty());
    let shown = e.to_string();
    assert!(
        shown.chars().count() <= MAX_MESSAGE_CHARS,
        "error text is {} characters long",
        shown.chars().count()
    );
    assert!(
        !shown.chars().any(char::is_control),
        "error text holds a control character: {shown:?}"
    );
    let debug = format!("{e:?}");
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        assert!(!shown.contains(s), "error text echoes a secret: {shown:?}");
        assert!(!debug.contains(s), "error Debug echoes a secret: {debug:?}");
    }
}

/// Replaces every string value (in objects and arrays, at any depth) by [`CANARY`], except the
/// members named in `keep` (text the core shows on purpose, such as an OAuth `error`). Returns
/// whether anything was replaced.
pub fn canarize(v: &mut Value, keep: &[&str]) -> bool {
    match v {
        Value::String(s) => {
            *s = CANARY.into();
            true
        }
        Value::Array(a) => a.iter_mut().fold(false, |acc, x| canarize(x, keep) | acc),
        Value::Object(m) => m
            .iter_mut()
            .filter(|(k, _)| !keep.contains(&k.as_str()))
            .fold(false, |acc, (_, x)| canarize(x, keep) | acc),
        _ => false,
    }
}

/// `data` as a JSON object with its strings replaced (see [`canarize`]), when it is one, with
/// strings, and does not hold the canary already.
pub fn canarized(data: &[u8], keep: &[&str]) -> Option<Vec<u8>> {
    // An input that already holds the canary (in a member shown on purpose) proves nothing.
    if data.windows(CANARY.len()).any(|w| w == CANARY.as_bytes()) {
        return None;
    }
    // Only an object: the members kept by name (shown on purpose) mean nothing in an array.
    let mut v @ Value::Object(_) = serde_json::from_slice::<Value>(data).ok()? else {
        return None;
    };
    canarize(&mut v, keep).then(|| serde_json::to_vec(&v).expect("JSON serializes"))
}

/// The string values of `data` (a JSON object) under `keys`, long enough to be told apart from
/// the core's own words: a parser must never show them.
pub fn secrets_of(data: &[u8], keys: &[&str]) -> Vec<String> {
    let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(data) else {
        return Vec::new();
    };
    keys.iter()
        .filter_map(|k| m.get(*k).and_then(Value::as_str))
        .filter(|s| s.len() >= 12)
        .map(str::to_string)
        .collect()
}
