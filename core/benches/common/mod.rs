//! Shared by the benches: running a call on 8 threads at once.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// Runs `f` `iters` times on each of 8 threads started together; the wall time of all.
pub fn on_threads<F: Fn() + Send + Sync + 'static>(iters: u64, f: Arc<F>) -> Duration {
    let barrier = Arc::new(Barrier::new(9));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (f, barrier) = (f.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                for _ in 0..iters {
                    f();
                }
            })
        })
        .collect();
    barrier.wait();
    let t0 = Instant::now();
    for h in handles {
        h.join().unwrap();
    }
    t0.elapsed()
}
