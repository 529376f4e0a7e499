//! Per-client counters.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

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

const SHARDS: usize = 8;

#[repr(align(64))]
#[derive(Debug, Default)]
struct Padded(AtomicU64);

/// A counter split over cache lines, so threads counting cache hits at once do not fight over
/// one line (the hit path is otherwise free of shared writes).
#[derive(Debug, Default)]
pub(crate) struct Counter([Padded; SHARDS]);

thread_local! {
    static SHARD: Cell<usize> = const { Cell::new(usize::MAX) };
}
static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

impl Counter {
    pub fn bump(&self) {
        let i = SHARD.with(|s| {
            if s.get() == usize::MAX {
                s.set(NEXT_SHARD.fetch_add(1, Relaxed) % SHARDS);
            }
            s.get()
        });
        self.0[i].0.fetch_add(1, Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.iter().map(|p| p.0.load(Relaxed)).sum()
    }
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub tokens_minted: Counter,
    pub cache_hits: Counter,
    pub refreshes: Counter,
    pub errors: Counter,
}

impl Counters {
    pub fn snapshot(&self) -> Stats {
        Stats {
            tokens_minted: self.tokens_minted.get(),
            cache_hits: self.cache_hits.get(),
            refreshes: self.refreshes.get(),
            errors: self.errors.get(),
        }
    }
}
