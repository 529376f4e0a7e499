//! `CredentialsManager`: the core's manager of a signed-in user's credentials, over a storage the
//! HOST implements in Kotlin or Swift (a uniffi foreign trait), adapted here to the core's
//! `CredentialsStore`.

use std::sync::Arc;
use std::time::Duration;

use tokenkeeper::{CredentialsStats, HostError};

use crate::error::TokenError;
use crate::live;
use crate::signin::{SignInClient, UserCredentials};

/// Where a `CredentialsManager` keeps the user's credentials: implemented by the app (Keychain,
/// Android Keystore/EncryptedSharedPreferences, a file…). Store `credentials.toJson()` and give
/// it back with `UserCredentials.fromJson(json)`, or keep the tokens in any form and rebuild
/// them with the `UserCredentials(…)` constructor.
///
/// The methods are called from any thread, often one of the library's own workers while a
/// renewal is in progress: keep them short. A manager calls its storage one call at a time, and
/// a method that calls back into the same manager gets `Config` at once (the core's contract).
///
/// A method may throw a `TokenException`/`TokenError` of its choosing, which reaches the
/// manager's caller unchanged; any other exception or error becomes `Storage`
/// (`load() failed: java.io.IOException: …`).
#[uniffi::export(with_foreign)] // = `rust, foreign` in uniffi 0.32: Kotlin/Swift implement it
pub trait CredentialsStore: Send + Sync {
    /// The saved credentials, if any.
    fn load(&self) -> Result<Option<Arc<UserCredentials>>, TokenError>;
    /// Replaces the saved credentials (atomically, if the medium allows).
    fn save(&self, credentials: Arc<UserCredentials>) -> Result<(), TokenError>;
    /// Forgets them (sign-out).
    fn clear(&self) -> Result<(), TokenError>;
}

/// The host's storage as the core's `CredentialsStore`: a host error becomes the core's
/// `Error::Storage`, carrying the host's `TokenError` as its source (see `error.rs`).
struct HostStore(Arc<dyn CredentialsStore>);

fn storage(method: &str) -> impl FnOnce(TokenError) -> tokenkeeper::Error + '_ {
    move |e| match e {
        // The host's own exception, as uniffi handed over its text: that text is the cause.
        TokenError::Storage { detail } => {
            tokenkeeper::Error::storage(method, HostError::new(tokenkeeper::HostMessage(detail)))
        }
        // A TokenException/TokenError thrown on purpose: kept, to be handed back as itself.
        e => tokenkeeper::Error::storage(method, HostError::new(e)),
    }
}

impl tokenkeeper::CredentialsStore for HostStore {
    fn load(&self) -> tokenkeeper::Result<Option<tokenkeeper::UserCredentials>> {
        let c = self.0.load().map_err(storage("load"))?;
        Ok(c.map(|c| c.inner.clone()))
    }

    fn save(&self, credentials: &tokenkeeper::UserCredentials) -> tokenkeeper::Result<()> {
        let c = UserCredentials::wrap(credentials.clone());
        self.0.save(c).map_err(storage("save"))
    }

    fn clear(&self) -> tokenkeeper::Result<()> {
        self.0.clear().map_err(storage("clear"))
    }
}

/// A manager's counters (the core's `CredentialsStats`).
#[uniffi::remote(Record)]
pub struct CredentialsStats {
    /// Refresh-token grants sent.
    pub renewals: u64,
    /// Renewals that returned a new refresh token.
    pub rotations: u64,
    /// Calls answered with the stored credentials, no renewal needed.
    pub hits: u64,
}

