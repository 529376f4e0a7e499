//! OAuth 2.0 as Auth0 speaks it: a tenant's URLs, the client's credentials and how they are
//! presented, client assertions, scopes and the token endpoint's answer.

pub(crate) mod assertion;
pub(crate) mod client_auth;
pub(crate) mod credentials;
pub(crate) mod random;
pub(crate) mod scope;
pub(crate) mod tenant;
pub(crate) mod token;
