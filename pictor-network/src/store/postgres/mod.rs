//! The PostgreSQL store: the scale-out backend of the coordinator (`pictor serve --database
//! postgres://…`), beside the embedded SQLite default. Same tables and columns as SQLite (integers
//! `BIGINT`, JSON documents as text, bytes `BYTEA`; `migrations/postgres/`), same row mappers
//! (`store::sql`); each aggregate's SQL in its own file.
//!
//! Durability is PostgreSQL's: a committed transaction is on disk (`synchronous_commit` as the
//! server is configured; the default `on` waits for the WAL flush). Reads run on a pool of
//! `REPEATABLE READ, READ ONLY` transactions, each a consistent snapshot that never waits for a
//! writer. Migrations run at open under a transaction-scoped advisory lock, so coordinators
//! starting at once on one database apply each migration once.
//!
//! # Replicas
//!
//! Any number of coordinators may share one database. Each writes on its own connection at
//! `READ COMMITTED`, and every write transaction first takes the transaction-scoped advisory lock
//! [`WRITE_LOCK`]: writes are serialised across all of them exactly as SQLite serialises one
//! process's writes, so two replicas never lease one task, settle one result twice or fork the
//! ledger's chain (the service catches its in-memory ledger up with the others' entries inside the
//! lock). A replica that dies mid-write loses its connection and PostgreSQL releases the lock with
//! the rollback. Job notices travel between replicas with `LISTEN`/`NOTIFY` (`notices`).
//!
//! The price of one lock: replicas add availability and spread the HTTP, authentication,
//! blob and read work, not write throughput (docs/ARCHITECTURE.md, "Deployment").

/// The statement builders the SQL shared with the SQLite store calls (`exec::query(…)`): sqlx's,
/// run on the PostgreSQL connection.
mod exec {
    pub(crate) use sqlx::{query, query_scalar};
}
mod accounts;
mod assets;
mod attempts;
mod checks;
mod events;
mod explorer;
mod frames;
mod idempotency;
mod jobs;
mod ledger;
mod meta;
mod notices;
mod sessions;
mod tasks;
mod workers;

pub(super) use super::sql::*;
pub(super) use super::{
    AccountRow, AssetRow, AttemptRow, CheckRow, Countable, EventRow, FrameRow, JobRow, SplitRow,
    Store, StoreError, StoreResult, StoreTx, TaskRow, TaskSummary, WorkerRow,
};
use notices::JOB_NOTICE_CHANNEL;
pub(super) use pictor_core::Money;
pub(super) use sqlx::Row;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};
use std::time::Duration;

/// Schema migrations, applied in order; each runs once, inside a transaction.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "initial: the schema of SQLite's migrations 1 to 3",
        include_str!("../../../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        "dispatch indexes: active jobs in dispatch order, leases by expiry",
        include_str!("../../../migrations/postgres/0002_dispatch_indexes.sql"),
    ),
    (
        3,
        "web sessions: Pictor Cloud's signed-in browsers; events by kind and time",
        include_str!("../../../migrations/postgres/0003_web_sessions.sql"),
    ),
    (
        4,
        "job names: the creator's job list searches by name",
        include_str!("../../../migrations/postgres/0004_job_names.sql"),
    ),
    (
        5,
        "people: one sign-in with a password for several accounts",
        include_str!("../../../migrations/postgres/0005_people.sql"),
    ),
    (
        6,
        "providers: workers created in the web app, worker activity, check times, entry times",
        include_str!("../../../migrations/postgres/0006_providers.sql"),
    ),
    (
        7,
        "webhooks and budgets",
        include_str!("../../../migrations/postgres/0007_webhooks_budgets.sql"),
    ),
    (
        8,
        "trust: check purposes (result, confirm, probe) and checkers' standing",
        include_str!("../../../migrations/postgres/0008_trust.sql"),
    ),
    (
        9,
        "render farms: a farm's queue delay",
        include_str!("../../../migrations/postgres/0009_farms.sql"),
    ),
    (
        10,
        "probe candidates: the newest accepted tasks without a sort",
        include_str!("../../../migrations/postgres/0010_probe_candidates.sql"),
    ),
];

