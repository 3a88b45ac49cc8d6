//! Jobs, and the bookkeeping of big jobs inserted or closed a batch per write (splits, closing).

use super::*;
use std::future::Future;

/// Jobs, and the bookkeeping of big jobs inserted or closed a batch per write (splits, closing).
pub trait JobsTx: Send {
    /// Inserts a job; answers its id.
    fn insert_job(&mut self, row: &JobRow) -> impl Future<Output = StoreResult<u64>> + Send;

    /// One job.
    fn job(&mut self, id: u64) -> impl Future<Output = StoreResult<Option<JobRow>>> + Send;

    /// The job an owner submitted with an idempotency key.
    fn job_by_idempotency_key(
        &mut self,
        owner: u64,
        key: &str,
    ) -> impl Future<Output = StoreResult<Option<JobRow>>> + Send;

    /// Writes a job's mutable columns (state, pause reason, event sequence).
    fn update_job(&mut self, row: &JobRow) -> impl Future<Output = StoreResult<()>> + Send;

    /// An owner's jobs with id > `after`, by id, at most `limit`.
    fn jobs_of(
        &mut self,
        owner: u64,
        after: u64,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<JobRow>>> + Send;

    /// An owner's jobs matching `filter` (state, name, order, cursor), at most `limit`.
    fn find_jobs(
        &mut self,
        owner: u64,
        filter: &JobFilter,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<JobRow>>> + Send;

    /// An owner's jobs paused because the escrow ran out.
    fn jobs_paused_for_funds(
        &mut self,
        owner: u64,
    ) -> impl Future<Output = StoreResult<Vec<JobRow>>> + Send;

    /// Records a job still being split.
    fn upsert_split(&mut self, row: &SplitRow) -> impl Future<Output = StoreResult<()>> + Send;

    /// The split in progress of a job.
    fn split(&mut self, job: u64) -> impl Future<Output = StoreResult<Option<SplitRow>>> + Send;

    /// Forgets a job's split (done, or the job ended).
    fn delete_split(&mut self, job: u64) -> impl Future<Output = StoreResult<()>> + Send;

    /// Up to `limit` jobs whose split is unfinished.
    fn unfinished_splits(
        &mut self,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<u64>>> + Send;

    /// Marks (`true`) or unmarks a job as having tasks left to close.
    fn set_closing(
        &mut self,
        job: u64,
        closing: bool,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Up to `limit` jobs with tasks left to close.
    fn closing_jobs(&mut self, limit: u32) -> impl Future<Output = StoreResult<Vec<u64>>> + Send;
}
