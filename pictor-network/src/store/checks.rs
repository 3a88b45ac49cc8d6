//! Checks of task results: their queue, leases and verdicts.

use super::*;
use std::future::Future;

/// Checks of task results: their queue, leases and verdicts.
pub trait ChecksTx: Send {
    /// Inserts a check; answers its id.
    fn insert_check(&mut self, row: &CheckRow) -> impl Future<Output = StoreResult<u64>> + Send;

    /// One check.
    fn check(&mut self, id: u64) -> impl Future<Output = StoreResult<Option<CheckRow>>> + Send;

    /// Writes a check's mutable columns.
    fn update_check(&mut self, row: &CheckRow) -> impl Future<Output = StoreResult<()>> + Send;

    /// Every result and confirmation check of a task's results, oldest first (never a probe:
    /// what is public of a task must not tell probes apart).
    fn checks_of_task(
        &mut self,
        task: u64,
    ) -> impl Future<Output = StoreResult<Vec<CheckRow>>> + Send;

    /// Drops the waiting or leased result checks of a task (its result no longer matters);
    /// confirmations of an earlier result and probes go on.
    fn drop_checks_of_task(&mut self, task: u64) -> impl Future<Output = StoreResult<()>> + Send;

    /// The oldest checks waiting that `checker` may take, at most `limit`, oldest first: a
    /// confirmation of a result it judged itself is not among them (so that confirmations only
    /// others can take never fill the window).
    fn pending_checks(
        &mut self,
        checker: u64,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<CheckRow>>> + Send;

    /// Leased checks whose lease lapsed before `now_ms`.
    fn expired_check_leases(
        &mut self,
        now_ms: u64,
    ) -> impl Future<Output = StoreResult<Vec<CheckRow>>> + Send;

    /// Counts checks in a state.
    fn count_checks_in_state(
        &mut self,
        state: &str,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
}
