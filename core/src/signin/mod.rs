//! Signing users in and keeping their tokens valid: the sign-in client (authorization code +
//! PKCE, refresh, `/userinfo`), the user's credentials, the host's store and the manager.

pub(crate) mod client;
pub(crate) mod config;
mod flights;
pub(crate) mod manager;
mod shared_flight;
pub(crate) mod store;
pub(crate) mod user_credentials;
pub(crate) mod userinfo;
