//! The credentials manager: valid credentials from the host's store, renewal with the refresh
//! token (one at a time, shared by concurrent callers), rotation (a rotated-out token is never
//! sent again, even when the store fails), and re-authentication — over real HTTP.

mod verify_support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokenkeeper::{
    AuthorizeParams, CredentialsManager, CredentialsStore, Error, MemoryStore, SignInClient,
    UserCredentials,
};
use verify_support::*;

async fn signed_in(i: &Issuer, audience: &str) -> (SignInClient, UserCredentials) {
    let client = public_client(i);
    let tx = client
        .authorize(&AuthorizeParams {
            audience: Some(audience.into()),
            scope: Some("openid profile email read:things write:things".into()),
            ..AuthorizeParams::default()
        })
        .unwrap();
    let creds = client
        .handle_callback(&tx, &browse(&tx).await)
        .await
        .unwrap();
    (client, creds)
}

/// A store like a host's: counts calls, can fail the next save.
#[derive(Default)]
struct HostStore {
    inner: MemoryStore,
    fail_next_save: AtomicBool,
    saves: AtomicU64,
    loads: AtomicU64,
}

impl CredentialsStore for HostStore {
    fn load(&self) -> tokenkeeper::Result<Option<UserCredentials>> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.inner.load()
    }
    fn save(&self, c: &UserCredentials) -> tokenkeeper::Result<()> {
        self.saves.fetch_add(1, Ordering::SeqCst);
        if self.fail_next_save.swap(false, Ordering::SeqCst) {
            return Err(Error::Config("keychain: item could not be written".into()));
        }
        self.inner.save(c)
    }
    fn clear(&self) -> tokenkeeper::Result<()> {
        self.inner.clear()
    }
}

/// Makes the stored access token look expired.
fn expire(store: &dyn CredentialsStore) {
    let mut c = store.load().unwrap().unwrap();
    c.expires_at = now() - 10;
    store.save(&c).unwrap();
}

async fn manager(i: &Issuer) -> (CredentialsManager, Arc<HostStore>, UserCredentials) {
    let (client, creds) = signed_in(i, API).await;
    let store = Arc::new(HostStore::default());
    let m = CredentialsManager::new(client, store.clone());
    m.save(&creds).unwrap();
    (m, store, creds)
}

#[tokio::test]
async fn valid_credentials_come_from_the_store_without_a_request() {
    let i = issuer().await;
    let (m, store, creds) = manager(&i).await;
    for _ in 0..5 {
        let c = m.credentials(Duration::from_secs(60), None).await.unwrap();
        assert_eq!(c.access_token, creds.access_token);
    }
    let c = m
        .credentials(Duration::from_secs(60), Some("read:things write:things"))
        .await
        .unwrap();
    assert_eq!(c, creds);
    assert_eq!(i.count("grant:refresh_token"), 0);
    assert_eq!(m.stats().hits, 6);
    assert!(store.loads.load(Ordering::SeqCst) >= 6);
    assert!(m.has_credentials().unwrap());
    assert_eq!(m.stored().unwrap(), Some(creds));
}

#[tokio::test]
async fn expired_credentials_are_renewed_and_each_rotated_token_replaces_the_old() {
    let i = issuer().await;
    let (m, store, creds) = manager(&i).await;
    let mut seen = vec![creds.refresh_token.clone().unwrap()];
    for round in 1..=5 {
        expire(store.as_ref());
        let c = m.credentials(Duration::from_secs(60), None).await.unwrap();
        assert!(c.is_valid_for(Duration::from_secs(3600)));
        let rt = c.refresh_token.clone().unwrap();
        assert!(
            !seen.contains(&rt),
            "round {round}: the refresh token did not rotate"
        );
        // The store holds the new refresh token before the caller gets the credentials.
        assert_eq!(
            store.inner.load().unwrap().unwrap().refresh_token,
            Some(rt.clone())
        );
        assert!(c.id_token.is_some());
        seen.push(rt);
    }
    assert_eq!(i.count("grant:refresh_token"), 5);
    assert_eq!(
        i.count("refresh_reuse"),
        0,
        "a rotated-out refresh token was sent again"
    );
    let s = m.stats();
    assert_eq!((s.renewals, s.rotations), (5, 5));
    // A forced renewal.
    let before = m.stored().unwrap().unwrap();
    let after = m.renew().await.unwrap();
    assert_ne!(after.access_token, before.access_token);
    assert_eq!(i.count("refresh_reuse"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_callers_share_one_renewal() {
    let i = issuer().await;
    let (m, store, _) = manager(&i).await;
    expire(store.as_ref());
    // A slow token endpoint, so that every caller arrives while the renewal is in flight.
    i.inject(Fault::delay(300));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let m = m.clone();
            tokio::spawn(async move { m.credentials(Duration::from_secs(60), None).await })
        })
        .collect();
    let mut tokens = Vec::new();
    for t in tasks {
        tokens.push(t.await.unwrap().unwrap().access_token.clone());
    }
    tokens.dedup();
    assert_eq!(tokens.len(), 1, "callers got different renewals");
    assert_eq!(i.count("grant:refresh_token"), 1);
    // The same from plain threads through the blocking facade.
    expire(store.as_ref());
    i.inject(Fault::delay(300));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let m = m.clone();
            std::thread::spawn(move || m.credentials_blocking(Duration::from_secs(60), None))
        })
        .collect();
    let mut tokens: Vec<String> = handles
        .into_iter()
        .map(|h| h.join().unwrap().unwrap().access_token.clone())
        .collect();
    tokens.dedup();
    assert_eq!(tokens.len(), 1);
    assert_eq!(i.count("grant:refresh_token"), 2);
    assert_eq!(i.count("refresh_reuse"), 0);
}

