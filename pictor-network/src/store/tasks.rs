//! Tasks: their rows, the dispatch queue, expiries and per-job summaries.

use super::*;
use std::future::Future;

/// Tasks: their rows, the dispatch queue, expiries and per-job summaries.
pub trait TasksTx: Send {
    /// Inserts a task (its id is chosen by the caller).
    fn insert_task(&mut self, row: &TaskRow) -> impl Future<Output = StoreResult<()>> + Send;

    /// One more than the largest task id so far (1 in an empty store); the caller picks task ids.
    fn next_task_id(&mut self) -> impl Future<Output = StoreResult<u64>> + Send;

    /// One task.
    fn task(&mut self, id: u64) -> impl Future<Output = StoreResult<Option<TaskRow>>> + Send;

    /// Writes a task's mutable columns.
    fn update_task(&mut self, row: &TaskRow) -> impl Future<Output = StoreResult<()>> + Send;

    /// A job's tasks in split order.
    fn tasks_of_job(&mut self, job: u64) -> impl Future<Output = StoreResult<Vec<TaskRow>>> + Send;

    /// Pending tasks of queued or running jobs, by job priority order then task order, at most
    /// `limit`.
    fn leasable_tasks(
        &mut self,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<TaskRow>>> + Send;

    /// Leased tasks whose lease lapsed before `now_ms`.
    fn expired_task_leases(
        &mut self,
        now_ms: u64,
    ) -> impl Future<Output = StoreResult<Vec<TaskRow>>> + Send;

    /// Whether any of a job's tasks is not accepted (the job is not done).
    fn any_unaccepted_task(&mut self, job: u64) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Counts tasks by state name.
    fn count_tasks_in_state(
        &mut self,
        state_name: &str,
    ) -> impl Future<Output = StoreResult<u64>> + Send;

    /// Counts over a job's tasks (total, accepted, spent) without loading them.
    fn task_summary(&mut self, job: u64) -> impl Future<Output = StoreResult<TaskSummary>> + Send;

    /// The tasks of each of `jobs` (a page of a listing) counted by state; jobs without tasks
    /// are left out.
    fn task_progress(
        &mut self,
        jobs: &[u64],
    ) -> impl Future<Output = StoreResult<Vec<(u64, TaskProgress)>>> + Send;

    /// Up to `limit` of a job's tasks that are not final or still hold escrow, in split order.
    fn open_tasks_of_job(
        &mut self,
        job: u64,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<TaskRow>>> + Send;
}
