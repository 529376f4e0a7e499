//! Which URLs may be talked to: HTTPS, or HTTP to a loopback host; never credentials in a URL.

use url::Url;

use crate::error::{Error, Result};

/// HTTPS, or HTTP to a loopback host; no credentials in the URL.
pub(crate) fn checked_url(s: &str, what: &str) -> Result<Url> {
    let url =
        Url::parse(s).map_err(|e| Error::config(format!("{what} {s:?} is not a URL: {e}")))?;
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

fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}
