//! A signed-in user's credentials, the storage interface the host implements (Keychain,
//! Keystore, a file, a Python object…), and the manager that keeps them valid.
//!
//! The manager renews with the refresh token when the access token has less than `min_ttl`
//! left (or lacks a scope), one renewal at a time: concurrent callers wait for the renewal in
//! flight and get its result. With refresh-token rotation, the new refresh token is written
//! to the store before the renewed credentials are returned, and the manager remembers the
//! rotated-out token so it is never sent again, even if the store failed to save its successor.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::client::SignInClient;
use super::store::{CredentialsStore, GuardedStore};
use super::user_credentials::UserCredentials;
use crate::error::{Error, Result};
use crate::runtime::PerFork;

/// Counters of a manager.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CredentialsStats {
    /// Refresh-token grants sent.
    pub renewals: u64,
    /// Renewals that returned a new refresh token.
    pub rotations: u64,
    /// Calls answered with the stored credentials, no renewal needed.
    pub hits: u64,
}

/// Keeps a signed-in user's credentials valid. Cheap to clone; share one per user and store.
#[derive(Clone)]
pub struct CredentialsManager {
    inner: Arc<Inner>,
}

/// How many rotated-out refresh tokens are remembered.
const RETIRED: usize = 32;

struct Inner {
    client: SignInClient,
    store: GuardedStore,
    /// One renewal at a time. Per fork: a child must not inherit a lock held by a renewal
    /// of the parent's.
    renewing: PerFork<tokio::sync::Mutex<()>>,
    /// Fingerprints of refresh tokens that must never be sent again (rotated out, or
    /// refused by the server).
    retired: Mutex<VecDeque<[u8; 32]>>,
    /// The newest credentials this manager obtained, in case the store could not save them.
    latest: Mutex<Option<UserCredentials>>,
    stats: Mutex<CredentialsStats>,
    /// Bumped by each successful renewal.
    renewed: AtomicU64,
}

