//! Multi-Resource Refresh Token: one refresh token, access tokens for the other APIs of the
//! application's refresh-token policies, cached per audience and scope set; rotation saved as
//! by a renewal; an audience outside the policies (Auth0 answers for the sign-in's own) refused
//! by its `aud` — over real HTTP.

mod verify_support;

use std::sync::Arc;
use std::time::Duration;

use tokenkeeper::{AuthorizeParams, CredentialsManager, Error, MemoryStore, UserCredentials};
use verify_support::*;

async fn manager(i: &Issuer) -> (CredentialsManager, Arc<MemoryStore>, UserCredentials) {
    let client = public_client(i);
    let tx = client
        .authorize(&AuthorizeParams {
            audience: Some(API.into()),
            scope: Some("openid profile email offline_access read:things".into()),
            ..AuthorizeParams::default()
        })
        .unwrap();
    let creds = client
        .handle_callback(&tx, &browse(&tx).await)
        .await
        .unwrap();
    let store = Arc::new(MemoryStore::new());
    let m = CredentialsManager::new(client, store.clone());
    m.save(&creds).unwrap();
    (m, store, creds)
}

fn aud(token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()["aud"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn another_api_from_the_one_refresh_token_cached_per_audience_and_scope() {
    let i = issuer().await;
    let (m, store, first) = manager(&i).await;
    let min = Duration::from_secs(60);
    let billing = m
        .credentials_for(min, Some("read:billing"), Some(BILLING_API))
        .await
        .unwrap();
    let a = aud(&billing.access_token);
    assert!(
        a == BILLING_API
            || a.as_array()
                .is_some_and(|v| v.iter().any(|x| x == BILLING_API)),
        "{a}"
    );
    assert_eq!(
        billing.scope.as_deref().map(|s| s.contains("read:billing")),
        Some(true)
    );
    assert!(billing.refresh_token.is_none() && billing.id_token.is_none());
    assert_eq!(i.count("grant:refresh_token:mrrt"), 1);
    // Rotation: the stored credentials hold the new refresh token and the same access token.
    let stored = store.load_now();
    assert_ne!(stored.refresh_token, first.refresh_token);
    assert_eq!(stored.access_token, first.access_token);

    // Cached per audience and scope set; the sign-in's own audience is the stored token.
    for _ in 0..3 {
        let again = m
            .credentials_for(min, Some("read:billing"), Some(BILLING_API))
            .await
            .unwrap();
        assert_eq!(again.access_token, billing.access_token);
    }
    let own = m.credentials_for(min, None, Some(API)).await.unwrap();
    assert_eq!(own.access_token, first.access_token);
    assert_eq!(i.count("grant:refresh_token"), 1);

    // Another API of the policies, then a normal renewal: each spends the newest token once.
    m.credentials_for(min, None, Some(SHORT_API)).await.ok();
    m.renew().await.unwrap();
    assert_eq!(i.count("grant:refresh_token"), 3);
    assert_eq!(i.count("refresh_reuse"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_audience_outside_the_policies_is_refused_by_its_aud_and_the_rotation_kept() {
    let i = issuer().await;
    let (m, store, first) = manager(&i).await;
    let e = m
        .credentials_for(
            Duration::from_secs(60),
            None,
            Some("https://elsewhere.example.com"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Config(d) if d.contains("https://elsewhere.example.com")),
        "{e:?}"
    );
    assert_eq!(i.count("refresh_policy_ignored"), 1);
    // The grant rotated the refresh token: kept, so the next grant is no reuse.
    assert_ne!(store.load_now().refresh_token, first.refresh_token);
    m.renew().await.unwrap();
    assert_eq!(i.count("refresh_reuse"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_callers_for_one_audience_share_one_grant() {
    let i = issuer().await;
    let (m, _store, _) = manager(&i).await;
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let m = m.clone();
            tokio::spawn(async move {
                m.credentials_for(
                    Duration::from_secs(60),
                    Some("read:billing"),
                    Some(BILLING_API),
                )
                .await
            })
        })
        .collect();
    let mut tokens = Vec::new();
    for t in tasks {
        tokens.push(t.await.unwrap().unwrap().access_token.clone());
    }
    assert!(tokens.iter().all(|t| *t == tokens[0]));
    assert_eq!(i.count("grant:refresh_token"), 1);
}

trait LoadNow {
    fn load_now(&self) -> UserCredentials;
}

impl LoadNow for MemoryStore {
    fn load_now(&self) -> UserCredentials {
        use tokenkeeper::CredentialsStore;
        self.load().unwrap().unwrap()
    }
}
