//! The file backend: one sealed file per cache key in a per-user directory (0700, files 0600),
//! written atomically (a temporary file, then a rename), with an `flock`ed lock file per key
//! for single flight across processes.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::EntryKey;
use crate::error::{Error, Result};

pub(crate) struct FileLevel {
    dir: PathBuf,
}

/// Held while this process fetches for a key; dropping it (or the process dying) unlocks.
pub(crate) struct LockGuard {
    _file: File,
}

fn io(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::config(format!("shared cache: {what} {}: {e}", path.display()))
}

/// `$XDG_CACHE_HOME/tokenkeeper`, else `~/.cache/tokenkeeper` (`~/Library/Caches` on Apple).
fn default_dir() -> Result<PathBuf> {
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
    base.map(|b| b.join("tokenkeeper")).ok_or_else(|| {
        Error::config(
            "shared cache: no cache directory (set XDG_CACHE_HOME or HOME, or use file:/dir)",
        )
    })
}

impl FileLevel {
    /// Creates the directory if needed (0700) and checks that it is this user's alone.
    pub fn open(dir: Option<&Path>) -> Result<Self> {
        let dir = match dir {
            Some(d) => d.to_path_buf(),
            None => default_dir()?,
        };
        if !dir.is_absolute() {
            return Err(Error::config(format!(
                "shared cache: the directory {} is not absolute",
                dir.display()
            )));
        }
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| io("cannot create", &dir, e))?;
        let meta = fs::symlink_metadata(&dir).map_err(|e| io("cannot read", &dir, e))?;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        if !meta.is_dir() || meta.uid() != me {
            return Err(Error::config(format!(
                "shared cache: {} is not a directory of this user",
                dir.display()
            )));
        }
        if meta.mode() & 0o077 != 0 {
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
                .map_err(|e| io("cannot make private", &dir, e))?;
        }
        Ok(Self { dir })
    }

    /// The entry for `key`: `Ok(None)` when there is none, or it is tampered, corrupt or
    /// foreign (then it is removed, to be replaced).
    pub fn read<T: DeserializeOwned>(&self, key: &EntryKey) -> Result<Option<T>> {
        let path = self.dir.join(&key.name);
        let mut bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io("cannot read", &path, e)),
        };
        let entry = key.open(&bytes);
        zeroize::Zeroize::zeroize(&mut bytes);
        if entry.is_none() {
            tracing::debug!("shared cache: ignoring an entry that does not open");
            let _ = fs::remove_file(&path);
        }
        Ok(entry)
    }

    /// Publishes `entry` atomically: readers see the old file or the new one, never a part.
    pub fn write<T: Serialize>(&self, key: &EntryKey, entry: &T) -> Result<()> {
        let sealed = key.seal(entry);
        let tmp = self.dir.join(format!(
            ".{}.{}.{:016x}.tmp",
            key.name,
            std::process::id(),
            u64::from_le_bytes(crate::oauth::random::secret_bytes::<8>())
        ));
        let result = (|| {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(&sealed)?;
            f.sync_data()?;
            fs::rename(&tmp, self.dir.join(&key.name))
        })();
        if let Err(e) = result {
            let _ = fs::remove_file(&tmp);
            return Err(io("cannot write", &tmp, e));
        }
        Ok(())
    }

    pub fn remove(&self, key: &EntryKey) {
        let _ = fs::remove_file(self.dir.join(&key.name));
    }

    /// Takes the key's lock, waiting up to `wait`; `Ok(None)` when another process still
    /// holds it then (the caller fetches on its own).
    pub async fn lock(&self, key: &EntryKey, wait: Duration) -> Result<Option<LockGuard>> {
        let path = self.dir.join(format!("{}.lock", key.name));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|e| io("cannot open the lock", &path, e))?;
        let deadline = Instant::now() + wait;
        let mut pause = Duration::from_millis(5);
        loop {
            // SAFETY: a valid open descriptor; LOCK_NB never blocks.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if rc == 0 {
                return Ok(Some(LockGuard { _file: file }));
            }
            let err = std::io::Error::last_os_error();
            if err.kind() != ErrorKind::WouldBlock {
                return Err(io("cannot lock", &path, err));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(pause.min(deadline - now)).await;
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }
}
