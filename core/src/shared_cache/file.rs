//! The file backend: one sealed file per cache key in a per-user directory (0700, files 0600),
//! written atomically (a temporary file, then a rename), with an `flock`ed lock file per key
//! for single flight across processes.
//!
//! The directory is opened once, after checking that nobody else can replace it or any of its
//! ancestors, and every later operation is relative to that descriptor (`openat`, `renameat`,
//! `unlinkat`), never to the path (review N5). Files are opened with `O_NOFOLLOW` and
//! `O_NONBLOCK` and read only when they are this user's regular files of at most
//! [`MAX_ENTRY`] bytes: a symlink, a FIFO or a device put in their place is removed, never
//! followed, waited on or read. The async operations run on tokio's blocking pool, off the
//! runtime's two workers.

use std::ffi::CStr;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::fs::{AtFlags, FileType, FlockOperation, Mode, OFlags, Timespec, Timestamps};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{wall_ms, EntryKey, Stored};
use crate::error::{Error, Result};

/// No sealed value this crate writes is larger (a token is at most 16 KiB).
const MAX_ENTRY: u64 = 64 * 1024;
/// A temporary file older than this is a killed writer's: removed by the sweep.
const STALE_TMP: Duration = Duration::from_secs(600);
/// An entry whose end (its modification time) is this far past is removed by the sweep; the
/// grace covers a wall clock stepped a little.
const SWEEP_GRACE: Duration = Duration::from_secs(3600);
/// A process sweeps the directory at most this often, on a write.
const SWEEP_EVERY_MS: u64 = 10 * 60 * 1000;
/// A sweep looks at no more names than this.
const SWEEP_MAX: usize = 10_000;

#[derive(Clone)]
pub(crate) struct FileLevel {
    inner: Arc<Inner>,
}

struct Inner {
    dir: OwnedFd,
    /// For messages only: every operation goes through `dir`.
    path: PathBuf,
    last_sweep_ms: AtomicU64,
}

/// Held while this process fetches for a key; dropping it (or the process dying) unlocks. A
/// forked child never holds it: its copy of the descriptor is closed in the child (N6).
pub(crate) struct LockGuard {
    slot: Option<usize>,
    _file: OwnedFd,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        // Before the descriptor closes, so that a fork never sees a slot whose number was
        // already closed (and maybe reused).
        if let Some(i) = self.slot {
            held::clear(i);
        }
    }
}

fn io(what: &str, path: &Path, e: impl std::fmt::Display) -> Error {
    Error::config(format!("shared cache: {what} {}: {e}", path.display()))
}

fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// `$XDG_CACHE_HOME/tokenkeeper`, else `~/.cache/tokenkeeper` (`~/Library/Caches` on Apple),
/// and the base that may be made for it (XDG's cache home, when the home is this user's).
fn default_dir() -> Result<(PathBuf, Option<PathBuf>)> {
    let from = |var: &str| {
        std::env::var_os(var)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let base = if cfg!(any(target_os = "macos", target_os = "ios")) {
        from("HOME").map(|h| h.join("Library/Caches"))
    } else {
        from("XDG_CACHE_HOME").or_else(|| from("HOME").map(|h| h.join(".cache")))
    };
    let base = base.ok_or_else(|| {
        Error::config(
            "shared cache: no cache directory (set XDG_CACHE_HOME or HOME, or use file:/dir)",
        )
    })?;
    // The base (`~/.cache`) is made (0700, as XDG asks) only inside a directory of this
    // user's: a `sudo` that keeps HOME must not leave root's directory in the user's home
    // (N15).
    let makeable = base
        .parent()
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.uid() == euid()))
        .map(|_| base.clone());
    Ok((base.join("tokenkeeper"), makeable))
}

/// Creates `dir` (only its last component, 0700) when it is missing.
fn create_last(dir: &Path) -> Result<()> {
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Err(io(
            "cannot create (its parent is missing; only the last component is made)",
            dir,
            e,
        )),
        Err(e) => Err(io("cannot create", dir, e)),
    }
}

/// Every ancestor of `dir` is root's or this user's, and writable by nobody else unless
/// sticky: nobody else can rename `dir` away and put their own in its place.
fn check_ancestors(dir: &Path) -> Result<()> {
    let me = euid();
    for a in dir.ancestors().skip(1) {
        let m = std::fs::metadata(a).map_err(|e| io("cannot read", a, e))?;
        let owner_ok = m.uid() == 0 || m.uid() == me;
        let shared = m.mode() & 0o022 != 0;
        let sticky = m.mode() & 0o1000 != 0;
        if !owner_ok || (shared && !sticky) {
            return Err(Error::config(format!(
                "shared cache: {} is in {}, which another user can change (it must be root's \
                 or this user's, and not writable by others unless sticky)",
                dir.display(),
                a.display()
            )));
        }
    }
    Ok(())
}

