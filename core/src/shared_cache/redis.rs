//! The Redis backend: one sealed value per cache key under a fixed prefix, for every host of a
//! fleet. Lives are on Redis's clock (`TIME` at the write, sealed with the value; `TIME` and
//! `PTTL` read in the same `MULTI` as the value), never on another host's. The lock is `SET NX PX` with a random value,
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

use super::{left, millis, EntryKey, Stored};
use crate::error::{Error, Result};

/// The bound of one Redis operation (connecting included).
pub(crate) const TIMEOUT: Duration = Duration::from_millis(200);

/// Every key starts with it; the rest is the entry's digest name.
/// v2: values are [`Stored`] (their end sealed with them); v1 processes use other keys.
const PREFIX: &str = "tokenkeeper:v2:";

/// Deletes the lock only if it still holds this owner's value.
const RELEASE: &str = r"if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0";

/// Extends the lock only if it still holds this owner's value.
const RENEW: &str = r"if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
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
    renew: Script,
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
            renew: Script::new(RENEW),
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

    /// The value for `key` and what is left of its life by Redis's clock: the lesser of its
    /// `PTTL` and its sealed end less Redis's `TIME`, read in one `MULTI`, so a value put back
    /// with a longer `PX` lives no longer than it was sealed for (review N2). `Ok(None)` when
    /// there is none, or it is tampered, corrupt or foreign (the next publish replaces it).
    pub async fn read<T: DeserializeOwned>(&self, key: &EntryKey) -> Result<Option<(T, Duration)>> {
        let k = format!("{PREFIX}{}", key.name);
        let (value, pttl, time): (Option<Vec<u8>>, i64, (u64, u64)) = self
            .run("reading", |mut c| async move {
                ::redis::pipe()
                    .atomic()
                    .get(&k)
                    .pttl(&k)
                    .cmd("TIME")
                    .query_async(&mut c)
                    .await
            })
            .await?;
        let Some(mut bytes) = value else {
            return Ok(None);
        };
        let stored = key.open::<Stored<T>>(&bytes);
        zeroize::Zeroize::zeroize(&mut bytes);
        let Some(stored) = stored else {
            tracing::debug!("shared cache: ignoring a Redis entry that does not open");
            return Ok(None);
        };
        // -1: no expiry, which this crate never writes; -2: gone between the two reads.
        let Ok(pttl) = u64::try_from(pttl) else {
            return Ok(None);
        };
        let left = Duration::from_millis(pttl).min(left(stored.until_ms, time_ms(time)));
        Ok(Some((stored.v, left)))
    }

    /// Publishes `entry` for `life`: sealed with its end on Redis's clock (`TIME`, read
    /// first), and expired by Redis then (`PX`).
    pub async fn write<T: Serialize>(
        &self,
        key: &EntryKey,
        entry: &T,
        life: Duration,
    ) -> Result<()> {
        let k = format!("{PREFIX}{}", key.name);
        let now: (u64, u64) = self
            .run("reading the time", |mut c| async move {
                ::redis::cmd("TIME").query_async(&mut c).await
            })
            .await?;
        let life_ms = millis(life).max(1);
        let stored = Stored {
            v: entry,
            until_ms: time_ms(now).saturating_add(life_ms),
            boot: None,
        };
        let sealed = key.seal(&stored);
        self.run("publishing", |mut c| async move {
            ::redis::cmd("SET")
                .arg(&k)
                .arg(sealed)
                .arg("PX")
                .arg(life_ms)
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
        let px = millis(ttl).max(1);
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

    /// Extends the lock by `ttl` if this process still owns it: a holder whose fetch takes
    /// long keeps it (N8), a dead one's lapses after one `ttl`.
    pub async fn renew(&self, guard: &LockGuard, ttl: Duration) -> Result<()> {
        let renew = &self.renew;
        let px = millis(ttl).max(1);
        self.run("renewing the lock", |mut c| async move {
            renew
                .key(&guard.key)
                .arg(&guard.owner)
                .arg(px)
                .invoke_async::<i64>(&mut c)
                .await
                .map(drop)
        })
        .await
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

/// Redis's `TIME` (seconds, microseconds) in milliseconds since the Unix epoch.
fn time_ms((secs, micros): (u64, u64)) -> u64 {
    secs.saturating_mul(1000).saturating_add(micros / 1000)
}

pub(crate) fn invalid_url() -> Error {
    Error::config(
        "shared cache: not a valid Redis URL (redis://host:6379/0, rediss://host:6380/0 or unix:///path/redis.sock)",
    )
}
