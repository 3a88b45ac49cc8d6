//! What the public Explorer reads: the newest jobs, how many workers were seen lately, how many
//! events of a kind happened lately. Nothing here is private to a tenant by itself; the service
//! decides what of a row is shown.

use super::*;
use std::future::Future;

/// The Explorer's queries.
pub trait ExplorerTx: Send {
    /// The newest jobs, newest first, at most `limit`.
    fn recent_jobs(&mut self, limit: u32) -> impl Future<Output = StoreResult<Vec<JobRow>>> + Send;

    /// Workers whose last request was at or after `since_ms`.
    fn workers_seen_since(
        &mut self,
        since_ms: u64,
    ) -> impl Future<Output = StoreResult<u64>> + Send;

    /// Job events of `kind` at or after `since_ms`.
    fn events_since(
        &mut self,
        kind: &str,
        since_ms: u64,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
}
