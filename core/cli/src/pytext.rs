//! Text exactly as the Python CLI prints it (`datetime.isoformat()`, `json.dumps`, `repr` of
//! a str), so the two CLIs give byte-identical output and one test suite can compare them.

use std::fmt::Write;

/// `datetime.fromtimestamp(unix, timezone.utc).isoformat()`: rounded to the microsecond half
/// to even as Python does, the fraction left out when it is zero.
pub fn isoformat(unix: f64) -> String {
    let (mut secs, mut micros) = (
        unix.trunc() as i64,
        (unix.fract() * 1e6).round_ties_even() as i64,
    );
    if micros >= 1_000_000 {
        (secs, micros) = (secs + 1, micros - 1_000_000);
    } else if micros < 0 {
        (secs, micros) = (secs - 1, micros + 1_000_000);
    }
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let mut s = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    if micros != 0 {
        let _ = write!(s, ".{micros:06}");
    }
    s + "+00:00"
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// A JSON string as `json.dumps` writes it (`ensure_ascii`: everything outside printable
/// ASCII escaped, non-BMP characters as surrogate pairs).
pub fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{u:04x}");
                }
            }
        }
    }
    out.push('"');
    out
}

/// `repr()` of a str that holds no quote or backslash (URLs, ids, scopes, names);
/// others are escaped as Python would for the common cases.
pub fn repr(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// `repr()` of an optional str.
#[cfg_attr(not(feature = "demo"), allow(dead_code))]
pub fn repr_opt(s: Option<&str>) -> String {
    s.map_or_else(|| "None".to_string(), repr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isoformat_matches_python() {
        // Values printed by `datetime.fromtimestamp(t, timezone.utc).isoformat()`.
        assert_eq!(isoformat(0.0), "1970-01-01T00:00:00+00:00");
        assert_eq!(isoformat(951_782_400.0), "2000-02-29T00:00:00+00:00");
        assert_eq!(
            isoformat(1_796_276_045.5),
            "2026-12-03T05:34:05.500000+00:00"
        );
        assert_eq!(
            isoformat(1_796_276_045.123),
            "2026-12-03T05:34:05.123000+00:00"
        );
        assert_eq!(
            isoformat(4_102_444_799.9999996),
            "2100-01-01T00:00:00+00:00"
        );
        assert_eq!(isoformat(-1.5), "1969-12-31T23:59:58.500000+00:00");
    }

    #[test]
    fn json_str_matches_python() {
        assert_eq!(
            json_str("a\"b\\c\n\u{7f}é😀"),
            r#""a\"b\\c\n\u007f\u00e9\ud83d\ude00""#
        );
    }

    #[test]
    fn repr_quotes() {
        assert_eq!(repr("read:things"), "'read:things'");
        assert_eq!(repr_opt(None), "None");
    }
}
