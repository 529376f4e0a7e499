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

mod assertion;
mod authorize;
mod cache;
mod client;
mod config;
mod credentials;
mod error;
mod http;
mod jwks;
mod request;
pub mod runtime;
mod stats;
mod tenant;
mod token;
mod userinfo;
mod verify;

pub use client::TokenClient;
pub use config::{
    AuthMethod, CachePolicy, ClientConfig, Credentials, HttpPolicy, RetryPolicy, SigningAlg,
};
pub use error::{Error, Result, TokenCheck};
pub use request::TokenRequest;
pub use stats::Stats;
pub use token::Token;

pub use authorize::{AuthorizeParams, LoginTransaction, SignInClient, SignInConfig};
pub use credentials::{
    CredentialsManager, CredentialsStats, CredentialsStore, MemoryStore, UserCredentials,
};
pub use verify::{Claims, TokenVerifier, VerifierConfig, VerifierStats, VerifyOptions};
