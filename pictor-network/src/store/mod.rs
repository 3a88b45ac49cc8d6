//! Durable state of the coordinator behind one trait, so the service code runs unchanged on SQLite
//! (the embedded default, [`sqlite::SqliteStore`]) and on a PostgreSQL implementation later.
//!
//! Every change happens inside one [`StoreTx`]: the service reads rows, applies the pure state
//! machines of `pictor-core`, writes the rows back together with the ledger entries and job events it
//! produced, and commits once. A crash before the commit changes nothing; after it, everything is
//! durable. Writers are serialised (one ledger, one write connection); readers run concurrently on
//! their own connections and never wait for a writer (see [`Store::begin_read`]).

pub mod rows;
pub mod sqlite;

pub use rows::*;

use std::future::Future;

/// A failure of the store; the service logs it and answers 500 `internal`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database refused or failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A stored JSON column did not decode (a corrupt row or a newer schema).
    #[error("stored {column} does not decode: {source}")]
    Corrupt {
        /// Name of the column whose JSON failed to decode (or, on a write, to encode), e.g. `spec`.
        column: &'static str,
        /// The decoder's error.
        source: serde_json::Error,
    },
    /// A stored value is out of its type's range.
    #[error("stored {column} is out of range")]
    OutOfRange {
        /// Name of the column (or bound value) whose integer does not fit, e.g. `size`; writes
        /// check it too.
        column: &'static str,
    },
}

/// Result of store operations.
pub type StoreResult<T> = std::result::Result<T, StoreError>;

/// A database of the coordinator's state.
pub trait Store: Clone + Send + Sync + 'static {
    /// The transaction both `begin_write` and `begin_read` hand out (a read one refuses writes).
    type Tx: StoreTx;

    /// Starts a write transaction. Writes are serialised (one at a time); a write never waits for
    /// readers.
    fn begin_write(&self) -> impl Future<Output = StoreResult<Self::Tx>> + Send;

    /// Starts a read-only transaction: a consistent snapshot that never waits for the writer. Any
    /// write through it fails.
    fn begin_read(&self) -> impl Future<Output = StoreResult<Self::Tx>> + Send;
}

/// One transaction. Dropping it without [`StoreTx::commit`] rolls it back.
pub trait StoreTx: Send {
    /// Commits every change of the transaction.
    fn commit(self) -> impl Future<Output = StoreResult<()>> + Send;

    // ----- meta ---------------------------------------------------------------------------------

    /// A value of the key-value meta table.
    fn meta(&mut self, key: &str) -> impl Future<Output = StoreResult<Option<String>>> + Send;
    /// Sets a meta value.
    fn set_meta(&mut self, key: &str, value: &str) -> impl Future<Output = StoreResult<()>> + Send;

    // ----- accounts -----------------------------------------------------------------------------

