//! The SQLite store: WAL journal, group commit (a write's caller answers only once an `fsync` of the
//! WAL covers its commit, so a reported write survives a crash or power loss; see `durability`),
//! foreign keys on, migrations embedded in the binary and run at open.

mod accounts;
mod assets;
mod attempts;
mod checks;
mod durability;
mod events;
mod explorer;
mod frames;
mod idempotency;
mod jobs;
mod ledger;
mod meta;
mod sessions;
mod tasks;
mod workers;

pub(super) use super::sql::*;
pub(super) use super::{
    AccountRow, AssetRow, AttemptRow, CheckRow, Countable, EventRow, FrameRow, JobRow, SplitRow,
    Store, StoreError, StoreResult, StoreTx, TaskRow, TaskSummary, WorkerRow,
};
pub use durability::Flush;
use durability::WalFlusher;
pub(super) use pictor_core::Money;
pub(super) use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Schema migrations, applied in order; each runs once, inside a transaction.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../../../migrations/0001_initial.sql"),
    ),
    (
        2,
        "hardening: worker slots and record, task attempts, failures per job",
        include_str!("../../../migrations/0002_hardening.sql"),
    ),
    (
        3,
        "faithful frames: the file name the scene gives a frame",
        include_str!("../../../migrations/0003_faithful_frames.sql"),
    ),
    (
        4,
        "dispatch indexes: active jobs in dispatch order, leases by expiry",
        include_str!("../../../migrations/0004_dispatch_indexes.sql"),
    ),
    (
        5,
        "web sessions: Pictor Cloud's signed-in browsers; events by kind and time",
        include_str!("../../../migrations/0005_web_sessions.sql"),
    ),
    (
        6,
        "job names: the creator's job list searches by name",
        include_str!("../../../migrations/0006_job_names.sql"),
    ),
    (
        7,
        "people: one sign-in with a password for several accounts",
        include_str!("../../../migrations/0007_people.sql"),
    ),
    (
        8,
        "providers: workers created in the web app, worker activity, check times, entry times",
        include_str!("../../../migrations/0008_providers.sql"),
    ),
    (
        9,
        "webhooks and budgets",
        include_str!("../../../migrations/0009_webhooks_budgets.sql"),
    ),
    (
        10,
        "trust: check purposes (result, confirm, probe) and checkers' standing",
        include_str!("../../../migrations/0010_trust.sql"),
    ),
    (
        11,
        "render farms: a farm's queue delay",
        include_str!("../../../migrations/0011_farms.sql"),
    ),
];

/// Connections of the read pool. Readers never block the writer in WAL mode, so this bounds only
/// how many reads run at once; more wait for a free connection (never for the writer).
const READ_CONNECTIONS: u32 = 8;

/// Bytes of the database file read through a memory map.
const MMAP_BYTES: u64 = 256 << 20;

/// The write connection's page cache, KiB: the pages every settlement touches (the active jobs,
/// the tasks' indexes) stay in memory.
const WRITER_CACHE_KIB: u64 = 64 << 10;

/// WAL pages after which a commit copies them back into the database file (SQLite's default is
/// 1,000). Settlements rewrite the same few pages again and again; a longer WAL copies each back
/// once per checkpoint instead of once per 1,000 pages written.
const WAL_AUTOCHECKPOINT_PAGES: u32 = 10_000;

/// The SQLite implementation of [`Store`].
///
/// SQLite admits one writer at a time, so the store has exactly one write connection, and a pool
/// of read-only connections beside it. A write waits only for the write connection (which the
/// service's writers take one at a time anyway), never behind readers; readers wait only for each
/// other. This is what keeps a burst of reads from freezing the writes (issue 13).
#[derive(Clone, Debug)]
pub struct SqliteStore {
    writer: SqlitePool,
    readers: SqlitePool,
    flusher: Arc<WalFlusher>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and runs pending migrations.
    pub async fn open(path: &Path) -> StoreResult<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // Commits do not wait for the disk; their callers wait for a shared flush
            // (`durability`): group commit.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // Reads of pages through a memory map, not a `pread` each (the file is private).
            .pragma("mmap_size", MMAP_BYTES.to_string());
        // The write connection stays open for the store's life: were the last connection to
        // close, SQLite would delete the WAL file the flusher syncs.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .max_lifetime(None)
            .idle_timeout(None)
            .connect_with(
                options
                    .clone()
                    .pragma("cache_size", format!("-{WRITER_CACHE_KIB}"))
                    .pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES.to_string()),
            )
            .await?;
        let store = SqliteStore {
            readers: writer.clone(),
            writer,
            flusher: WalFlusher::new(path),
        };
        store.migrate().await?;
        // The file is created and migrated: only now can read-only connections open it.
        let readers = SqlitePoolOptions::new()
            .max_connections(READ_CONNECTIONS)
            .connect_with(options.read_only(true).create_if_missing(false))
            .await?;
        Ok(SqliteStore { readers, ..store })
    }

    /// The write connection's pool (for benchmarks that measure raw SQLite next to the service).
    pub fn pool(&self) -> &SqlitePool {
        &self.writer
    }

    /// The read-only connections' pool (the migration reads through it).
    pub(crate) fn reader_pool(&self) -> &SqlitePool {
        &self.readers
    }

    async fn migrate(&self) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)",
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        for (version, description, sql) in MIGRATIONS {
            let mut tx = self.writer.begin().await?;
            let applied: Option<i64> =
                sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = ?")
                    .bind(version)
                    .fetch_optional(&mut *tx)
                    .await?;
            if applied.is_none() {
                sqlx::raw_sql(sqlx::AssertSqlSafe(*sql))
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO schema_migrations (version, description, applied_at_ms) VALUES (?, ?, ?)",
                )
                .bind(version)
                .bind(description)
                .bind(to_i64(crate::clock::now_ms(), "applied_at_ms")?)
                .execute(&mut *tx)
                .await?;
                tracing::info!(version, description, "applied schema migration");
            }
            tx.commit().await?;
        }
        Ok(())
    }
}

/// A transaction of [`SqliteStore`].
pub struct SqliteTx {
    tx: Transaction<'static, Sqlite>,
    flusher: Arc<WalFlusher>,
}

impl Store for SqliteStore {
    type Tx = SqliteTx;

    async fn begin_write(&self) -> StoreResult<SqliteTx> {
        Ok(SqliteTx {
            tx: self.writer.begin_with("BEGIN IMMEDIATE").await?,
            flusher: Arc::clone(&self.flusher),
        })
    }

    async fn begin_read(&self) -> StoreResult<SqliteTx> {
        Ok(SqliteTx {
            tx: self.readers.begin().await?,
            flusher: Arc::clone(&self.flusher),
        })
    }

    fn is_shared(&self) -> bool {
        false
    }
}

impl StoreTx for SqliteTx {
    async fn commit_visible(self) -> StoreResult<Flush> {
        self.tx.commit().await?;
        Ok(self.flusher.committed())
    }
}

crate::store::people_sql::impl_people_tx!(SqliteTx);
crate::store::providers_sql::impl_providers_tx!(
    SqliteTx,
    crate::store::providers_sql::Placeholders::Question
);
crate::store::alerts_sql::impl_alerts_tx!(
    SqliteTx,
    crate::store::providers_sql::Placeholders::Question
);
crate::store::operator_sql::impl_operator_tx!(
    SqliteTx,
    crate::store::providers_sql::Placeholders::Question
);
crate::store::trust_sql::impl_trust_tx!(
    SqliteTx,
    crate::store::providers_sql::Placeholders::Question
);