fn is_mine_regular(st: &rustix::fs::Stat, max: u64) -> bool {
    FileType::from_raw_mode(st.st_mode as _) == FileType::RegularFile
        && st.st_uid == euid()
        && u64::try_from(st.st_size).is_ok_and(|s| s <= max)
}

fn entry_flags() -> OFlags {
    OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY
}

impl FileLevel {
    /// Creates the directory if needed (its last component only, 0700), checks that it and
    /// its ancestors are safe from other users, and opens it for good.
    pub fn open(dir: Option<&Path>) -> Result<Self> {
        let dir = match dir {
            Some(d) => {
                if !d.is_absolute() {
                    return Err(Error::config(format!(
                        "shared cache: the directory {} is not absolute",
                        d.display()
                    )));
                }
                create_last(d)?;
                d.to_path_buf()
            }
            None => {
                let (dir, base) = default_dir()?;
                if let Some(base) = base {
                    create_last(&base)?;
                }
                create_last(&dir)?;
                dir
            }
        };
        let meta = std::fs::symlink_metadata(&dir).map_err(|e| io("cannot read", &dir, e))?;
        if !meta.is_dir() || meta.uid() != euid() {
            return Err(Error::config(format!(
                "shared cache: {} is not a directory of this user",
                dir.display()
            )));
        }
        let real = std::fs::canonicalize(&dir).map_err(|e| io("cannot resolve", &dir, e))?;
        check_ancestors(&real)?;
        let fd = rustix::fs::open(
            &real,
            OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| io("cannot open", &dir, e))?;
        let st = rustix::fs::fstat(&fd).map_err(|e| io("cannot read", &dir, e))?;
        if FileType::from_raw_mode(st.st_mode as _) != FileType::Directory || st.st_uid != euid() {
            return Err(Error::config(format!(
                "shared cache: {} is not a directory of this user",
                dir.display()
            )));
        }
        if st.st_mode as u32 & 0o077 != 0 {
            rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o700))
                .map_err(|e| io("cannot make private", &dir, e))?;
        }
        held::watch();
        Ok(Self {
            inner: Arc::new(Inner {
                dir: fd,
                path: dir,
                last_sweep_ms: AtomicU64::new(0),
            }),
        })
    }

    /// The value for `key` (off the runtime's workers).
    pub async fn read<T: DeserializeOwned + Send + 'static>(
        &self,
        key: &EntryKey,
    ) -> Result<Option<T>> {
        let (me, key) = (self.clone(), key.clone());
        blocking(move || me.read_now(&key)).await
    }

    /// The value for `key`: `Ok(None)` when there is none, or it is tampered, corrupt,
    /// foreign or not a file of this user's (then it is removed, to be replaced).
    pub fn read_now<T: DeserializeOwned>(&self, key: &EntryKey) -> Result<Option<T>> {
        let dir = &self.inner.dir;
        let file = match rustix::fs::openat(
            dir,
            &key.name,
            OFlags::RDONLY | entry_flags(),
            Mode::empty(),
        ) {
            Ok(f) => f,
            Err(rustix::io::Errno::NOENT) => return Ok(None),
            // A symlink in its place (O_NOFOLLOW), or something unopenable: not ours.
            Err(rustix::io::Errno::LOOP) | Err(rustix::io::Errno::NXIO) => {
                self.remove_now(key);
                return Ok(None);
            }
            Err(e) => return Err(io("cannot read", &self.inner.path.join(&key.name), e)),
        };
        let st = rustix::fs::fstat(&file).map_err(|e| io("cannot read", &self.inner.path, e))?;
        if !is_mine_regular(&st, MAX_ENTRY) {
            tracing::debug!(
                "shared cache: removing an entry that is not a small file of this user"
            );
            self.remove_now(key);
            return Ok(None);
        }
        let mut bytes = Vec::with_capacity(st.st_size as usize);
        let read = std::fs::File::from(file)
            .take(MAX_ENTRY)
            .read_to_end(&mut bytes);
        if let Err(e) = read {
            zeroize::Zeroize::zeroize(&mut bytes);
            return Err(io("cannot read", &self.inner.path, e));
        }
        let entry = key.open(&bytes);
        zeroize::Zeroize::zeroize(&mut bytes);
        if entry.is_none() {
            tracing::debug!("shared cache: ignoring an entry that does not open");
            self.remove_now(key);
        }
        Ok(entry)
    }

    /// Publishes `value` atomically (off the runtime's workers): readers see the old file or
    /// the new one, never a part. Its modification time is its end, for the sweep.
    pub async fn write<T: Serialize>(&self, key: &EntryKey, value: &Stored<T>) -> Result<()> {
        let sealed = key.seal(value);
        let until_ms = value.until_ms;
        let (me, key) = (self.clone(), key.clone());
        blocking(move || {
            me.write_sealed(&key, &sealed, until_ms)?;
            me.sweep_now_and_then();
            Ok(())
        })
        .await
    }

    fn write_sealed(&self, key: &EntryKey, sealed: &[u8], until_ms: u64) -> Result<()> {
        let dir = &self.inner.dir;
        let tmp = format!(
            ".{}.{}.{:016x}.tmp",
            key.name,
            std::process::id(),
            u64::from_le_bytes(crate::oauth::random::secret_bytes::<8>())
        );
        let result = (|| -> std::io::Result<()> {
            let fd = rustix::fs::openat(
                dir,
                &tmp,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | entry_flags(),
                Mode::from_raw_mode(0o600),
            )?;
            let mut f = std::fs::File::from(fd);
            f.write_all(sealed)?;
            f.sync_data()?;
            // Ten years at most: some file systems refuse later times.
            let now_s = wall_ms() / 1000;
            let secs = (until_ms / 1000).min(now_s.saturating_add(10 * 365 * 86_400));
            let at = Timespec {
                tv_sec: i64::try_from(secs).unwrap_or(i64::MAX),
                tv_nsec: 0,
            };
            rustix::fs::futimens(
                &f,
                &Timestamps {
                    last_access: at,
                    last_modification: at,
                },
            )?;
            rustix::fs::renameat(dir, &tmp, dir, &key.name)?;
            Ok(())
        })();
        if let Err(e) = result {
            let _ = rustix::fs::unlinkat(dir, &tmp, AtFlags::empty());
            return Err(io("cannot write", &self.inner.path, e));
        }
        Ok(())
    }

    /// Removes the value for `key` (a small, bounded system call: fine on any thread).
    pub fn remove_now(&self, key: &EntryKey) {
        let _ = rustix::fs::unlinkat(&self.inner.dir, &key.name, AtFlags::empty());
    }

    /// Takes the key's lock, waiting up to `wait`; `Ok(None)` when another process still
    /// holds it then (the caller fetches on its own).
    pub async fn lock(&self, key: &EntryKey, wait: Duration) -> Result<Option<LockGuard>> {
        let deadline = Instant::now() + wait;
        let mut pause = Duration::from_millis(5);
        loop {
            let (me, name) = (self.clone(), format!("{}.lock", key.name));
            if let Some(guard) = blocking(move || me.try_lock(&name)).await? {
                return Ok(Some(guard));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(pause.min(deadline - now)).await;
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }

    /// One attempt: `Ok(None)` when another process holds the lock.
    fn try_lock(&self, name: &str) -> Result<Option<LockGuard>> {
        let dir = &self.inner.dir;
        let lock_err = |e| io("cannot lock", &self.inner.path.join(name), e);
        let fd = rustix::fs::openat(
            dir,
            name,
            OFlags::RDWR | OFlags::CREATE | entry_flags(),
            Mode::from_raw_mode(0o600),
        )
        .map_err(lock_err)?;
        if !is_mine_regular(&rustix::fs::fstat(&fd).map_err(lock_err)?, MAX_ENTRY) {
            let _ = rustix::fs::unlinkat(dir, name, AtFlags::empty());
            return Err(lock_err(rustix::io::Errno::PERM));
        }
        // Registered before it is locked: a fork from here on closes the child's copy.
        let slot = held::register(fd.as_raw_fd());
        let guard = LockGuard { slot, _file: fd };
        match rustix::fs::flock(&guard._file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(rustix::io::Errno::WOULDBLOCK) => return Ok(None),
            Err(e) => return Err(lock_err(e)),
        }
        // The sweep removes an unused lock file while holding it: a lock on a file no longer
        // in the directory excludes nobody, so take the one that is there.
        let ours = rustix::fs::fstat(&guard._file).map_err(lock_err)?;
        match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(now) if now.st_dev == ours.st_dev && now.st_ino == ours.st_ino => Ok(Some(guard)),
            _ => Ok(None),
        }
    }

    /// At most every [`SWEEP_EVERY_MS`] per process: removes a killed writer's temporary
    /// files, entries well past their end (any key's: the end is the file's time) and the
    /// lock files nobody holds of entries that are gone (N15).
    fn sweep_now_and_then(&self) {
        let now = wall_ms();
        let last = self.inner.last_sweep_ms.load(Ordering::Relaxed);
        if now.saturating_sub(last) < SWEEP_EVERY_MS
            || self
                .inner
                .last_sweep_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let dir = &self.inner.dir;
        let Ok(names) = rustix::fs::Dir::read_from(dir) else {
            return;
        };
        let now_s = i64::try_from(now / 1000).unwrap_or(i64::MAX);
        let mut locks = Vec::new();
        for entry in names.take(SWEEP_MAX).flatten() {
            let name = entry.file_name();
            let Ok(text) = name.to_str() else { continue };
            if text.starts_with("..") || text == "." {
                continue;
            }
            let Ok(st) = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) else {
                continue;
            };
            #[allow(clippy::unnecessary_cast)] // `c_long` on 32-bit systems
            let mtime = st.st_mtime as i64;
            if text.ends_with(".lock") {
                locks.push(name.to_owned());
            } else if text.starts_with('.') && text.ends_with(".tmp") {
                // A live writer's file is younger (or has its end, ahead, as its time).
                if mtime < now_s.saturating_sub(STALE_TMP.as_secs() as i64) {
                    let _ = rustix::fs::unlinkat(dir, name, AtFlags::empty());
                }
            } else if mtime < now_s.saturating_sub(SWEEP_GRACE.as_secs() as i64) {
                let _ = rustix::fs::unlinkat(dir, name, AtFlags::empty());
            }
        }
        for lock in locks {
            self.sweep_lock(&lock);
        }
    }

    /// Removes `lock` if its entry is gone and nobody holds it (held while removing it).
    fn sweep_lock(&self, lock: &CStr) {
        let dir = &self.inner.dir;
        let bytes = lock.to_bytes();
        let entry = &bytes[..bytes.len() - ".lock".len()];
        if rustix::fs::statat(dir, entry, AtFlags::SYMLINK_NOFOLLOW).is_ok() {
            return;
        }
        let Ok(fd) = rustix::fs::openat(dir, lock, OFlags::RDWR | entry_flags(), Mode::empty())
        else {
            return;
        };
        let slot = held::register(fd.as_raw_fd());
        let guard = LockGuard { slot, _file: fd };
        if rustix::fs::flock(&guard._file, FlockOperation::NonBlockingLockExclusive).is_ok() {
            let _ = rustix::fs::unlinkat(dir, lock, AtFlags::empty());
        }
    }
}

