//! A counter that threads can bump at once without sharing a cache line.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

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
