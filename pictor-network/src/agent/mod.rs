//! The worker and checker agents (issue 6): the programs a GPU owner and a checker run against a
//! network, built on `pictor-sdk`.
//!
//! - [`config`] — `worker.toml`, the file a GPU owner imports.
//! - [`cache`] — the content-addressed blob cache (BLAKE3-checked, LRU-evicted, shared by tasks).
//! - [`scene`] — fetching a scene's manifest and blobs and materializing its tree safely.
//! - [`worker`] — `init_worker`, `run_worker`, the benchmark.
//! - [`checker`] — `run_checker`.
//! - [`idle`] — the `--idle-command` supervisor.

pub mod cache;
pub mod checker;
pub mod config;
pub mod idle;
pub mod scene;
pub mod worker;

pub use cache::BlobCache;
pub use checker::{CheckerEvent, CheckerOptions, CheckerSummary, run_checker};
pub use config::WorkerConfig;
pub use worker::{
    WorkerEvent, WorkerOptions, WorkerSummary, benchmark_builtin, init_worker, run_worker,
};

use std::time::Duration;

/// Exponential backoff with full jitter, capped at 10 s: the agents' answer to a network that is
/// down.
#[derive(Clone, Debug, Default)]
pub(crate) struct Backoff {
    failures: u32,
}

impl Backoff {
    /// The longest wait between two attempts.
    pub(crate) const CAP: Duration = Duration::from_secs(10);

    /// The next delay: uniform in `[ceiling/2, ceiling]`, ceiling = min(10 s, 200 ms · 2ⁿ).
    pub(crate) fn next_delay(&mut self) -> Duration {
        let factor = 1u32 << self.failures.min(10);
        self.failures = self.failures.saturating_add(1);
        let ceiling = (Duration::from_millis(200) * factor).min(Self::CAP);
        let half = ceiling / 2;
        let jitter = random_unit();
        half + half.mul_f64(jitter)
    }

    /// Forget past failures.
    pub(crate) fn reset(&mut self) {
        self.failures = 0;
    }
}

/// A uniform number in `[0, 1)` from a generator seeded by the operating system.
pub(crate) fn random_unit() -> f64 {
    use rand::{Rng, SeedableRng};
    rand::rngs::StdRng::from_os_rng().random::<f64>()
}

/// True when an SDK error means "the network is not reachable now" (retry later) rather than a
/// refusal.
pub(crate) fn is_transient(error: &pictor_sdk::Error) -> bool {
    matches!(error, pictor_sdk::Error::Transport { .. }) || error.is_retryable()
}

pub(crate) use pictor_core::clock::now_ms;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps_at_ten_seconds() {
        let mut backoff = Backoff::default();
        let first = backoff.next_delay();
        assert!(first <= Duration::from_millis(200));
        for _ in 0..20 {
            assert!(backoff.next_delay() <= Backoff::CAP);
        }
        assert!(backoff.next_delay() >= Backoff::CAP / 2);
        backoff.reset();
        assert!(backoff.next_delay() <= Duration::from_millis(200));
    }
}
