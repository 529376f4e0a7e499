//! Hardening: secrets from the OS generator (fork-safe), a new client assertion per attempt.

mod verify_support;

use std::io::Read;
use std::time::{Duration, Instant};

use tokenkeeper::{
    AuthorizeParams, ClientConfig, Credentials, HttpOptions, SigningAlg, TokenClient, TokenRequest,
};
use tokenkeeper_issuer::Fault;
use verify_support::*;

fn pk_client(i: &Issuer, http: HttpOptions) -> TokenClient {
    let f = &i.fixture;
    TokenClient::new(
        ClientConfig::new(
            &f.url,
            &f.jwt_client_id,
            Credentials::private_key_jwt(&f.jwt_rsa_private_key, SigningAlg::RS256),
        )
        .http_options(http),
    )
    .unwrap()
}

/// The child's `state nonce verifier` and whether its private_key_jwt token request (a new
/// `jti`, or the issuer refuses it as replayed) succeeded.
#[cfg(unix)]
fn in_child(i: &Issuer) -> (String, String) {
    let client = public_client(i);
    let pk = pk_client(i, fast_retries());
    let params = AuthorizeParams::default();
    let mut fds = [0; 2];
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: the child only uses the blocking facade, writes to the pipe and _exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        unsafe { libc::alarm(60) }; // a stuck child never outlives the run
        let tx = client.authorize(&params).unwrap();
        let minted = pk.get_token_blocking(&TokenRequest::new(API)).is_ok();
        let line = format!("{} {} {} {minted}\n", tx.state, tx.nonce, tx.code_verifier);
        unsafe {
            libc::write(fds[1], line.as_ptr().cast(), line.len());
            libc::_exit(0);
        }
    }
    unsafe { libc::close(fds[1]) };
    let tx = client.authorize(&params).unwrap();
    let parent_minted = pk.get_token_blocking(&TokenRequest::new(API)).is_ok();
    let mut child = String::new();
    let mut file = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fds[0]) };
    let deadline = Instant::now() + Duration::from_secs(20);
    file.read_to_string(&mut child).unwrap();
    assert!(Instant::now() < deadline, "the child hung");
    unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
    assert!(parent_minted);
    (
        format!("{} {} {} true\n", tx.state, tx.nonce, tx.code_verifier),
        child,
    )
}

#[cfg(unix)]
#[test]
fn a_forked_child_draws_its_own_state_nonce_verifier_and_jti() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let i = rt.block_on(issuer());
    // Seed any per-thread generator in the parent before the fork: sign in once, build a
    // private_key_jwt client (its key check signs an assertion).
    public_client(&i)
        .authorize(&AuthorizeParams::default())
        .unwrap();
    let (parent, child) = in_child(&i);
    let p: Vec<&str> = parent.split_whitespace().collect();
    let c: Vec<&str> = child.split_whitespace().collect();
    assert_eq!(c.len(), 4, "child said {child:?}");
    for (n, what) in ["state", "nonce", "code_verifier"].iter().enumerate() {
        assert_ne!(p[n], c[n], "parent and child share a {what}");
    }
    assert_eq!(
        c[3], "true",
        "the child's assertion was refused (a replayed jti?)"
    );
    drop(i);
}

#[tokio::test]
async fn a_retried_token_request_signs_a_new_client_assertion() {
    let i = issuer().await;
    let c = pk_client(&i, fast_retries().max_attempts(2));
    // The first attempt is handled (its jti spent), but its answer is lost to a 503.
    i.inject(Fault::status(503, "temporarily_unavailable", "try later").after_handling());
    let t = c.get_token(&TokenRequest::new(API)).await;
    assert!(t.is_ok(), "the retry reused the assertion: {t:?}");
    assert_eq!(i.count("token"), 2);
}