#[tokio::test]
async fn a_refused_refresh_token_requires_reauthentication_and_is_not_sent_again() {
    let i = issuer().await;
    let (m, store, _) = manager(&i).await;
    assert_eq!(i.revoke_refresh_tokens(), 1);
    expire(store.as_ref());
    for _ in 0..3 {
        match m.credentials(Duration::from_secs(60), None).await {
            Err(Error::ReauthenticationRequired { .. }) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        i.count("grant:refresh_token"),
        1,
        "a refused refresh token was sent again"
    );
    // Signing in again recovers.
    let (_, fresh) = signed_in(&i, API).await;
    m.save(&fresh).unwrap();
    m.credentials(Duration::from_secs(60), None).await.unwrap();
    expire(store.as_ref());
    m.credentials(Duration::from_secs(60), None).await.unwrap();
}

#[tokio::test]
async fn a_store_that_fails_to_save_never_makes_the_manager_resend_a_rotated_token() {
    let i = issuer().await;
    let (m, store, creds) = manager(&i).await;
    expire(store.as_ref());
    store.fail_next_save.store(true, Ordering::SeqCst);
    // The renewal happened (the server rotated the token) but the store kept the old one.
    match m.credentials(Duration::from_secs(60), None).await {
        Err(Error::Config(msg)) => assert!(msg.contains("keychain"), "{msg}"),
        other => panic!("{other:?}"),
    }
    let stale = store.inner.load().unwrap().unwrap();
    assert_eq!(stale.refresh_token, creds.refresh_token);
    // The next call uses the renewed credentials the manager kept, and saves them again.
    let c = m.credentials(Duration::from_secs(60), None).await.unwrap();
    assert_ne!(c.refresh_token, creds.refresh_token);
    assert_eq!(store.inner.load().unwrap().unwrap(), c);
    assert_eq!(i.count("grant:refresh_token"), 1);
    // And renewals go on from the new token.
    expire(store.as_ref());
    m.credentials(Duration::from_secs(60), None).await.unwrap();
    assert_eq!(i.count("grant:refresh_token"), 2);
    assert_eq!(i.count("refresh_reuse"), 0);
}

#[tokio::test]
async fn without_credentials_or_refresh_token_the_user_must_sign_in() {
    let i = issuer().await;
    let client = public_client(&i);
    let m = CredentialsManager::new(client, Arc::new(MemoryStore::new()));
    assert!(!m.has_credentials().unwrap());
    match m.credentials(Duration::ZERO, None).await {
        Err(Error::ReauthenticationRequired { error, .. }) => assert_eq!(error, "no_credentials"),
        other => panic!("{other:?}"),
    }
    // Signed in without offline_access: fine until the access token expires.
    let mut c = public_config(&i);
    c.offline_access = false;
    let client = SignInClient::new(c).unwrap();
    let tx = client
        .authorize(&AuthorizeParams {
            audience: Some(API.into()),
            ..AuthorizeParams::default()
        })
        .unwrap();
    let creds = client
        .handle_callback(&tx, &browse(&tx).await)
        .await
        .unwrap();
    assert!(creds.refresh_token.is_none());
    let store = Arc::new(MemoryStore::new());
    let m = CredentialsManager::new(client, store.clone());
    m.save(&creds).unwrap();
    m.credentials(Duration::from_secs(60), None).await.unwrap();
    expire(store.as_ref());
    assert!(!m.has_credentials().unwrap());
    match m.credentials(Duration::from_secs(60), None).await {
        Err(Error::ReauthenticationRequired { error, .. }) => assert_eq!(error, "no_refresh_token"),
        other => panic!("{other:?}"),
    }
    m.clear().unwrap();
    assert_eq!(m.stored().unwrap(), None);
}

#[tokio::test]
async fn a_scope_beyond_the_stored_one_renews_with_that_scope() {
    let i = issuer().await;
    let (m, _, _) = manager(&i).await;
    // A renewal keeps the granted scopes.
    let renewed = m.renew().await.unwrap();
    assert!(renewed.has_scope("write:things"));
    let c = m
        .credentials(Duration::from_secs(60), Some("read:things"))
        .await
        .unwrap();
    assert_eq!(c, renewed, "already granted: no renewal");
    assert_eq!(i.count("grant:refresh_token"), 1);
    // A scope the user never granted: the server refuses, the error says so.
    match m
        .credentials(Duration::from_secs(60), Some("delete:things"))
        .await
    {
        Err(Error::OAuth { error, status, .. }) => {
            assert_eq!((error.as_str(), status), ("access_denied", 403))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(i.count("refresh_reuse"), 0);
}

#[tokio::test]
async fn short_lived_access_tokens_and_min_ttl() {
    let i = issuer().await;
    let (client, creds) = signed_in(&i, SHORT_API).await; // 5 s access tokens
    let m = CredentialsManager::new(client, Arc::new(MemoryStore::new()));
    m.save(&creds).unwrap();
    let c = m.credentials(Duration::from_secs(1), None).await.unwrap();
    assert_eq!(c.access_token, creds.access_token);
    // More than the token has left: renewed — but a renewed token cannot live 60 s either.
    match m.credentials(Duration::from_secs(60), None).await {
        Err(Error::Config(msg)) => assert!(msg.contains("min_ttl"), "{msg}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(i.count("grant:refresh_token"), 1);
    // The renewal was kept: the next modest call needs no request.
    let c = m.credentials(Duration::from_secs(1), None).await.unwrap();
    assert_ne!(c.access_token, creds.access_token);
    assert_eq!(i.count("grant:refresh_token"), 1);
    // Asking again for more than a token lives is the same error, without a grant each time.
    for _ in 0..3 {
        match m.credentials(Duration::from_secs(60), None).await {
            Err(Error::Config(msg)) => assert!(msg.contains("min_ttl"), "{msg}"),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        i.count("grant:refresh_token"),
        1,
        "min_ttl renewed on every call"
    );
}

/// A store that keeps one JSON blob, like a file or a keychain item would.
struct BlobStore(Mutex<Option<String>>);

impl CredentialsStore for BlobStore {
    fn load(&self) -> tokenkeeper::Result<Option<UserCredentials>> {
        self.0
            .lock()
            .unwrap()
            .as_deref()
            .map(UserCredentials::from_json)
            .transpose()
    }
    fn save(&self, c: &UserCredentials) -> tokenkeeper::Result<()> {
        *self.0.lock().unwrap() = Some(c.to_json());
        Ok(())
    }
    fn clear(&self) -> tokenkeeper::Result<()> {
        *self.0.lock().unwrap() = None;
        Ok(())
    }
}

#[tokio::test]
async fn a_host_store_keeping_json_and_a_corrupt_one() {
    let i = issuer().await;
    let (client, creds) = signed_in(&i, API).await;
    let store = Arc::new(BlobStore(Mutex::new(None)));
    let m = CredentialsManager::new(client, store.clone() as Arc<dyn CredentialsStore>);
    m.save(&creds).unwrap();
    let json = store.0.lock().unwrap().clone().unwrap();
    assert!(json.contains("refresh_token"));
    assert_eq!(
        m.credentials(Duration::from_secs(60), None).await.unwrap(),
        creds
    );
    *store.0.lock().unwrap() = Some("{corrupt".into());
    assert!(matches!(
        m.credentials(Duration::from_secs(60), None).await,
        Err(Error::Config(_))
    ));
}

#[tokio::test]
async fn a_renewal_whose_caller_stops_waiting_still_saves_the_rotated_token() {
    let i = issuer().await;
    let (m, store, creds) = manager(&i).await;
    expire(&*store);
    i.inject(tokenkeeper_issuer::Fault::delay(300));
    // The caller gives up while the grant is in flight (a cancelled coroutine, a dropped
    // future): the renewal goes on and the new refresh token is saved.
    let gave_up = tokio::time::timeout(Duration::from_millis(100), m.renew()).await;
    assert!(gave_up.is_err(), "the renewal should still be in flight");
    for _ in 0..50 {
        if store.saves.load(Ordering::SeqCst) >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let saved = store.inner.load().unwrap().unwrap();
    assert_ne!(
        saved.refresh_token, creds.refresh_token,
        "the rotated token was lost"
    );
    assert!(saved.is_valid_for(Duration::from_secs(60)));
    // And it works: the next call is a hit.
    let c = m.credentials(Duration::from_secs(60), None).await.unwrap();
    assert_eq!(c.access_token, saved.access_token);
    assert_eq!(m.stats().renewals, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_renew_calls_share_one_grant() {
    let i = issuer().await;
    let (m, _store, _) = manager(&i).await;
    i.inject(tokenkeeper_issuer::Fault::delay(200));
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let m = m.clone();
            tokio::spawn(async move { m.renew().await })
        })
        .collect();
    let mut tokens = std::collections::HashSet::new();
    for c in calls {
        tokens.insert(c.await.unwrap().unwrap().access_token.clone());
    }
    assert_eq!(tokens.len(), 1, "each caller should get the one renewal");
    assert_eq!(m.stats().renewals, 1);
}

#[tokio::test]
async fn a_refreshed_id_token_for_another_user_is_refused() {
    let i = issuer().await;
    let (m, store, creds) = manager(&i).await;
    let mut claims = tokenkeeper::UserCredentials::id_token_claims(&creds)
        .expect("signed in with openid")
        .into_map();
    claims.insert("sub".into(), "auth0|someone-else".into());
    let mut other = creds.clone();
    other.id_token = Some(i.sign(&serde_json::Value::Object(claims)));
    store.save(&other).unwrap();
    let e = m.renew().await.unwrap_err();
    assert!(e.to_string().contains("another issuer or user"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn managers_on_one_store_share_one_grant_and_both_keep_the_rotated_token() {
    let i = issuer().await;
    let (client, creds) = signed_in(&i, API).await;
    let store = Arc::new(HostStore::default());
    // Two managers of one process over one store, as two bindings' objects wrapping the
    // same keychain item would be; the second even has a client object of its own.
    let a = CredentialsManager::new(client, store.clone());
    let b = CredentialsManager::new(public_client(&i), store.clone());
    a.save(&creds).unwrap();
    expire(store.as_ref());
    i.inject(Fault::delay(300));
    let calls: Vec<_> = (0..8)
        .map(|n| {
            let m = if n % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move { m.credentials(Duration::from_secs(60), None).await })
        })
        .collect();
    let mut tokens = std::collections::HashSet::new();
    for c in calls {
        tokens.insert(c.await.unwrap().unwrap().access_token.clone());
    }
    assert_eq!(tokens.len(), 1, "the managers made different renewals");
    assert_eq!(i.count("grant:refresh_token"), 1);
    assert_eq!(i.count("refresh_reuse"), 0);
    let rotated = store.inner.load().unwrap().unwrap().refresh_token.clone();
    assert_ne!(rotated, creds.refresh_token);
    for m in [&a, &b] {
        assert_eq!(m.stored().unwrap().unwrap().refresh_token, rotated);
    }
    // The family is alive: the next renewal, from either manager, works.
    expire(store.as_ref());
    b.credentials(Duration::from_secs(60), None).await.unwrap();
    a.credentials(Duration::from_secs(60), None).await.unwrap();
    assert_eq!(i.count("grant:refresh_token"), 2);
    assert_eq!(i.count("refresh_reuse"), 0);
}

#[tokio::test]
async fn a_manager_holding_a_copy_adopts_the_renewal_instead_of_reusing_the_token() {
    let i = issuer().await;
    let (client, creds) = signed_in(&i, API).await;
    let mut expired = creds.clone();
    expired.expires_at = now() - 10;
    // Two stores holding the same credentials (a copy restored from a backup, say).
    let (one, two) = (Arc::new(MemoryStore::new()), Arc::new(MemoryStore::new()));
    let a = CredentialsManager::new(client.clone(), one.clone());
    let b = CredentialsManager::new(client, two.clone());
    a.save(&expired).unwrap();
    b.save(&expired).unwrap();
    let renewed = a.credentials(Duration::from_secs(60), None).await.unwrap();
    let adopted = b.credentials(Duration::from_secs(60), None).await.unwrap();
    assert_eq!(adopted, renewed);
    assert_eq!(
        two.load().unwrap().unwrap(),
        renewed,
        "saved to its own store"
    );
    assert_eq!(i.count("grant:refresh_token"), 1);
    assert_eq!(
        i.count("refresh_reuse"),
        0,
        "the rotated-out token was sent"
    );
    // A forced renewal from the copy renews from the rotated token.
    let forced = b.renew().await.unwrap();
    assert_ne!(forced.access_token, renewed.access_token);
    assert_eq!(i.count("grant:refresh_token"), 2);
    assert_eq!(i.count("refresh_reuse"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn clear_and_revoke_revokes_the_refresh_token_and_empties_the_store() {
    let i = issuer().await;
    let (m, store, creds) = manager(&i).await;
    let rt = creds.refresh_token.clone().unwrap();
    m.clear_and_revoke().await.unwrap();
    assert_eq!(store.inner.load().unwrap(), None);
    assert_eq!(m.stored().unwrap(), None);
    assert_eq!(i.count("revoked"), 1);
    match m.client().refresh(&rt, None).await {
        Err(Error::ReauthenticationRequired { error, .. }) => assert_eq!(error, "invalid_grant"),
        other => panic!("{other:?}"),
    }
    // Nothing stored: nothing to revoke, no request.
    m.clear_and_revoke().await.unwrap();
    assert_eq!(i.count("revoke"), 1);
    // From a synchronous caller.
    let (m, store, _) = manager(&i).await;
    let m2 = m.clone();
    tokio::task::spawn_blocking(move || m2.clear_blocking(true))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.inner.load().unwrap(), None);
    assert_eq!(i.count("revoked"), 2);
}

#[tokio::test]
async fn a_failed_revocation_is_returned_and_the_user_is_signed_out_locally_anyway() {
    let i = issuer().await;
    let (m, store, creds) = manager(&i).await;
    i.inject(Fault::status(401, "invalid_client", "Client authentication failed").on("revoke"));
    match m.clear_and_revoke().await {
        Err(Error::OAuth { error, status, .. }) => {
            assert_eq!((error.as_str(), status), ("invalid_client", 401))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(store.inner.load().unwrap(), None);
    assert_eq!(i.count("revoked"), 0);
    // The server still honours the token: the error told the caller so.
    let rt = creds.refresh_token.clone().unwrap();
    m.client().refresh(&rt, None).await.unwrap();
}

#[tokio::test]
async fn a_refresh_token_from_a_login_whose_id_token_fails_is_revoked() {
    let i = issuer().await;
    let client = public_client(&i);
    let mut tx = client
        .authorize(&AuthorizeParams {
            audience: Some(API.into()),
            ..AuthorizeParams::default()
        })
        .unwrap();
    let callback = browse(&tx).await;
    tx.nonce = "not-the-nonce-sent".into();
    assert!(client.handle_callback(&tx, &callback).await.is_err());
    for _ in 0..100 {
        if i.count("revoked") == 1 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the unverified login's refresh token was not revoked");
}

#[tokio::test]
async fn credentials_dropped_mid_renewal_still_saves_the_rotated_token() {
    // Hostile input 15 of the review, through `credentials()` rather than `renew()`.
    let i = issuer().await;
    let (m, store, creds) = manager(&i).await;
    expire(&*store);
    i.inject(Fault::delay(300));
    let gave_up = tokio::time::timeout(
        Duration::from_millis(100),
        m.credentials(Duration::from_secs(60), None),
    )
    .await;
    assert!(gave_up.is_err(), "the renewal should still be in flight");
    for _ in 0..50 {
        if store.saves.load(Ordering::SeqCst) >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let saved = store.inner.load().unwrap().unwrap();
    assert_ne!(
        saved.refresh_token, creds.refresh_token,
        "the rotated token was lost"
    );
    // A second manager over the same store starts from the saved token: no reuse.
    let other = CredentialsManager::new(public_client(&i), store.clone());
    expire(&*store);
    other
        .credentials(Duration::from_secs(60), None)
        .await
        .unwrap();
    assert_eq!(i.count("grant:refresh_token"), 2);
    assert_eq!(i.count("refresh_reuse"), 0);
}
