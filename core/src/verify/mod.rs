//! Verification of access tokens and ID tokens: the verifier and its checks, the claims, and
//! the tenant's key set.

pub(crate) mod claims;
pub(crate) mod jwks;
pub(crate) mod verifier;
