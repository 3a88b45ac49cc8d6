//! The SQLite store: WAL journal, `synchronous = FULL` (a committed transaction survives a crash or
//! power loss), foreign keys on, migrations embedded in the binary and run at open.

mod accounts;
mod assets;
mod attempts;
mod checks;
mod events;
mod frames;
mod idempotency;
mod jobs;
mod ledger;
mod meta;
mod tasks;
mod workers;

use super::{
    AccountRow, AssetRow, AttemptRow, CheckRow, CheckState, Countable, EventRow, FrameRow, JobRow,
    SplitRow, Store, StoreError, StoreResult, StoreTx, TaskRow, TaskSummary, WorkRecord, WorkerRow,
};
use pictor_core::Money;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, Sqlite, SqlitePool, Transaction};
use std::path::Path;
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
];

/// Connections of the read pool. Readers never block the writer in WAL mode, so this bounds only
/// how many reads run at once; more wait for a free connection (never for the writer).
const READ_CONNECTIONS: u32 = 8;

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
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and runs pending migrations.
    pub async fn open(path: &Path) -> StoreResult<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        let store = SqliteStore {
            readers: writer.clone(),
            writer,
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
}

impl Store for SqliteStore {
    type Tx = SqliteTx;

    async fn begin_write(&self) -> StoreResult<SqliteTx> {
        Ok(SqliteTx {
            tx: self.writer.begin_with("BEGIN IMMEDIATE").await?,
        })
    }

    async fn begin_read(&self) -> StoreResult<SqliteTx> {
        Ok(SqliteTx {
            tx: self.readers.begin().await?,
        })
    }
}

/// The dispatch order of a tier (lower first).
fn dispatch_priority(tier: pictor_core::job::Tier) -> i64 {
    match tier {
        pictor_core::job::Tier::Priority => 0,
        pictor_core::job::Tier::Standard => 1,
        pictor_core::job::Tier::Economy => 2,
    }
}

fn to_i64(value: u64, column: &'static str) -> StoreResult<i64> {
    i64::try_from(value).map_err(|_| StoreError::OutOfRange { column })
}

fn get_u64(row: &SqliteRow, column: &'static str) -> StoreResult<u64> {
    let value: i64 = row.try_get(column)?;
    u64::try_from(value).map_err(|_| StoreError::OutOfRange { column })
}

fn get_u32(row: &SqliteRow, column: &'static str) -> StoreResult<u32> {
    let value: i64 = row.try_get(column)?;
    u32::try_from(value).map_err(|_| StoreError::OutOfRange { column })
}

fn get_opt_u64(row: &SqliteRow, column: &'static str) -> StoreResult<Option<u64>> {
    let value: Option<i64> = row.try_get(column)?;
    value
        .map(|v| u64::try_from(v).map_err(|_| StoreError::OutOfRange { column }))
        .transpose()
}

fn json<T: Serialize>(value: &T, column: &'static str) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|source| StoreError::Corrupt { column, source })
}

fn parse<T: DeserializeOwned>(text: &str, column: &'static str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|source| StoreError::Corrupt { column, source })
}

fn get_json<T: DeserializeOwned>(row: &SqliteRow, column: &'static str) -> StoreResult<T> {
    let text: String = row.try_get(column)?;
    parse(&text, column)
}

/// A unit enum's serde name (`"running"` for `JobState::Running`).
fn enum_text<T: Serialize>(value: &T, column: &'static str) -> StoreResult<String> {
    match serde_json::to_value(value).map_err(|source| StoreError::Corrupt { column, source })? {
        serde_json::Value::String(text) => Ok(text),
        _ => Err(StoreError::OutOfRange { column }),
    }
}

fn enum_parse<T: DeserializeOwned>(text: String, column: &'static str) -> StoreResult<T> {
    serde_json::from_value(serde_json::Value::String(text))
        .map_err(|source| StoreError::Corrupt { column, source })
}

fn money(row: &SqliteRow, column: &'static str) -> StoreResult<Money> {
    Ok(Money::from_micros(get_u64(row, column)?))
}

fn account_row(row: &SqliteRow) -> StoreResult<AccountRow> {
    Ok(AccountRow {
        id: get_u64(row, "id")?,
        role: enum_parse(row.try_get("role")?, "role")?,
        name: row.try_get("name")?,
        created_at_ms: get_u64(row, "created_at_ms")?,
    })
}

fn worker_row(row: &SqliteRow) -> StoreResult<WorkerRow> {
    let key: Vec<u8> = row.try_get("public_key")?;
    Ok(WorkerRow {
        account_id: get_u64(row, "account_id")?,
        name: row.try_get("name")?,
        public_key: key.try_into().map_err(|_| StoreError::OutOfRange {
            column: "public_key",
        })?,
        hardware: get_json(row, "hardware")?,
        price: money(row, "price")?,
        speed_millis: get_u32(row, "speed_millis")?,
        slots: get_u32(row, "slots")?,
        last_seen_ms: get_u64(row, "last_seen_ms")?,
        record: WorkRecord {
            accepted_tasks: get_u64(row, "accepted_tasks")?,
            bench_ms: get_u64(row, "accepted_bench_ms")?,
            wall_ms: get_u64(row, "accepted_wall_ms")?,
        },
    })
}

