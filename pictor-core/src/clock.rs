//! Time as data: the coordinator and the agents read "now" from a [`Clock`] they are handed, so
//! a test can move time forward (a lease expiring, a worker going offline) instead of sleeping.
//!
//! Every stored timestamp is Unix milliseconds. [`SystemClock`] reads the wall clock;
//! [`ManualClock`] stands still until it is told to move.
//!
//! ```
//! use pictor_core::clock::{Clock, ManualClock};
//! let clock = ManualClock::new(1_000);
//! clock.advance_ms(120_000); // a lease of 120 s has now expired
//! assert_eq!(clock.now_ms(), 121_000);
//! ```

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time in Unix milliseconds.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
}

/// The real clock (`SystemTime`): what the coordinator and the agents read outside tests.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        now_ms()
    }
}

/// A clock that moves only when told: tests hand it to a coordinator and advance it past a lease's
/// expiry instead of waiting for the lease to lapse.
#[derive(Debug, Default)]
pub struct ManualClock {
    now_ms: AtomicU64,
}

impl ManualClock {
    /// A clock reading `start_ms`.
    pub fn new(start_ms: u64) -> Self {
        ManualClock {
            now_ms: AtomicU64::new(start_ms),
        }
    }

    /// A clock reading the wall clock's time now, then standing still.
    pub fn starting_now() -> Self {
        ManualClock::new(now_ms())
    }

    /// Moves the clock `ms` forward.
    pub fn advance_ms(&self, ms: u64) {
        self.now_ms.fetch_add(ms, Ordering::SeqCst);
    }

    /// Sets the clock to `ms` (tests only move it forward; nothing stops them moving it back).
    pub fn set_ms(&self, ms: u64) {
        self.now_ms.store(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.now_ms.load(Ordering::SeqCst)
    }
}

/// The clock a component gets when nobody hands it one: the wall clock.
pub fn system() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// The wall clock's time in Unix milliseconds (0 if the system clock is before 1970). The one place
/// the wall clock is read; everything that can take a [`Clock`] should.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(5);
        assert_eq!(clock.now_ms(), 5);
        clock.advance_ms(10);
        assert_eq!(clock.now_ms(), 15);
        clock.set_ms(100);
        assert_eq!(clock.now_ms(), 100);
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now_ms() > 1_577_836_800_000);
    }
}
