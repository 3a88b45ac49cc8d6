//! Job events, numbered per job.

use super::*;
use std::future::Future;

/// Job events, numbered per job.
pub trait EventsTx: Send {
    /// Appends a job event.
    fn insert_event(&mut self, row: &EventRow) -> impl Future<Output = StoreResult<()>> + Send;

    /// A job's events with seq > `after`, at most `limit`.
    fn events_after(
        &mut self,
        job: u64,
        after: u64,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<EventRow>>> + Send;
}
