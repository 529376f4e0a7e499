//! The Redis backend: one sealed value per cache key under a fixed prefix, for every host of a
//! fleet. Remaining lives come from Redis (`PX` on write, `PTTL` read in the same `MULTI` as the
//! value), never from another host's clock. The lock is `SET NX PX` with a random value,
//! released only by its owner. Every operation, connecting included, is bounded by
//! [`TIMEOUT`], so a slow or dead Redis costs a caller at most that per operation.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, RedisResult, Script};
use arc_swap::ArcSwapOption;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::EntryKey;
use crate::error::{Error, Result};

/// The bound of one Redis operation (connecting included).
pub(crate) const TIMEOUT: Duration = Duration::from_millis(200);

/// Every key starts with it; the rest is the entry's digest name.
const PREFIX: &str = "tokenkeeper:v1:";

/// Deletes the lock only if it still holds this owner's value.
const RELEASE: &str = r"if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0";

pub(crate) struct RedisLevel {
    client: Client,
    /// `rediss://`: redis-rs takes rustls's process-wide provider, so one is installed then.
    tls: bool,
    /// This process's connection (a forked child makes its own: sockets and tasks belong to
    /// the parent's runtime).
    conn: ArcSwapOption<(u64, ConnectionManager)>,
    release: Script,
}

/// Held while this process fetches for a key; released by [`RedisLevel::unlock`], else it
/// lapses after its TTL (a holder killed with `kill -9`).
pub(crate) struct LockGuard {
    key: String,
    owner: String,
}

/// The crate's own errors name no URL or password: their text is safe to show.
fn failed(what: &str, e: ::redis::RedisError) -> Error {
    Error::Network(format!("shared cache (Redis): {what}: {e}"))
}

impl RedisLevel {
    /// Checks the URL; connects lazily, on the first operation.
    pub fn open(url: &str) -> Result<Self> {
        let client = Client::open(url).map_err(|_| invalid_url())?;
        Ok(Self {
            client,
            tls: url.starts_with("rediss://"),
            conn: ArcSwapOption::empty(),
            release: Script::new(RELEASE),
        })
    }

    fn conn(&self) -> RedisResult<ConnectionManager> {
        let gen = crate::runtime::generation();
        if let Some(c) = self.conn.load().as_ref().filter(|c| c.0 == gen) {
            return Ok(c.1.clone());
        }
        // redis-rs builds its TLS config from rustls's process-wide provider and takes no
        // finished config, so only a rediss:// level installs ring (as the HTTP clients use)
        // when the host has none; a plain redis:// or unix:// level installs nothing (N9).
        if self.tls && rustls::crypto::CryptoProvider::get_default().is_none() {
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            // One attempt per operation: a later call reconnects once Redis is back.
            .set_number_of_retries(0);
        let manager = ConnectionManager::new_lazy_with_config(self.client.clone(), config)?;
        let fresh = Arc::new((gen, manager.clone()));
        if let Some(old) = self.conn.swap(Some(fresh)) {
            if old.0 != gen {
                // The parent's: dropping it could wake tasks of a runtime this child lacks.
                std::mem::forget(old);
            }
        }
        Ok(manager)
    }

    /// Runs one operation, bounded by [`TIMEOUT`].
    async fn run<T, F>(&self, what: &str, op: impl FnOnce(ConnectionManager) -> F) -> Result<T>
    where
        F: Future<Output = RedisResult<T>>,
    {
        let conn = self.conn().map_err(|e| failed(what, e))?;
        match tokio::time::timeout(TIMEOUT, op(conn)).await {
            Ok(r) => r.map_err(|e| failed(what, e)),
            Err(_) => Err(Error::Timeout(format!(
                "shared cache (Redis): {what}: no answer within {} ms",
                TIMEOUT.as_millis()
            ))),
        }
    }

    /// The entry for `key` and its remaining life by Redis's clock; `Ok(None)` when there is
    /// none, or it is tampered, corrupt or foreign (the next publish replaces it).
    pub async fn read<T: DeserializeOwned>(&self, key: &EntryKey) -> Result<Option<(T, Duration)>> {
        let k = format!("{PREFIX}{}", key.name);
        let (value, pttl): (Option<Vec<u8>>, i64) = self
            .run("reading", |mut c| async move {
                ::redis::pipe()
                    .atomic()
                    .get(&k)
                    .pttl(&k)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        let Some(mut bytes) = value else {
            return Ok(None);
        };
        let entry = key.open(&bytes);
        zeroize::Zeroize::zeroize(&mut bytes);
        if entry.is_none() {
            tracing::debug!("shared cache: ignoring a Redis entry that does not open");
        }
        // -1: no expiry, which this crate never writes; -2: gone between the two reads.
        let ttl = u64::try_from(pttl).ok().map(Duration::from_millis);
        Ok(entry.zip(ttl))
    }

    /// Publishes `entry` for `ttl` (Redis expires it then).
    pub async fn write<T: Serialize>(
        &self,
        key: &EntryKey,
        entry: &T,
        ttl: Duration,
    ) -> Result<()> {
        let k = format!("{PREFIX}{}", key.name);
        let sealed = key.seal(entry);
        let px = ttl.as_millis().max(1) as u64;
        self.run("publishing", |mut c| async move {
            ::redis::cmd("SET")
                .arg(&k)
                .arg(sealed)
                .arg("PX")
                .arg(px)
                .query_async::<()>(&mut c)
                .await
        })
        .await
    }

    pub async fn remove(&self, key: &EntryKey) -> Result<()> {
        let k = format!("{PREFIX}{}", key.name);
        self.run("removing", |mut c| async move {
            ::redis::cmd("DEL").arg(&k).query_async::<()>(&mut c).await
        })
        .await
    }

    /// Takes the key's lock for `ttl`, polling with backoff up to `wait`; `Ok(None)` when
    /// another process still holds it then (the caller fetches on its own).
    pub async fn lock(
        &self,
        key: &EntryKey,
        wait: Duration,
        ttl: Duration,
    ) -> Result<Option<LockGuard>> {
        let k = format!("{PREFIX}{}:lock", key.name);
        let owner: String = crate::oauth::random::secret_bytes::<16>()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let px = ttl.as_millis().max(1) as u64;
        let deadline = Instant::now() + wait;
        let mut pause = Duration::from_millis(5);
        loop {
            let (kc, oc) = (k.clone(), owner.clone());
            let taken: Option<String> = self
                .run("locking", |mut c| async move {
                    ::redis::cmd("SET")
                        .arg(&kc)
                        .arg(&oc)
                        .arg("NX")
                        .arg("PX")
                        .arg(px)
                        .query_async(&mut c)
                        .await
                })
                .await?;
            if taken.is_some() {
                return Ok(Some(LockGuard { key: k, owner }));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(pause.min(deadline - now)).await;
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }

    /// Releases the lock if this process still owns it (compare-and-delete).
    pub async fn unlock(&self, guard: LockGuard) -> Result<()> {
        let release = &self.release;
        self.run("unlocking", |mut c| async move {
            release
                .key(&guard.key)
                .arg(&guard.owner)
                .invoke_async::<i64>(&mut c)
                .await
                .map(drop)
        })
        .await
    }
}

pub(crate) fn invalid_url() -> Error {
    Error::config(
        "shared cache: not a valid Redis URL (redis://host:6379/0, rediss://host:6380/0 or unix:///path/redis.sock)",
    )
}
