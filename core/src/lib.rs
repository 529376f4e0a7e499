//! tokenkeeper: gets, caches, renews and validates OAuth 2.0 access tokens the way Auth0
//! issues them.
//!
//! ```no_run
//! use tokenkeeper::{ClientConfig, Credentials, TokenClient, TokenRequest};
//! let config = ClientConfig::new("tenant.auth0.com", "client-id", Credentials::client_secret("…"));
//! let client = TokenClient::new(config)?;
//! let req = TokenRequest::new("https://api.example.com").scope("read:things");
//! let token = client.get_token_blocking(&req)?;
//! println!("{}", token.authorization_header());
//! # Ok::<(), tokenkeeper::Error>(())
//! ```

#![deny(missing_docs)]

// Layers, each using only the ones above it:
//   error, text, counter, clock  ←  runtime  ←  http  ←  oauth  ←  shared  ←  m2m, verify  ←  signin
mod clock;
mod counter;
mod env;
mod error;
// Internal parsers for the fuzz targets in fuzz/ (off by default; see docs/fuzzing.md).
mod client_credentials;
#[cfg(test)]
mod fuzz_regressions;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod http;
mod oauth;
pub mod runtime;
mod shared_cache;
mod signin;
mod text;
mod verify;

pub use client_credentials::client::TokenClient;
pub use client_credentials::config::{CachePolicy, ClientConfig, CACHE_KNOBS};
pub use client_credentials::exchange::{token_types, ExchangeRequest};
pub use client_credentials::prepared::PreparedRequest;
pub use client_credentials::request::TokenRequest;
pub use client_credentials::stats::Stats;
pub use error::{Error, HostError, HostMessage, Result, TokenCheck};
#[doc(hidden)]
pub use http::shared_clients;
pub use http::{HttpOptions, Knob, KNOBS as HTTP_KNOBS, TEXT_KNOBS as HTTP_TEXT_KNOBS};
pub use oauth::credentials::{AuthMethod, Credentials, SigningAlg};
pub use oauth::token::Token;
pub use shared_cache::SharedCache;

pub use signin::client::SignInClient;
pub use signin::config::{AuthorizeParams, LoginTransaction, SignInConfig, SIGNIN_KNOBS};
pub use signin::manager::{CredentialsManager, CredentialsStats};
pub use signin::store::{CredentialsStore, MemoryStore};
pub use signin::user_credentials::UserCredentials;
pub use verify::claims::{Claims, LATEST_TIME};
pub use verify::config::VERIFIER_KNOBS;
pub use verify::verifier::{
    TokenVerifier, VerifierConfig, VerifierStats, VerifyOptions, JWKS_MIN_REFETCH_FLOOR,
};
