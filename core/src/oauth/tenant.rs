//! A tenant's URLs from its domain, the way [`crate::ClientConfig`] reads a domain:
//! `tenant.auth0.com`, a full `https://` URL (custom domains), or an `http://` loopback URL.

use url::Url;

use crate::error::{Error, Result};
use crate::http::checked_url;

#[derive(Debug, Clone)]
pub(crate) struct Tenant {
    /// `https://tenant.auth0.com/`, always ending with `/`.
    pub base: Url,
}

impl Tenant {
    pub fn parse(domain: &str) -> Result<Self> {
        let d = domain.trim();
        if d.is_empty() {
            return Err(Error::config("domain is empty"));
        }
        let full = if d.contains("://") {
            d.to_string()
        } else {
            format!("https://{d}")
        };
        let mut base = checked_url(&full, "domain")?;
        if base.query().is_some() || base.fragment().is_some() {
            return Err(Error::config("domain must not have a query or fragment"));
        }
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        Ok(Self { base })
    }

    /// `https://tenant.auth0.com/`: the `iss` Auth0 puts in tokens requested from this domain.
    pub fn issuer(&self) -> String {
        format!("{}/", self.base.as_str().trim_end_matches('/'))
    }

    pub fn endpoint(&self, path: &str) -> Url {
        self.base.join(path).expect("static relative paths join")
    }
}

/// An optional URL override, checked like the domain (HTTPS, or HTTP to loopback).
pub(crate) fn url_or(given: Option<&str>, what: &str, default: Url) -> Result<Url> {
    match given {
        Some(u) => checked_url(u, what),
        None => Ok(default),
    }
}
