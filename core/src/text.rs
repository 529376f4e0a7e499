//! Text from outside (servers, hosts) as it may appear in our messages.

/// At most `max` characters of `s`, with `…` when cut, and every control character (JSON lets
/// DEL and C1 controls through unescaped) shown as a space: a message is one printable line.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    let mut shown: String = s
        .chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if s.chars().nth(max).is_some() {
        shown.push('…');
    }
    shown
}

/// Whether `bytes` is (at its top level) a JSON object: serde reads a struct from an array too,
/// field by field, and no answer or stored value of ours is an array.
pub(crate) fn is_json_object(bytes: &[u8]) -> bool {
    bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// A JSON parse error as it may appear in a message: its category and position only. serde's
/// own text quotes the offending value, which may be a token.
pub(crate) fn json_error(e: &serde_json::Error) -> String {
    format!(
        "{:?} error at line {} column {}",
        e.classify(),
        e.line(),
        e.column()
    )
}
