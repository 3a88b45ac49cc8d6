//! [`SignInLimiter`]: how many sign-in attempts a client address, and the whole coordinator, may
//! make per minute — so that guessing keys or passwords from one address, or from many, is slow.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The window attempts are counted over.
const WINDOW: Duration = Duration::from_secs(60);
/// The whole coordinator takes this many times one client's allowance per window.
const GLOBAL_FACTOR: u32 = 10;

/// Counts sign-in attempts per client address and in total, in fixed one-minute windows.
#[derive(Debug)]
pub struct SignInLimiter {
    per_client: u32,
    state: Mutex<Windows>,
}

#[derive(Debug)]
struct Windows {
    started: Instant,
    total: u32,
    clients: HashMap<IpAddr, u32>,
}

impl SignInLimiter {
    /// A limiter allowing `per_client` attempts per minute from one address (at least 1).
    pub fn new(per_client: u32) -> Self {
        SignInLimiter {
            per_client: per_client.max(1),
            state: Mutex::new(Windows {
                started: Instant::now(),
                total: 0,
                clients: HashMap::new(),
            }),
        }
    }

    /// Counts an attempt from `client`; answers false (and counts nothing) when it is over the
    /// client's or the coordinator's allowance for this minute.
    pub fn allow(&self, client: IpAddr) -> bool {
        self.allow_at(client, Instant::now())
    }

    fn allow_at(&self, client: IpAddr, now: Instant) -> bool {
        // The counters are consistent after any panic (each step is one update): ignore poison.
        let mut windows = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if now.duration_since(windows.started) >= WINDOW {
            windows.started = now;
            windows.total = 0;
            windows.clients.clear();
        }
        let global = self.per_client.saturating_mul(GLOBAL_FACTOR);
        let attempts = windows.clients.get(&client).copied().unwrap_or(0);
        if attempts >= self.per_client || windows.total >= global {
            return false;
        }
        windows.clients.insert(client, attempts + 1);
        windows.total += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_gets_its_allowance_per_minute_and_all_clients_ten_times_it() {
        let limiter = SignInLimiter::new(3);
        let start = Instant::now();
        let one: IpAddr = [10, 0, 0, 1].into();
        for _ in 0..3 {
            assert!(limiter.allow_at(one, start));
        }
        assert!(
            !limiter.allow_at(one, start),
            "a fourth attempt in the minute"
        );
        assert!(
            limiter.allow_at([10, 0, 0, 2].into(), start),
            "another address has its own allowance"
        );
        assert!(limiter.allow_at(one, start + WINDOW), "a new minute");
        // 30 in total per minute, however many addresses.
        let limiter = SignInLimiter::new(3);
        let allowed = (0..100u8)
            .filter(|i| limiter.allow_at([10, 1, 0, *i].into(), start))
            .count();
        assert_eq!(allowed, 30);
    }
}
