//! An insert-only hash table with lock-free reads: the cache's maps (review L5).
//!
//! Readers load the current table (one `ArcSwap` load) and probe write-once cells with linear
//! probing. A writer (one at a time) fills an empty cell in place, so an insert copies nothing.
//! When half the cells are used the table is rebuilt with room for four times the entries it
//! keeps, dropping the ones `live` says are dead (expired tokens): each entry is copied O(1)
//! times amortised, and memory follows the live entries, not every key ever seen.

use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};

use arc_swap::{ArcSwap, Guard};

const MIN_CELLS: usize = 16;

/// Seeded at random per table, from a seed random per process (review N14): colliding keys
/// cannot be built ahead, so no key set makes one long probe run.
type Hasher = foldhash::fast::RandomState;

pub(crate) struct Table<K, V> {
    cells: ArcSwap<Cells<K, V>>,
    write: Mutex<()>,
    /// Entries copied by rebuilds since the table was made (for the test that inserts are O(1)).
    copied: AtomicU64,
}

pub(crate) struct Cells<K, V> {
    cells: Box<[OnceLock<(K, V)>]>,
    /// The table's, kept by every rebuild.
    hasher: Hasher,
    /// Filled cells; changed only under the table's write lock.
    used: AtomicUsize,
}

impl<K: Hash + Eq + Clone, V: Clone> Default for Table<K, V> {
    fn default() -> Self {
        Self {
            cells: ArcSwap::from_pointee(Cells::new(MIN_CELLS, Hasher::default())),
            write: Mutex::new(()),
            copied: AtomicU64::new(0),
        }
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Table<K, V> {
    /// The current cells, to [`Cells::get`] from without any lock.
    #[inline]
    pub fn load(&self) -> Guard<Arc<Cells<K, V>>> {
        self.cells.load()
    }

    /// The value of `key`, inserting `make()` if there is none. `live` tells which entries a
    /// rebuild keeps.
    pub fn get_or_insert(&self, key: &K, make: impl FnOnce() -> V, live: impl Fn(&V) -> bool) -> V {
        let _g = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let mut cur = self.cells.load_full();
        if let Some(v) = cur.get(key) {
            return v.clone();
        }
        if (cur.used.load(Relaxed) + 1) * 2 > cur.cells.len() {
            cur = self.rebuild(&cur, &live);
        }
        let v = make();
        cur.put(key.clone(), v.clone());
        v
    }

    fn rebuild(&self, old: &Cells<K, V>, live: &impl Fn(&V) -> bool) -> Arc<Cells<K, V>> {
        let kept: Vec<&(K, V)> = old
            .cells
            .iter()
            .filter_map(OnceLock::get)
            .filter(|(_, v)| live(v))
            .collect();
        let new = Cells::new(
            (kept.len() * 4).next_power_of_two().max(MIN_CELLS),
            old.hasher.clone(),
        );
        for (k, v) in &kept {
            new.put(k.clone(), v.clone());
        }
        self.copied.fetch_add(kept.len() as u64, Relaxed);
        let new = Arc::new(new);
        self.cells.store(new.clone());
        new
    }

    /// Entries held now (live or not yet dropped by a rebuild).
    pub fn len(&self) -> usize {
        self.cells.load().used.load(Relaxed)
    }

    pub fn copied(&self) -> u64 {
        self.copied.load(Relaxed)
    }
}

impl<K: Hash + Eq, V> Cells<K, V> {
    fn new(n: usize, hasher: Hasher) -> Self {
        Self {
            cells: (0..n).map(|_| OnceLock::new()).collect(),
            hasher,
            used: AtomicUsize::new(0),
        }
    }

    #[inline]
    pub fn get(&self, key: &K) -> Option<&V> {
        let mask = self.cells.len() - 1;
        let mut i = self.hasher.hash_one(key) as usize & mask;
        // At most half the cells are used, so an empty cell ends every probe.
        loop {
            match self.cells[i].get() {
                Some((k, v)) if k == key => return Some(v),
                Some(_) => i = (i + 1) & mask,
                None => return None,
            }
        }
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.cells.iter().filter_map(|c| c.get().map(|(_, v)| v))
    }

    /// Under the table's write lock, for a key not present.
    fn put(&self, key: K, value: V) {
        let mask = self.cells.len() - 1;
        let mut i = self.hasher.hash_one(&key) as usize & mask;
        while self.cells[i].get().is_some() {
            i = (i + 1) & mask;
        }
        let _ = self.cells[i].set((key, value));
        self.used.fetch_add(1, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_copy_a_bounded_number_of_entries_and_dead_ones_go() {
        let t: Table<u32, u32> = Table::default();
        for n in 0..10_000u32 {
            assert_eq!(t.get_or_insert(&n, || n * 2, |_| true), n * 2);
        }
        for n in 0..10_000u32 {
            assert_eq!(t.load().get(&n), Some(&(n * 2)));
        }
        assert_eq!(t.load().get(&10_001), None);
        assert!(t.copied() <= 2 * 10_000, "copied {}", t.copied());
        // Everything odd is dead: the next rebuilds drop it.
        for n in 10_000..30_000u32 {
            t.get_or_insert(&n, || n, |v| v % 2 == 0 && *v >= 20_000);
        }
        assert!(t.len() < 15_000, "{}", t.len());
        assert_eq!(t.load().get(&20_000), Some(&20_000));
    }

    #[test]
    fn every_table_hashes_with_a_seed_of_its_own() {
        let keys: Vec<String> = (0..64)
            .map(|n| format!("https://api-{n}.example.com"))
            .collect();
        let a: Table<String, ()> = Table::default();
        let b: Table<String, ()> = Table::default();
        let (ha, hb) = (a.load().hasher.clone(), b.load().hasher.clone());
        let differ = keys
            .iter()
            .filter(|k| ha.hash_one(k) != hb.hash_one(k))
            .count();
        assert!(differ > 60, "{differ} of 64 keys hash apart");
        // A rebuild keeps its table's seed: every key is still found.
        for k in &keys {
            a.get_or_insert(k, || (), |_| true);
        }
        assert!(keys.iter().all(|k| a.load().get(k).is_some()));
        assert_eq!(a.load().hasher.hash_one(&keys[0]), ha.hash_one(&keys[0]));
    }
}
