//! The behaviours every surface must share, owned by the core (issue "one core, thin
//! bindings"): the storage error, the store contract, the knobs by name, the authorize URL,
//! the claim accessors, the default audience, and the driver. Each scenario here (S1–S7) is
//! run the same way by the Python, Kotlin, Swift and C tests.

mod verify_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde_json::json;
use tokenkeeper::runtime::{self, Started};
use tokenkeeper::{
    AuthorizeParams, CachePolicy, ClientConfig, Credentials, CredentialsManager, CredentialsStore,
    Error, HostError, HttpOptions, MemoryStore, SignInConfig, SigningAlg, TokenCheck, TokenClient,
    UserCredentials, VerifierConfig, CACHE_KNOBS, HTTP_KNOBS,
};
use verify_support::*;

use tokenkeeper_issuer::Fault;

/// The host's own error type, to be handed back unchanged.
#[derive(Debug)]
struct KeychainLocked;

impl std::fmt::Display for KeychainLocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("keychain is locked\nsecond line with detail")
    }
}

impl std::error::Error for KeychainLocked {}

struct FailingStore;

impl CredentialsStore for FailingStore {
    fn load(&self) -> tokenkeeper::Result<Option<UserCredentials>> {
        Err(Error::storage("load", HostError::new(KeychainLocked)))
    }
    fn save(&self, _: &UserCredentials) -> tokenkeeper::Result<()> {
        Err(Error::storage("save", HostError::new(KeychainLocked)))
    }
    fn clear(&self) -> tokenkeeper::Result<()> {
        Ok(())
    }
}

fn signin(i: &Issuer) -> tokenkeeper::SignInClient {
    public_client(i)
}

#[tokio::test]
async fn s1_a_failing_store_is_a_storage_error_carrying_the_host_error() {
    let i = issuer().await;
    let m = CredentialsManager::new(signin(&i), Arc::new(FailingStore));
    let e = m
        .credentials(Duration::from_secs(60), None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "storage");
    assert!(!e.is_transient());
    assert!(
        e.to_string().contains("load() failed: keychain is locked"),
        "{e}"
    );
    assert!(
        !e.to_string().contains("second line"),
        "only the first line: {e}"
    );
    let host = e.host_error().expect("the host's error is kept");
    assert!(host.get().downcast_ref::<KeychainLocked>().is_some());
    let e = m.stored().unwrap_err();
    assert!(matches!(e, Error::Storage { .. }), "{e:?}");
}

/// A store that calls back into its own manager from `load`.
#[derive(Default)]
struct ReentrantStore {
    manager: OnceLock<CredentialsManager>,
    inner_error: Mutex<Option<Error>>,
}

impl CredentialsStore for ReentrantStore {
    fn load(&self) -> tokenkeeper::Result<Option<UserCredentials>> {
        if let Some(m) = self.manager.get() {
            let inner = m.has_credentials().unwrap_err();
            *self.inner_error.lock().unwrap() = Some(inner);
        }
        Ok(None)
    }
    fn save(&self, _: &UserCredentials) -> tokenkeeper::Result<()> {
        Ok(())
    }
    fn clear(&self) -> tokenkeeper::Result<()> {
        Ok(())
    }
}

#[test]
fn s2_a_store_calling_back_into_its_manager_gets_an_error_at_once() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let i = rt.block_on(issuer());
    let store = Arc::new(ReentrantStore::default());
    let m = CredentialsManager::new(signin(&i), store.clone());
    store.manager.set(m.clone()).ok().unwrap();
    // Blocking, from a plain thread: the first poll (and so the store call) runs here.
    let outer = m.credentials_blocking(Duration::ZERO, None).unwrap_err();
    assert!(
        matches!(outer, Error::ReauthenticationRequired { .. }),
        "{outer:?}"
    );
    let inner = store
        .inner_error
        .lock()
        .unwrap()
        .take()
        .expect("the store was called");
    assert_eq!(inner.kind(), "config");
    assert!(
        inner.to_string().contains("called back into the manager"),
        "{inner}"
    );
    // Async, too.
    let outer = rt
        .block_on(m.credentials(Duration::ZERO, None))
        .unwrap_err();
    assert!(
        matches!(outer, Error::ReauthenticationRequired { .. }),
        "{outer:?}"
    );
    assert!(store.inner_error.lock().unwrap().is_some());
    drop(i);
}

/// Counts how many of its calls run at once.
#[derive(Default)]
struct CountingStore {
    inner: MemoryStore,
    now: AtomicUsize,
    max: AtomicUsize,
}

impl CountingStore {
    fn enter<R>(&self, f: impl FnOnce() -> R) -> R {
        let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(n, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(20));
        let r = f();
        self.now.fetch_sub(1, Ordering::SeqCst);
        r
    }
}

