//! The `…Async` names of 0.2.0, kept for one release: since issue 22 the plain name is the
//! `suspend`/`async` one on every class (as on `TokenClient`) and `…Blocking` blocks. Each
//! alias calls the new name. (The old blocking names cannot stay: they are the async names now,
//! and the compilers say so at every old call.)

use std::sync::Arc;
use std::time::Duration;

use crate::credentials::CredentialsManager;
use crate::error::TokenError;
use crate::signin::{LoginTransaction, SignInClient, UserCredentials};
use crate::verify::{Claims, TokenVerifier};

type Creds = Result<Arc<UserCredentials>, TokenError>;

#[uniffi::export]
impl TokenVerifier {
    /// Deprecated: `verify`.
    pub async fn verify_async(&self, token: String) -> Result<Arc<Claims>, TokenError> {
        self.verify(token).await
    }

    /// Deprecated: `verifyIdToken`.
    #[uniffi::method(default(nonce = None, max_age = None))]
    pub async fn verify_id_token_async(
        &self,
        token: String,
        nonce: Option<String>,
        max_age: Option<Duration>,
    ) -> Result<Arc<Claims>, TokenError> {
        self.verify_id_token(token, nonce, max_age).await
    }
}

#[uniffi::export]
impl SignInClient {
    /// Deprecated: `handleCallback`.
    pub async fn handle_callback_async(
        &self,
        transaction: Arc<LoginTransaction>,
        callback_url: String,
    ) -> Creds {
        self.handle_callback(transaction, callback_url).await
    }

    /// Deprecated: `exchangeCode`.
    pub async fn exchange_code_async(
        &self,
        transaction: Arc<LoginTransaction>,
        code: String,
    ) -> Creds {
        self.exchange_code(transaction, code).await
    }

    /// Deprecated: `refresh`.
    #[uniffi::method(default(scope))]
    pub async fn refresh_async(&self, refresh_token: String, scope: Option<String>) -> Creds {
        self.refresh(refresh_token, scope).await
    }

    /// Deprecated: `userinfo`.
    pub async fn userinfo_async(&self, access_token: String) -> Result<Arc<Claims>, TokenError> {
        self.userinfo(access_token).await
    }
}

#[uniffi::export]
impl CredentialsManager {
    /// Deprecated: `credentials`.
    #[uniffi::method(default(scope))]
    pub async fn credentials_async(&self, min_ttl: Duration, scope: Option<String>) -> Creds {
        self.credentials(min_ttl, scope, None).await
    }

    /// Deprecated: `renew`.
    pub async fn renew_async(&self) -> Creds {
        self.renew().await
    }
}