#[tokio::test]
async fn a_429_is_remembered_for_its_key_until_retry_after() {
    let i = issuer().await;
    let f = &i.fixture;
    let c = TokenClient::new(
        ClientConfig::new(
            &f.url,
            &f.client_id,
            Credentials::client_secret(&f.client_secret),
        )
        .http_options(fast_retries()),
    )
    .unwrap();
    let other = TokenRequest::new(API).scope("read:things");
    let held = c.get_token(&other).await.unwrap();
    i.inject(Fault::rate_limited(3600));
    let req = TokenRequest::new(API);
    for n in 0..100 {
        match c.get_token(&req).await {
            Err(tokenkeeper::Error::RateLimited { retry_after, .. }) => {
                let left = retry_after.expect("when to come back");
                assert!(left > Duration::from_secs(3500), "call {n}: {left:?}");
            }
            other => panic!("call {n}: {other:?}"),
        }
    }
    assert_eq!(i.count("token"), 2, "100 calls after a 429 sent requests");
    // Another key of the same client is not limited, and its valid token is still served.
    assert!(c.get_token(&other).await.unwrap().ptr_eq(&held));

    // Once Retry-After has passed, a request goes out again (no retries here, so the
    // transport does not wait out the short Retry-After itself).
    let c = TokenClient::new(
        ClientConfig::new(
            &f.url,
            &f.client_id,
            Credentials::client_secret(&f.client_secret),
        )
        .http_options(HttpOptions::default().no_retries()),
    )
    .unwrap();
    let short = TokenRequest::new(API).scope("write:things");
    i.inject(Fault::rate_limited(1));
    assert!(c.get_token(&short).await.is_err());
    assert!(c.get_token(&short).await.is_err());
    assert_eq!(i.count("token"), 3);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    c.get_token(&short).await.unwrap();
    assert_eq!(i.count("token"), 4);
}

#[tokio::test]
async fn typ_fits_the_kind_of_token_and_an_id_token_is_no_access_token() {
    use serde_json::json;
    use tokenkeeper::{TokenCheck, TokenVerifier, VerifyOptions};
    let i = issuer().await;
    let v = verifier(&i);
    let claims = good_claims(&i);
    for ok in ["JWT", "at+jwt", "application/at+JWT"] {
        let t = i.sign_with_header(&json!({ "typ": ok }), &claims);
        v.verify(&t)
            .await
            .unwrap_or_else(|e| panic!("typ {ok}: {e}"));
    }
    for bad in [json!("id_token+jwt"), json!("logout+jwt"), json!(7)] {
        let t = i.sign_with_header(&json!({ "typ": bad }), &claims);
        let check = check_of(v.verify(&t).await);
        assert!(
            check == TokenCheck::TokenType || check == TokenCheck::Malformed,
            "typ {bad}: {check:?}"
        );
    }
    // An ID token (it has a nonce) sent to an API whose audience it names.
    let id_like = with(claims.clone(), json!({"nonce": "n-1", "auth_time": now()}));
    assert_eq!(
        check_of(v.verify(&i.sign(&id_like)).await),
        TokenCheck::TokenType
    );
    // An access token (at+jwt) offered as an ID token.
    let f = &i.fixture;
    let ids = TokenVerifier::new(verifier_config(&i, &f.public_client_id)).unwrap();
    let id = with(
        claims,
        json!({"aud": f.public_client_id, "sub": "auth0|u", "azp": null}),
    );
    let t = i.sign_with_header(&json!({ "typ": "at+jwt" }), &id);
    let o = VerifyOptions::id_token(None);
    assert_eq!(
        check_of(ids.verify_with(&t, &o).await),
        TokenCheck::TokenType
    );
    ids.verify_with(&i.sign(&id), &o).await.unwrap();
    // azp, whenever an ID token has one, is the client.
    let other_azp = with(id, json!({"azp": "someone-else"}));
    assert_eq!(
        check_of(ids.verify_with(&i.sign(&other_azp), &o).await),
        TokenCheck::AuthorizedParty
    );
}

/// An `org_…` value is an id (review N1): a name that starts with `org_` is asked for with
/// `organization_name`, never inferred.
#[tokio::test]
async fn an_organization_name_starting_with_org_is_asked_for_by_name() {
    use serde_json::json;
    use tokenkeeper::{TokenCheck, TokenVerifier};
    let i = issuer().await;
    let named = i.sign(&with(good_claims(&i), json!({"org_name": "org_acme-inc"})));
    let by_id = i.sign(&with(good_claims(&i), json!({"org_id": "org_acme-inc"})));
    let mut c = verifier_config(&i, API);
    c.organization = Some("org_acme-inc".into());
    let as_id = TokenVerifier::new(c).unwrap();
    as_id.verify(&by_id).await.unwrap();
    assert_eq!(
        check_of(as_id.verify(&named).await),
        TokenCheck::MissingClaim
    );
    let mut c = verifier_config(&i, API);
    c.organization_name = Some("org_acme-inc".into());
    let as_name = TokenVerifier::new(c).unwrap();
    as_name.verify(&named).await.unwrap();
    assert_eq!(
        check_of(as_name.verify(&by_id).await),
        TokenCheck::MissingClaim
    );
    let other = i.sign(&with(
        good_claims(&i),
        json!({"org_id": "org_other", "org_name": "other"}),
    ));
    assert_eq!(
        check_of(as_id.verify(&other).await),
        TokenCheck::Organization
    );
    assert_eq!(
        check_of(as_name.verify(&other).await),
        TokenCheck::Organization
    );
}

