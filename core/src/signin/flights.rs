//! Refresh grants shared by every manager of the process.
//!
//! Two managers over one store (two objects wrapping the same keychain item, say) hold the
//! same refresh token. With rotation, only one of them may spend it: the second grant would
//! be a reuse, and reuse detection revokes the whole family. A binding hands the core its
//! store as a host object, so the managers share nothing the core could compare; what they
//! do share is the grant itself. A flight is keyed by a digest of (token URL, client id,
//! refresh token): the first manager takes its lock and sends the grant, and the outcome
//! stays with the key, so a manager that comes later with the same (now rotated-out) token
//! adopts the renewed credentials instead of sending it.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use super::user_credentials::UserCredentials;
use crate::runtime::PerProcess;

/// How many grants' outcomes are kept (oldest forgotten first).
pub(crate) const KEPT: usize = 256;

/// What became of the grant of one refresh token.
pub(crate) enum Outcome {
    /// Renewed credentials, with the sequence number of the grant.
    Renewed(UserCredentials, u64),
    /// The server refused the refresh token (`error`, `error_description`).
    Refused(String, Option<String>),
}

pub(crate) type Flight = tokio::sync::Mutex<Option<Outcome>>;

#[derive(Default)]
struct Flights {
    by_key: HashMap<[u8; 32], Arc<Flight>>,
    order: VecDeque<[u8; 32]>,
}

/// Per process: a forked child must not wait on a lock a parent's renewal holds.
static FLIGHTS: PerProcess<Mutex<Flights>> = PerProcess::new(Mutex::default);
static SEQ: AtomicU64 = AtomicU64::new(0);

/// The last grant's sequence number: a grant numbered above it was sent after this call.
pub(crate) fn seq() -> u64 {
    SEQ.load(Ordering::Acquire)
}

pub(crate) fn next_seq() -> u64 {
    SEQ.fetch_add(1, Ordering::AcqRel) + 1
}

/// The flight of one refresh token of one client at one token endpoint.
pub(crate) fn flight(token_url: &str, client_id: &str, refresh_token: &str) -> Arc<Flight> {
    let mut h = Sha256::new();
    for part in [token_url, client_id, refresh_token] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    let key: [u8; 32] = h.finalize().into();
    let all = FLIGHTS.get();
    let mut f = all.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(one) = f.by_key.get(&key) {
        return one.clone();
    }
    if f.order.len() == KEPT {
        if let Some(old) = f.order.pop_front() {
            f.by_key.remove(&old);
        }
    }
    let one = Arc::new(Flight::default());
    f.by_key.insert(key, one.clone());
    f.order.push_back(key);
    one
}