/// The advisory lock key migrations hold (any constant; "pictor" in ASCII).
const MIGRATION_LOCK: i64 = 0x7069_6374_6f72;

/// The advisory lock key every write transaction holds until it ends ("pictorw" in ASCII): one
/// writer at a time across every coordinator on the database.
pub const WRITE_LOCK: i64 = 0x70_6963_746f_7277;

/// Connections of the read pool: how many reads run at once (more wait for a free connection,
/// never for the writer).
const READ_CONNECTIONS: u32 = 8;

/// How long opening waits for the database before it gives up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The PostgreSQL implementation of [`Store`]: one write connection (the service serialises this
/// process's writes, [`WRITE_LOCK`] everyone's) and a pool of read connections.
#[derive(Clone, Debug)]
pub struct PgStore {
    writer: PgPool,
    readers: PgPool,
}

impl PgStore {
    /// Connects to the database `options` name and runs pending migrations.
    pub async fn open(options: PgConnectOptions) -> StoreResult<Self> {
        let writer = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(options.clone())
            .await?;
        let readers = PgPoolOptions::new()
            .max_connections(READ_CONNECTIONS)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(options)
            .await?;
        let store = PgStore { writer, readers };
        store.migrate().await?;
        Ok(store)
    }

    /// The write connection's pool (the migration from SQLite writes through it).
    pub(crate) fn writer_pool(&self) -> &PgPool {
        &self.writer
    }

    async fn migrate(&self) -> StoreResult<()> {
        for (version, description, sql) in MIGRATIONS {
            let mut tx = self.writer.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(MIGRATION_LOCK)
                .execute(&mut *tx)
                .await?;
            sqlx::raw_sql(
                "CREATE TABLE IF NOT EXISTS schema_migrations (
                     version BIGINT PRIMARY KEY, description TEXT NOT NULL, applied_at_ms BIGINT NOT NULL)",
            )
            .execute(&mut *tx)
            .await?;
            let applied: Option<i64> =
                sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                    .bind(version)
                    .fetch_optional(&mut *tx)
                    .await?;
            if applied.is_none() {
                sqlx::raw_sql(sqlx::AssertSqlSafe(*sql))
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO schema_migrations (version, description, applied_at_ms) VALUES ($1, $2, $3)",
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

/// A transaction of [`PgStore`].
pub struct PgTx {
    tx: Transaction<'static, Postgres>,
}

impl Store for PgStore {
    type Tx = PgTx;

    async fn begin_write(&self) -> StoreResult<PgTx> {
        let mut tx = self.writer.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(WRITE_LOCK)
            .execute(&mut *tx)
            .await?;
        Ok(PgTx { tx })
    }

    async fn begin_read(&self) -> StoreResult<PgTx> {
        Ok(PgTx {
            tx: self
                .readers
                .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .await?,
        })
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn watch_jobs(
        &self,
        notices: tokio::sync::broadcast::Sender<u64>,
    ) -> Option<crate::store::JobWatch> {
        Some(notices::watch(self, notices))
    }
}

impl StoreTx for PgTx {
    async fn commit_visible(self) -> StoreResult<crate::store::Flush> {
        // PostgreSQL flushes its WAL at commit (`synchronous_commit = on`).
        self.tx.commit().await?;
        Ok(crate::store::Flush::done())
    }
}

crate::store::people_sql::impl_people_tx!(PgTx, sqlx::QueryBuilder<sqlx::Postgres>);
crate::store::providers_sql::impl_providers_tx!(
    PgTx,
    crate::store::providers_sql::Placeholders::Numbered
);
crate::store::alerts_sql::impl_alerts_tx!(
    PgTx,
    crate::store::providers_sql::Placeholders::Numbered
);
crate::store::operator_sql::impl_operator_tx!(
    PgTx,
    crate::store::providers_sql::Placeholders::Numbered
);
crate::store::trust_sql::impl_trust_tx!(PgTx, crate::store::providers_sql::Placeholders::Numbered);
