//! Refresh-token renewals shared across processes and hosts (issue 23, item 2): eight
//! processes, each with its own manager over its own copy of one stored credential, renew at
//! once against the rotating public app. Exactly one refresh grant is sent, every process ends
//! with the same rotated refresh token, and the family is not revoked (the local issuer
//! revokes it on any reuse of a rotated-out token, as Auth0 does).

mod common;
mod shared;
mod verify_support;

use std::collections::HashSet;
use std::sync::Arc;

use shared::{in_children, TempDir, SERIAL};
use tokenkeeper::{
    AuthorizeParams, CredentialsManager, CredentialsStore, MemoryStore, SharedCache, SignInClient,
    UserCredentials,
};
use tokenkeeper_issuer::{Fault, Issuer};
use verify_support::{browse, public_config};

fn signin_on(i: &Issuer, level: Option<&str>) -> SignInClient {
    let mut c = public_config(i);
    c.shared_cache = level.map(|l| SharedCache::parse(l).unwrap());
    SignInClient::new(c).unwrap()
}

/// Signs the fixture user in with the public (rotating) app.
fn signed_in(rt: &tokio::runtime::Runtime, i: &Issuer) -> UserCredentials {
    let client = signin_on(i, None);
    let tx = client.authorize(&AuthorizeParams::default()).unwrap();
    rt.block_on(async { client.handle_callback(&tx, &browse(&tx).await).await })
        .unwrap()
}

/// Eight processes renew one stored credential at once on `level`; the rotated refresh token
/// each ended with (and saved).
fn eight_processes_renew(level: impl Fn(usize) -> String) {
    let _turn = SERIAL.blocking_lock();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let i = rt.block_on(verify_support::issuer());
    let stored = signed_in(&rt, &i).to_json();
    let out = TempDir::new("refresh-out");
    std::fs::create_dir_all(&out.0).unwrap();
    // The grant takes a while: every process asks while it is in flight.
    i.inject(Fault::delay(400));
    let ok = in_children(8, |k| {
        let store = Arc::new(MemoryStore::new());
        store
            .save(&UserCredentials::from_json(&stored).unwrap())
            .unwrap();
        let manager = CredentialsManager::new(signin_on(&i, Some(&level(k))), store.clone());
        let Ok(renewed) = manager.renew_blocking() else {
            return false;
        };
        let saved = store
            .load()
            .ok()
            .flatten()
            .and_then(|c| c.refresh_token.clone());
        let rt = renewed.refresh_token.clone().unwrap_or_default();
        saved.as_deref() == Some(rt.as_str())
            && std::fs::write(out.0.join(format!("{k}.rt")), rt).is_ok()
    });
    assert_eq!(ok, 8, "every process renewed and saved");
    assert_eq!(
        i.count("grant:refresh_token"),
        1,
        "one refresh grant for the fleet"
    );
    assert_eq!(
        i.count("refresh_reuse"),
        0,
        "no rotated-out token was spent again"
    );
    let tokens: HashSet<String> = (0..8)
        .map(|k| std::fs::read_to_string(out.0.join(format!("{k}.rt"))).unwrap())
        .collect();
    assert_eq!(
        tokens.len(),
        1,
        "every process ended with the same refresh token"
    );
    let new_rt = tokens.into_iter().next().unwrap();
    let old_rt = UserCredentials::from_json(&stored)
        .unwrap()
        .refresh_token
        .clone();
    assert_ne!(Some(new_rt.clone()), old_rt, "the token rotated");
    // The family is alive: the rotated token renews.
    rt.block_on(signin_on(&i, None).refresh(&new_rt, None))
        .unwrap();
}

#[test]
fn eight_processes_on_one_file_level_send_one_refresh_grant() {
    let dir = TempDir::new("refresh-file");
    let level = format!("file:{}", dir.0.display());
    eight_processes_renew(|_| level.clone());
}

#[test]
fn eight_processes_on_two_hosts_sharing_redis_send_one_refresh_grant() {
    let url = std::env::var("TOKENKEEPER_TEST_REDIS_URL")
        .expect("TOKENKEEPER_TEST_REDIS_URL: scripts/redis.sh starts the run's Redis");
    // Two "hosts": each process on its own cache directory, one Redis for all.
    let homes = [TempDir::new("host-a"), TempDir::new("host-b")];
    eight_processes_renew(|k| {
        std::env::set_var("XDG_CACHE_HOME", &homes[k % 2].0);
        url.clone()
    });
}
