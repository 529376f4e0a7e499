//! One `reqwest::Client` per distinct connection policy in the process (its own test binary,
//! so no other test builds clients meanwhile).

mod verify_support;

use std::time::Duration;

use tokenkeeper::{shared_clients, HttpOptions, SignInClient, TokenVerifier};
use verify_support::*;

#[tokio::test]
async fn clients_with_one_policy_share_one_http_client() {
    let i = issuer().await;
    let before = shared_clients();
    // A sign-in client needs three transports (grants, reads, its ID-token verifier).
    let a = SignInClient::new(public_config(&i)).unwrap();
    let b = SignInClient::new(public_config(&i)).unwrap();
    let v = TokenVerifier::new(verifier_config(&i, API)).unwrap();
    assert_eq!(shared_clients() - before, 1, "one policy, one client");
    let mut other = verifier_config(&i, API);
    other.http = other.http.request_timeout(Duration::from_secs(3));
    let w = TokenVerifier::new(other).unwrap();
    assert_eq!(
        shared_clients() - before,
        2,
        "a second policy, a second client"
    );
    // Retries and limits do not make a new client.
    let mut c = verifier_config(&i, API);
    c.http = HttpOptions::default().no_retries().max_response_bytes(1024);
    let _x = TokenVerifier::new(c).unwrap();
    assert_eq!(shared_clients() - before, 2);
    // Extra CAs are part of the policy, by content: the same file twice shares one client.
    let tls = tokenkeeper_issuer::Issuer::start_tls(Default::default())
        .await
        .unwrap();
    let ca = tls.fixture.ca_file.clone().unwrap();
    let with_ca = |c: &mut tokenkeeper::VerifierConfig| c.http = c.http.clone().ca_file(&ca);
    let mut c = verifier_config(&i, API);
    with_ca(&mut c);
    let _y = TokenVerifier::new(c).unwrap();
    assert_eq!(
        shared_clients() - before,
        3,
        "another CA set, another client"
    );
    let mut c = verifier_config(&i, API);
    with_ca(&mut c);
    let _z = TokenVerifier::new(c).unwrap();
    assert_eq!(shared_clients() - before, 3);
    let t = i.sign(&good_claims(&i));
    w.verify(&t).await.unwrap();
    v.verify(&t).await.unwrap();
    drop((a, b));
}
