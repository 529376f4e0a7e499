//! A signed-in user's credentials, the storage interface the host implements (Keychain,
//! Keystore, a file, a Python object…), and the manager that keeps them valid.
//!
//! The manager renews with the refresh token when the access token has less than `min_ttl`
//! left (or lacks a scope), one renewal at a time: concurrent callers wait for the renewal in
//! flight and get its result. With refresh-token rotation, the new refresh token is written
//! to the store before the renewed credentials are returned, and the manager remembers the
//! rotated-out token so it is never sent again, even if the store failed to save its successor.
//! Managers of one process over the same stored credentials share each grant (`flights`).

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::client::SignInClient;
use super::flights::{self, Outcome};
use super::shared_flight::{Published, SharedFlight};
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
///
/// # Example
///
/// ```no_run
/// use std::sync::Arc;
/// use std::time::Duration;
/// use tokenkeeper::{CredentialsManager, MemoryStore, SignInClient, SignInConfig};
///
/// # fn run(tx: tokenkeeper::LoginTransaction, callback_url: &str) -> tokenkeeper::Result<()> {
/// let client = SignInClient::new(SignInConfig::new(
///     "tenant.auth0.com",
///     "client-id",
///     "myapp://callback",
/// ))?;
/// // A host keeps them in its Keychain, Keystore or a file: `impl CredentialsStore`.
/// let manager = CredentialsManager::new(client.clone(), Arc::new(MemoryStore::new()));
/// manager.save(&client.handle_callback_blocking(&tx, callback_url)?)?;
///
/// // Before each API call: the stored credentials, renewed when less than a minute is left.
/// let creds = manager.credentials_blocking(Duration::from_secs(60), None)?;
/// println!("{}", creds.authorization_header());
///
/// // Sign out here and at Auth0 (the refresh token is revoked).
/// manager.clear_blocking(true)?;
/// # Ok(())
/// # }
/// ```
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
    /// Seconds a renewed access token lived when received (0: no renewal yet).
    lifetime: AtomicU64,
    /// Access tokens for other APIs (MRRT), per (audience, sorted scope).
    apis: Mutex<HashMap<ApiKey, UserCredentials>>,
}

type ApiKey = (String, Option<String>);

/// How many per-audience access tokens a manager keeps.
const APIS: usize = 64;

