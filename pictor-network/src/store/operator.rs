//! What the network's operator watches: the oldest leases (to find stuck tasks) and the workers
//! whose results are rejected again and again.

use super::StoreResult;
use std::future::Future;

/// A task leased now, with when its lease began.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeasedTaskRow {
    /// The task.
    pub task_id: u64,
    /// Its job.
    pub job_id: u64,
    /// Its estimated work, bench-milliseconds.
    pub work_bench_ms: u64,
    /// The worker holding the lease.
    pub worker_id: u64,
    /// When the worker leased it (its newest attempt), Unix ms.
    pub leased_at_ms: u64,
}

/// A worker's rejected results, over every job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RejectTally {
    /// The worker.
    pub worker_id: u64,
    /// Results rejected.
    pub rejects: u64,
    /// Jobs it is barred from.
    pub blocked_jobs: u64,
}

/// The operator's queries.
pub trait OperatorTx: Send {
    /// The `limit` oldest leases held now.
    fn oldest_leases(
        &mut self,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<LeasedTaskRow>>> + Send;

    /// Workers with at least `min_rejects` rejected results, most first, at most `limit`.
    fn workers_rejected(
        &mut self,
        min_rejects: u64,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<RejectTally>>> + Send;
}