fn fingerprint(rt: &str) -> [u8; 32] {
    Sha256::digest(rt.as_bytes()).into()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl CredentialsManager {
    pub fn new(client: SignInClient, store: Arc<dyn CredentialsStore>) -> Self {
        Self {
            inner: Arc::new(Inner {
                client,
                store: GuardedStore::new(store),
                renewing: PerFork::default(),
                retired: Mutex::new(VecDeque::new()),
                latest: Mutex::new(None),
                stats: Mutex::new(CredentialsStats::default()),
                renewed: AtomicU64::new(0),
            }),
        }
    }

    /// Saves credentials obtained at sign-in.
    pub fn save(&self, credentials: &UserCredentials) -> Result<()> {
        self.inner.store.not_reentered()?;
        *lock(&self.inner.latest) = Some(credentials.clone());
        self.inner.store.save(credentials)
    }

    /// Whether there are stored credentials that are valid, or can be renewed.
    pub fn has_credentials(&self) -> Result<bool> {
        Ok(self
            .load()?
            .is_some_and(|c| c.is_valid_for(Duration::ZERO) || c.refresh_token.is_some()))
    }

    /// The stored credentials as they are, without renewing.
    pub fn stored(&self) -> Result<Option<UserCredentials>> {
        self.load()
    }

    /// Signs out locally: clears the store and forgets everything in memory.
    pub fn clear(&self) -> Result<()> {
        self.inner.store.not_reentered()?;
        *lock(&self.inner.latest) = None;
        self.inner.store.clear()
    }

    pub fn stats(&self) -> CredentialsStats {
        *lock(&self.inner.stats)
    }

    pub fn client(&self) -> &SignInClient {
        &self.inner.client
    }

    /// Valid credentials: the stored ones when the access token has at least `min_ttl` left
    /// and carries every scope of `scope`, otherwise renewed with the refresh token (asking
    /// for `scope` when given). Concurrent callers share one renewal.
    ///
    /// [`Error::ReauthenticationRequired`] when there are no credentials, no refresh token,
    /// or the server refused the refresh token (`invalid_grant`): the user must sign in again.
    pub async fn credentials(
        &self,
        min_ttl: Duration,
        scope: Option<&str>,
    ) -> Result<UserCredentials> {
        self.inner.store.not_reentered()?;
        let scope = scope.map(str::trim).filter(|s| !s.is_empty());
        if let Some(c) = self.load()? {
            if usable(&c, min_ttl, scope) {
                lock(&self.inner.stats).hits += 1;
                return Ok(c);
            }
        }
        let one = self.inner.renewing.get().lock_owned().await;
        // Whoever held the lock may have renewed already.
        let current = self.load()?.ok_or_else(no_credentials)?;
        if usable(&current, min_ttl, scope) {
            lock(&self.inner.stats).hits += 1;
            return Ok(current);
        }
        self.renew_detached(one, current, scope, min_ttl).await
    }

    /// [`Self::credentials`] for synchronous callers, on the shared runtime.
    pub fn credentials_blocking(
        &self,
        min_ttl: Duration,
        scope: Option<&str>,
    ) -> Result<UserCredentials> {
        self.inner.store.not_reentered()?;
        let this = self.clone();
        let scope = scope.map(str::to_string);
        crate::runtime::block_on(async move { this.credentials(min_ttl, scope.as_deref()).await })
    }

    /// Renews now, whatever the access token's lifetime (after an API rejected it, say).
    ///
    /// Callers that ask while a renewal is in flight share it: N threads that all saw a 401
    /// make one refresh grant, not N.
    pub async fn renew(&self) -> Result<UserCredentials> {
        self.inner.store.not_reentered()?;
        let seen = self.inner.renewed.load(Ordering::Acquire);
        let one = self.inner.renewing.get().lock_owned().await;
        let current = self.load()?.ok_or_else(no_credentials)?;
        if self.inner.renewed.load(Ordering::Acquire) != seen
            && current.is_valid_for(Duration::ZERO)
        {
            // Renewed while we waited for the lock: that renewal is ours too.
            lock(&self.inner.stats).hits += 1;
            return Ok(current);
        }
        self.renew_detached(one, current, None, Duration::ZERO)
            .await
    }

    /// Runs the renewal as a task of its own, holding the renewal lock: once the grant is
    /// sent it goes on to the save even if the caller stops waiting (a dropped future, a
    /// cancelled coroutine), so a rotated refresh token is never lost.
    async fn renew_detached(
        &self,
        one: tokio::sync::OwnedMutexGuard<()>,
        current: UserCredentials,
        scope: Option<&str>,
        min_ttl: Duration,
    ) -> Result<UserCredentials> {
        let (this, scope) = (self.clone(), scope.map(str::to_string));
        let task = crate::runtime::spawn(async move {
            let _one = one;
            this.renew_locked(current, scope.as_deref(), min_ttl).await
        });
        crate::runtime::joined(task.await)
    }

    pub fn renew_blocking(&self) -> Result<UserCredentials> {
        self.inner.store.not_reentered()?;
        let this = self.clone();
        crate::runtime::block_on(async move { this.renew().await })
    }

    fn is_retired(&self, rt: &str) -> bool {
        lock(&self.inner.retired).contains(&fingerprint(rt))
    }

    fn retire(&self, rt: &str) {
        let mut r = lock(&self.inner.retired);
        if r.len() == RETIRED {
            r.pop_front();
        }
        r.push_back(fingerprint(rt));
    }

    /// The store's credentials; if they hold a retired refresh token (the store missed a
    /// save), the newer ones this manager kept, saved again.
    fn load(&self) -> Result<Option<UserCredentials>> {
        let stored = self.inner.store.load()?;
        let stale = stored
            .as_ref()
            .and_then(|c| c.refresh_token.as_deref())
            .is_some_and(|rt| self.is_retired(rt));
        if !stale {
            return Ok(stored);
        }
        let latest = lock(&self.inner.latest).clone();
        match latest {
            Some(l)
                if l.refresh_token
                    .as_deref()
                    .is_none_or(|rt| !self.is_retired(rt)) =>
            {
                if let Err(e) = self.inner.store.save(&l) {
                    tracing::warn!(error = %e, "credentials store: saving renewed credentials failed again");
                }
                Ok(Some(l))
            }
            // The refresh token was refused: keep the access token while it lasts, but never
            // send that refresh token again.
            _ => Ok(stored.map(|mut c| {
                c.refresh_token = None;
                c
            })),
        }
    }

    async fn renew_locked(
        &self,
        current: UserCredentials,
        scope: Option<&str>,
        min_ttl: Duration,
    ) -> Result<UserCredentials> {
        let Some(rt) = current.refresh_token.clone() else {
            return Err(reauth(
                "no_refresh_token",
                "the credentials have no refresh token (ask for the offline_access scope)",
            ));
        };
        lock(&self.inner.stats).renewals += 1;
        let renewed = match self.inner.client.refresh(&rt, scope).await {
            Ok(r) => r,
            Err(e) => {
                if matches!(e, Error::ReauthenticationRequired { .. }) {
                    self.retire(&rt);
                }
                return Err(e);
            }
        };
        let rotated = renewed
            .refresh_token
            .as_deref()
            .is_some_and(|new| new != rt);
        if let Some(e) = other_user(&current, &renewed) {
            if rotated {
                self.retire(&rt);
            }
            return Err(e);
        }
        let merged = UserCredentials {
            access_token: renewed.access_token.clone(),
            token_type: renewed.token_type.clone(),
            expires_at: renewed.expires_at,
            scope: renewed.scope.clone().or_else(|| current.scope.clone()),
            refresh_token: renewed.refresh_token.clone().or(Some(rt.clone())),
            id_token: renewed
                .id_token
                .clone()
                .or_else(|| current.id_token.clone()),
        };
        if rotated {
            // Before anything can fail: the old token is never sent again.
            self.retire(&rt);
            lock(&self.inner.stats).rotations += 1;
        }
        *lock(&self.inner.latest) = Some(merged.clone());
        self.inner.renewed.fetch_add(1, Ordering::AcqRel);
        self.inner.store.save(&merged)?;
        tracing::debug!(
            rotated,
            expires_in = merged.remaining().as_secs(),
            "user credentials renewed"
        );
        if !merged.is_valid_for(min_ttl) {
            return Err(Error::config(format!(
                "min_ttl of {} s is longer than the lifetime of a renewed access token ({} s)",
                min_ttl.as_secs(),
                merged.remaining().as_secs()
            )));
        }
        Ok(merged)
    }
}

fn usable(c: &UserCredentials, min_ttl: Duration, scope: Option<&str>) -> bool {
    c.is_valid_for(min_ttl) && scope.is_none_or(|s| c.has_scope(s))
}

/// OpenID Connect Core §12.2: a refreshed ID token keeps the `iss` and `sub` of the one issued
/// at sign-in.
fn other_user(current: &UserCredentials, renewed: &UserCredentials) -> Option<Error> {
    let (old, new) = (current.id_token_claims()?, renewed.id_token_claims()?);
    let same = |name: &str| old.get_str(name) == new.get_str(name);
    (!(same("iss") && same("sub"))).then(|| {
        Error::invalid(
            Some(200),
            "the refreshed ID token names another issuer or user than the one signed in",
        )
    })
}

fn no_credentials() -> Error {
    reauth(
        "no_credentials",
        "there are no stored credentials: sign in first",
    )
}

fn reauth(error: &str, description: &str) -> Error {
    Error::ReauthenticationRequired {
        error: error.into(),
        description: Some(description.into()),
    }
}

impl fmt::Debug for CredentialsManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialsManager")
            .field("client", &self.inner.client)
            .finish_non_exhaustive()
    }
}
