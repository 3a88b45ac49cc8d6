//! Moving a network's state from its embedded SQLite database to PostgreSQL (`pictor migrate`).
//!
//! Every table of the schema is copied row for row, column for column, in one PostgreSQL
//! transaction (all or nothing), in an order that satisfies the foreign keys; the identity
//! sequences are then set past the copied ids. The target must be empty: a database that holds
//! any row is refused, so a network is never merged into another. The SQLite file is only read.
//! Blobs, the network key and the admin key stay in the data directory, which the coordinator on
//! PostgreSQL keeps using (`pictor serve --data DIR --database postgres://…`).
//!
//! The caller checks the result the way the coordinator would: [`copy_sqlite_to_postgres`]
//! answers the row counts of both sides, and `pictor migrate` verifies the journal on PostgreSQL
//! against the network key and compares its head with SQLite's.

use super::Store;
use super::StoreResult;
use super::postgres::PgStore;
use super::sqlite::SqliteStore;
use super::sqlite::exec;

/// The tables of the schema, parents before children.
pub const TABLES: &[&str] = &[
    "meta",
    "accounts",
    "api_keys",
    "workers",
    "blob_holders",
    "assets",
    "asset_blobs",
    "jobs",
    "tasks",
    "job_workers",
    "task_attempts",
    "job_splits",
    "jobs_closing",
    "checks",
    "frames",
    "events",
    "ledger_entries",
    "ledger_seals",
    "idempotency",
    "people",
    "person_accounts",
    "web_sessions",
    "worker_settings",
    "worker_activity",
    "webhooks",
    "webhook_deliveries",
    "worker_offline_notices",
    "budgets",
    "checker_standing",
];

/// Tables whose `id` column PostgreSQL generates (an identity), to be set past the copied ids.
const IDENTITIES: &[&str] = &[
    "accounts",
    "jobs",
    "checks",
    "people",
    "worker_activity",
    "webhooks",
    "webhook_deliveries",
];

/// Rows of one `INSERT` (bounded so that rows × columns stays under PostgreSQL's 65,535 bind
/// parameters).
const MAX_PARAMETERS: usize = 30_000;

/// What a migration copied: rows per table, as counted on each side after the copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Copied {
    /// `(table, rows in SQLite, rows in PostgreSQL)`, in [`TABLES`] order.
    pub tables: Vec<(&'static str, u64, u64)>,
}

/// Why a migration did not run or did not complete.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The target already holds a network (or any row).
    #[error(
        "the PostgreSQL database is not empty: table {table} holds {rows} rows; migrate only into an empty database"
    )]
    TargetNotEmpty {
        /// The first non-empty table found.
        table: &'static str,
        /// Its rows.
        rows: u64,
    },
    /// A column's value has a type the schema does not use.
    #[error("table {table}, column {column}: unexpected value of type {kind}")]
    UnexpectedValue {
        /// The table.
        table: &'static str,
        /// The column.
        column: String,
        /// The SQLite type found.
        kind: String,
    },
    /// A database failed.
    #[error(transparent)]
    Store(#[from] super::StoreError),
}

impl From<sqlx::Error> for MigrateError {
    fn from(error: sqlx::Error) -> Self {
        MigrateError::Store(error.into())
    }
}

/// One column value as both stores keep it.
enum Value {
    /// NULL before its column's type is known.
    Null,
    NullInt,
    NullText,
    NullBytes,
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
}

/// A NULL bound with the type of its PostgreSQL column (`data_type`).
fn null_of(data_type: &str) -> Value {
    match data_type {
        "bytea" => Value::NullBytes,
        "text" => Value::NullText,
        _ => Value::NullInt,
    }
}

/// Refuses a target that holds any row ([`MigrateError::TargetNotEmpty`]).
pub async fn ensure_empty(to: &PgStore) -> Result<(), MigrateError> {
    for table in TABLES {
        let rows = count_postgres(to, table).await?;
        if rows > 0 {
            return Err(MigrateError::TargetNotEmpty { table, rows });
        }
    }
    Ok(())
}

/// Copies every table of `from` into the empty `to` in one transaction (see the module docs).
pub async fn copy_sqlite_to_postgres(
    from: &SqliteStore,
    to: &PgStore,
) -> Result<Copied, MigrateError> {
    ensure_empty(to).await?;
    let mut source = from.begin_read().await?;
    let mut target = to.writer_pool().begin().await?;
    for table in TABLES {
        let described: Vec<(String, String)> = sqlx::query_as(
            "SELECT column_name::TEXT, data_type::TEXT FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        )
        .bind(*table)
        .fetch_all(&mut *target)
        .await?;
        let (columns, types): (Vec<String>, Vec<String>) = described.into_iter().unzip();
        let select = format!("SELECT {} FROM {table}", columns.join(", "));
        let rows = exec::query(select).fetch_all(source.connection()).await?;
        let per_insert = (MAX_PARAMETERS / columns.len().max(1)).max(1);
        for chunk in rows.chunks(per_insert) {
            let mut values = Vec::with_capacity(chunk.len() * columns.len());
            for row in chunk {
                for (index, stored) in row.clone().into_values().into_iter().enumerate() {
                    let value = match read_value(stored, table, &columns[index])? {
                        Value::Null => null_of(&types[index]),
                        value => value,
                    };
                    values.push(value);
                }
            }
            insert(&mut target, table, &columns, chunk.len(), values).await?;
        }
    }
    for table in IDENTITIES {
        let reset = format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM {table}"
        );
        sqlx::query(sqlx::AssertSqlSafe(reset))
            .execute(&mut *target)
            .await?;
    }
    target.commit().await?;
    let mut tables = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let count: i64 = exec::query_scalar(format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(source.connection())
            .await?;
        tables.push((*table, count_u64(count), count_postgres(to, table).await?));
    }
    Ok(Copied { tables })
}

fn read_value(
    stored: rusqlite::types::Value,
    table: &'static str,
    column: &str,
) -> Result<Value, MigrateError> {
    use rusqlite::types::Value as Stored;
    Ok(match stored {
        Stored::Null => Value::Null,
        Stored::Integer(int) => Value::Int(int),
        Stored::Text(text) => Value::Text(text),
        Stored::Blob(bytes) => Value::Bytes(bytes),
        Stored::Real(_) => {
            return Err(MigrateError::UnexpectedValue {
                table,
                column: column.to_string(),
                kind: "REAL".to_string(),
            });
        }
    })
}

async fn insert(
    target: &mut sqlx::PgConnection,
    table: &str,
    columns: &[String],
    rows: usize,
    values: Vec<Value>,
) -> StoreResult<()> {
    let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
    let mut parameter = 0;
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns.len() {
            parameter += 1;
            if column > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${parameter}"));
        }
        sql.push(')');
    }
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for value in values {
        query = match value {
            Value::Null | Value::NullInt => query.bind(None::<i64>),
            Value::NullText => query.bind(None::<String>),
            Value::NullBytes => query.bind(None::<Vec<u8>>),
            Value::Int(int) => query.bind(int),
            Value::Text(text) => query.bind(text),
            Value::Bytes(bytes) => query.bind(bytes),
        };
    }
    query.execute(target).await?;
    Ok(())
}

async fn count_postgres(store: &PgStore, table: &str) -> StoreResult<u64> {
    let count: i64 =
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(store.writer_pool())
            .await?;
    Ok(count_u64(count))
}

fn count_u64(count: i64) -> u64 {
    u64::try_from(count).unwrap_or(0)
}