#[tokio::test]
async fn callback_parameters_are_strict() {
    let i = issuer().await;
    let client = public_client(&i);
    let tx = client.authorize(&AuthorizeParams::default()).unwrap();
    let back = browse(&tx).await;
    let code = query_param(&back, "code").unwrap();
    let base = tx.redirect_uri.clone();
    let twice_state = format!("{base}?code={code}&state={}&state={}", tx.state, tx.state);
    let twice_code = format!("{base}?code={code}&code=other&state={}", tx.state);
    for url in [twice_state, twice_code] {
        let e = client.callback_code(&tx, &url).unwrap_err();
        assert!(e.to_string().contains("more than once"), "{e}");
    }
    // A saved transaction with an empty state matches nothing, not even `state=`.
    let mut empty = tx.clone();
    empty.state.clear();
    let e = client
        .callback_code(&empty, &format!("{base}?code={code}&state="))
        .unwrap_err();
    assert!(e.to_string().contains("state does not match"), "{e}");
    assert_eq!(client.callback_code(&tx, &back).unwrap(), code);
}

#[tokio::test]
async fn a_jwks_with_no_usable_key_never_replaces_a_good_one() {
    use tokenkeeper::TokenVerifier;
    let i = issuer().await;
    let mut c = verifier_config(&i, API);
    c.jwks_lifetime = Duration::from_millis(50);
    c.jwks_min_refetch_interval = tokenkeeper::JWKS_MIN_REFETCH_FLOOR;
    let v = TokenVerifier::new(c).unwrap();
    let t = i.sign(&good_claims(&i));
    v.verify(&t).await.unwrap();
    for broken in [
        r#"{"keys": []}"#,
        r#"{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}"#,
    ] {
        tokio::time::sleep(Duration::from_millis(60)).await;
        i.inject(Fault::raw(200, broken).on("jwks"));
        assert!(v.refresh_jwks().await.is_err(), "{broken} was taken");
        v.verify(&t)
            .await
            .unwrap_or_else(|e| panic!("after {broken}: {e}"));
    }
}

/// The real JWKS document, answered after `ms`.
fn slow_jwks(i: &Issuer, ms: u64) -> Fault {
    let mut f = Fault::raw(200, &i.jwks().to_string()).on("jwks");
    f.delay_ms = ms;
    f
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_key_set_serves_known_keys_at_once_while_it_refreshes() {
    use tokenkeeper::TokenVerifier;
    let i = issuer().await;
    let mut c = verifier_config(&i, API);
    c.jwks_lifetime = Duration::from_millis(100);
    c.jwks_min_refetch_interval = tokenkeeper::JWKS_MIN_REFETCH_FLOOR;
    let v = TokenVerifier::new(c).unwrap();
    let t = i.sign(&good_claims(&i));
    v.verify(&t).await.unwrap();
    tokio::time::sleep(tokenkeeper::JWKS_MIN_REFETCH_FLOOR + Duration::from_millis(50)).await;
    // The JWKS endpoint is slow now; a known kid must not wait for it.
    i.inject(slow_jwks(&i, 3000));
    let started = Instant::now();
    for _ in 0..20 {
        v.verify(&t).await.unwrap();
        v.verify_blocking(&t).unwrap();
    }
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "a known kid waited for the JWKS: {:?}",
        started.elapsed()
    );
    // The background refresh may still be on its way to the issuer (a loaded machine).
    let deadline = Instant::now() + Duration::from_secs(2);
    while i.count("jwks") < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        i.count("jwks"),
        2,
        "one background refresh, not one per call"
    );
}

