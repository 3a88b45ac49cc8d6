//! The SQLite store: WAL journal, `synchronous = FULL` (a committed transaction survives a crash or
//! power loss), foreign keys on, migrations embedded in the binary and run at open.

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
        include_str!("../../migrations/0001_initial.sql"),
    ),
    (
        2,
        "hardening: worker slots and record, task attempts, failures per job",
        include_str!("../../migrations/0002_hardening.sql"),
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

    async fn meta(&mut self, key: &str) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = ?")
            .bind(key)
            .fetch_optional(&mut *self.tx)
            .await?)
    }

    async fn set_meta(&mut self, key: &str, value: &str) -> StoreResult<()> {
        sqlx::query("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn insert_account(
        &mut self,
        role: &str,
        name: &str,
        key_hash: &[u8; 32],
        now_ms: u64,
    ) -> StoreResult<u64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO accounts (role, name, created_at_ms) VALUES (?, ?, ?) RETURNING id",
        )
        .bind(role)
        .bind(name)
        .bind(to_i64(now_ms, "created_at_ms")?)
        .fetch_one(&mut *self.tx)
        .await?;
        sqlx::query("INSERT INTO api_keys (key_hash, account_id) VALUES (?, ?)")
            .bind(&key_hash[..])
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        u64::try_from(id).map_err(|_| StoreError::OutOfRange { column: "id" })
    }

    async fn account(&mut self, id: u64) -> StoreResult<Option<AccountRow>> {
        sqlx::query("SELECT * FROM accounts WHERE id = ?")
            .bind(to_i64(id, "id")?)
            .fetch_optional(&mut *self.tx)
            .await?
            .as_ref()
            .map(account_row)
            .transpose()
    }

    async fn account_by_key(&mut self, key_hash: &[u8; 32]) -> StoreResult<Option<AccountRow>> {
        sqlx::query(
            "SELECT a.* FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.key_hash = ?",
        )
        .bind(&key_hash[..])
        .fetch_optional(&mut *self.tx)
        .await?
        .as_ref()
        .map(account_row)
        .transpose()
    }

    async fn upsert_worker(&mut self, row: &WorkerRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO workers (account_id, name, public_key, hardware, price, speed_millis, slots, last_seen_ms)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT(account_id) DO UPDATE SET name = excluded.name, public_key = excluded.public_key,
               hardware = excluded.hardware, price = excluded.price, speed_millis = excluded.speed_millis,
               slots = excluded.slots, last_seen_ms = excluded.last_seen_ms",
        )
        .bind(to_i64(row.account_id, "account_id")?)
        .bind(&row.name)
        .bind(&row.public_key[..])
        .bind(json(&row.hardware, "hardware")?)
        .bind(to_i64(row.price.micros(), "price")?)
        .bind(i64::from(row.speed_millis))
        .bind(i64::from(row.slots))
        .bind(to_i64(row.last_seen_ms, "last_seen_ms")?)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn worker(&mut self, id: u64) -> StoreResult<Option<WorkerRow>> {
        sqlx::query("SELECT * FROM workers WHERE account_id = ?")
            .bind(to_i64(id, "account_id")?)
            .fetch_optional(&mut *self.tx)
            .await?
            .as_ref()
            .map(worker_row)
            .transpose()
    }

    async fn workers(&mut self) -> StoreResult<Vec<WorkerRow>> {
        sqlx::query("SELECT * FROM workers ORDER BY account_id")
            .fetch_all(&mut *self.tx)
            .await?
            .iter()
            .map(worker_row)
            .collect()
    }

    async fn touch_worker(&mut self, id: u64, now_ms: u64) -> StoreResult<()> {
        sqlx::query("UPDATE workers SET last_seen_ms = ? WHERE account_id = ?")
            .bind(to_i64(now_ms, "last_seen_ms")?)
            .bind(to_i64(id, "account_id")?)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn holds_blob(&mut self, account: u64, hash: &str) -> StoreResult<bool> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM blob_holders WHERE account_id = ? AND hash = ?")
                .bind(to_i64(account, "account_id")?)
                .bind(hash)
                .fetch_optional(&mut *self.tx)
                .await?;
        Ok(found.is_some())
    }

    async fn add_blob_holder(&mut self, account: u64, hash: &str, size: u64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO blob_holders (account_id, hash, size) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(to_i64(account, "account_id")?)
        .bind(hash)
        .bind(to_i64(size, "size")?)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn held_bytes(&mut self, account: u64) -> StoreResult<u64> {
        let total: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(size), 0) FROM blob_holders WHERE account_id = ?",
        )
        .bind(to_i64(account, "account_id")?)
        .fetch_one(&mut *self.tx)
        .await?;
        u64::try_from(total).map_err(|_| StoreError::OutOfRange { column: "size" })
    }

    async fn insert_asset(&mut self, row: &AssetRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO assets (owner, id, manifest, total_size, files) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT DO NOTHING",
        )
        .bind(to_i64(row.owner, "owner")?)
        .bind(&row.id)
        .bind(&row.manifest_json)
        .bind(to_i64(row.total_size, "total_size")?)
        .bind(i64::from(row.files))
        .execute(&mut *self.tx)
        .await?;
        for hash in &row.hashes {
            sqlx::query(
                "INSERT INTO asset_blobs (asset_id, hash) VALUES (?, ?) ON CONFLICT DO NOTHING",
            )
            .bind(&row.id)
            .bind(hash)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }

    async fn asset(&mut self, owner: u64, id: &str) -> StoreResult<Option<AssetRow>> {
        sqlx::query("SELECT * FROM assets WHERE owner = ? AND id = ?")
            .bind(to_i64(owner, "owner")?)
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?
            .as_ref()
            .map(asset_row)
            .transpose()
    }

    async fn asset_any_owner(&mut self, id: &str) -> StoreResult<Option<AssetRow>> {
        sqlx::query("SELECT * FROM assets WHERE id = ? LIMIT 1")
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?
            .as_ref()
            .map(asset_row)
            .transpose()
    }

    async fn asset_contains(&mut self, asset: &str, hash: &str) -> StoreResult<bool> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM asset_blobs WHERE asset_id = ? AND hash = ?")
                .bind(asset)
                .bind(hash)
                .fetch_optional(&mut *self.tx)
                .await?;
        Ok(found.is_some())
    }

    async fn may_read_asset(&mut self, account: u64, role: &str, asset: &str) -> StoreResult<bool> {
        let sql = match role {
            "worker" | "farm" => {
                "SELECT 1 FROM tasks t JOIN jobs j ON j.id = t.job_id
                 WHERE t.state_name = 'leased' AND json_extract(t.state, '$.worker') = ?
                   AND json_extract(j.spec, '$.scene') = ? LIMIT 1"
            }
            "checker" => {
                "SELECT 1 FROM checks c JOIN tasks t ON t.id = c.task_id JOIN jobs j ON j.id = t.job_id
                 WHERE c.state = 'leased' AND c.checker = ? AND json_extract(j.spec, '$.scene') = ? LIMIT 1"
            }
            _ => return Ok(false),
        };
        let found: Option<i64> = sqlx::query_scalar(sql)
            .bind(to_i64(account, "account")?)
            .bind(asset)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(found.is_some())
    }

    async fn may_read_blob(&mut self, account: u64, role: &str, hash: &str) -> StoreResult<bool> {
        let sql = match role {
            "creator" => {
                "SELECT 1 FROM frames f JOIN jobs j ON j.id = f.job_id WHERE j.owner = ? AND f.hash = ? LIMIT 1"
            }
            "worker" | "farm" => {
                "SELECT 1 FROM tasks t JOIN jobs j ON j.id = t.job_id
                   JOIN asset_blobs b ON b.asset_id = json_extract(j.spec, '$.scene')
                 WHERE t.state_name = 'leased' AND json_extract(t.state, '$.worker') = ? AND b.hash = ? LIMIT 1"
            }
            "checker" => {
                "SELECT 1 FROM checks c JOIN tasks t ON t.id = c.task_id JOIN jobs j ON j.id = t.job_id
                 WHERE c.state = 'leased' AND c.checker = ?1 AND (
                   EXISTS (SELECT 1 FROM json_each(t.outputs) o WHERE json_extract(o.value, '$.hash') = ?2)
                   OR EXISTS (SELECT 1 FROM asset_blobs b
                              WHERE b.asset_id = json_extract(j.spec, '$.scene') AND b.hash = ?2))
                 LIMIT 1"
            }
            _ => return Ok(false),
        };
        let found: Option<i64> = sqlx::query_scalar(sql)
            .bind(to_i64(account, "account")?)
            .bind(hash)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(found.is_some())
    }

    async fn insert_job(&mut self, row: &JobRow) -> StoreResult<u64> {
        let paused = row
            .paused_reason
            .map(|reason| enum_text(&reason, "paused_reason"))
            .transpose()?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO jobs (owner, idem_key, request_hash, spec, state, priority, paused_reason, quote, created_at_ms, event_seq)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(to_i64(row.owner, "owner")?)
        .bind(&row.idempotency_key)
        .bind(&row.request_hash)
        .bind(json(&row.spec, "spec")?)
        .bind(enum_text(&row.state, "state")?)
        .bind(dispatch_priority(row.spec.tier))
        .bind(paused)
        .bind(json(&row.quote, "quote")?)
        .bind(to_i64(row.created_at_ms, "created_at_ms")?)
        .bind(to_i64(row.event_seq, "event_seq")?)
        .fetch_one(&mut *self.tx)
        .await?;
        u64::try_from(id).map_err(|_| StoreError::OutOfRange { column: "id" })
    }

    async fn job(&mut self, id: u64) -> StoreResult<Option<JobRow>> {
        sqlx::query("SELECT * FROM jobs WHERE id = ?")
            .bind(to_i64(id, "id")?)
            .fetch_optional(&mut *self.tx)
            .await?
            .as_ref()
            .map(job_row)
            .transpose()
    }

    async fn job_by_idempotency_key(
        &mut self,
        owner: u64,
        key: &str,
    ) -> StoreResult<Option<JobRow>> {
        sqlx::query("SELECT * FROM jobs WHERE owner = ? AND idem_key = ?")
            .bind(to_i64(owner, "owner")?)
            .bind(key)
            .fetch_optional(&mut *self.tx)
            .await?
            .as_ref()
            .map(job_row)
            .transpose()
    }

    async fn update_job(&mut self, row: &JobRow) -> StoreResult<()> {
        let paused = row
            .paused_reason
            .map(|reason| enum_text(&reason, "paused_reason"))
            .transpose()?;
        sqlx::query("UPDATE jobs SET state = ?, paused_reason = ?, event_seq = ? WHERE id = ?")
            .bind(enum_text(&row.state, "state")?)
            .bind(paused)
            .bind(to_i64(row.event_seq, "event_seq")?)
            .bind(to_i64(row.id, "id")?)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn jobs_of(&mut self, owner: u64, after: u64, limit: u32) -> StoreResult<Vec<JobRow>> {
        sqlx::query("SELECT * FROM jobs WHERE owner = ? AND id > ? ORDER BY id LIMIT ?")
            .bind(to_i64(owner, "owner")?)
            .bind(to_i64(after, "id")?)
            .bind(i64::from(limit))
            .fetch_all(&mut *self.tx)
            .await?
            .iter()
            .map(job_row)
            .collect()
    }

    async fn jobs_paused_for_funds(&mut self, owner: u64) -> StoreResult<Vec<JobRow>> {
        sqlx::query(
            "SELECT * FROM jobs WHERE owner = ? AND state = 'paused' AND paused_reason = 'funds' ORDER BY id",
        )
        .bind(to_i64(owner, "owner")?)
        .fetch_all(&mut *self.tx)
        .await?
        .iter()
        .map(job_row)
        .collect()
    }

    async fn insert_task(&mut self, row: &TaskRow) -> StoreResult<()> {
        let outputs = row
            .outputs
            .as_ref()
            .map(|outputs| json(outputs, "outputs"))
            .transpose()?;
        sqlx::query(
            "INSERT INTO tasks (id, job_id, idx, work, work_bench_ms, state, state_name, lease_expires_ms,
               outputs, hold, hold_generation, hold_open, agreed_cost, rejects)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(to_i64(row.id, "id")?)
        .bind(to_i64(row.job_id, "job_id")?)
        .bind(i64::from(row.index))
        .bind(json(&row.work, "work")?)
        .bind(to_i64(row.work_bench_ms, "work_bench_ms")?)
        .bind(json(&row.state, "state")?)
        .bind(row.state.name())
        .bind(lease_expiry(&row.state).map(|ms| to_i64(ms, "lease_expires_ms")).transpose()?)
        .bind(outputs)
        .bind(to_i64(row.hold.micros(), "hold")?)
        .bind(i64::from(row.hold_generation))
        .bind(i64::from(row.hold_open))
        .bind(row.agreed_cost.map(|c| to_i64(c.micros(), "agreed_cost")).transpose()?)
        .bind(i64::from(row.rejects))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn next_task_id(&mut self) -> StoreResult<u64> {
        let max: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM tasks")
            .fetch_one(&mut *self.tx)
            .await?;
        let next = max.unwrap_or(0).saturating_add(1);
        u64::try_from(next).map_err(|_| StoreError::OutOfRange { column: "id" })
    }

    async fn task(&mut self, id: u64) -> StoreResult<Option<TaskRow>> {
        sqlx::query("SELECT * FROM tasks WHERE id = ?")
            .bind(to_i64(id, "id")?)
            .fetch_optional(&mut *self.tx)
            .await?
            .as_ref()
            .map(task_row)
            .transpose()
    }

    async fn update_task(&mut self, row: &TaskRow) -> StoreResult<()> {
        let outputs = row
            .outputs
            .as_ref()
            .map(|outputs| json(outputs, "outputs"))
            .transpose()?;
        sqlx::query(
            "UPDATE tasks SET state = ?, state_name = ?, lease_expires_ms = ?, lease_worker = ?, outputs = ?,
               hold = ?, hold_generation = ?, hold_open = ?, agreed_cost = ?, rejects = ? WHERE id = ?",
        )
        .bind(json(&row.state, "state")?)
        .bind(row.state.name())
        .bind(lease_expiry(&row.state).map(|ms| to_i64(ms, "lease_expires_ms")).transpose()?)
        .bind(lease_holder(&row.state).map(|w| to_i64(w, "lease_worker")).transpose()?)
        .bind(outputs)
        .bind(to_i64(row.hold.micros(), "hold")?)
        .bind(i64::from(row.hold_generation))
        .bind(i64::from(row.hold_open))
        .bind(row.agreed_cost.map(|c| to_i64(c.micros(), "agreed_cost")).transpose()?)
        .bind(i64::from(row.rejects))
        .bind(to_i64(row.id, "id")?)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn tasks_of_job(&mut self, job: u64) -> StoreResult<Vec<TaskRow>> {
        sqlx::query("SELECT * FROM tasks WHERE job_id = ? ORDER BY idx")
            .bind(to_i64(job, "job_id")?)
            .fetch_all(&mut *self.tx)
            .await?
            .iter()
            .map(task_row)
            .collect()
    }

    async fn leasable_tasks(&mut self, limit: u32) -> StoreResult<Vec<TaskRow>> {
        // Tier priority first (the JSON spec's tier: priority > standard > economy), then FIFO by job.
        sqlx::query(
            "SELECT t.* FROM tasks t JOIN jobs j ON j.id = t.job_id
             WHERE t.state_name = 'pending' AND t.hold_open = 1 AND j.state IN ('queued', 'running')
             ORDER BY j.priority, t.job_id, t.idx
             LIMIT ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&mut *self.tx)
        .await?
        .iter()
        .map(task_row)
        .collect()
    }

    async fn expired_task_leases(&mut self, now_ms: u64) -> StoreResult<Vec<TaskRow>> {
        sqlx::query("SELECT * FROM tasks WHERE state_name = 'leased' AND lease_expires_ms < ?")
            .bind(to_i64(now_ms, "now_ms")?)
            .fetch_all(&mut *self.tx)
            .await?
            .iter()
            .map(task_row)
            .collect()
    }

    async fn count_unaccepted_tasks(&mut self, job: u64) -> StoreResult<u64> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM tasks WHERE job_id = ? AND state_name != 'accepted'",
        )
        .bind(to_i64(job, "job_id")?)
        .fetch_one(&mut *self.tx)
        .await?;
        u64::try_from(count).map_err(|_| StoreError::OutOfRange { column: "count" })
    }

    async fn count_tasks_in_state(&mut self, state_name: &str) -> StoreResult<u64> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tasks WHERE state_name = ?")
            .bind(state_name)
            .fetch_one(&mut *self.tx)
            .await?;
        u64::try_from(count).map_err(|_| StoreError::OutOfRange { column: "count" })
    }

    async fn record_reject(&mut self, job: u64, worker: u64) -> StoreResult<u32> {
        let rejects: i64 = sqlx::query_scalar(
            "INSERT INTO job_workers (job_id, worker_id, rejects) VALUES (?, ?, 1)
             ON CONFLICT(job_id, worker_id) DO UPDATE SET rejects = rejects + 1 RETURNING rejects",
        )
        .bind(to_i64(job, "job_id")?)
        .bind(to_i64(worker, "worker_id")?)
        .fetch_one(&mut *self.tx)
        .await?;
        u32::try_from(rejects).map_err(|_| StoreError::OutOfRange { column: "rejects" })
    }

    async fn task_summary(&mut self, job: u64) -> StoreResult<TaskSummary> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS total,
                    COALESCE(SUM(state_name = 'accepted'), 0) AS accepted,
                    COALESCE(SUM(CASE WHEN state_name = 'accepted' THEN agreed_cost ELSE 0 END), 0) AS spent
             FROM tasks WHERE job_id = ?",
        )
        .bind(to_i64(job, "job_id")?)
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(TaskSummary {
            total: get_u64(&row, "total")?,
            accepted: get_u64(&row, "accepted")?,
            spent: money(&row, "spent")?,
        })
    }

    async fn open_tasks_of_job(&mut self, job: u64, limit: u32) -> StoreResult<Vec<TaskRow>> {
        sqlx::query(
            "SELECT * FROM tasks WHERE job_id = ?
               AND (hold_open = 1 OR state_name NOT IN ('accepted', 'failed', 'cancelled'))
             ORDER BY idx LIMIT ?",
        )
        .bind(to_i64(job, "job_id")?)
        .bind(i64::from(limit))
        .fetch_all(&mut *self.tx)
        .await?
        .iter()
        .map(task_row)
        .collect()
    }

    async fn upsert_split(&mut self, row: &SplitRow) -> StoreResult<()> {
        let holds: Vec<u8> = row
            .holds
            .iter()
            .flat_map(|hold| hold.micros().to_le_bytes())
            .collect();
        sqlx::query(
            "INSERT INTO job_splits (job_id, next_index, total, holds, reservation_generation)
             VALUES (?, ?, ?, ?, ?)
             ON CONFLICT(job_id) DO UPDATE SET next_index = excluded.next_index,
               reservation_generation = excluded.reservation_generation",
        )
        .bind(to_i64(row.job_id, "job_id")?)
        .bind(i64::from(row.next_index))
        .bind(i64::from(row.total))
        .bind(holds)
        .bind(i64::from(row.reservation_generation))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn split(&mut self, job: u64) -> StoreResult<Option<SplitRow>> {
        let Some(row) = sqlx::query("SELECT * FROM job_splits WHERE job_id = ?")
            .bind(to_i64(job, "job_id")?)
            .fetch_optional(&mut *self.tx)
            .await?
        else {
            return Ok(None);
        };
        let bytes: Vec<u8> = row.try_get("holds")?;
        let holds = bytes
            .chunks_exact(8)
            .map(|chunk| {
                let mut le = [0u8; 8];
                le.copy_from_slice(chunk);
                Money::from_micros(u64::from_le_bytes(le))
            })
            .collect();
        Ok(Some(SplitRow {
            job_id: get_u64(&row, "job_id")?,
            next_index: get_u32(&row, "next_index")?,
            total: get_u32(&row, "total")?,
            holds,
            reservation_generation: get_u32(&row, "reservation_generation")?,
        }))
    }

    async fn delete_split(&mut self, job: u64) -> StoreResult<()> {
        sqlx::query("DELETE FROM job_splits WHERE job_id = ?")
            .bind(to_i64(job, "job_id")?)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn unfinished_splits(&mut self, limit: u32) -> StoreResult<Vec<u64>> {
        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT job_id FROM job_splits ORDER BY job_id LIMIT ?")
                .bind(i64::from(limit))
                .fetch_all(&mut *self.tx)
                .await?;
        job_ids(ids)
    }

    async fn set_closing(&mut self, job: u64, closing: bool) -> StoreResult<()> {
        let sql = if closing {
            "INSERT OR IGNORE INTO jobs_closing (job_id) VALUES (?)"
        } else {
            "DELETE FROM jobs_closing WHERE job_id = ?"
        };
        sqlx::query(sql)
            .bind(to_i64(job, "job_id")?)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn closing_jobs(&mut self, limit: u32) -> StoreResult<Vec<u64>> {
        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT job_id FROM jobs_closing ORDER BY job_id LIMIT ?")
                .bind(i64::from(limit))
                .fetch_all(&mut *self.tx)
                .await?;
        job_ids(ids)
    }

    async fn record_failure(&mut self, job: u64, worker: u64) -> StoreResult<u32> {
        let failures: i64 = sqlx::query_scalar(
            "INSERT INTO job_workers (job_id, worker_id, failures) VALUES (?, ?, 1)
             ON CONFLICT(job_id, worker_id) DO UPDATE SET failures = failures + 1 RETURNING failures",
        )
        .bind(to_i64(job, "job_id")?)
        .bind(to_i64(worker, "worker_id")?)
        .fetch_one(&mut *self.tx)
        .await?;
        u32::try_from(failures).map_err(|_| StoreError::OutOfRange { column: "failures" })
    }

    async fn count_leases_of(&mut self, worker: u64) -> StoreResult<u64> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM tasks WHERE lease_worker = ? AND state_name = 'leased'",
        )
        .bind(to_i64(worker, "worker_id")?)
        .fetch_one(&mut *self.tx)
        .await?;
        u64::try_from(count).map_err(|_| StoreError::OutOfRange { column: "count" })
    }

    async fn insert_attempt(&mut self, row: &AttemptRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO task_attempts (task_id, attempt, worker_id, leased_at_ms, delivered_at_ms)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(to_i64(row.task_id, "task_id")?)
        .bind(i64::from(row.attempt))
        .bind(to_i64(row.worker_id, "worker_id")?)
        .bind(to_i64(row.leased_at_ms, "leased_at_ms")?)
        .bind(
            row.delivered_at_ms
                .map(|ms| to_i64(ms, "delivered_at_ms"))
                .transpose()?,
        )
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn attempt(&mut self, task: u64, attempt: u32) -> StoreResult<Option<AttemptRow>> {
        sqlx::query("SELECT * FROM task_attempts WHERE task_id = ? AND attempt = ?")
            .bind(to_i64(task, "task_id")?)
            .bind(i64::from(attempt))
            .fetch_optional(&mut *self.tx)
            .await?
            .as_ref()
            .map(attempt_row)
            .transpose()
    }

    async fn mark_delivered(&mut self, task: u64, attempt: u32, now_ms: u64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE task_attempts SET delivered_at_ms = ? WHERE task_id = ? AND attempt = ?",
        )
        .bind(to_i64(now_ms, "delivered_at_ms")?)
        .bind(to_i64(task, "task_id")?)
        .bind(i64::from(attempt))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn add_accepted_work(
        &mut self,
        worker: u64,
        bench_ms: u64,
        wall_ms: u64,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE workers SET accepted_tasks = accepted_tasks + 1,
               accepted_bench_ms = accepted_bench_ms + ?, accepted_wall_ms = accepted_wall_ms + ?
             WHERE account_id = ?",
        )
        .bind(to_i64(bench_ms, "accepted_bench_ms")?)
        .bind(to_i64(wall_ms, "accepted_wall_ms")?)
        .bind(to_i64(worker, "account_id")?)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn block_worker(&mut self, job: u64, worker: u64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO job_workers (job_id, worker_id, blocked) VALUES (?, ?, 1)
             ON CONFLICT(job_id, worker_id) DO UPDATE SET blocked = 1",
        )
        .bind(to_i64(job, "job_id")?)
        .bind(to_i64(worker, "worker_id")?)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn is_blocked(&mut self, job: u64, worker: u64) -> StoreResult<bool> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM job_workers WHERE job_id = ? AND worker_id = ? AND blocked = 1",
        )
        .bind(to_i64(job, "job_id")?)
        .bind(to_i64(worker, "worker_id")?)
        .fetch_optional(&mut *self.tx)
        .await?;
        Ok(found.is_some())
    }

    async fn insert_check(&mut self, row: &CheckRow) -> StoreResult<u64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO checks (task_id, attempt, escalation, state, checker, lease_expires_ms, verdict, evidence)
             VALUES (?, ?, ?, ?, NULL, NULL, NULL, NULL) RETURNING id",
        )
        .bind(to_i64(row.task_id, "task_id")?)
        .bind(i64::from(row.attempt))
        .bind(i64::from(row.escalation))
        .bind(row.state.as_str())
        .fetch_one(&mut *self.tx)
        .await?;
        u64::try_from(id).map_err(|_| StoreError::OutOfRange { column: "id" })
    }

    async fn check(&mut self, id: u64) -> StoreResult<Option<CheckRow>> {
        sqlx::query("SELECT * FROM checks WHERE id = ?")
            .bind(to_i64(id, "id")?)
            .fetch_optional(&mut *self.tx)
            .await?
            .as_ref()
            .map(check_row)
            .transpose()
    }

    async fn update_check(&mut self, row: &CheckRow) -> StoreResult<()> {
        let verdict = row
            .verdict
            .map(|verdict| enum_text(&verdict, "verdict"))
            .transpose()?;
        let evidence = row
            .evidence
            .as_ref()
            .map(|evidence| json(evidence, "evidence"))
            .transpose()?;
        sqlx::query(
            "UPDATE checks SET state = ?, checker = ?, lease_expires_ms = ?, verdict = ?, evidence = ? WHERE id = ?",
        )
        .bind(row.state.as_str())
        .bind(row.checker.map(|c| to_i64(c, "checker")).transpose()?)
        .bind(
            row.lease_expires_ms
                .map(|ms| to_i64(ms, "lease_expires_ms"))
                .transpose()?,
        )
        .bind(verdict)
        .bind(evidence)
        .bind(to_i64(row.id, "id")?)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn drop_checks_of_task(&mut self, task: u64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE checks SET state = 'dropped' WHERE task_id = ? AND state IN ('pending', 'leased')",
        )
        .bind(to_i64(task, "task_id")?)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn next_pending_check(&mut self) -> StoreResult<Option<CheckRow>> {
        sqlx::query("SELECT * FROM checks WHERE state = 'pending' ORDER BY id LIMIT 1")
            .fetch_optional(&mut *self.tx)
            .await?
            .as_ref()
            .map(check_row)
            .transpose()
    }

    async fn expired_check_leases(&mut self, now_ms: u64) -> StoreResult<Vec<CheckRow>> {
        sqlx::query("SELECT * FROM checks WHERE state = 'leased' AND lease_expires_ms < ?")
            .bind(to_i64(now_ms, "now_ms")?)
            .fetch_all(&mut *self.tx)
            .await?
            .iter()
            .map(check_row)
            .collect()
    }

    async fn count_checks_in_state(&mut self, state: &str) -> StoreResult<u64> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM checks WHERE state = ?")
            .bind(state)
            .fetch_one(&mut *self.tx)
            .await?;
        u64::try_from(count).map_err(|_| StoreError::OutOfRange { column: "count" })
    }

    async fn insert_frame(&mut self, row: &FrameRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO frames (job_id, frame, task_id, hash, size) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT(job_id, frame, task_id) DO UPDATE SET hash = excluded.hash, size = excluded.size",
        )
        .bind(to_i64(row.job_id, "job_id")?)
        .bind(i64::from(row.frame))
        .bind(to_i64(row.task_id, "task_id")?)
        .bind(&row.hash)
        .bind(to_i64(row.size, "size")?)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn frames_of(&mut self, job: u64) -> StoreResult<Vec<FrameRow>> {
        sqlx::query("SELECT * FROM frames WHERE job_id = ? ORDER BY frame, task_id")
            .bind(to_i64(job, "job_id")?)
            .fetch_all(&mut *self.tx)
            .await?
            .iter()
            .map(frame_row)
            .collect()
    }

    async fn delete_frames(&mut self, job: u64, frames: &[u32]) -> StoreResult<()> {
        for frame in frames {
            sqlx::query("DELETE FROM frames WHERE job_id = ? AND frame = ?")
                .bind(to_i64(job, "job_id")?)
                .bind(i64::from(*frame))
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }

    async fn insert_event(&mut self, row: &EventRow) -> StoreResult<()> {
        sqlx::query("INSERT INTO events (job_id, seq, kind, at_ms, data) VALUES (?, ?, ?, ?, ?)")
            .bind(to_i64(row.job_id, "job_id")?)
            .bind(to_i64(row.seq, "seq")?)
            .bind(&row.kind)
            .bind(to_i64(row.at_ms, "at_ms")?)
            .bind(json(&row.data, "data")?)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn events_after(
        &mut self,
        job: u64,
        after: u64,
        limit: u32,
    ) -> StoreResult<Vec<EventRow>> {
        sqlx::query("SELECT * FROM events WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?")
            .bind(to_i64(job, "job_id")?)
            .bind(to_i64(after, "seq")?)
            .bind(i64::from(limit))
            .fetch_all(&mut *self.tx)
            .await?
            .iter()
            .map(event_row)
            .collect()
    }

    async fn append_ledger_entries(&mut self, entries: &[(u64, Vec<u8>)]) -> StoreResult<()> {
        for (seq, bytes) in entries {
            sqlx::query("INSERT INTO ledger_entries (seq, bytes) VALUES (?, ?)")
                .bind(to_i64(*seq, "seq")?)
                .bind(bytes.as_slice())
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }

    async fn append_ledger_seal(&mut self, upto_seq: u64, bytes: &[u8]) -> StoreResult<()> {
        sqlx::query("INSERT INTO ledger_seals (upto_seq, bytes) VALUES (?, ?)")
            .bind(to_i64(upto_seq, "upto_seq")?)
            .bind(bytes)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn ledger_entries(
        &mut self,
        after: Option<u64>,
        limit: u32,
    ) -> StoreResult<Vec<(u64, Vec<u8>)>> {
        let after = match after {
            Some(seq) => to_i64(seq, "seq")?,
            None => -1,
        };
        let rows =
            sqlx::query("SELECT seq, bytes FROM ledger_entries WHERE seq > ? ORDER BY seq LIMIT ?")
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&mut *self.tx)
                .await?;
        rows.iter()
            .map(|row| Ok((get_u64(row, "seq")?, row.try_get("bytes")?)))
            .collect()
    }

    async fn ledger_seals(&mut self, from: u64, to: u64) -> StoreResult<Vec<(u64, Vec<u8>)>> {
        let rows = sqlx::query(
            "SELECT upto_seq, bytes FROM ledger_seals WHERE upto_seq >= ? AND upto_seq <= ? ORDER BY upto_seq",
        )
        .bind(to_i64(from, "upto_seq")?)
        .bind(to_i64(to, "upto_seq")?)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|row| Ok((get_u64(row, "upto_seq")?, row.try_get("bytes")?)))
            .collect()
    }

    async fn last_ledger_seal(&mut self) -> StoreResult<Option<(u64, Vec<u8>)>> {
        let row =
            sqlx::query("SELECT upto_seq, bytes FROM ledger_seals ORDER BY upto_seq DESC LIMIT 1")
                .fetch_optional(&mut *self.tx)
                .await?;
        row.as_ref()
            .map(|row| Ok((get_u64(row, "upto_seq")?, row.try_get("bytes")?)))
            .transpose()
    }

    async fn idempotent_response(
        &mut self,
        account: u64,
        route: &str,
        key: &str,
    ) -> StoreResult<Option<(String, String)>> {
        let row = sqlx::query(
            "SELECT request_hash, response FROM idempotency WHERE account_id = ? AND route = ? AND key = ?",
        )
        .bind(to_i64(account, "account_id")?)
        .bind(route)
        .bind(key)
        .fetch_optional(&mut *self.tx)
        .await?;
        row.as_ref()
            .map(|row| Ok((row.try_get("request_hash")?, row.try_get("response")?)))
            .transpose()
    }

    async fn store_idempotent_response(
        &mut self,
        account: u64,
        route: &str,
        key: &str,
        request_hash: &str,
        response: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO idempotency (account_id, route, key, request_hash, response) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(to_i64(account, "account_id")?)
        .bind(route)
        .bind(key)
        .bind(request_hash)
        .bind(response)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn count(&mut self, what: Countable) -> StoreResult<u64> {
        let sql = match what {
            Countable::Accounts => "SELECT COUNT(*) FROM accounts",
            Countable::Workers => "SELECT COUNT(*) FROM workers",
            Countable::ActiveJobs => {
                "SELECT COUNT(*) FROM jobs WHERE state NOT IN ('completed', 'failed', 'cancelled')"
            }
            Countable::LedgerEntries => "SELECT COUNT(*) FROM ledger_entries",
        };
        let count: i64 = sqlx::query_scalar(sql).fetch_one(&mut *self.tx).await?;
        u64::try_from(count).map_err(|_| StoreError::OutOfRange { column: "count" })
    }
}
