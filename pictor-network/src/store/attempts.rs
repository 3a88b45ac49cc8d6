//! Who leased each attempt of a task, and what each worker did in each job (failures, rejects, blocks, accepted work).

use super::*;
use std::future::Future;

/// Who leased each attempt of a task, and what each worker did in each job (failures, rejects, blocks, accepted work).
pub trait AttemptsTx: Send {
    /// Counts one more rejected result of `worker` in `job`; answers the new count.
    fn record_reject(
        &mut self,
        job: u64,
        worker: u64,
    ) -> impl Future<Output = StoreResult<u32>> + Send;

    /// Counts one more failed or expired attempt of `worker` in `job`; answers the new count.
    fn record_failure(
        &mut self,
        job: u64,
        worker: u64,
    ) -> impl Future<Output = StoreResult<u32>> + Send;

    /// Tasks the worker holds a lease on now.
    fn count_leases_of(&mut self, worker: u64) -> impl Future<Output = StoreResult<u64>> + Send;

    /// Records a new attempt (a lease) of a task.
    fn insert_attempt(&mut self, row: &AttemptRow) -> impl Future<Output = StoreResult<()>> + Send;

    /// One attempt of a task.
    fn attempt(
        &mut self,
        task: u64,
        attempt: u32,
    ) -> impl Future<Output = StoreResult<Option<AttemptRow>>> + Send;

    /// Records when an attempt's result arrived.
    fn mark_delivered(
        &mut self,
        task: u64,
        attempt: u32,
        now_ms: u64,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Adds one accepted task's work and wall time to a worker's [`WorkRecord`].
    fn add_accepted_work(
        &mut self,
        worker: u64,
        bench_ms: u64,
        wall_ms: u64,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Bars a worker from a job.
    fn block_worker(
        &mut self,
        job: u64,
        worker: u64,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// True when the worker is barred from the job.
    fn is_blocked(
        &mut self,
        job: u64,
        worker: u64,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
}
