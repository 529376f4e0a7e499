//! Which proxy a connection policy uses, read from the environment when a client, verifier or
//! sign-in client is built: `HTTPS_PROXY`/`https_proxy`, else `ALL_PROXY`/`all_proxy`, for
//! `https://` URLs only, minus the hosts of `NO_PROXY`/`no_proxy` (curl's rules). Plain `http://`
//! is only allowed for loopback hosts, and never goes through a proxy: `HTTP_PROXY` is ignored.

use crate::error::{Error, Result};

/// The proxy settings in force; part of the client-sharing policy, so a client built after
/// the environment changed gets its own HTTP client.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct ProxyEnv {
    https: Option<(&'static str, String)>,
    no_proxy: Option<String>,
}

impl ProxyEnv {
    pub fn from_env() -> Self {
        Self {
            https: first(&["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]),
            no_proxy: first(&["NO_PROXY", "no_proxy"]).map(|(_, v)| v),
        }
    }

    /// `builder` with this proxy (or none) and without reqwest's own reading of the
    /// environment (which would also proxy `http://`).
    pub fn apply(&self, builder: reqwest::ClientBuilder) -> Result<reqwest::ClientBuilder> {
        let builder = builder.no_proxy();
        let Some((var, url)) = &self.https else {
            return Ok(builder);
        };
        // The value may hold proxy credentials: name the variable, never echo it.
        let proxy = reqwest::Proxy::https(url.as_str())
            .map_err(|_| Error::config(format!("{var} is not a usable proxy URL")))?
            .no_proxy(
                self.no_proxy
                    .as_deref()
                    .and_then(reqwest::NoProxy::from_string),
            );
        Ok(builder.proxy(proxy))
    }
}

fn first(names: &[&'static str]) -> Option<(&'static str, String)> {
    names.iter().find_map(|n| {
        std::env::var(n)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(|v| (*n, v))
    })
}
