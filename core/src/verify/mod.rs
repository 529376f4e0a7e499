//! Verification of access tokens and ID tokens: the verifier's config, its pipeline and its
//! checks, JWS decoding, the claims, and the tenant's key set.

pub(crate) mod checks;
pub(crate) mod claims;
pub(crate) mod config;
pub(crate) mod jwks;
pub(crate) mod jws;
pub(crate) mod verifier;
