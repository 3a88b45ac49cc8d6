//! The SQLite store: WAL journal, group commit (a write's caller answers only once an `fsync` of the
//! WAL covers its commit, so a reported write survives a crash or power loss; see `durability`),
//! foreign keys on, migrations embedded in the binary and run at open. Statements run on the
//! calling thread through `rusqlite` (`exec`): a transaction's statements cost what SQLite costs,
//! not a hand-off to a connection thread each.

mod accounts;
mod assets;
mod attempts;
mod checks;
mod durability;
mod events;
pub(crate) mod exec;
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
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

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
    (
        12,
        "probe candidates: the newest accepted tasks without a sort",
        include_str!("../../../migrations/0012_probe_candidates.sql"),
    ),
];

/// Connections of the read pool. Readers never block the writer in WAL mode, so this bounds only
/// how many reads run at once; more wait for a free connection (never for the writer).
const READ_CONNECTIONS: usize = 8;

/// Bytes of the database file read through a memory map.
const MMAP_BYTES: i64 = 256 << 20;

/// The write connection's page cache, KiB: the pages every settlement touches (the active jobs,
/// the tasks' indexes) stay in memory.
const WRITER_CACHE_KIB: u64 = 64 << 10;

/// WAL pages after which a commit copies them back into the database file (SQLite's default is
/// 1,000). Settlements rewrite the same few pages again and again; a longer WAL copies each back
/// once per checkpoint instead of once per 1,000 pages written.
const WAL_AUTOCHECKPOINT_PAGES: u32 = 10_000;

/// Prepared statements each connection keeps (the service runs about a hundred distinct ones).
const STATEMENT_CACHE: usize = 256;

/// How long a statement waits for a lock another connection holds (only a checkpoint or a
/// recovery can hold one against this store's own connections).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The SQLite implementation of [`Store`].
///
/// SQLite admits one writer at a time, so the store has exactly one write connection, and a pool
/// of read-only connections beside it. A write waits only for the write connection (which the
/// service's writers take one at a time anyway), never behind readers; readers wait only for each
/// other. This is what keeps a burst of reads from freezing the writes (issue 13).
#[derive(Clone, Debug)]
pub struct SqliteStore {
    writer: Arc<tokio::sync::Mutex<Connection>>,
    readers: Arc<Readers>,
    flusher: Arc<WalFlusher>,
}

/// The read-only connections, opened as reads need them (at most [`READ_CONNECTIONS`]).
#[derive(Debug)]
struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
}

/// Opens a connection to `path` with the store's settings.
fn connect(path: &Path, flags: OpenFlags) -> StoreResult<Connection> {
    let connection = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // Reads of pages through a memory map, not a `pread` each (the file is private).
    connection.pragma_update(None, "mmap_size", MMAP_BYTES)?;
    connection.pragma_update(None, "foreign_keys", true)?;
    Ok(connection)
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and runs pending migrations.
    pub async fn open(path: &Path) -> StoreResult<Self> {
        let path = path.to_path_buf();
        let writer = tokio::task::spawn_blocking({
            let path = path.clone();
            move || -> StoreResult<Connection> {
                let writer = connect(
                    &path,
                    OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
                )?;
                writer.pragma_update(None, "journal_mode", "WAL")?;
                // Commits do not wait for the disk; their callers wait for a shared flush
                // (`durability`): group commit.
                writer.pragma_update(None, "synchronous", "NORMAL")?;
                writer.pragma_update(None, "cache_size", format!("-{WRITER_CACHE_KIB}"))?;
                writer.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)?;
                Ok(writer)
            }
        })
        .await
        .map_err(|error| StoreError::Flush(std::io::Error::other(error)))??;
        // The write connection stays open for the store's life: were the last connection to
        // close, SQLite would delete the WAL file the flusher syncs.
        let store = SqliteStore {
            writer: Arc::new(tokio::sync::Mutex::new(writer)),
            readers: Arc::new(Readers {
                idle: Mutex::new(Vec::new()),
                permits: Arc::new(Semaphore::new(READ_CONNECTIONS)),
                path: path.clone(),
            }),
            flusher: WalFlusher::new(&path),
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        exec::raw_sql(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)",
        )
        .execute(&mut tx.tx)
        .await?;
        tx.commit().await?;
        for (version, description, sql) in MIGRATIONS {
            let mut tx = self.begin_write().await?;
            let applied: Option<i64> =
                exec::query_scalar("SELECT version FROM schema_migrations WHERE version = ?")
                    .bind(*version)
                    .fetch_optional(&mut tx.tx)
                    .await?;
            if applied.is_none() {
                exec::raw_sql(*sql).execute(&mut tx.tx).await?;
                exec::query(
                    "INSERT INTO schema_migrations (version, description, applied_at_ms) VALUES (?, ?, ?)",
                )
                .bind(*version)
                .bind(*description)
                .bind(to_i64(crate::clock::now_ms(), "applied_at_ms")?)
                .execute(&mut tx.tx)
                .await?;
                tracing::info!(version, description, "applied schema migration");
            }
            tx.commit().await?;
        }
        Ok(())
    }
}

