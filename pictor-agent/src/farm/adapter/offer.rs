//! The farm's offer follows its queue: when Pictor's tasks wait in the farm's queue longer than
//! the delay the farm declared (its own work holds the nodes), the adapter registers the delay it
//! observes, so the network plans less work for the farm (and none under tight deadlines); when the
//! queue clears, it goes back towards the declared delay.

use super::Adapter;
use crate::farm::FarmEvent;
use crate::farm::engine::FarmEngine;
use std::collections::VecDeque;

/// The waits the observed delay is the median of.
const WINDOW: usize = 8;

/// The farm's recent queue waits and the delay registered with the network.
#[derive(Clone, Debug)]
pub(super) struct QueueWatch {
    waits_ms: VecDeque<u64>,
    declared_secs: u32,
    registered_secs: u32,
}

impl QueueWatch {
    pub(super) fn new(declared_secs: u32) -> Self {
        QueueWatch {
            waits_ms: VecDeque::with_capacity(WINDOW),
            declared_secs,
            registered_secs: declared_secs,
        }
    }

    /// Records how long a task waited in the farm's queue before it started; answers the delay
    /// to register when the offer should change: the median of the last waits (never below the
    /// declared delay), once it is half again above what is registered, or a third below it.
    pub(super) fn observe(&mut self, wait_ms: u64) -> Option<u32> {
        if self.waits_ms.len() == WINDOW {
            self.waits_ms.pop_front();
        }
        self.waits_ms.push_back(wait_ms);
        let mut sorted: Vec<u64> = self.waits_ms.iter().copied().collect();
        sorted.sort_unstable();
        let median_secs =
            u32::try_from(sorted[sorted.len() / 2].div_ceil(1_000)).unwrap_or(u32::MAX);
        let wanted = median_secs.max(self.declared_secs);
        let registered = self.registered_secs;
        let grew = u64::from(wanted) * 2 > u64::from(registered) * 3 + 1;
        let shrank = u64::from(wanted) * 3 < u64::from(registered) * 2;
        (grew || shrank).then_some(wanted)
    }

    /// The network took `secs` as the farm's delay.
    pub(super) fn registered(&mut self, secs: u32) {
        self.registered_secs = secs;
    }
}

impl<E: FarmEngine> Adapter<'_, E> {
    /// A task's job started on the farm after waiting `wait_ms` in its queue.
    pub(super) async fn started_after(&mut self, wait_ms: u64) {
        let Some(delay) = self.queue.observe(wait_ms) else {
            return;
        };
        self.request.queue_delay_secs = Some(delay);
        match self
            .ctx
            .client
            .workers()
            .register(self.request.clone())
            .await
        {
            Ok(_) => {
                self.queue.registered(delay);
                self.events.emit(FarmEvent::OfferChanged {
                    queue_delay_secs: delay,
                });
            }
            Err(error) => {
                tracing::warn!(%error, "cannot update the farm's queue delay; tried again later");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registered_delay_follows_a_slow_queue_and_returns_when_it_clears() {
        let mut watch = QueueWatch::new(30);
        assert_eq!(watch.observe(2_000), None, "a quick start changes nothing");
        assert_eq!(
            watch.observe(40_000),
            None,
            "one slow task is not the median"
        );
        assert_eq!(
            watch.observe(50_000),
            None,
            "a median of 40 s is within half again of 30"
        );
        assert_eq!(
            watch.observe(60_000),
            Some(50),
            "a median of 50 s is registered"
        );
        watch.registered(50);
        assert_eq!(
            watch.observe(70_000),
            None,
            "a median of 60 s is within half again of 50"
        );
        let mut back = None;
        for _ in 0..WINDOW {
            back = back.or(watch.observe(1_000));
        }
        assert_eq!(
            back,
            Some(30),
            "a clear queue returns to the declared delay, never below"
        );
    }
}
