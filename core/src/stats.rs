//! Per-client counters.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A snapshot of a client's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Tokens received from the token endpoint on behalf of this client.
    pub tokens_minted: u64,
    /// Calls answered from the cache without waiting for the network.
    pub cache_hits: u64,
    /// Background refreshes started ahead of expiry.
    pub refreshes: u64,
    /// Failed fetches (each failed fetch counts once, however many callers waited for it).
    pub errors: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub tokens_minted: AtomicU64,
    pub cache_hits: AtomicU64,
    pub refreshes: AtomicU64,
    pub errors: AtomicU64,
}

impl Counters {
    pub fn bump(c: &AtomicU64) {
        c.fetch_add(1, Relaxed);
    }

    pub fn snapshot(&self) -> Stats {
        Stats {
            tokens_minted: self.tokens_minted.load(Relaxed),
            cache_hits: self.cache_hits.load(Relaxed),
            refreshes: self.refreshes.load(Relaxed),
            errors: self.errors.load(Relaxed),
        }
    }
}
