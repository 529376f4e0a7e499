//! Scope strings: a set, so order and repeats never make two requests differ.

/// Sorted, de-duplicated, space-separated; `None` when empty.
pub(crate) fn normalize(s: &str) -> Option<String> {
    let mut parts: Vec<&str> = s.split_whitespace().collect();
    parts.sort_unstable();
    parts.dedup();
    (!parts.is_empty()).then(|| parts.join(" "))
}