fn attempt_row(row: &SqliteRow) -> StoreResult<AttemptRow> {
    Ok(AttemptRow {
        task_id: get_u64(row, "task_id")?,
        attempt: get_u32(row, "attempt")?,
        worker_id: get_u64(row, "worker_id")?,
        leased_at_ms: get_u64(row, "leased_at_ms")?,
        delivered_at_ms: get_opt_u64(row, "delivered_at_ms")?,
    })
}

fn asset_row(row: &SqliteRow) -> StoreResult<AssetRow> {
    Ok(AssetRow {
        owner: get_u64(row, "owner")?,
        id: row.try_get("id")?,
        manifest_json: row.try_get("manifest")?,
        total_size: get_u64(row, "total_size")?,
        files: get_u32(row, "files")?,
        hashes: Vec::new(),
    })
}

fn job_row(row: &SqliteRow) -> StoreResult<JobRow> {
    let paused: Option<String> = row.try_get("paused_reason")?;
    Ok(JobRow {
        id: get_u64(row, "id")?,
        owner: get_u64(row, "owner")?,
        idempotency_key: row.try_get("idem_key")?,
        request_hash: row.try_get("request_hash")?,
        spec: get_json(row, "spec")?,
        state: enum_parse(row.try_get("state")?, "state")?,
        paused_reason: paused
            .map(|text| enum_parse(text, "paused_reason"))
            .transpose()?,
        quote: get_json(row, "quote")?,
        created_at_ms: get_u64(row, "created_at_ms")?,
        event_seq: get_u64(row, "event_seq")?,
    })
}

fn task_row(row: &SqliteRow) -> StoreResult<TaskRow> {
    let outputs: Option<String> = row.try_get("outputs")?;
    let hold_open: i64 = row.try_get("hold_open")?;
    Ok(TaskRow {
        id: get_u64(row, "id")?,
        job_id: get_u64(row, "job_id")?,
        index: get_u32(row, "idx")?,
        work: get_json(row, "work")?,
        work_bench_ms: get_u64(row, "work_bench_ms")?,
        state: get_json(row, "state")?,
        outputs: outputs.map(|text| parse(&text, "outputs")).transpose()?,
        hold: money(row, "hold")?,
        hold_generation: get_u32(row, "hold_generation")?,
        hold_open: hold_open != 0,
        agreed_cost: get_opt_u64(row, "agreed_cost")?.map(Money::from_micros),
        rejects: get_u32(row, "rejects")?,
    })
}

fn check_row(row: &SqliteRow) -> StoreResult<CheckRow> {
    let verdict: Option<String> = row.try_get("verdict")?;
    let evidence: Option<String> = row.try_get("evidence")?;
    let checker = get_opt_u64(row, "checker")?;
    Ok(CheckRow {
        id: get_u64(row, "id")?,
        task_id: get_u64(row, "task_id")?,
        attempt: get_u32(row, "attempt")?,
        escalation: get_u32(row, "escalation")?,
        state: enum_parse::<CheckState>(row.try_get("state")?, "state")?,
        checker,
        lease_expires_ms: get_opt_u64(row, "lease_expires_ms")?,
        verdict: verdict
            .map(|text| enum_parse(text, "verdict"))
            .transpose()?,
        evidence: evidence.map(|text| parse(&text, "evidence")).transpose()?,
    })
}

fn frame_row(row: &SqliteRow) -> StoreResult<FrameRow> {
    Ok(FrameRow {
        job_id: get_u64(row, "job_id")?,
        frame: get_u32(row, "frame")?,
        task_id: get_u64(row, "task_id")?,
        hash: row.try_get("hash")?,
        size: get_u64(row, "size")?,
        name: row.try_get("name")?,
    })
}

fn event_row(row: &SqliteRow) -> StoreResult<EventRow> {
    Ok(EventRow {
        job_id: get_u64(row, "job_id")?,
        seq: get_u64(row, "seq")?,
        kind: row.try_get("kind")?,
        at_ms: get_u64(row, "at_ms")?,
        data: get_json(row, "data")?,
    })
}

/// Job ids as read from an `INTEGER` column.
fn job_ids(ids: Vec<i64>) -> StoreResult<Vec<u64>> {
    ids.into_iter()
        .map(|id| u64::try_from(id).map_err(|_| StoreError::OutOfRange { column: "job_id" }))
        .collect()
}

/// The worker holding a leased task (the `lease_worker` column).
fn lease_holder(state: &pictor_core::task::TaskState) -> Option<u64> {
    match state {
        pictor_core::task::TaskState::Leased { worker, .. } => Some(worker.0),
        _ => None,
    }
}

fn lease_expiry(state: &pictor_core::task::TaskState) -> Option<u64> {
    match state {
        pictor_core::task::TaskState::Leased { expires_at_ms, .. } => Some(*expires_at_ms),
        _ => None,
    }
}

impl StoreTx for SqliteTx {
    async fn commit(self) -> StoreResult<()> {
        self.tx.commit().await?;
        Ok(())
    }
}
