//! Registered workers: their keys, offers, last contact and measured work.

use super::*;
use std::future::Future;

/// Registered workers: their keys, offers, last contact and measured work.
pub trait WorkersTx: Send {
    /// Inserts or replaces a worker.
    fn upsert_worker(&mut self, row: &WorkerRow) -> impl Future<Output = StoreResult<()>> + Send;

    /// One worker.
    fn worker(&mut self, id: u64) -> impl Future<Output = StoreResult<Option<WorkerRow>>> + Send;

    /// Every worker, by id.
    fn workers(&mut self) -> impl Future<Output = StoreResult<Vec<WorkerRow>>> + Send;

    /// Records that a worker was seen.
    fn touch_worker(
        &mut self,
        id: u64,
        now_ms: u64,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}
