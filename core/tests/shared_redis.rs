//! The Redis shared cache level: real processes (fork), a real Redis, the local issuer.
//!
//! `TOKENKEEPER_TEST_REDIS_URL` and `TOKENKEEPER_TEST_REDIS_SOCKET` name the run's Redis
//! (`scripts/redis.sh` starts it); the tests that stop Redis or need TLS start their own
//! `redis-server` on free loopback ports. A missing Redis fails, never skips.
#![cfg(unix)]

mod common;
mod shared;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use shared::*;
use tokenkeeper::{
    CachePolicy, ClientConfig, Credentials, HttpOptions, SharedCache, TokenClient, TokenRequest,
};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the tests through scripts/test-rust.sh (it starts Redis)")
    })
}

fn redis_url() -> String {
    env("TOKENKEEPER_TEST_REDIS_URL")
}

fn redis(url: &str) -> redis::Connection {
    redis::Client::open(url)
        .and_then(|c| c.get_connection())
        .unwrap_or_else(|e| panic!("cannot reach the test Redis: {e}"))
}

/// A client whose process cache is off, so every call goes to the shared level.
fn shared_client(i: &Issuer, url: &str) -> TokenClient {
    shared_client_with(i, url, fast_retries())
}

fn shared_client_with(i: &Issuer, url: &str, http: HttpOptions) -> TokenClient {
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
        .http_options(http)
        .cache_policy(cache)
        .shared_cache(SharedCache::parse(url).unwrap()),
    )
    .unwrap()
}

/// The keys of this crate in `url`'s Redis, and their values.
fn entries(url: &str) -> Vec<(String, Vec<u8>)> {
    let mut c = redis(url);
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("tokenkeeper:*")
        .query(&mut c)
        .unwrap();
    keys.into_iter()
        .filter_map(|k| {
            let v: Option<Vec<u8>> = redis::cmd("GET").arg(&k).query(&mut c).unwrap();
            v.map(|v| (k, v))
        })
        .collect()
}

