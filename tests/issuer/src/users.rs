//! The fixture's user, and the state of user sign-in: authorization codes, refresh-token
//! families (with rotation and reuse detection) and opaque access tokens for `/userinfo`.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::Organization;

/// A user who "signs in" through the test-mode `/authorize` (no login page).
#[derive(Debug, Clone, Serialize)]
pub struct User {
    /// `auth0|…`: the `sub` of their ID and access tokens.
    pub sub: String,
    pub email: String,
    pub email_verified: bool,
    pub name: String,
    pub nickname: String,
    /// Organization ids the user is a member of.
    pub organizations: Vec<String>,
}

impl User {
    pub(crate) fn fixture(orgs: &[Organization]) -> Self {
        Self {
            sub: "auth0|65f0c0ffee0000000000a11c".into(),
            email: "alice@example.com".into(),
            email_verified: true,
            name: "Alice Example".into(),
            nickname: "alice".into(),
            organizations: orgs.iter().map(|o| o.id.clone()).collect(),
        }
    }

    /// The second user: no organization.
    pub(crate) fn outsider() -> Self {
        Self {
            sub: "auth0|65f0c0ffee0000000000b0b0".into(),
            email: "bob@example.com".into(),
            email_verified: false,
            name: "Bob Outsider".into(),
            nickname: "bob".into(),
            organizations: vec![],
        }
    }

    /// Profile claims a scope set allows (`/userinfo`, ID tokens).
    pub(crate) fn profile(&self, scope: &[String]) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        m.insert("sub".into(), self.sub.clone().into());
        if scope.iter().any(|s| s == "profile") {
            m.insert("name".into(), self.name.clone().into());
            m.insert("nickname".into(), self.nickname.clone().into());
            m.insert(
                "picture".into(),
                "https://example.com/avatar/alice.png".into(),
            );
            m.insert("updated_at".into(), "2024-03-12T10:00:00.000Z".into());
        }
        if scope.iter().any(|s| s == "email") {
            m.insert("email".into(), self.email.clone().into());
            m.insert("email_verified".into(), self.email_verified.into());
        }
        m
    }
}

/// What `/authorize` recorded for a code, checked again at the code exchange.
#[derive(Debug, Clone)]
pub(crate) struct Authorization {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub grant: UserGrant,
    pub expires_at: u64,
}

/// What a user granted a client: the basis of every token minted for them, at the code
/// exchange and at each refresh.
#[derive(Debug, Clone)]
pub(crate) struct UserGrant {
    pub client_id: String,
    pub sub: String,
    pub scope: Vec<String>,
    pub audience: Option<String>,
    pub organization: Option<Organization>,
    pub nonce: Option<String>,
    pub auth_time: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct RefreshEntry {
    pub family: String,
    pub grant: UserGrant,
    /// Replaced by a newer token of its family: presenting it again is reuse.
    pub rotated: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct OpaqueToken {
    pub sub: String,
    pub scope: Vec<String>,
    pub expires_at: u64,
}

#[derive(Default)]
pub(crate) struct Sessions {
    pub codes: HashMap<String, Authorization>,
    /// Codes already exchanged, with the refresh-token family they started (revoked on reuse).
    pub used_codes: HashMap<String, Option<String>>,
    pub refresh: HashMap<String, RefreshEntry>,
    pub revoked_families: HashSet<String>,
    pub opaque: HashMap<String, OpaqueToken>,
}

impl Sessions {
    /// Revokes every refresh token of a family.
    pub fn revoke_family(&mut self, family: &str) {
        self.revoked_families.insert(family.to_string());
    }

    /// Revokes every refresh token; returns how many were live.
    pub fn revoke_all(&mut self) -> usize {
        let families: HashSet<String> = self
            .refresh
            .values()
            .filter(|e| !e.rotated && !self.revoked_families.contains(&e.family))
            .map(|e| e.family.clone())
            .collect();
        let n = families.len();
        self.revoked_families.extend(families);
        n
    }
}