/// Runs `f` on tokio's blocking pool when there is a runtime, else here.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    if tokio::runtime::Handle::try_current().is_err() {
        return f();
    }
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        Err(Error::Network(format!(
            "shared cache: file task ended: {e}"
        )))
    })
}

/// The lock descriptors this process holds, so that a forked child can close its copies: an
/// `flock` belongs to the open file description, which the child shares, and a child that
/// kept it would hold the lock for its whole life (review N6). Lock-free: the fork handler
/// may only touch atomics and make async-signal-safe calls.
mod held {
    use super::*;

    const SLOTS: usize = 64;
    static FDS: [AtomicI32; SLOTS] = [const { AtomicI32::new(-1) }; SLOTS];
    static WATCH: std::sync::Once = std::sync::Once::new();

    /// Its slot, or `None` when all are taken (then a fork during this fetch leaves the lock
    /// with the child, as before: 64 keys fetching at once in one process).
    pub fn register(fd: i32) -> Option<usize> {
        (0..SLOTS).find(|&i| {
            FDS[i]
                .compare_exchange(-1, fd, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        })
    }

    pub fn clear(i: usize) {
        FDS[i].store(-1, Ordering::SeqCst);
    }

    pub fn watch() {
        WATCH.call_once(|| {
            extern "C" fn in_child() {
                // SAFETY: open, dup2 and close are async-signal-safe; each descriptor in a
                // slot is open in the child (cleared before it is closed), and is replaced by
                // /dev/null, so its number stays taken until its guard closes it.
                unsafe {
                    let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
                    if null < 0 {
                        return;
                    }
                    for slot in &FDS {
                        let fd = slot.load(Ordering::SeqCst);
                        if fd >= 0 {
                            libc::dup2(null, fd);
                        }
                    }
                    libc::close(null);
                }
            }
            // SAFETY: registers a handler that makes async-signal-safe calls only.
            let rc = unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
            if rc != 0 {
                tracing::error!(
                    rc,
                    "pthread_atfork failed: a forked child may keep a shared-cache lock"
                );
            }
        });
    }
}