/// Keeps a signed-in user's credentials valid: `credentials(minTtl, scope)` gives the stored
/// ones while they last, and renews them with the refresh token otherwise. Concurrent callers
/// share one renewal; a rotated refresh token replaces the old one in the storage before the
/// call returns, and a rotated-out one is never sent again. When the user must sign in again
/// (no credentials, no refresh token, refresh token refused) the error is
/// `ReauthenticationRequired`.
///
/// One per user and storage; safe to share between threads. It holds the storage until it is
/// released (`close()`/`use {}` in Kotlin, the last reference in Swift).
#[derive(uniffi::Object)]
#[uniffi::export(Display, Debug)]
pub struct CredentialsManager {
    core: tokenkeeper::CredentialsManager,
    _live: live::Guard,
}

wraps!(CredentialsManager, core: tokenkeeper::CredentialsManager, MANAGERS);

#[uniffi::export]
impl CredentialsManager {
    #[uniffi::constructor]
    pub fn new(sign_in: Arc<SignInClient>, storage: Arc<dyn CredentialsStore>) -> Arc<Self> {
        let store = Arc::new(HostStore(storage));
        Self::wrap(tokenkeeper::CredentialsManager::new(
            sign_in.core.clone(),
            store,
        ))
    }

    /// Valid credentials, waiting on the calling thread: the stored ones when the access token
    /// has at least `minTtl` left and carries every scope of `scope`, otherwise renewed with the
    /// refresh token (asking for `scope` when given). A `minTtl` longer than a renewed token
    /// lives is `Config` (after the renewal, which is kept; later calls without a grant).
    /// With `audience`: an access token for that API from the same refresh token (Auth0
    /// Multi-Resource Refresh Token), cached per audience and scope set; `Config` naming it
    /// when it is outside the application's refresh-token policies.
    #[uniffi::method(default(scope = None, audience = None))]
    pub fn credentials_blocking(
        &self,
        min_ttl: Duration,
        scope: Option<String>,
        audience: Option<String>,
    ) -> Result<Arc<UserCredentials>, TokenError> {
        let (s, a) = (scope.as_deref(), audience.as_deref());
        let c = self.core.credentials_for_blocking(min_ttl, s, a)?;
        Ok(UserCredentials::wrap(c))
    }

    #[uniffi::method(default(scope = None, audience = None))]
    pub async fn credentials(
        &self,
        min_ttl: Duration,
        scope: Option<String>,
        audience: Option<String>,
    ) -> Result<Arc<UserCredentials>, TokenError> {
        let (s, a) = (scope.as_deref(), audience.as_deref());
        let c = self.core.credentials_for(min_ttl, s, a).await?;
        Ok(UserCredentials::wrap(c))
    }

    /// Renews now, whatever the access token's lifetime (after an API rejected it, say).
    pub fn renew_blocking(&self) -> Result<Arc<UserCredentials>, TokenError> {
        Ok(UserCredentials::wrap(self.core.renew_blocking()?))
    }

    pub async fn renew(&self) -> Result<Arc<UserCredentials>, TokenError> {
        Ok(UserCredentials::wrap(self.core.renew().await?))
    }

    /// Saves credentials obtained at sign-in (through the storage).
    pub fn save(&self, credentials: Arc<UserCredentials>) -> Result<(), TokenError> {
        Ok(self.core.save(&credentials.inner)?)
    }

    /// Whether there are stored credentials that are valid, or can be renewed.
    pub fn has_credentials(&self) -> Result<bool, TokenError> {
        Ok(self.core.has_credentials()?)
    }

    /// The stored credentials as they are, without renewing.
    pub fn stored(&self) -> Result<Option<Arc<UserCredentials>>, TokenError> {
        Ok(self.core.stored()?.map(UserCredentials::wrap))
    }

    /// Signs out: clears the storage and forgets everything in memory. With `revoke`, then
    /// revokes the refresh token at `/oauth/revoke` (every token rotated from that login); a
    /// failed revocation throws its error, the user signed out locally all the same.
    #[uniffi::method(default(revoke = false))]
    pub fn clear(&self, revoke: bool) -> Result<(), TokenError> {
        Ok(self.core.clear_blocking(revoke)?)
    }

    pub fn stats(&self) -> CredentialsStats {
        self.core.stats()
    }
}