impl CredentialsStore for CountingStore {
    fn load(&self) -> tokenkeeper::Result<Option<UserCredentials>> {
        self.enter(|| self.inner.load())
    }
    fn save(&self, c: &UserCredentials) -> tokenkeeper::Result<()> {
        self.enter(|| self.inner.save(c))
    }
    fn clear(&self) -> tokenkeeper::Result<()> {
        self.enter(|| self.inner.clear())
    }
}

#[test]
fn s3_store_calls_are_serialised_the_first_load_too() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let i = rt.block_on(issuer());
    let store = Arc::new(CountingStore::default());
    let m = CredentialsManager::new(signin(&i), store.clone());
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let m = m.clone();
            std::thread::spawn(move || m.credentials_blocking(Duration::ZERO, None))
        })
        .collect();
    for t in threads {
        let e = t.join().unwrap().unwrap_err();
        assert!(matches!(e, Error::ReauthenticationRequired { .. }), "{e:?}");
    }
    assert_eq!(
        store.max.load(Ordering::SeqCst),
        1,
        "store calls overlapped"
    );
    drop(i);
}

#[tokio::test]
async fn s4_extra_authorize_parameters_are_sorted_after_the_librarys_own() {
    let i = issuer().await;
    let tx = signin(&i)
        .authorize(&AuthorizeParams {
            extra: vec![
                ("prompt".into(), "login".into()),
                ("login_hint".into(), "a@example.com".into()),
                (
                    "connection".into(),
                    "Username-Password-Authentication".into(),
                ),
            ],
            ..AuthorizeParams::default()
        })
        .unwrap();
    assert!(
        tx.url.ends_with(
            "&connection=Username-Password-Authentication&login_hint=a%40example.com&prompt=login"
        ),
        "{}",
        tx.url
    );
}

#[tokio::test]
async fn s5_claim_accessors_have_one_meaning() {
    let i = issuer().await;
    let claims = with(
        good_claims(&i),
        json!({"n": 1.5, "scope": "read:a write:b"}),
    );
    let c = verifier(&i).verify(&i.sign(&claims)).await.unwrap();
    assert_eq!(c.get_i64("n"), Some(1));
    assert_eq!(c.get_f64("n"), Some(1.5));
    assert_eq!(c.get_i64("scope"), None);
    assert_eq!(c.get_i64("absent"), None);
    assert!(c.has_scope("read:a write:b"));
    assert!(!c.has_scope("read:a delete:c"));
    assert!(c.has_scope("write:b"));
    assert!(c.has_audience(API));
}

#[tokio::test]
async fn s6_every_http_knob_is_settable_by_name_on_every_config() {
    let i = issuer().await;
    let f = &i.fixture;
    let names: Vec<&str> = HTTP_KNOBS.iter().map(|k| k.name).collect();
    assert_eq!(
        names,
        [
            "connect_timeout",
            "request_timeout",
            "max_response_bytes",
            "max_attempts",
            "initial_backoff",
            "max_backoff",
            "max_retry_after",
            "retry_after_cap"
        ]
    );
    for bad in [0.0, 11.0] {
        let mut http = HttpOptions::default();
        http.set("max_attempts", bad).unwrap();
        let client = ClientConfig::new(&f.url, &f.client_id, Credentials::client_secret("s"))
            .http_options(http.clone());
        assert_eq!(TokenClient::new(client).unwrap_err().kind(), "config");
        let mut v = VerifierConfig::new(&f.url, API);
        v.http = http.clone();
        assert_eq!(
            tokenkeeper::TokenVerifier::new(v).unwrap_err().kind(),
            "config"
        );
        let mut s = SignInConfig::new(&f.url, &f.public_client_id, &f.redirect_uri);
        s.http = http;
        assert_eq!(
            tokenkeeper::SignInClient::new(s).unwrap_err().kind(),
            "config"
        );
    }
    // Retries follow max_attempts.
    for (attempts, ok) in [(1.0, false), (2.0, true)] {
        let mut http = HttpOptions::default();
        http.set("max_attempts", attempts).unwrap();
        http.set("initial_backoff", 0.01).unwrap();
        http.set("max_backoff", 0.02).unwrap();
        let mut cache = CachePolicy::default();
        cache.set("enabled", 0.0).unwrap();
        let client = TokenClient::new(
            ClientConfig::new(
                &f.url,
                &f.client_id,
                Credentials::client_secret(&f.client_secret),
            )
            .http_options(http)
            .cache_policy(cache),
        )
        .unwrap();
        i.reset();
        i.inject(Fault::status(503, "temporarily_unavailable", "try later"));
        let r = client.get_token(&tokenkeeper::TokenRequest::new(API)).await;
        assert_eq!(r.is_ok(), ok, "max_attempts {attempts}: {r:?}");
        assert_eq!(i.count("token"), attempts as u64);
    }
    assert_eq!(CACHE_KNOBS.len(), 5);
    let mut cache = CachePolicy::default();
    for k in CACHE_KNOBS {
        cache.set(k, 0.0).unwrap();
    }
    assert!(cache.set("enabled", 0.5).is_err());
    assert!(cache.set("nope", 1.0).is_err());
}

