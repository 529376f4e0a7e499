//! Which URLs may be talked to: HTTPS, or HTTP to a loopback host; never credentials in a URL.

use url::Url;

use crate::error::{Error, Result};

/// HTTPS, or HTTP to a loopback host; no credentials in the URL.
pub(crate) fn checked_url(s: &str, what: &str) -> Result<Url> {
    let url = Url::parse(s).map_err(|e| {
        let s = shown(s);
        Error::config(format!("{what} {s:?} is not a URL: {e}"))
    })?;
    let s = &shown(s);
    let host = url
        .host()
        .ok_or_else(|| Error::config(format!("{what} {s:?} has no host")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::config(format!("{what} must not embed credentials")));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&host) => Ok(url),
        "http" => Err(Error::config(format!(
            "{what} {s:?}: plain http is only allowed for loopback hosts; use https"
        ))),
        other => Err(Error::config(format!(
            "{what} {s:?}: unsupported scheme {other:?}"
        ))),
    }
}

/// `s` as a message may show it, whether or not it parses (review N11): everything before the
/// last `@` of its authority (a `user:password`, even one with a `/` or `:` that broke the
/// parse) is `[redacted]`, and its query and fragment are left out.
pub(crate) fn shown(s: &str) -> String {
    let s = &s[..s.find(['?', '#']).unwrap_or(s.len())];
    let start = s.find("://").map_or(0, |i| i + 3);
    match s[start..].rfind('@') {
        Some(at) => format!("{}[redacted]{}", &s[..start], &s[start + at..]),
        None => s.to_string(),
    }
}

fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_message_shows_a_userinfo_of_a_url_that_does_not_parse() {
        for (url, secret) in [
            ("https://user:hunter2@tenant.example.com:99999/", "hunter2"),
            ("https://user:pa/ss@tenant.example.com/", "pa/ss"),
            ("https://user:p:w@host:x/", "p:w"),
            ("http://user:hunter2@[::1/", "hunter2"),
            ("ftp://user:hunter2@example.com/", "hunter2"),
            ("user:hunter2@example.com", "hunter2"),
        ] {
            let e = checked_url(url, "domain").unwrap_err().to_string();
            assert!(!e.contains(secret), "{url}: {e}");
        }
        assert_eq!(
            shown("https://u:pw@host:1/path?q#f"),
            "https://[redacted]@host:1/path"
        );
        assert_eq!(shown("https://host/path"), "https://host/path");
        assert_eq!(
            shown("https://host/?client_secret=hunter2"),
            "https://host/"
        );
    }
}
