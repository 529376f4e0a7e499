//! The clock of token deadlines: monotonic, and counting the time the machine spent suspended.
//!
//! `std::time::Instant` stops while a laptop, VM or phone sleeps (CLOCK_MONOTONIC on Linux and
//! Android, mach_absolute_time on Apple systems), so after a resume a cached token would look
//! younger than it is and be served past its expiry (review M4). CLOCK_BOOTTIME (Linux,
//! Android) and CLOCK_MONOTONIC (Apple: it counts sleep there) do count it; both are read
//! without a system call, like `Instant`.

use std::ops::{Add, Sub};
use std::time::Duration;

/// A moment on the suspend-aware monotonic clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Stamp(Duration);

impl Stamp {
    pub fn now() -> Self {
        Self(raw_now())
    }

    pub fn checked_sub(self, d: Duration) -> Option<Self> {
        self.0.checked_sub(d).map(Self)
    }

    pub fn saturating_duration_since(self, earlier: Stamp) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for Stamp {
    type Output = Stamp;

    /// Saturating: a deadline past the end of time is the end of time, never a panic.
    fn add(self, d: Duration) -> Stamp {
        Stamp(self.0.saturating_add(d))
    }
}

impl Sub<Stamp> for Stamp {
    type Output = Duration;

    fn sub(self, earlier: Stamp) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos",
    target_os = "ios"
))]
fn raw_now() -> Duration {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    const CLOCK: libc::clockid_t = libc::CLOCK_BOOTTIME;
    #[cfg(any(target_os = "macos", target_os = "ios"))]
    const CLOCK: libc::clockid_t = libc::CLOCK_MONOTONIC;
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant the OS supports.
    let rc = unsafe { libc::clock_gettime(CLOCK, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Elsewhere, `Instant` (which may not count suspend; said in the README).
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos",
    target_os = "ios"
)))]
fn raw_now() -> Duration {
    static BASE: std::sync::LazyLock<std::time::Instant> =
        std::sync::LazyLock::new(std::time::Instant::now);
    BASE.elapsed()
}

/// This boot's id and the suspend-aware clock in milliseconds: a moment that means the same to
/// every process of this boot, and that a wall-clock step does not move (the file level bounds
/// an entry's life by it too, review N12). `None` where the system names no boot.
pub(crate) fn boot_ms() -> Option<(&'static str, u64)> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        static ID: std::sync::LazyLock<Option<String>> = std::sync::LazyLock::new(|| {
            let id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
            let id = id.trim();
            (!id.is_empty() && id.len() <= 64).then(|| id.to_string())
        });
        let id = ID.as_deref()?;
        Some((id, u64::try_from(raw_now().as_millis()).unwrap_or(u64::MAX)))
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        None
    }
}

/// A deadline that costs two coarse clock reads to check (about 4 ns each, against ~35 ns for
/// the precise suspend-aware clock above): the hot path of a cache hit.
///
/// Linux's coarse clocks do not count suspend on the monotonic side, and the wall clock can be
/// set back, so the deadline is set on both and holds only while both are ahead of it: a
/// suspend moves the wall clock on, a wall-clock step back leaves the monotonic one. Each is
/// set one clock tick early, since a coarse read can lag by up to a tick. When it says
/// "passed", the caller asks the precise clock ([`Stamp`]), so it only ever errs early.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CoarseDeadline {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    mono: Duration,
    #[cfg(any(target_os = "linux", target_os = "android"))]
    wall: Duration,
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    at: Stamp,
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod coarse {
    use std::sync::LazyLock;
    use std::time::Duration;

    pub fn read(clock: libc::clockid_t) -> Duration {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec; the clock ids are constants Linux has
        // had since 2.6.32.
        let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
        if rc != 0 {
            // No coarse clock: read as "at the start of time", so every deadline looks passed
            // and the precise clock decides.
            return Duration::MAX;
        }
        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    }

    /// The coarse clocks' resolution (one tick, typically 1 to 4 ms).
    pub static TICK: LazyLock<Duration> = LazyLock::new(|| {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: as above.
        let rc = unsafe { libc::clock_getres(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
        if rc != 0 {
            return Duration::from_millis(10);
        }
        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32).max(Duration::from_millis(1))
    });
}

impl CoarseDeadline {
    /// A deadline `left` from now (now as [`Stamp::now`] would say).
    pub fn after(left: Duration) -> Self {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let left = left.saturating_sub(*coarse::TICK);
            Self {
                mono: coarse::read(libc::CLOCK_MONOTONIC_COARSE).saturating_add(left),
                wall: coarse::read(libc::CLOCK_REALTIME_COARSE).saturating_add(left),
            }
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        Self {
            at: Stamp::now() + left,
        }
    }

    /// Whether the deadline is surely still ahead.
    #[inline]
    pub fn ahead(&self) -> bool {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            coarse::read(libc::CLOCK_MONOTONIC_COARSE) < self.mono
                && coarse::read(libc::CLOCK_REALTIME_COARSE) < self.wall
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            Stamp::now() < self.at
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_is_monotonic_and_counts_like_instant_while_awake() {
        let (s0, i0) = (Stamp::now(), std::time::Instant::now());
        std::thread::sleep(Duration::from_millis(30));
        let (s1, i1) = (Stamp::now(), std::time::Instant::now());
        assert!(s1 > s0);
        let (ds, di) = (s1 - s0, i1 - i0);
        assert!(
            ds.abs_diff(di) < Duration::from_millis(5),
            "{ds:?} vs {di:?}"
        );
    }

    #[test]
    fn a_coarse_deadline_is_ahead_until_it_passes_and_never_late() {
        assert!(!CoarseDeadline::after(Duration::ZERO).ahead());
        let d = CoarseDeadline::after(Duration::from_millis(60));
        let t0 = std::time::Instant::now();
        assert!(d.ahead());
        loop {
            // Read before asking: "ahead" at any later moment must still be inside 60 ms.
            let elapsed = t0.elapsed();
            if !d.ahead() {
                break;
            }
            assert!(elapsed < Duration::from_millis(60), "late: {elapsed:?}");
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(CoarseDeadline::after(Duration::from_secs(3600)).ahead());
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn on_linux_it_is_the_boot_time_clock_which_counts_suspend() {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let before = Stamp::now();
        assert_eq!(
            unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) },
            0
        );
        let after = Stamp::now();
        let boot = Stamp(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32));
        assert!(before <= boot && boot <= after);
    }
}