/// Forks while `hold` keeps a lock of the parent's busy; the child must not hang on it.
#[cfg(unix)]
fn child_succeeds(work: impl FnOnce() -> bool) -> bool {
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        unsafe { libc::alarm(60) }; // a stuck child never outlives the run
        let ok = work();
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut status = 0;
        if unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == pid {
            return libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
        }
        if Instant::now() > deadline {
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("the child hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(unix)]
#[test]
fn a_fork_during_a_jwks_fetch_or_a_renewal_leaves_the_child_working() {
    use tokenkeeper::{CredentialsManager, MemoryStore, TokenVerifier};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let i = rt.block_on(issuer());
    // A JWKS fetch in flight in the parent (slow endpoint) while forking.
    let v = TokenVerifier::new(verifier_config(&i, API)).unwrap();
    let t = i.sign(&good_claims(&i));
    i.inject(slow_jwks(&i, 1500));
    let pending = {
        let v = v.clone();
        let t = t.clone();
        rt.spawn(async move { v.verify(&t).await })
    };
    std::thread::sleep(Duration::from_millis(200));
    assert!(child_succeeds(|| v.verify_blocking(&t).is_ok()));
    let r = rt.block_on(pending).unwrap();
    assert!(r.is_ok(), "{r:?}");

    // A renewal in flight in the parent.
    let client = public_client(&i);
    let tx = client.authorize(&AuthorizeParams::default()).unwrap();
    let creds = rt
        .block_on(async { client.handle_callback(&tx, &browse(&tx).await).await })
        .unwrap();
    let m = CredentialsManager::new(client, std::sync::Arc::new(MemoryStore::new()));
    let mut expired = creds.clone();
    expired.expires_at = 1;
    m.save(&expired).unwrap();
    i.inject(Fault::delay(1500));
    let renewing = {
        let m = m.clone();
        rt.spawn(async move { m.renew().await })
    };
    std::thread::sleep(Duration::from_millis(200));
    assert!(child_succeeds(|| {
        m.credentials_blocking(Duration::ZERO, None).is_ok()
    }));
    // The parent's renewal completes too (refused, most likely: the child's renewal rotated
    // the same refresh token first, and the server refuses a reused one).
    let _ = rt.block_on(renewing).unwrap();
}

#[test]
fn a_malformed_saved_blob_is_an_error_that_does_not_echo_its_values() {
    use tokenkeeper::{LoginTransaction, UserCredentials};
    let blob = r#"{"access_token": "at", "token_type": "Bearer", "expires_at": "SECRET-RT-123"}"#;
    let e = UserCredentials::from_json(blob).unwrap_err();
    assert_eq!(e.kind(), "config");
    assert!(!e.to_string().contains("SECRET-RT-123"), "{e}");
    let e = LoginTransaction::from_json(r#"{"url": "SECRET-RT-123", "state": 7}"#).unwrap_err();
    assert!(!e.to_string().contains("SECRET-RT-123"), "{e}");
}

/// Review N13: a fork while a parent's thread is inside a store method (a slow keychain, a
/// `save` during a renewal) leaves the child a store it can call.
#[cfg(unix)]
#[test]
fn a_fork_while_a_store_method_runs_leaves_the_child_working() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use tokenkeeper::{CredentialsManager, CredentialsStore, MemoryStore, UserCredentials};

    struct SlowOnce {
        inner: MemoryStore,
        slow: AtomicBool,
    }
    impl CredentialsStore for SlowOnce {
        fn load(&self) -> tokenkeeper::Result<Option<UserCredentials>> {
            if self.slow.swap(false, Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(1500));
            }
            self.inner.load()
        }
        fn save(&self, c: &UserCredentials) -> tokenkeeper::Result<()> {
            self.inner.save(c)
        }
        fn clear(&self) -> tokenkeeper::Result<()> {
            self.inner.clear()
        }
    }

    let rt = tokio::runtime::Runtime::new().unwrap();
    let i = rt.block_on(issuer());
    let client = public_client(&i);
    let tx = client.authorize(&AuthorizeParams::default()).unwrap();
    let creds = rt
        .block_on(async { client.handle_callback(&tx, &browse(&tx).await).await })
        .unwrap();
    let store = Arc::new(SlowOnce {
        inner: MemoryStore::new(),
        slow: AtomicBool::new(false),
    });
    let m = CredentialsManager::new(client, store.clone());
    m.save(&creds).unwrap();
    store.slow.store(true, Ordering::SeqCst);
    let loading = {
        let m = m.clone();
        std::thread::spawn(move || m.credentials_blocking(Duration::ZERO, None).is_ok())
    };
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !store.slow.load(Ordering::SeqCst),
        "the slow load is running"
    );
    assert!(child_succeeds(|| {
        m.credentials_blocking(Duration::ZERO, None).is_ok()
    }));
    assert!(loading.join().unwrap());
}
