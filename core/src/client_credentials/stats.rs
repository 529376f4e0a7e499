//! Per-client counters.

use crate::counter::Counter;

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
    /// Tokens taken from the shared cache level (another process fetched them).
    pub shared_hits: u64,
    /// Failures of the shared level (unreachable, unwritable…); each time the client
    /// fetched directly instead.
    pub shared_errors: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub tokens_minted: Counter,
    pub cache_hits: Counter,
    pub refreshes: Counter,
    pub errors: Counter,
    pub shared_hits: Counter,
    pub shared_errors: Counter,
}

impl Counters {
    pub fn snapshot(&self) -> Stats {
        Stats {
            tokens_minted: self.tokens_minted.get(),
            cache_hits: self.cache_hits.get(),
            refreshes: self.refreshes.get(),
            errors: self.errors.get(),
            shared_hits: self.shared_hits.get(),
            shared_errors: self.shared_errors.get(),
        }
    }
}
