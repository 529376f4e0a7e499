//! `Retry-After` (seconds or an HTTP date) and `X-RateLimit-Reset` (Unix seconds) on 429 and
//! 503 answers. The input is header lines, `name: value`.
#![no_main]
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use tokenkeeper::fuzzing;
use tokenkeeper_fuzz::check_error;

fuzz_target!(|data: &[u8]| {
    let Some((&clock, data)) = data.split_first() else {
        return;
    };
    let pairs: Vec<(&[u8], &[u8])> = data
        .split(|b| *b == b'\n')
        .filter_map(|line| {
            let at = line.iter().position(|b| *b == b':')?;
            let v = &line[at + 1..];
            Some((&line[..at], v.strip_prefix(b" ").unwrap_or(v)))
        })
        .collect();
    // Now, or a clock far in the past or future.
    let now = match clock % 3 {
        0 => SystemTime::now(),
        1 => UNIX_EPOCH,
        _ => UNIX_EPOCH + Duration::from_secs(u32::MAX as u64 * 4),
    };
    let wait = fuzzing::retry_after(&pairs, now);
    // Only what the HTTP client would have delivered: visible ASCII, spaces and tabs.
    let deliverable = |v: &[u8]| v.iter().all(|b| *b == b'\t' || (0x20..0x7f).contains(b));
    let secs = pairs
        .iter()
        .filter(|(_, v)| deliverable(v))
        .find_map(|(n, v)| {
            n.eq_ignore_ascii_case(b"retry-after")
                .then(|| std::str::from_utf8(v).ok()?.trim().parse::<u64>().ok())
                .flatten()
        });
    if let (Some(s), true) = (
        secs,
        pairs
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(b"retry-after"))
            .count()
            == 1,
    ) {
        assert_eq!(wait, Some(Duration::from_secs(s)));
    }
    for (status, body) in [
        (429, &b"{\"error\":\"too_many_requests\"}"[..]),
        (503, &b""[..]),
    ] {
        let (e, after) = fuzzing::error_response(status, &pairs, body).expect("a valid status");
        check_error(&e, &[]);
        if let tokenkeeper::Error::RateLimited { retry_after, .. } = &e {
            assert_eq!(*retry_after, after);
        }
    }
});
