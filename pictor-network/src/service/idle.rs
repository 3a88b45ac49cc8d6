//! The idle fleet: which workers' last lease request found no task, and how often the coordinator
//! asks such workers to poll.
//!
//! An idle worker's next poll is answered from a read snapshot first (`Coordinator::idle_poll`).
//! And when many workers are idle, a `204 No Content` to a lease request carries `Retry-After`:
//! the fleet's idle polls are spread so that they add up to about
//! [`Config::idle_polls_per_second`](super::Config::idle_polls_per_second) — 10,000 idle workers
//! polling every second would otherwise fill the coordinator's cores with reads that find
//! nothing. Memory only: after a restart every worker's first request takes the write path, which
//! decides for real.

use super::{Coordinator, Store};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The longest poll interval the coordinator suggests.
pub(crate) const MAX_IDLE_POLL: Duration = Duration::from_secs(30);

/// Workers whose last lease request found no task, with when they asked.
#[derive(Default)]
pub(crate) struct IdleWorkers {
    workers: std::sync::Mutex<HashMap<u64, u64>>,
    /// When entries of workers that stopped asking were last removed, ms.
    pruned_ms: AtomicU64,
}

impl IdleWorkers {
    /// Whether `worker`'s last lease request found nothing.
    pub(crate) fn contains(&self, worker: u64) -> bool {
        self.lock().contains_key(&worker)
    }

    /// Records the outcome of `worker`'s lease request at `now_ms`; forgets, at most once a second,
    /// the idle workers that have not asked for `forget_after_ms`.
    pub(crate) fn set(&self, worker: u64, idle: bool, now_ms: u64, forget_after_ms: u64) {
        let mut workers = self.lock();
        if idle {
            workers.insert(worker, now_ms);
        } else {
            workers.remove(&worker);
        }
        if now_ms.saturating_sub(self.pruned_ms.load(Ordering::Relaxed)) >= 1_000 {
            self.pruned_ms.store(now_ms, Ordering::Relaxed);
            let cutoff = now_ms.saturating_sub(forget_after_ms);
            workers.retain(|_, asked| *asked >= cutoff);
        }
    }

    /// How many workers are idle (asked within the forgetting window and found nothing).
    pub(crate) fn count(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, u64>> {
        // Plain data: a panic while holding the lock cannot leave it half-written.
        self.workers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<S: Store> Coordinator<S> {
    /// How long an idle worker should wait before its next lease request: `None` while the idle
    /// fleet polling once a second stays within `idle_polls_per_second` (or the setting is 0),
    /// else the whole seconds that spread its polls to that rate, at most 30 s.
    pub fn idle_poll_interval(&self) -> Option<Duration> {
        let rate = u64::from(self.config.idle_polls_per_second);
        let idle = self.idle_workers.count() as u64;
        if rate == 0 || idle <= rate {
            return None;
        }
        Some(Duration::from_secs(idle.div_ceil(rate)).min(MAX_IDLE_POLL))
    }
}