#[tokio::test]
async fn s7_the_default_audience_is_used_when_none_is_given() {
    let i = issuer().await;
    let with_default = TokenClient::new(config(&i).default_audience(API)).unwrap();
    let req = with_default
        .request(None, Some("read:things"), None)
        .unwrap();
    assert_eq!(req.audience_str(), API);
    with_default.get_token(&req).await.unwrap();
    let req = with_default.request(Some(""), None, None).unwrap();
    assert_eq!(req.audience_str(), API);
    let without = TokenClient::new(config(&i)).unwrap();
    assert_eq!(
        without.request(None, None, None).unwrap_err().kind(),
        "config"
    );
    assert_eq!(without.default_request().unwrap_err().kind(), "config");
}

fn config(i: &Issuer) -> ClientConfig {
    let f = &i.fixture;
    ClientConfig::new(
        &f.url,
        &f.client_id,
        Credentials::client_secret(&f.client_secret),
    )
}

#[test]
fn credentials_from_parts_takes_exactly_one_credential() {
    let c = |s, k, a, id| {
        Credentials::from_parts(s, k, a, id)
            .map(|_| ())
            .map_err(|e| e.kind())
    };
    assert_eq!(c(Some("s"), None, None, None), Ok(()));
    assert_eq!(c(Some("s"), Some("pem"), None, None), Err("config"));
    assert_eq!(c(None, None, None, None), Err("config"));
    assert_eq!(c(Some("s"), None, Some("RS256"), None), Err("config"));
    assert_eq!(c(None, Some("pem"), Some("HS256"), None), Err("config"));
    assert_eq!(c(Some(""), Some("pem"), None, None), Ok(()));
    assert!(Credentials::optional_from_parts(None, None, None, None)
        .unwrap()
        .is_none());
    assert_eq!(
        SigningAlg::parse_list("RS256, ES256 RS256").unwrap(),
        [SigningAlg::RS256, SigningAlg::ES256]
    );
    assert!(SigningAlg::parse_list(" , ").is_err());
}

#[test]
fn every_token_check_has_a_stable_name() {
    for c in TokenCheck::ALL {
        assert_eq!(TokenCheck::parse(c.as_str()), Some(c));
    }
    assert_eq!(TokenCheck::parse("nope"), None);
}

#[test]
fn a_core_future_can_be_awaited_from_any_executor() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let i = rt.block_on(issuer());
    let v = verifier(&i);
    let t = i.sign(&good_claims(&i));
    // No tokio context here: the JWKS fetch runs on the shared runtime all the same.
    let claims = futures::executor::block_on(v.verify(&t)).unwrap();
    assert_eq!(claims.sub(), Some("auth0|user-1"));
    drop(i);
}

#[test]
fn the_driver_polls_once_here_then_parks_with_the_hook() {
    // Ready on the first poll: no thread switch.
    match runtime::start(async { Ok::<_, Error>(std::thread::current().id()) }) {
        Started::Ready(r) => assert_eq!(r.unwrap(), std::thread::current().id()),
        Started::Running(_) => panic!("a ready future was spawned"),
    }
    // Pending: the hook runs the first poll, then slices of parking until done.
    let mut steps = 0;
    let out = runtime::drive(
        async {
            tokio::time::sleep(Duration::from_millis(250)).await;
            Ok::<_, Error>(7)
        },
        |step| {
            steps += 1;
            step();
            Ok::<(), ()>(())
        },
    );
    assert_eq!(out, Ok(Ok(7)));
    assert!(steps >= 3, "{steps} steps");
    // An error from the hook (an interrupt) stops the wait.
    let out = runtime::drive(
        async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok::<_, Error>(())
        },
        |step| {
            step();
            Err("interrupted")
        },
    );
    assert_eq!(out, Err("interrupted"));
}

#[tokio::test]
async fn invalidate_if_current_never_drops_a_newer_token() {
    let i = issuer().await;
    let c = TokenClient::new(config(&i)).unwrap();
    let req = tokenkeeper::TokenRequest::new(API);
    let old = c.get_token(&req).await.unwrap();
    assert!(c.invalidate_if_current(&req, &old));
    let new = c.get_token(&req).await.unwrap();
    assert!(!new.ptr_eq(&old));
    // A caller still holding the old token does not drop the new one.
    assert!(!c.invalidate_if_current(&req, &old));
    assert!(c.cached(&req).unwrap().ptr_eq(&new));
    assert_eq!(i.count("token"), 2);
}
