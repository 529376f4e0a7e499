//! Shared by the shared-cache level's tests (file and Redis): temporary directories, forked
//! children, and the poll scenario both backends run.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokenkeeper::{
    CachePolicy, ClientConfig, Credentials, HttpOptions, SharedCache, TokenClient, TokenRequest,
};

/// A client of the issuer's main app on the shared level `level` (`file:/dir`, `redis://…`)
/// with the process cache off, so that every call goes to the level: a new process, as far
/// as the level knows.
pub fn level_client(i: &tokenkeeper_issuer::Issuer, level: &str, http: HttpOptions) -> TokenClient {
    let f = &i.fixture;
    TokenClient::new(
        ClientConfig::new(
            &f.url,
            &f.client_id,
            Credentials::client_secret(&f.client_secret),
        )
        .http_options(http)
        .cache_policy(CachePolicy {
            enabled: false,
            ..CachePolicy::default()
        })
        .shared_cache(SharedCache::parse(level).unwrap()),
    )
    .unwrap()
}

/// A fresh directory under the system's temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!(
            "tokenkeeper-test-{name}-{}-{:?}",
            std::process::id(),
            Instant::now()
        ));
        Self(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Forks a child that runs `work` and exits 0 if it returned true; its pid. The child dies by
/// SIGALRM after 60 s whatever happens, so a parent that panics before reaping it never leaves
/// it holding the test runner's output pipe open.
pub fn spawn_child(work: impl FnOnce() -> bool) -> i32 {
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        unsafe { libc::alarm(60) };
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or(false);
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    pid
}

/// Waits for `pid` (killed after `limit`); whether it exited 0.
pub fn wait_child(pid: i32, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        let mut status = 0;
        if unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == pid {
            return libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
        }
        if Instant::now() > deadline {
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs `work(i)` in `n` forked children at once; the number that exited 0.
pub fn in_children(n: usize, work: impl Fn(usize) -> bool) -> usize {
    let pids: Vec<i32> = (0..n).map(|k| spawn_child(|| work(k))).collect();
    pids.into_iter()
        .filter(|&pid| wait_child(pid, Duration::from_secs(30)))
        .count()
}

/// Polls `req` every 20 ms for `secs` seconds; false if a token was ever served past its
/// expiry (the JWT's own `exp`, by this host's clock).
pub fn poll_never_expired(client: &TokenClient, req: &TokenRequest, secs: u64) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        let Ok(t) = client.get_token_blocking(req) else {
            return false;
        };
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let exp = crate::common::claims(t.access_token())["exp"]
            .as_u64()
            .unwrap();
        if Duration::from_secs(exp) <= now || t.remaining().is_zero() {
            eprintln!("an expired token was served");
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// Held by each test that forks (and by every test of a file that forks often): a fork while
/// another test starts threads can leave a child with a half-updated global lock table
/// (parking_lot's, under tokio), so these tests take turns.
pub static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Blocks (10 s at most) until the issuer has received a token request.
pub fn wait_for_request(i: &tokenkeeper_issuer::Issuer) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while i.count("token") == 0 {
        assert!(
            Instant::now() < deadline,
            "the holder never sent its request"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
}