/// The connection a transaction runs on: the store's one write connection, or a read-only one
/// borrowed from the pool. While `open`, dropping it rolls the transaction back.
pub struct TxConnection {
    held: Held,
    open: bool,
}

enum Held {
    Write(OwnedMutexGuard<Connection>),
    Read {
        connection: Option<Connection>,
        readers: Arc<Readers>,
        _permit: OwnedSemaphorePermit,
    },
}

impl TxConnection {
    fn connection(&self) -> &Connection {
        match &self.held {
            Held::Write(guard) => guard,
            Held::Read { connection, .. } => connection
                .as_ref()
                .unwrap_or_else(|| unreachable!("a read connection is only taken on drop")),
        }
    }

    fn connection_mut(&mut self) -> &mut Connection {
        match &mut self.held {
            Held::Write(guard) => guard,
            Held::Read { connection, .. } => connection
                .as_mut()
                .unwrap_or_else(|| unreachable!("a read connection is only taken on drop")),
        }
    }
}

impl std::ops::Deref for TxConnection {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.connection()
    }
}

impl std::ops::DerefMut for TxConnection {
    fn deref_mut(&mut self) -> &mut Connection {
        self.connection_mut()
    }
}

impl Drop for TxConnection {
    fn drop(&mut self) {
        if self.open {
            // Nothing of an unfinished transaction stays (a failed rollback leaves SQLite's
            // automatic one, which the next BEGIN would refuse: then the connection is dropped).
            if self.connection().execute_batch("ROLLBACK").is_err() {
                tracing::warn!("rolling back an unfinished SQLite transaction failed");
            }
        }
        if let Held::Read {
            connection,
            readers,
            ..
        } = &mut self.held
            && let Some(connection) = connection.take()
            && connection.is_autocommit()
        {
            readers
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(connection);
        }
    }
}

/// A transaction of [`SqliteStore`].
pub struct SqliteTx {
    tx: TxConnection,
    flusher: Arc<WalFlusher>,
}

impl SqliteTx {
    /// The transaction's connection (the migration to PostgreSQL reads tables whole through it).
    pub(crate) fn connection(&mut self) -> &mut Connection {
        &mut self.tx
    }
}

impl Store for SqliteStore {
    type Tx = SqliteTx;

    async fn begin_write(&self) -> StoreResult<SqliteTx> {
        let guard = Arc::clone(&self.writer).lock_owned().await;
        guard.execute_batch("BEGIN IMMEDIATE")?;
        Ok(SqliteTx {
            tx: TxConnection {
                held: Held::Write(guard),
                open: true,
            },
            flusher: Arc::clone(&self.flusher),
        })
    }

