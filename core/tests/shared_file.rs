//! The file shared cache level: real processes (fork), real files, the local issuer.
#![cfg(unix)]

mod common;
mod shared;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use shared::*;
use tokenkeeper::{CachePolicy, ClientConfig, Credentials, SharedCache, TokenClient, TokenRequest};

/// A client whose process cache is off, so every call goes to the shared level.
fn shared_client(i: &Issuer, dir: &Path) -> TokenClient {
    let f = &i.fixture;
    let cache = CachePolicy {
        enabled: false,
        ..CachePolicy::default()
    };
    TokenClient::new(
        ClientConfig::new(
            &f.url,
            &f.client_id,
            Credentials::client_secret(&f.client_secret),
        )
        .http_options(fast_retries())
        .cache_policy(cache)
        .shared_cache(SharedCache::parse(&format!("file:{}", dir.display())).unwrap()),
    )
    .unwrap()
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.to_string_lossy().ends_with(".lock"))
        .collect()
}

#[test]
fn the_string_forms_parse() {
    assert_eq!(
        SharedCache::parse("file").unwrap(),
        SharedCache::File { dir: None }
    );
    assert_eq!(
        SharedCache::parse("file:/var/tmp/tk").unwrap(),
        SharedCache::File {
            dir: Some("/var/tmp/tk".into())
        }
    );
    for bad in [
        "",
        "file:",
        "file:relative/dir",
        "memcached://x",
        "redis://127.0.0.1:notaport/0",
    ] {
        assert_eq!(
            SharedCache::parse(bad).unwrap_err().kind(),
            "config",
            "{bad}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_is_shared_sealed_and_private() {
    let _turn = SERIAL.lock().await;
    let i = issuer().await;
    let dir = TempDir::new("sealed");
    let a = shared_client(&i, &dir.0);
    let t1 = a.get_token(&api()).await.unwrap();
    let b = shared_client(&i, &dir.0);
    let t2 = b.get_token(&api()).await.unwrap();
    assert_eq!(t1.access_token(), t2.access_token());
    assert_eq!(
        i.count("token"),
        1,
        "the second client read the shared entry"
    );
    assert_eq!(b.stats().shared_hits, 1);
    assert_eq!(b.stats().shared_errors, 0);
    assert!(t2.remaining() > Duration::from_secs(86_000));

    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir.0), 0o700);
    let f = &i.fixture;
    for p in std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().path())
    {
        assert_eq!(mode(&p), 0o600, "{}", p.display());
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let body = std::fs::read(&p).unwrap();
        for secret in [t1.access_token(), &f.client_secret, &f.client_id, API] {
            assert!(!name.contains(secret), "{name} shows {secret}");
            assert!(
                !body.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{name} holds {secret} in plain text"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tampered_or_foreign_entry_is_ignored_and_replaced() {
    let _turn = SERIAL.lock().await;
    let i = issuer().await;
    let dir = TempDir::new("tamper");
    shared_client(&i, &dir.0).get_token(&api()).await.unwrap();
    let entry = entries(&dir.0).pop().expect("one entry");
    let mut bytes = std::fs::read(&entry).unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 1;
    std::fs::write(&entry, &bytes).unwrap();
    let c = shared_client(&i, &dir.0);
    c.get_token(&api()).await.unwrap();
    assert_eq!(i.count("token"), 2, "the tampered entry was used");
    assert_eq!(c.stats().shared_hits, 0);
    // Replaced: the next client reads the new one.
    shared_client(&i, &dir.0).get_token(&api()).await.unwrap();
    assert_eq!(i.count("token"), 2);

    // Another client's credential cannot read (or even find) the entry.
    let f = &i.fixture;
    let cache = CachePolicy {
        enabled: false,
        ..CachePolicy::default()
    };
    let other = TokenClient::new(
        ClientConfig::new(
            &f.url,
            &f.ungranted_client_id,
            Credentials::client_secret(&f.ungranted_client_secret),
        )
        .cache_policy(cache)
        .shared_cache(SharedCache::File {
            dir: Some(dir.0.clone()),
        }),
    )
    .unwrap();
    let _ = other.get_token(&api()).await;
    assert_eq!(other.stats().shared_hits, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_entry_due_for_refresh_is_not_adopted() {
    let _turn = SERIAL.lock().await;
    let i = issuer().await;
    let dir = TempDir::new("due");
    let short = TokenRequest::new(SHORT_API);
    shared_client(&i, &dir.0).get_token(&short).await.unwrap();
    // 5-second tokens: margin 1 s, refresh lead 0.4 s. At 3.8 s the entry is due.
    tokio::time::sleep(Duration::from_millis(3800)).await;
    let c = shared_client(&i, &dir.0);
    let t = c.get_token(&short).await.unwrap();
    assert_eq!(i.count("token"), 2);
    assert!(t.remaining() > Duration::from_secs(4));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unusable_directory_never_fails_get_token() {
    let _turn = SERIAL.lock().await;
    let i = issuer().await;
    let dir = TempDir::new("file");
    std::fs::write(&dir.0, b"not a directory").unwrap();
    let c = shared_client(&i, &dir.0);
    c.get_token(&api()).await.unwrap();
    c.get_token(&api()).await.unwrap();
    assert_eq!(i.count("token"), 2);
    assert!(c.stats().shared_errors >= 1);
    let _ = std::fs::remove_file(&dir.0);
}

#[test]
fn eight_processes_on_a_cold_key_make_one_request() {
    let _turn = SERIAL.blocking_lock();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let i = rt.block_on(issuer());
    let dir = TempDir::new("eight");
    i.inject(Fault::delay(300));
    let ok = in_children(8, |_| {
        shared_client(&i, &dir.0).get_token_blocking(&api()).is_ok()
    });
    assert_eq!(ok, 8);
    assert_eq!(i.count("token"), 1, "one process fetched, seven read");
}

#[test]
fn a_lock_holder_killed_with_sigkill_delays_the_others_by_one_fetch_at_most() {
    let _turn = SERIAL.blocking_lock();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let i = rt.block_on(issuer());
    let dir = TempDir::new("kill");
    i.inject(Fault::delay(5000));
    let holder = spawn_child(|| {
        let _ = shared_client(&i, &dir.0).get_token_blocking(&api());
        true
    });
    // Fork the waiter only once the holder's request is at the issuer (a slow fork
    // or start would otherwise let the waiter take the lock and the delayed reply).
    wait_for_request(&i);
    let started = Instant::now();
    let waiter = spawn_child(|| shared_client(&i, &dir.0).get_token_blocking(&api()).is_ok());
    std::thread::sleep(Duration::from_millis(300));
    unsafe { libc::kill(holder, libc::SIGKILL) };
    wait_child(holder, Duration::from_secs(5));
    assert!(
        wait_child(waiter, Duration::from_secs(20)),
        "the waiter failed"
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the waiter waited for the dead holder's fetch: {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_is_remembered_in_the_shared_level_for_every_process() {
    let _turn = SERIAL.lock().await;
    let i = issuer().await;
    let dir = TempDir::new("ratelimit");
    i.inject(Fault::rate_limited(3600));
    let a = shared_client(&i, &dir.0);
    assert!(matches!(
        a.get_token(&api()).await,
        Err(tokenkeeper::Error::RateLimited { .. })
    ));
    // Another client (another process, as far as the shared level knows) sends nothing.
    let b = shared_client(&i, &dir.0);
    for _ in 0..20 {
        match b.get_token(&api()).await {
            Err(tokenkeeper::Error::RateLimited { retry_after, .. }) => {
                assert!(retry_after.unwrap() > Duration::from_secs(3500))
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(i.count("token"), 1);
    // Other keys are not limited.
    b.get_token(&api().scope("read:things")).await.unwrap();
}

#[test]
fn four_processes_polling_5_second_tokens_for_12_s_share_one_per_lifetime() {
    let _turn = SERIAL.blocking_lock();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let i = rt.block_on(issuer());
    let dir = TempDir::new("poll");
    let ok = in_children(4, |_| {
        let f = &i.fixture;
        // The process cache on, as a real worker has it.
        let c = TokenClient::new(
            ClientConfig::new(
                &f.url,
                &f.client_id,
                Credentials::client_secret(&f.client_secret),
            )
            .http_options(fast_retries())
            .shared_cache(SharedCache::File {
                dir: Some(dir.0.clone()),
            }),
        )
        .unwrap();
        poll_never_expired(&c, &TokenRequest::new(SHORT_API), 12)
    });
    assert_eq!(ok, 4, "a process failed or was served an expired token");
    let n = i.count("token");
    // A 5 s token is usable about 3.6 s: 3 to 5 in 12 s for the whole group (4 processes
    // on their own would make 4 times as many).
    assert!((2..=6).contains(&n), "{n} requests");
}

/// Review N2/N12: an entry file put back after its token expired (fresh file times, as a
/// writer of the directory could) is not served: its end is sealed inside it.
#[tokio::test(flavor = "multi_thread")]
async fn an_entry_put_back_after_its_expiry_is_not_served() {
    let _turn = SERIAL.lock().await;
    let i = issuer().await;
    let dir = TempDir::new("replay");
    let req = lived(&i, 3);
    let first = shared_client(&i, &dir.0).get_token(&req).await.unwrap();
    let saved: Vec<(PathBuf, Vec<u8>)> = entries(&dir.0)
        .into_iter()
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    assert_eq!(saved.len(), 1);
    tokio::time::sleep(Duration::from_secs(4)).await;
    for (p, b) in &saved {
        std::fs::write(p, b).unwrap();
    }
    let served = shared_client(&i, &dir.0).get_token(&req).await.unwrap();
    assert_ne!(served.access_token(), first.access_token());
    assert!(served.remaining() > Duration::from_secs(1));
    assert_eq!(i.count("token"), 2);
}