    /// Inserts an account and its key hash; answers the new id.
    fn insert_account(
        &mut self,
        role: &str,
        name: &str,
        key_hash: &[u8; 32],
        now_ms: u64,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
    /// One account.
    fn account(&mut self, id: u64) -> impl Future<Output = StoreResult<Option<AccountRow>>> + Send;
    /// The account an API key hash belongs to.
    fn account_by_key(
        &mut self,
        key_hash: &[u8; 32],
    ) -> impl Future<Output = StoreResult<Option<AccountRow>>> + Send;

    // ----- workers ------------------------------------------------------------------------------

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

    // ----- blobs and assets ---------------------------------------------------------------------

    /// True when `account` proved it holds `hash`.
    fn holds_blob(
        &mut self,
        account: u64,
        hash: &str,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Records that `account` holds `hash`.
    fn add_blob_holder(
        &mut self,
        account: u64,
        hash: &str,
        size: u64,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Bytes of the blobs `account` holds (what counts against its storage quota).
    fn held_bytes(&mut self, account: u64) -> impl Future<Output = StoreResult<u64>> + Send;
    /// Stores a committed manifest (idempotent per owner and id).
    fn insert_asset(&mut self, row: &AssetRow) -> impl Future<Output = StoreResult<()>> + Send;
    /// A manifest committed by `owner`.
    fn asset(
        &mut self,
        owner: u64,
        id: &str,
    ) -> impl Future<Output = StoreResult<Option<AssetRow>>> + Send;
    /// Any owner's manifest with this id (for workers and checkers of a job using it).
    fn asset_any_owner(
        &mut self,
        id: &str,
    ) -> impl Future<Output = StoreResult<Option<AssetRow>>> + Send;
    /// True when the asset's manifest lists the blob.
    fn asset_contains(
        &mut self,
        asset: &str,
        hash: &str,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// True when `account` (acting as `role`) may read the asset: a worker holding a lease on a task
    /// of a job rendering it, or a checker holding a check of such a task.
    fn may_read_asset(
        &mut self,
        account: u64,
        role: &str,
        asset: &str,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// True when `account` (acting as `role`) may download the blob without holding it: a creator
    /// whose job's accepted output it is, a worker holding a lease on a job whose scene lists it, a
    /// checker holding a check whose result or scene lists it.
    fn may_read_blob(
        &mut self,
        account: u64,
        role: &str,
        hash: &str,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    // ----- jobs ---------------------------------------------------------------------------------

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
    /// An owner's jobs paused because the escrow ran out.
    fn jobs_paused_for_funds(
        &mut self,
        owner: u64,
    ) -> impl Future<Output = StoreResult<Vec<JobRow>>> + Send;

    // ----- tasks --------------------------------------------------------------------------------

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
    /// Counts a job's tasks that are not accepted.
    fn count_unaccepted_tasks(&mut self, job: u64)
    -> impl Future<Output = StoreResult<u64>> + Send;
    /// Counts tasks by state name.
    fn count_tasks_in_state(
        &mut self,
        state_name: &str,
    ) -> impl Future<Output = StoreResult<u64>> + Send;

    /// Counts over a job's tasks (total, accepted, spent) without loading them.
    fn task_summary(&mut self, job: u64) -> impl Future<Output = StoreResult<TaskSummary>> + Send;
    /// Up to `limit` of a job's tasks that are not final or still hold escrow, in split order.
    fn open_tasks_of_job(
        &mut self,
        job: u64,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<TaskRow>>> + Send;
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

    // ----- checks -------------------------------------------------------------------------------

    /// Inserts a check; answers its id.
    fn insert_check(&mut self, row: &CheckRow) -> impl Future<Output = StoreResult<u64>> + Send;
    /// One check.
    fn check(&mut self, id: u64) -> impl Future<Output = StoreResult<Option<CheckRow>>> + Send;
    /// Writes a check's mutable columns.
    fn update_check(&mut self, row: &CheckRow) -> impl Future<Output = StoreResult<()>> + Send;
    /// Drops the waiting or leased checks of a task (its result no longer matters).
    fn drop_checks_of_task(&mut self, task: u64) -> impl Future<Output = StoreResult<()>> + Send;
    /// The oldest check waiting for a checker.
    fn next_pending_check(&mut self) -> impl Future<Output = StoreResult<Option<CheckRow>>> + Send;
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

    // ----- frames and events --------------------------------------------------------------------

    /// Records an accepted output.
    fn insert_frame(&mut self, row: &FrameRow) -> impl Future<Output = StoreResult<()>> + Send;
    /// A job's accepted outputs by frame then task.
    fn frames_of(&mut self, job: u64) -> impl Future<Output = StoreResult<Vec<FrameRow>>> + Send;
    /// Forgets a job's accepted outputs of some frames (before re-rendering them).
    fn delete_frames(
        &mut self,
        job: u64,
        frames: &[u32],
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Appends a job event.
    fn insert_event(&mut self, row: &EventRow) -> impl Future<Output = StoreResult<()>> + Send;
    /// A job's events with seq > `after`, at most `limit`.
    fn events_after(
        &mut self,
        job: u64,
        after: u64,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<EventRow>>> + Send;

    // ----- ledger -------------------------------------------------------------------------------

    /// Appends journal entries `(seq, canonical bytes)`.
    fn append_ledger_entries(
        &mut self,
        entries: &[(u64, Vec<u8>)],
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Appends a seal `(upto_seq, canonical bytes)`.
    fn append_ledger_seal(
        &mut self,
        upto_seq: u64,
        bytes: &[u8],
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Entries with seq > `after`, at most `limit`, as `(seq, bytes)`.
    fn ledger_entries(
        &mut self,
        after: Option<u64>,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<(u64, Vec<u8>)>>> + Send;
    /// Seals with `from <= upto_seq <= to`, as `(upto_seq, bytes)`.
    fn ledger_seals(
        &mut self,
        from: u64,
        to: u64,
    ) -> impl Future<Output = StoreResult<Vec<(u64, Vec<u8>)>>> + Send;
    /// The seal with the highest `upto_seq`, as `(upto_seq, bytes)`; `None` before the first seal.
    fn last_ledger_seal(
        &mut self,
    ) -> impl Future<Output = StoreResult<Option<(u64, Vec<u8>)>>> + Send;

    // ----- idempotency and counters ---------------------------------------------------------

    /// The stored `(request hash, response)` of a keyed request.
    fn idempotent_response(
        &mut self,
        account: u64,
        route: &str,
        key: &str,
    ) -> impl Future<Output = StoreResult<Option<(String, String)>>> + Send;
    /// Stores the response of a keyed request.
    fn store_idempotent_response(
        &mut self,
        account: u64,
        route: &str,
        key: &str,
        request_hash: &str,
        response: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Counts rows of a table (`accounts`, `workers`, `jobs_active`, `ledger_entries`).
    fn count(&mut self, what: Countable) -> impl Future<Output = StoreResult<u64>> + Send;
}

/// What [`StoreTx::count`] counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Countable {
    /// Accounts.
    Accounts,
    /// Registered workers.
    Workers,
    /// Jobs not in a final state.
    ActiveJobs,
    /// Journal entries.
    LedgerEntries,
}
