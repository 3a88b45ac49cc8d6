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

    /// Tells the coordinators sharing this store that `jobs` got events, delivered when the
    /// transaction commits (nothing on a rollback). A no-op on a store that is not shared.
    fn announce_jobs(&mut self, jobs: &[u64]) -> impl Future<Output = StoreResult<()>> + Send;
}