    async fn begin_read(&self) -> StoreResult<SqliteTx> {
        let permit = Arc::clone(&self.readers.permits)
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Closed)?;
        let idle = self
            .readers
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let connection = match idle {
            Some(connection) => connection,
            None => connect(&self.readers.path, OpenFlags::SQLITE_OPEN_READ_ONLY)?,
        };
        connection.execute_batch("BEGIN")?;
        Ok(SqliteTx {
            tx: TxConnection {
                held: Held::Read {
                    connection: Some(connection),
                    readers: Arc::clone(&self.readers),
                    _permit: permit,
                },
                open: true,
            },
            flusher: Arc::clone(&self.flusher),
        })
    }

    fn is_shared(&self) -> bool {
        false
    }
}

impl StoreTx for SqliteTx {
    async fn commit_visible(mut self) -> StoreResult<Flush> {
        self.tx.execute_batch("COMMIT")?;
        self.tx.open = false;
        Ok(self.flusher.committed())
    }
}

crate::store::people_sql::impl_people_tx!(SqliteTx, exec::QueryBuilder);
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

#[cfg(test)]
mod tests {
    use super::{SqliteStore, StoreError, exec};
    use crate::store::prelude::*;

    async fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("t.db"))
            .await
            .expect("open");
        (dir, store)
    }

    #[tokio::test]
    async fn a_write_dropped_before_its_commit_changes_nothing_and_the_next_write_proceeds() {
        let (_dir, store) = store().await;
        let mut tx = store.begin_write().await.expect("begin");
        tx.set_meta("k", "dropped").await.expect("write");
        drop(tx);
        let mut tx = store.begin_write().await.expect("the writer is free again");
        assert_eq!(tx.meta("k").await.expect("meta"), None);
        tx.set_meta("k", "kept").await.expect("write");
        tx.commit().await.expect("commit");
        let mut read = store.begin_read().await.expect("read");
        assert_eq!(read.meta("k").await.expect("meta").as_deref(), Some("kept"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn more_readers_than_connections_wait_their_turn_and_see_a_snapshot() {
        let (_dir, store) = store().await;
        let mut tx = store.begin_write().await.expect("begin");
        tx.set_meta("k", "v1").await.expect("write");
        tx.commit().await.expect("commit");
        // One reader opens its snapshot, then a write commits: the reader still sees v1.
        let mut early = store.begin_read().await.expect("read");
        assert_eq!(early.meta("k").await.expect("meta").as_deref(), Some("v1"));
        let mut tx = store.begin_write().await.expect("begin");
        tx.set_meta("k", "v2").await.expect("write");
        tx.commit().await.expect("commit");
        assert_eq!(early.meta("k").await.expect("meta").as_deref(), Some("v1"));
        drop(early);
        // Three times as many readers as connections, all holding theirs for a moment.
        let readers: Vec<_> = (0..3 * super::READ_CONNECTIONS)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    let mut read = store.begin_read().await.expect("read");
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    read.meta("k").await.expect("meta")
                })
            })
            .collect();
        for reader in readers {
            assert_eq!(reader.await.expect("reader").as_deref(), Some("v2"));
        }
        assert!(store.readers.idle.lock().expect("idle").len() <= super::READ_CONNECTIONS);
    }

    #[tokio::test]
    async fn a_column_read_as_another_type_is_a_clear_error() {
        let (_dir, store) = store().await;
        let mut read = store.begin_read().await.expect("read");
        let error = exec::query_scalar::<String>("SELECT 1 AS one")
            .fetch_one(read.connection())
            .await
            .expect_err("an integer is not text");
        assert!(
            matches!(&error, StoreError::Decode { column, expected: "TEXT", found: "INTEGER" } if column == "one"),
            "{error}"
        );
        let none = exec::query_scalar::<i64>("SELECT 1 WHERE 0")
            .fetch_one(read.connection())
            .await
            .expect_err("no row");
        assert!(matches!(none, StoreError::NoRow), "{none}");
    }
}