fn fingerprint(rt: &str) -> [u8; 32] {
    Sha256::digest(rt.as_bytes()).into()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl CredentialsManager {
    /// A manager renewing with `client` and keeping the credentials in `store`; reads
    /// nothing yet.
    ///
    /// See the example on [`CredentialsManager`].
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
                lifetime: AtomicU64::new(0),
                apis: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Saves credentials obtained at sign-in.
    ///
    /// See the example on [`CredentialsManager`].
    pub fn save(&self, credentials: &UserCredentials) -> Result<()> {
        self.inner.store.not_reentered()?;
        *lock(&self.inner.latest) = Some(credentials.clone());
        self.inner.store.save(credentials)
    }

    /// Whether there are stored credentials that are valid, or can be renewed.
    ///
    /// See the example on [`CredentialsManager`].
    pub fn has_credentials(&self) -> Result<bool> {
        Ok(self
            .load()?
            .is_some_and(|c| c.is_valid_for(Duration::ZERO) || c.refresh_token.is_some()))
    }

    /// The stored credentials as they are, without renewing.
    ///
    /// See the example on [`CredentialsManager`].
    pub fn stored(&self) -> Result<Option<UserCredentials>> {
        self.load()
    }

    /// Signs out locally: clears the store and forgets everything in memory. The refresh
    /// token stays valid on the server; [`Self::clear_and_revoke`] revokes it too.
    ///
    /// See the example on [`CredentialsManager`].
    pub fn clear(&self) -> Result<()> {
        self.inner.store.not_reentered()?;
        *lock(&self.inner.latest) = None;
        lock(&self.inner.apis).clear();
        self.inner.store.clear()
    }

    /// A snapshot of this manager's counters.
    ///
    /// See the example on [`CredentialsManager`].
    pub fn stats(&self) -> CredentialsStats {
        *lock(&self.inner.stats)
    }

    /// The sign-in client the manager renews with.
    ///
    /// See the example on [`CredentialsManager`].
    pub fn client(&self) -> &SignInClient {
        &self.inner.client
    }

    /// Signs out everywhere: clears the store, then revokes the refresh token at
    /// `/oauth/revoke` (which revokes every token rotated from the same login).
    ///
    /// The local sign-out never depends on the network: the store is cleared first, and a
    /// failed revocation (network, `OAuth`, rate limited…) is returned as that typed error
    /// with the user signed out locally all the same. A store that fails to clear returns
    /// its error (the user is still signed in locally); the token is revoked anyway. Runs to
    /// completion even if the caller stops waiting.
    ///
    /// See the example on [`CredentialsManager`].
    pub async fn clear_and_revoke(&self) -> Result<()> {
        self.inner.store.not_reentered()?;
        // After any renewal in flight, so the newest refresh token is the one revoked.
        let one = self.inner.renewing.get().lock_owned().await;
        let this = self.clone();
        let task = crate::runtime::spawn(async move {
            let _one = one;
            let stored = this.inner.store.load().ok().flatten();
            let latest = lock(&this.inner.latest).take();
            lock(&this.inner.apis).clear();
            let cleared = this.inner.store.clear();
            let mut tokens: Vec<String> = Vec::new();
            for rt in [stored, latest]
                .iter()
                .flatten()
                .filter_map(|c| c.refresh_token.clone())
            {
                if !tokens.contains(&rt) {
                    tokens.push(rt);
                }
            }
            let mut revoked = Ok(());
            for rt in &mut tokens {
                this.retire(rt);
                if let Err(e) = this.inner.client.revoke(rt).await {
                    revoked = Err(e);
                }
                zeroize::Zeroize::zeroize(rt);
            }
            cleared.and(revoked)
        });
        crate::runtime::joined(task.await)
    }

    /// [`Self::clear`] (`revoke` false) or [`Self::clear_and_revoke`] for synchronous callers.
    ///
    /// See the example on [`CredentialsManager`].
    pub fn clear_blocking(&self, revoke: bool) -> Result<()> {
        if !revoke {
            return self.clear();
        }
        self.inner.store.not_reentered()?;
        let this = self.clone();
        crate::runtime::block_on(async move { this.clear_and_revoke().await })
    }

    /// Valid credentials: the stored ones when the access token has at least `min_ttl` left
    /// and carries every scope of `scope`, otherwise renewed with the refresh token (asking
    /// for `scope` when given). Concurrent callers share one renewal, and so do the managers
    /// of this process over the same stored credentials (see `docs/signin.md`).
    ///
    /// [`Error::ReauthenticationRequired`] when there are no credentials, no refresh token,
    /// or the server refused the refresh token (`invalid_grant`): the user must sign in again.
    /// [`Error::Config`] when `min_ttl` is at least the lifetime of a renewed access token
    /// (once a renewal has shown it, without another grant).
    ///
    /// See the example on [`CredentialsManager`].
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
        let lifetime = self.inner.lifetime.load(Ordering::Acquire);
        if lifetime > 0 && min_ttl.as_secs() >= lifetime {
            // A grant could not help: it would renew on every call.
            return Err(min_ttl_too_long(min_ttl, lifetime));
        }
        let one = self.inner.renewing.get().lock_owned().await;
        // Whoever held the lock may have renewed already.
        let current = self.load()?.ok_or_else(no_credentials)?;
        if usable(&current, min_ttl, scope) {
            lock(&self.inner.stats).hits += 1;
            return Ok(current);
        }
        let want = Want {
            min_ttl,
            scope: scope.map(str::to_string),
            after: None,
            audience: None,
        };
        self.renew_detached(one, current, want).await
    }

    /// [`Self::credentials`] for `audience` (none: the sign-in's own): an access token for
    /// another API from the same refresh token (Auth0's Multi-Resource Refresh Token; the
    /// API must be in the application's refresh-token policies). Cached per audience and
    /// scope set; a rotated refresh token is saved and shared as by a renewal. Auth0 answers
    /// for the sign-in's own audience when `audience` is outside the policies: that answer is
    /// [`Error::Config`] naming the audience, never cached. The result holds no refresh token
    /// nor ID token (those stay with the stored credentials).
    ///
    /// See the example on [`CredentialsManager`].
    pub async fn credentials_for(
        &self,
        min_ttl: Duration,
        scope: Option<&str>,
        audience: Option<&str>,
    ) -> Result<UserCredentials> {
        self.inner.store.not_reentered()?;
        let Some(audience) = audience.map(str::trim).filter(|a| !a.is_empty()) else {
            return self.credentials(min_ttl, scope).await;
        };
        let own = self.inner.client.default_audience() == Some(audience)
            || self.load()?.is_some_and(|c| {
                crate::verify::jws::unverified_claims(&c.access_token)
                    .is_some_and(|cl| cl.has_audience(audience))
            });
        if own {
            return self.credentials(min_ttl, scope).await;
        }
        let scope = scope.and_then(crate::oauth::scope::normalize);
        let key: ApiKey = (audience.to_string(), scope.clone());
        if let Some(c) = self.api_hit(&key, min_ttl) {
            return Ok(c);
        }
        let one = self.inner.renewing.get().lock_owned().await;
        if let Some(c) = self.api_hit(&key, min_ttl) {
            return Ok(c);
        }
        let current = self.load()?.ok_or_else(no_credentials)?;
        let want = Want {
            min_ttl,
            scope,
            after: None,
            audience: Some(audience.to_string()),
        };
        self.renew_detached(one, current, want).await
    }

    /// [`Self::credentials_for`] for synchronous callers, on the shared runtime.
    ///
    /// See the example on [`CredentialsManager`].
    pub fn credentials_for_blocking(
        &self,
        min_ttl: Duration,
        scope: Option<&str>,
        audience: Option<&str>,
    ) -> Result<UserCredentials> {
        self.inner.store.not_reentered()?;
        let this = self.clone();
        let (scope, audience) = (scope.map(str::to_string), audience.map(str::to_string));
        crate::runtime::block_on(async move {
            this.credentials_for(min_ttl, scope.as_deref(), audience.as_deref())
                .await
        })
    }

    /// The cached access token of another API, if it has `min_ttl` left.
    fn api_hit(&self, key: &ApiKey, min_ttl: Duration) -> Option<UserCredentials> {
        let c = lock(&self.inner.apis)
            .get(key)
            .filter(|c| c.is_valid_for(min_ttl))
            .cloned()?;
        lock(&self.inner.stats).hits += 1;
        Some(c)
    }

    /// [`Self::credentials`] for synchronous callers, on the shared runtime.
    ///
    /// See the example on [`CredentialsManager`].
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
    ///
    /// See the example on [`CredentialsManager`].
    pub async fn renew(&self) -> Result<UserCredentials> {
        self.inner.store.not_reentered()?;
        let seen = self.inner.renewed.load(Ordering::Acquire);
        let after = flights::seq();
        let one = self.inner.renewing.get().lock_owned().await;
        let current = self.load()?.ok_or_else(no_credentials)?;
        if self.inner.renewed.load(Ordering::Acquire) != seen
            && current.is_valid_for(Duration::ZERO)
        {
            // Renewed while we waited for the lock: that renewal is ours too.
            lock(&self.inner.stats).hits += 1;
            return Ok(current);
        }
        let want = Want {
            min_ttl: Duration::ZERO,
            scope: None,
            after: Some(after),
            audience: None,
        };
        self.renew_detached(one, current, want).await
    }

    /// Runs the renewal as a task of its own, holding the renewal lock: once the grant is
    /// sent it goes on to the save even if the caller stops waiting (a dropped future, a
    /// cancelled coroutine), so a rotated refresh token is never lost.
    async fn renew_detached(
        &self,
        one: tokio::sync::OwnedMutexGuard<()>,
        current: UserCredentials,
        want: Want,
    ) -> Result<UserCredentials> {
        let this = self.clone();
        let task = crate::runtime::spawn(async move {
            let _one = one;
            this.renew_shared(current, &want).await
        });
        crate::runtime::joined(task.await)
    }

    /// [`Self::renew`] for synchronous callers, on the shared runtime.
    ///
    /// See the example on [`CredentialsManager`].
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

    /// Renews through the process-wide flight of the refresh token: under its lock, adopts
    /// what another manager saved or obtained with the same token, else sends the grant.
    async fn renew_shared(
        &self,
        mut current: UserCredentials,
        want: &Want,
    ) -> Result<UserCredentials> {
        // Each adoption follows one rotation; the chain is as long as the flights kept.
        for _ in 0..=flights::KEPT {
            let Some(rt) = current.refresh_token.clone() else {
                return Err(reauth(
                    "no_refresh_token",
                    "the credentials have no refresh token (ask for the offline_access scope)",
                ));
            };
            let client = &self.inner.client;
            let flight = flights::flight(client.token_url().as_str(), client.client_id(), &rt);
            let mut outcome = flight.lock().await;
            // Another manager over the same store may have renewed while we waited.
            if let Some(stored) = self.load()? {
                if stored.access_token != current.access_token && want.fits(&stored, u64::MAX) {
                    lock(&self.inner.stats).hits += 1;
                    return Ok(stored);
                }
            }
            let mut adopted = self.decide(&outcome, &rt, want)?;
            if adopted.is_none() {
                let client = &self.inner.client;
                let Some((level, budget)) = client.shared_level() else {
                    return self.grant(&mut outcome, current, rt, want, None).await;
                };
                let token_url = client.token_url().as_str();
                let shared = SharedFlight::new(level, budget, token_url, client.client_id(), &rt);
                // Another process may have spent this token: look before and under its lock.
                take_published(&shared, &mut outcome, &current).await;
                adopted = self.decide(&outcome, &rt, want)?;
                if adopted.is_none() {
                    let decided = shared
                        .locked(async {
                            take_published(&shared, &mut outcome, &current).await;
                            match self.decide(&outcome, &rt, want) {
                                Ok(None) => Err(self
                                    .grant(
                                        &mut outcome,
                                        current.clone(),
                                        rt.clone(),
                                        want,
                                        Some(&shared),
                                    )
                                    .await),
                                other => Ok(other),
                            }
                        })
                        .await;
                    adopted = match decided {
                        Ok(d) => d?,
                        Err(granted) => return granted,
                    };
                }
            }
            // Both paths above return unless there is something to adopt; a grant here is only
            // the safe answer should that ever change.
            let Some((c, seq, rotated)) = adopted else {
                return self.grant(&mut outcome, current, rt, want, None).await;
            };
            drop(outcome);
            // Another manager of this process renewed with this token: its result is ours,
            // and a rotated-out token is never sent again.
            if rotated {
                self.retire(&rt);
            }
            *lock(&self.inner.latest) = Some(c.clone());
            self.inner.store.save(&c)?;
            if want.fits(&c, seq) {
                lock(&self.inner.stats).hits += 1;
                return Ok(c);
            }
            current = c;
        }
        Err(Error::invalid(
            None,
            "too many refresh-token rotations to follow in this process",
        ))
    }

    /// What the outcome of the token's grant gives this caller: the credentials to adopt (with
    /// the grant's number and whether the token rotated), nothing (a grant of its own is
    /// needed), or the server's refusal.
    fn decide(
        &self,
        outcome: &Option<Outcome>,
        rt: &str,
        want: &Want,
    ) -> Result<Option<(UserCredentials, u64, bool)>> {
        match outcome {
            None => Ok(None),
            Some(Outcome::Refused(error, description)) => {
                self.retire(rt);
                Err(Error::ReauthenticationRequired {
                    error: error.clone(),
                    description: description.clone(),
                })
            }
            Some(Outcome::Renewed(c, seq)) => {
                let rotated = c.refresh_token.as_deref() != Some(rt);
                Ok((rotated || want.fits(c, *seq)).then(|| (c.clone(), *seq, rotated)))
            }
        }
    }

    /// One refresh grant, its outcome left in the flight for the other managers of the
    /// process and, with `shared`, published for those of every other process.
    async fn grant(
        &self,
        outcome: &mut Option<Outcome>,
        current: UserCredentials,
        rt: String,
        want: &Want,
        shared: Option<&SharedFlight<'_>>,
    ) -> Result<UserCredentials> {
        lock(&self.inner.stats).renewals += 1;
        let client = &self.inner.client;
        let renewed = match client
            .refresh_for(&rt, want.scope.as_deref(), want.audience.as_deref())
            .await
        {
            Ok(r) => r,
            Err(e) => {
                if let Error::ReauthenticationRequired { error, description } = &e {
                    self.retire(&rt);
                    *outcome = Some(Outcome::Refused(error.clone(), description.clone()));
                    if let Some(shared) = shared {
                        let (error, description) = (error.clone(), description.clone());
                        shared
                            .publish(&Published::Refused { error, description })
                            .await;
                    }
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
        if let Some(audience) = &want.audience {
            return self
                .granted_for(audience, outcome, current, rt, renewed, want, shared)
                .await;
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
        // Published before the save: a process that dies in between loses nothing.
        if let Some(shared) = shared {
            shared.publish(&Published::Renewed(merged.clone())).await;
        }
        *outcome = Some(Outcome::Renewed(merged.clone(), flights::next_seq()));
        *lock(&self.inner.latest) = Some(merged.clone());
        self.inner.renewed.fetch_add(1, Ordering::AcqRel);
        let lifetime = merged.remaining().as_secs().max(1);
        self.inner.lifetime.store(lifetime, Ordering::Release);
        self.inner.store.save(&merged)?;
        tracing::debug!(rotated, expires_in = lifetime, "user credentials renewed");
        if !merged.is_valid_for(want.min_ttl) {
            return Err(min_ttl_too_long(want.min_ttl, lifetime));
        }
        Ok(merged)
    }
}

impl CredentialsManager {
    /// The answer of an MRRT grant: a rotated refresh token goes into the stored credentials
    /// (saved, shared and published as a renewal's, the stored access token unchanged), the
    /// access token for `audience` into the manager's cache, once its `aud` is checked.
    #[allow(clippy::too_many_arguments)]
    async fn granted_for(
        &self,
        audience: &str,
        outcome: &mut Option<Outcome>,
        current: UserCredentials,
        rt: String,
        renewed: UserCredentials,
        want: &Want,
        shared: Option<&SharedFlight<'_>>,
    ) -> Result<UserCredentials> {
        let new_rt = renewed.refresh_token.clone().filter(|new| *new != rt);
        if let Some(new_rt) = new_rt {
            let mut main = current;
            main.refresh_token = Some(new_rt);
            self.retire(&rt);
            lock(&self.inner.stats).rotations += 1;
            if let Some(shared) = shared {
                shared.publish(&Published::Renewed(main.clone())).await;
            }
            // Number 0: not a renewal of the stored access token, so a forced renewal
            // waiting on this flight still sends a grant (with the new token).
            *outcome = Some(Outcome::Renewed(main.clone(), 0));
            *lock(&self.inner.latest) = Some(main.clone());
            self.inner.store.save(&main)?;
        }
        let mut api = renewed;
        api.refresh_token = None;
        api.id_token = None;
        if let Some(claims) = crate::verify::jws::unverified_claims(&api.access_token) {
            if !claims.has_audience(audience) {
                return Err(Error::config(format!(
                    "audience {audience:?} is not in the application's refresh-token policies \
                     (the issuer answered for {:?})",
                    claims.aud()
                )));
            }
        }
        let key = (audience.to_string(), want.scope.clone());
        {
            let mut apis = lock(&self.inner.apis);
            if apis.len() >= APIS && !apis.contains_key(&key) {
                apis.retain(|_, c| c.is_valid_for(Duration::ZERO));
                if apis.len() >= APIS {
                    apis.clear();
                }
            }
            apis.insert(key, api.clone());
        }
        if !api.is_valid_for(want.min_ttl) {
            return Err(min_ttl_too_long(
                want.min_ttl,
                api.remaining().as_secs().max(1),
            ));
        }
        Ok(api)
    }
}

/// Takes the outcome another process published for the token into this process's flight
/// (credentials other than the caller's own, or the server's refusal).
async fn take_published(
    shared: &SharedFlight<'_>,
    outcome: &mut Option<Outcome>,
    current: &UserCredentials,
) {
    match shared.published().await {
        Some(Published::Renewed(c))
            if c.access_token != current.access_token
                || c.refresh_token != current.refresh_token =>
        {
            // The same access token with another refresh token: an MRRT grant rotated it,
            // no renewal of the access token (number 0, as in `granted_for`).
            let seq = if c.access_token == current.access_token {
                0
            } else {
                flights::next_seq()
            };
            *outcome = Some(Outcome::Renewed(c, seq));
        }
        Some(Published::Refused { error, description }) => {
            *outcome = Some(Outcome::Refused(error, description));
        }
        _ => {}
    }
}

/// What a caller accepts instead of a grant of its own.
struct Want {
    min_ttl: Duration,
    scope: Option<String>,
    /// A forced renewal: only credentials from a grant numbered above this one.
    after: Option<u64>,
    /// An access token for another API (MRRT): stored credentials never fit.
    audience: Option<String>,
}

impl Want {
    fn fits(&self, c: &UserCredentials, seq: u64) -> bool {
        self.audience.is_none()
            && usable(c, self.min_ttl, self.scope.as_deref())
            && self.after.is_none_or(|a| seq > a)
    }
}

fn min_ttl_too_long(min_ttl: Duration, lifetime: u64) -> Error {
    Error::config(format!(
        "min_ttl of {} s is not shorter than the lifetime of a renewed access token ({lifetime} s)",
        min_ttl.as_secs(),
    ))
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