/// A `redis-server` of one test, on a free loopback port; stopped on drop.
struct OwnRedis {
    child: Option<Child>,
    port: u16,
    args: Vec<String>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl OwnRedis {
    fn start(extra: &[&str]) -> Self {
        Self::start_on(free_port(), extra)
    }

    /// On `port` (with `--port 0 --tls-port PORT` in `extra`: TLS only).
    fn start_on(port: u16, extra: &[&str]) -> Self {
        let mut args: Vec<String> = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        if !extra.contains(&"--port") {
            args.extend(["--port".into(), port.to_string()]);
        }
        let mut r = Self {
            child: None,
            port,
            args,
        };
        r.resume();
        r
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// (Re)starts the server on the same port and waits until it answers.
    fn resume(&mut self) {
        let child = Command::new("redis-server")
            .args(&self.args)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is on PATH (scripts/redis.sh installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

#[test]
fn the_redis_string_forms_parse_and_never_show_a_password() {
    let _turn = SERIAL.blocking_lock();
    for url in [
        "redis://127.0.0.1:6379/0",
        "redis://:s3cret@127.0.0.1:6379/2",
        "rediss://user:s3cret@cache.example.com:6380/0",
        "unix:///run/redis/redis.sock",
    ] {
        let parsed = SharedCache::parse(url).unwrap();
        assert_eq!(parsed, SharedCache::Redis { url: url.into() });
        assert!(!format!("{parsed:?}").contains("s3cret"), "{parsed:?}");
    }
    let with = ClientConfig::new("t.example.com", "id", Credentials::client_secret("x"))
        .shared_cache(SharedCache::parse("redis://:s3cret@127.0.0.1:6379/0").unwrap());
    assert!(!format!("{with:?}").contains("s3cret"));
    for bad in ["redis://127.0.0.1:notaport/0", "redis://:s3cret@[::1/0"] {
        let e = SharedCache::parse(bad).unwrap_err();
        assert_eq!(e.kind(), "config", "{bad}");
        assert!(!e.to_string().contains("s3cret"), "{e}");
    }
    let e = SharedCache::parse("memcached://:s3cret@host").unwrap_err();
    assert!(!e.to_string().contains("s3cret"), "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_is_shared_sealed_and_expires_by_redis_clock() {
    let _turn = SERIAL.lock().await;
    let i = issuer().await;
    // A server of its own: every key in it is this test's (no other test's lock).
    let server = OwnRedis::start(&[]);
    let url = server.url();
    let a = shared_client(&i, &url);
    let t1 = a.get_token(&api()).await.unwrap();
    let b = shared_client(&i, &url);
    let t2 = b.get_token(&api()).await.unwrap();
    assert_eq!(t1.access_token(), t2.access_token());
    assert_eq!(i.count("token"), 1, "the second client read Redis");
    assert_eq!(b.stats().shared_hits, 1);
    assert_eq!(b.stats().shared_errors, 0);
    assert!(t2.remaining() > Duration::from_secs(86_000));

    // Every key and every value of the whole server: nothing in plain text.
    let mut c = redis(&url);
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut c).unwrap();
    assert!(keys.iter().any(|k| k.starts_with("tokenkeeper:v2:")));
    let f = &i.fixture;
    for k in &keys {
        let v: Option<Vec<u8>> = redis::cmd("GET").arg(k).query(&mut c).unwrap_or(None);
        let v = v.unwrap_or_default();
        for secret in [t1.access_token(), &f.client_secret, &f.client_id, API] {
            assert!(!k.contains(secret), "{k} shows {secret}");
            assert!(
                !v.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{k} holds {secret} in plain text"
            );
        }
        if k.starts_with("tokenkeeper:") && !k.ends_with(":lock") {
            // PX from the token's remaining life.
            let pttl: i64 = redis::cmd("PTTL").arg(k).query(&mut c).unwrap();
            assert!(pttl > 0 && pttl <= 86_400_000, "{k}: PTTL {pttl}");
        }
    }
    let ours: Vec<_> = entries(&url);
    assert!(
        !ours.iter().any(|(k, _)| k.ends_with(":lock")),
        "a lock was left behind"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tampered_entry_is_ignored_and_replaced() {
    let _turn = SERIAL.lock().await;
    let i = issuer().await;
    // A server of its own: its only entry is this test's.
    let server = OwnRedis::start(&[]);
    let url = server.url();
    shared_client(&i, &url).get_token(&api()).await.unwrap();
    let mut c = redis(&url);
    let token_entries: Vec<_> = entries(&url);
    assert_eq!(token_entries.len(), 1);
    let (k, mut v) = token_entries.into_iter().next().unwrap();
    let n = v.len();
    v[n - 1] ^= 1;
    let _: () = redis::cmd("SET")
        .arg(&k)
        .arg(&v)
        .arg("KEEPTTL")
        .query(&mut c)
        .unwrap();
    let fresh = shared_client(&i, &url);
    fresh.get_token(&api()).await.unwrap();
    assert_eq!(i.count("token"), 2, "the tampered entry was used");
    assert_eq!(fresh.stats().shared_hits, 0);
    assert_eq!(fresh.stats().shared_errors, 0);
    // Replaced: the next client reads the new one.
    let next = shared_client(&i, &url);
    next.get_token(&api()).await.unwrap();
    assert_eq!(next.stats().shared_hits, 1);
    assert_eq!(i.count("token"), 2);
    // A foreign version (another format) is ignored the same way.
    let _: () = redis::cmd("SET")
        .arg(&k)
        .arg(b"TKS9 something else".as_slice())
        .arg("KEEPTTL")
        .query(&mut c)
        .unwrap();
    shared_client(&i, &url).get_token(&api()).await.unwrap();
    assert_eq!(i.count("token"), 3);
}

#[test]
fn eight_processes_on_two_hosts_on_a_cold_key_make_one_request() {
    let _turn = SERIAL.blocking_lock();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let i = rt.block_on(issuer());
    let url = redis_url();
    let homes = [TempDir::new("host-a"), TempDir::new("host-b")];
    i.inject(Fault::delay(300));
    let ok = in_children(8, |k| {
        // Two groups with their own cache homes, standing in for two hosts.
        std::env::set_var("XDG_CACHE_HOME", &homes[k % 2].0);
        shared_client(&i, &url).get_token_blocking(&api()).is_ok()
    });
    assert_eq!(ok, 8);
    assert_eq!(i.count("token"), 1, "one process fetched, seven read");
}

#[test]
fn a_lock_holder_killed_with_sigkill_delays_the_others_by_the_lock_ttl_at_most() {
    let _turn = SERIAL.blocking_lock();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let i = rt.block_on(issuer());
    let url = redis_url();
    // Request timeout 2 s: the lock's TTL is 3 s.
    let http = || fast_retries().request_timeout(Duration::from_secs(2));
    i.inject(Fault::delay(10_000));
    let holder = spawn_child(|| {
        let _ = shared_client_with(&i, &url, http()).get_token_blocking(&api());
        true
    });
    // Fork the waiter only once the holder's request is at the issuer (a slow fork
    // or start would otherwise let the waiter take the lock and the delayed reply).
    wait_for_request(&i);
    let started = Instant::now();
    let waiter = spawn_child(|| {
        shared_client_with(&i, &url, http())
            .get_token_blocking(&api())
            .is_ok()
    });
    std::thread::sleep(Duration::from_millis(300));
    unsafe { libc::kill(holder, libc::SIGKILL) };
    wait_child(holder, Duration::from_secs(5));
    assert!(
        wait_child(waiter, Duration::from_secs(20)),
        "the waiter failed"
    );
    // The lock TTL (3 s) plus one fetch, with room for a slow machine.
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "the waiter waited too long: {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_stopped_mid_run_never_fails_get_token_and_is_used_again_once_back() {
    let _turn = SERIAL.lock().await;
    let i = issuer().await;
    let mut server = OwnRedis::start(&[]);
    let c = shared_client(&i, &server.url());
    c.get_token(&api()).await.unwrap();
    c.get_token(&api()).await.unwrap();
    assert_eq!(c.stats().shared_hits, 1);
    assert_eq!(c.stats().shared_errors, 0);

    server.stop();
    for _ in 0..5 {
        c.get_token(&api())
            .await
            .expect("a dead Redis never fails get_token");
    }
    assert!(c.stats().shared_errors >= 5, "{:?}", c.stats());
    assert_eq!(c.stats().shared_hits, 1);

    server.resume();
    let mut calls = 0;
    while c.stats().shared_hits < 2 {
        c.get_token(&api()).await.unwrap();
        calls += 1;
        assert!(
            calls <= 10,
            "no shared hit after Redis came back: {:?}",
            c.stats()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_unix_socket_url_works() {
    let _turn = SERIAL.lock().await;
    let i = issuer().await;
    let url = format!("unix://{}", env("TOKENKEEPER_TEST_REDIS_SOCKET"));
    shared_client(&i, &url).get_token(&api()).await.unwrap();
    let b = shared_client(&i, &url);
    b.get_token(&api()).await.unwrap();
    assert_eq!(i.count("token"), 1);
    assert_eq!(b.stats().shared_hits, 1);
}

#[test]
fn rediss_works_with_a_ca_of_the_test() {
    let _turn = SERIAL.blocking_lock();
    let dir = TempDir::new("tls");
    std::fs::create_dir_all(&dir.0).unwrap();
    let (ca, cert, key) = tls_files(&dir.0);
    let port = free_port();
    let _server = OwnRedis::start_on(
        port,
        &[
            "--port",
            "0",
            "--tls-port",
            &port.to_string(),
            "--tls-cert-file",
            &cert,
            "--tls-key-file",
            &key,
            "--tls-ca-cert-file",
            &ca,
            "--tls-auth-clients",
            "no",
        ],
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let i = rt.block_on(issuer());
    let url = format!("rediss://127.0.0.1:{port}/0");
    // In children: the roots come from SSL_CERT_FILE, set before anything reads it.
    let ok = in_children(1, |_| {
        std::env::set_var("SSL_CERT_FILE", &ca);
        let a = shared_client(&i, &url);
        let b = shared_client(&i, &url);
        a.get_token_blocking(&api()).is_ok()
            && b.get_token_blocking(&api()).is_ok()
            && a.stats().shared_errors == 0
            && b.stats().shared_hits == 1
    });
    assert_eq!(ok, 1);
    assert_eq!(i.count("token"), 1, "the second client read Redis over TLS");
}

/// A CA and a server certificate for 127.0.0.1, as PEM files: (ca, cert, key).
fn tls_files(dir: &Path) -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    let write = |name: &str, pem: String| {
        let p = dir.join(name);
        std::fs::write(&p, pem).unwrap();
        p.display().to_string()
    };
    (
        write("ca.pem", ca.pem()),
        write("cert.pem", cert.pem()),
        write("key.pem", key.serialize_pem()),
    )
}

#[test]
fn four_processes_polling_5_second_tokens_for_12_s_share_one_per_lifetime() {
    let _turn = SERIAL.blocking_lock();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let i = rt.block_on(issuer());
    let url = redis_url();
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
            .shared_cache(SharedCache::parse(&url).unwrap()),
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
