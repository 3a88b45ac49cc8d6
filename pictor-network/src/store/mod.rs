//! Durable state of the coordinator behind traits, so the service code runs unchanged on SQLite
//! (the embedded default, [`sqlite::SqliteStore`]) and on a PostgreSQL implementation later.
//!
//! The operations are grouped by aggregate, one trait each in its own file (`accounts`, `workers`,
//! `assets`, `jobs`, `tasks`, `attempts`, `checks`, `frames`, `events`, `ledger`, `idempotency`,
//! `meta`), and a backend implements each in its own file too (`sqlite/`). [`StoreTx`] is all of
//! them plus `commit`; code that calls them imports [`prelude`].
//!
//! Every change happens inside one [`StoreTx`]: the service reads rows, applies the pure state
//! machines of `pictor-core`, writes the rows back together with the ledger entries and job events it
//! produced, and commits once. A crash before the commit changes nothing; after it, everything is
//! durable. Writers are serialised (one ledger, one write connection; on a shared PostgreSQL
//! database, one writer across every coordinator); readers run concurrently on their own
//! connections and never wait for a writer (see [`Store::begin_read`]).

pub mod accounts;
mod alerts_sql;
pub mod assets;
pub mod attempts;
pub mod budgets;
pub mod checks;
pub mod events;
pub mod explorer;
pub mod frames;
pub mod idempotency;
pub mod jobs;
pub mod ledger;
mod listing;
pub mod meta;
pub mod migrate;
pub mod operator;
mod operator_sql;
pub mod people;
mod people_sql;
pub mod postgres;
pub mod providers;
mod providers_sql;
pub mod rows;
pub mod sessions;
mod sql;
pub mod sqlite;
pub mod tasks;
pub mod trust;
mod trust_sql;
pub mod webhooks;
pub mod workers;

pub use accounts::AccountsTx;
pub use assets::AssetsTx;
pub use attempts::AttemptsTx;
pub use budgets::BudgetsTx;
pub use checks::ChecksTx;
pub use events::EventsTx;
pub use explorer::ExplorerTx;
pub use frames::FramesTx;
pub use idempotency::IdempotencyTx;
pub use jobs::JobsTx;
pub use ledger::LedgerTx;
pub use meta::MetaTx;
pub use operator::OperatorTx;
pub use people::{PeopleTx, PersonRow};
pub use providers::ProvidersTx;
pub use rows::*;
pub use sessions::{SessionRow, SessionsTx};
pub use sqlite::Flush;
pub use tasks::TasksTx;
pub use trust::{StandingRow, TrustTx};
pub use webhooks::WebhooksTx;
pub use workers::WorkersTx;

use std::future::Future;

/// Every store trait, for code that calls store operations on a transaction type (`use
/// crate::store::prelude::*;`): a method of an aggregate's trait is only found with the trait in
/// scope.
pub mod prelude {
    pub use super::{
        AccountsTx, AssetsTx, AttemptsTx, BudgetsTx, ChecksTx, EventsTx, ExplorerTx, FramesTx,
        IdempotencyTx, JobsTx, LedgerTx, MetaTx, OperatorTx, PeopleTx, ProvidersTx, SessionsTx,
        Store, StoreTx, TasksTx, TrustTx, WebhooksTx, WorkersTx,
    };
}

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
    /// Flushing committed writes to disk failed: they are committed in the database, but
    /// whether they survive a power cut is unknown.
    #[error("flushing the database's write-ahead log: {0}")]
    Flush(std::io::Error),
    /// The embedded database (SQLite) refused or failed.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored column holds a value of another type than the store reads it as.
    #[error("stored {column} is {found}, read as {expected}")]
    Decode {
        /// Name of the column.
        column: String,
        /// The type it is read as.
        expected: &'static str,
        /// What it holds.
        found: &'static str,
    },
    /// The store was closed.
    #[error("the store is closed")]
    Closed,
    /// A statement that answers one row answered none.
    #[error("the database answered no row where one was expected")]
    NoRow,
    /// A stored value is out of its type's range.
    #[error("stored {column} is out of range")]
    OutOfRange {
        /// Name of the column (or bound value) whose integer does not fit, e.g. `size`; writes
        /// check it too.
        column: &'static str,
    },
}

impl StoreError {
    /// Whether the database could not be reached (connection lost or refused, the server shutting
    /// down or starting): the transaction did not commit, and the same request may succeed in a
    /// moment.
    pub fn is_unreachable(&self) -> bool {
        let StoreError::Database(error) = self else {
            return false;
        };
        match error {
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            // PostgreSQL's connection exceptions (class 08) and operator interventions that end
            // sessions (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now).
            sqlx::Error::Database(database) => database.code().is_some_and(|code| {
                code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03")
            }),
            _ => false,
        }
    }
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

    /// Whether other coordinators may write to this store too (replicas on one database). Then a
    /// write must first catch up with what the others committed (the ledger's new entries), and
    /// job notices travel through the store ([`EventsTx::announce_jobs`], [`Store::watch_jobs`]).
    /// The embedded SQLite store belongs to one process: `false`.
    fn is_shared(&self) -> bool;

    /// Starts forwarding the job ids other coordinators announce ([`EventsTx::announce_jobs`]) to
    /// `notices`, until the returned handle is dropped; after a lost connection it sends
    /// [`EVERY_JOB`] (anything may have been missed). `None` when the store has no such channel
    /// (it is not shared).
    fn watch_jobs(&self, notices: tokio::sync::broadcast::Sender<u64>) -> Option<JobWatch> {
        let _ = notices;
        None
    }
}

/// The notice "any job may have new events": watchers re-read rather than wait.
pub const EVERY_JOB: u64 = u64::MAX;

/// A running [`Store::watch_jobs`] forwarder; dropping it stops the forwarding.
#[derive(Debug)]
pub struct JobWatch {
    task: tokio::task::JoinHandle<()>,
}

impl JobWatch {
    /// Wraps the forwarding task, which is aborted when the watch is dropped.
    pub(crate) fn new(task: tokio::task::JoinHandle<()>) -> Self {
        JobWatch { task }
    }
}

impl Drop for JobWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One transaction: every aggregate's operations (each its own trait, so a backend implements
/// them file by file). Dropping it without [`StoreTx::commit`] rolls it back.
pub trait StoreTx:
    MetaTx
    + AccountsTx
    + WorkersTx
    + AssetsTx
    + JobsTx
    + TasksTx
    + AttemptsTx
    + ChecksTx
    + FramesTx
    + EventsTx
    + LedgerTx
    + IdempotencyTx
    + SessionsTx
    + PeopleTx
    + ProvidersTx
    + WebhooksTx
    + BudgetsTx
    + OperatorTx
    + ExplorerTx
    + TrustTx
    + Send
{
    /// Commits every change of the transaction and waits until it is durable.
    fn commit(self) -> impl Future<Output = StoreResult<()>> + Send
    where
        Self: Sized,
    {
        async move { self.commit_visible().await?.wait().await }
    }

    /// Commits every change of the transaction: others see it once this returns, and it is
    /// durable once the returned [`Flush`] is waited for (a writer waits for it after letting
    /// the next writer in, so writers share flushes).
    fn commit_visible(self) -> impl Future<Output = StoreResult<Flush>> + Send;
}

/// What [`MetaTx::count`] counts.
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
