//! Review 2026-12-06 N5, N6, N15: the file level against whoever can change the directory's
//! ancestors or its files, a fork during a locked fetch, and the directory's hygiene. Each
//! test inverts the review's reproduction.
#![cfg(unix)]
mod common;
mod shared;

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use common::*;
use shared::*;
use tokenkeeper::{CachePolicy, ClientConfig, Credentials, SharedCache, TokenClient};

fn shared_client_t(i: &Issuer, dir: &Path, timeout: Duration) -> TokenClient {
    let f = &i.fixture;
    TokenClient::new(
        ClientConfig::new(
            &f.url,
            &f.client_id,
            Credentials::client_secret(&f.client_secret),
        )
        .http_options(fast_retries().request_timeout(timeout))
        .cache_policy(CachePolicy {
            enabled: false,
            ..CachePolicy::default()
        })
        .shared_cache(SharedCache::parse(&format!("file:{}", dir.display())).unwrap()),
    )
    .unwrap()
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.to_string_lossy().ends_with(".lock"))
        .collect()
}

fn mkfifo(p: &Path) {
    let c = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

fn set_mtime(p: &Path, ago: Duration) {
    let f = std::fs::File::options().write(true).open(p).unwrap();
    f.set_modified(SystemTime::now() - ago).unwrap();
}

/// N5: the directory is opened once; one renamed away and replaced (here by a symlink to a
/// 0777 directory) after the client was built receives nothing: the client keeps writing to
/// the directory it checked.
#[tokio::test(flavor = "multi_thread")]
async fn a_directory_swapped_in_after_the_check_is_not_used() {
    let _turn = SERIAL.lock().await;
    let i = issuer().await;
    let base = TempDir::new("swap");
    std::fs::create_dir_all(&base.0).unwrap();
    let dir = base.0.join("tk");
    let c = shared_client_t(&i, &dir, Duration::from_secs(15));
    let theirs = base.0.join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::rename(&dir, base.0.join("tk.old")).unwrap();
    std::os::unix::fs::symlink(&theirs, &dir).unwrap();
    c.get_token(&api()).await.unwrap();
    assert_eq!(names(&theirs), Vec::<String>::new());
    assert_eq!(
        entries(&base.0.join("tk.old")).len(),
        1,
        "written where it was checked"
    );
    assert_eq!(c.stats().shared_errors, 0);
}

/// N5: entries replaced by FIFOs, a symlink to /dev/zero and a huge file are never waited
/// on, followed or read whole: every call answers at once and the runtime stays free.
#[tokio::test(flavor = "multi_thread")]
async fn entries_that_are_fifos_symlinks_or_huge_are_removed_not_read() {
    let _turn = SERIAL.lock().await;
    let i = issuer().await;
    let dir = TempDir::new("fifo");
    let (one, two, three) = (lived(&i, 3600), lived(&i, 3601), lived(&i, 3602));
    let c = shared_client_t(&i, &dir.0, Duration::from_secs(15));
    for r in [&api(), &one, &two, &three] {
        c.get_token(r).await.unwrap();
    }
    let found = entries(&dir.0);
    assert_eq!(found.len(), 4);
    for p in &found {
        std::fs::remove_file(p).unwrap();
    }
    mkfifo(&found[0]);
    mkfifo(&found[1]);
    std::os::unix::fs::symlink("/dev/zero", &found[2]).unwrap();
    std::fs::write(&found[3], vec![b'x'; 1 << 20]).unwrap();
    let c2 = shared_client_t(&i, &dir.0, Duration::from_secs(15));
    let started = Instant::now();
    let all = async {
        for r in [&api(), &one, &two, &three] {
            c2.get_token(r).await.unwrap();
        }
        client(&i).get_token(&lived(&i, 60)).await.unwrap();
    };
    tokio::time::timeout(Duration::from_secs(5), all)
        .await
        .expect("every call answered");
    assert!(started.elapsed() < Duration::from_secs(3));
    // Each was replaced by a sealed entry of this user's.
    for p in &found {
        let m = std::fs::symlink_metadata(p).unwrap();
        assert!(m.is_file() && m.len() < 4096, "{p:?}: {m:?}");
    }
}

/// N5: a directory inside one that others may write (0777, not sticky) is refused: the
/// client works without the shared level and writes nothing there.
#[tokio::test(flavor = "multi_thread")]
async fn a_directory_under_a_world_writable_parent_is_refused() {
    let _turn = SERIAL.lock().await;
    let i = issuer().await;
    let base = TempDir::new("open-parent");
    std::fs::create_dir_all(&base.0).unwrap();
    std::fs::set_permissions(&base.0, std::fs::Permissions::from_mode(0o777)).unwrap();
    let dir = base.0.join("tk");
    let c = shared_client_t(&i, &dir, Duration::from_secs(15));
    c.get_token(&api()).await.unwrap();
    assert!(c.stats().shared_errors >= 1);
    assert!(!dir.exists() || names(&dir).is_empty());
    // Sticky, as /tmp: accepted.
    std::fs::set_permissions(&base.0, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let c = shared_client_t(&i, &dir, Duration::from_secs(15));
    c.get_token(&api()).await.unwrap();
    assert_eq!(c.stats().shared_errors, 0);
    assert_eq!(entries(&dir).len(), 1);
}

/// N15: only the last component is made; a missing parent is an error of the level, not a
/// tree made 0700 by whoever came first.
#[tokio::test(flavor = "multi_thread")]
async fn only_the_last_component_is_created() {
    let _turn = SERIAL.lock().await;
    let i = issuer().await;
    let base = TempDir::new("last");
    std::fs::create_dir_all(&base.0).unwrap();
    let deep = base.0.join("missing").join("tk");
    let c = shared_client_t(&i, &deep, Duration::from_secs(15));
    c.get_token(&api()).await.unwrap();
    assert!(c.stats().shared_errors >= 1);
    assert!(!base.0.join("missing").exists());
    let c = shared_client_t(&i, &base.0.join("tk"), Duration::from_secs(15));
    c.get_token(&api()).await.unwrap();
    let m = std::fs::metadata(base.0.join("tk")).unwrap();
    assert_eq!(m.permissions().mode() & 0o777, 0o700);
}

/// N15: a write sweeps a killed writer's temporary files, entries long past their end and
/// unused lock files of entries that are gone; it keeps live entries.
#[tokio::test(flavor = "multi_thread")]
async fn a_write_sweeps_stale_files_and_keeps_live_ones() {
    let _turn = SERIAL.lock().await;
    let i = issuer().await;
    let dir = TempDir::new("sweep");
    let c = shared_client_t(&i, &dir.0, Duration::from_secs(15));
    c.get_token(&api()).await.unwrap();
    let live = entries(&dir.0);
    assert_eq!(live.len(), 1);
    // A live entry's time is its end, ahead.
    let m = std::fs::metadata(&live[0]).unwrap().modified().unwrap();
    assert!(m > SystemTime::now() + Duration::from_secs(3600));
    let tmp = dir.0.join(".0123.42.00000000000000ff.tmp");
    let old = dir.0.join("00aa00aa00aa00aa");
    let orphan = dir.0.join("00bb00bb00bb00bb.lock");
    for p in [&tmp, &old, &orphan] {
        std::fs::write(p, b"x").unwrap();
    }
    set_mtime(&tmp, Duration::from_secs(3600));
    set_mtime(&old, Duration::from_secs(2 * 3600));
    let young_tmp = dir.0.join(".0123.43.00000000000000fe.tmp");
    std::fs::write(&young_tmp, b"x").unwrap();
    // Another client (its first write sweeps) publishes another key.
    shared_client_t(&i, &dir.0, Duration::from_secs(15))
        .get_token(&lived(&i, 600))
        .await
        .unwrap();
    let left = names(&dir.0);
    for gone in [&tmp, &old, &orphan] {
        let n = gone.file_name().unwrap().to_string_lossy().into_owned();
        assert!(!left.contains(&n), "{n} kept: {left:?}");
    }
    assert!(young_tmp.exists(), "a live writer's temporary file is kept");
    assert!(live[0].exists(), "a live entry is kept");
    assert_eq!(entries(&dir.0).len(), 3, "{left:?}"); // two entries + the young tmp
}

/// N6: a fork while this process holds a key's lock leaves the lock with the parent only:
/// once the parent's fetch is done, a miss elsewhere does not wait for the child.
#[test]
fn a_fork_during_a_locked_fetch_does_not_keep_the_key_locked() {
    let _turn = SERIAL.blocking_lock();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let i = rt.block_on(issuer());
    let dir = TempDir::new("forklock");
    i.inject(Fault::delay(1500));
    let c = shared_client_t(&i, &dir.0, Duration::from_secs(3));
    let c2 = c.clone();
    let holder = std::thread::spawn(move || c2.get_token_blocking(&api()));
    wait_for_request(&i); // the fetch, and so the flock, is in progress
                          // SAFETY: the child only sleeps and exits.
    let child = unsafe { libc::fork() };
    assert!(child >= 0);
    if child == 0 {
        unsafe { libc::alarm(60) }; // a stuck child never outlives the run
        std::thread::sleep(Duration::from_secs(30));
        // SAFETY: ends the child without running the parent's destructors.
        unsafe { libc::_exit(0) };
    }
    holder.join().unwrap().unwrap();
    c.invalidate(&api());
    let fresh = shared_client_t(&i, &dir.0, Duration::from_secs(3));
    let started = Instant::now();
    fresh.get_token_blocking(&api()).unwrap();
    let waited = started.elapsed();
    // SAFETY: our own child.
    unsafe {
        libc::kill(child, libc::SIGKILL);
        let mut st = 0;
        libc::waitpid(child, &mut st, 0);
    }
    assert!(
        waited < Duration::from_secs(2),
        "waited {waited:?} for the child's lock"
    );
}
