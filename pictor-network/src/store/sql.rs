//! What both SQL stores share: the [`Columns`] a row is read through, the row mappers built on
//! it, and the conversions between the service's types and column values (integers as `i64`,
//! JSON and enum names as text). The backends differ in their SQL and connections, not here.

use super::{
    AccountRow, AssetRow, AttemptRow, CheckPurpose, CheckRow, CheckState, EventRow, FrameRow,
    JobRow, StoreError, StoreResult, TaskRow, WorkRecord, WorkerRow,
};
use pictor_core::Money;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::Row;

/// Reading a column of a result row as one of the stored types. Both stores keep integers as
/// 64-bit signed integers, text as text and bytes as blobs (`BYTEA`), so one row mapper serves
/// both.
pub(crate) trait Columns {
    /// An integer column.
    fn int(&self, column: &'static str) -> StoreResult<i64>;
    /// A nullable integer column.
    fn opt_int(&self, column: &'static str) -> StoreResult<Option<i64>>;
    /// A text column.
    fn text(&self, column: &'static str) -> StoreResult<String>;
    /// A nullable text column.
    fn opt_text(&self, column: &'static str) -> StoreResult<Option<String>>;
    /// A bytes column.
    fn bytes(&self, column: &'static str) -> StoreResult<Vec<u8>>;
}

macro_rules! columns_of {
    ($row:ty) => {
        impl Columns for $row {
            fn int(&self, column: &'static str) -> StoreResult<i64> {
                Ok(self.try_get(column)?)
            }
            fn opt_int(&self, column: &'static str) -> StoreResult<Option<i64>> {
                Ok(self.try_get(column)?)
            }
            fn text(&self, column: &'static str) -> StoreResult<String> {
                Ok(self.try_get(column)?)
            }
            fn opt_text(&self, column: &'static str) -> StoreResult<Option<String>> {
                Ok(self.try_get(column)?)
            }
            fn bytes(&self, column: &'static str) -> StoreResult<Vec<u8>> {
                Ok(self.try_get(column)?)
            }
        }
    };
}

columns_of!(sqlx::postgres::PgRow);

/// A statement put together piece by piece, binding values as it goes: sqlx's `QueryBuilder` on
/// PostgreSQL (which numbers the placeholders), the SQLite store's own builder on SQLite. The
/// listings both stores run are written once against it.
pub(crate) trait SqlBuilder: Sized {
    /// A statement beginning with `sql`.
    fn new(sql: &str) -> Self;
    /// Appends SQL text.
    fn push(&mut self, sql: &str) -> &mut Self;
    /// Appends a placeholder bound to an integer.
    fn push_bind_int(&mut self, value: i64) -> &mut Self;
    /// Appends a placeholder bound to a text.
    fn push_bind_text(&mut self, value: String) -> &mut Self;
}

impl SqlBuilder for sqlx::QueryBuilder<sqlx::Postgres> {
    fn new(sql: &str) -> Self {
        sqlx::QueryBuilder::new(sql.to_owned())
    }
    fn push(&mut self, sql: &str) -> &mut Self {
        sqlx::QueryBuilder::push(self, sql)
    }
    fn push_bind_int(&mut self, value: i64) -> &mut Self {
        self.push_bind(value)
    }
    fn push_bind_text(&mut self, value: String) -> &mut Self {
        self.push_bind(value)
    }
}

/// The dispatch order of a tier (lower first).
pub(crate) fn dispatch_priority(tier: pictor_core::job::Tier) -> i64 {
    match tier {
        pictor_core::job::Tier::Priority => 0,
        pictor_core::job::Tier::Standard => 1,
        pictor_core::job::Tier::Economy => 2,
    }
}

pub(crate) fn to_i64(value: u64, column: &'static str) -> StoreResult<i64> {
    i64::try_from(value).map_err(|_| StoreError::OutOfRange { column })
}

pub(crate) fn get_u64(row: &impl Columns, column: &'static str) -> StoreResult<u64> {
    let value = row.int(column)?;
    u64::try_from(value).map_err(|_| StoreError::OutOfRange { column })
}

pub(crate) fn get_u32(row: &impl Columns, column: &'static str) -> StoreResult<u32> {
    let value = row.int(column)?;
    u32::try_from(value).map_err(|_| StoreError::OutOfRange { column })
}

pub(crate) fn get_opt_u64(row: &impl Columns, column: &'static str) -> StoreResult<Option<u64>> {
    row.opt_int(column)?
        .map(|v| u64::try_from(v).map_err(|_| StoreError::OutOfRange { column }))
        .transpose()
}

pub(crate) fn json<T: Serialize>(value: &T, column: &'static str) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|source| StoreError::Corrupt { column, source })
}

pub(crate) fn parse<T: DeserializeOwned>(text: &str, column: &'static str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|source| StoreError::Corrupt { column, source })
}

pub(crate) fn get_json<T: DeserializeOwned>(
    row: &impl Columns,
    column: &'static str,
) -> StoreResult<T> {
    parse(&row.text(column)?, column)
}

/// A unit enum's serde name (`"running"` for `JobState::Running`).
pub(crate) fn enum_text<T: Serialize>(value: &T, column: &'static str) -> StoreResult<String> {
    match serde_json::to_value(value).map_err(|source| StoreError::Corrupt { column, source })? {
        serde_json::Value::String(text) => Ok(text),
        _ => Err(StoreError::OutOfRange { column }),
    }
}

pub(crate) fn enum_parse<T: DeserializeOwned>(
    text: String,
    column: &'static str,
) -> StoreResult<T> {
    serde_json::from_value(serde_json::Value::String(text))
        .map_err(|source| StoreError::Corrupt { column, source })
}

pub(crate) fn money(row: &impl Columns, column: &'static str) -> StoreResult<Money> {
    Ok(Money::from_micros(get_u64(row, column)?))
}

pub(crate) fn account_row(row: &impl Columns) -> StoreResult<AccountRow> {
    Ok(AccountRow {
        id: get_u64(row, "id")?,
        role: enum_parse(row.text("role")?, "role")?,
        name: row.text("name")?,
        created_at_ms: get_u64(row, "created_at_ms")?,
    })
}

pub(crate) fn worker_row(row: &impl Columns) -> StoreResult<WorkerRow> {
    let key = row.bytes("public_key")?;
    Ok(WorkerRow {
        account_id: get_u64(row, "account_id")?,
        name: row.text("name")?,
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
        min_tier: enum_parse::<pictor_core::job::Tier>(row.text("min_tier")?, "min_tier")?,
        queue_delay_secs: get_opt_u64(row, "queue_delay_secs")?
            .map(|secs| {
                u32::try_from(secs).map_err(|_| StoreError::OutOfRange {
                    column: "queue_delay_secs",
                })
            })
            .transpose()?,
    })
}

pub(crate) fn attempt_row(row: &impl Columns) -> StoreResult<AttemptRow> {
    Ok(AttemptRow {
        task_id: get_u64(row, "task_id")?,
        attempt: get_u32(row, "attempt")?,
        worker_id: get_u64(row, "worker_id")?,
        leased_at_ms: get_u64(row, "leased_at_ms")?,
        delivered_at_ms: get_opt_u64(row, "delivered_at_ms")?,
    })
}

pub(crate) fn asset_row(row: &impl Columns) -> StoreResult<AssetRow> {
    Ok(AssetRow {
        owner: get_u64(row, "owner")?,
        id: row.text("id")?,
        manifest_json: row.text("manifest")?,
        total_size: get_u64(row, "total_size")?,
        files: get_u32(row, "files")?,
        hashes: Vec::new(),
    })
}

pub(crate) fn job_row(row: &impl Columns) -> StoreResult<JobRow> {
    let paused = row.opt_text("paused_reason")?;
    Ok(JobRow {
        id: get_u64(row, "id")?,
        owner: get_u64(row, "owner")?,
        idempotency_key: row.opt_text("idem_key")?,
        request_hash: row.text("request_hash")?,
        spec: get_json(row, "spec")?,
        state: enum_parse(row.text("state")?, "state")?,
        paused_reason: paused
            .map(|text| enum_parse(text, "paused_reason"))
            .transpose()?,
        quote: get_json(row, "quote")?,
        created_at_ms: get_u64(row, "created_at_ms")?,
        event_seq: get_u64(row, "event_seq")?,
    })
}

pub(crate) fn task_row(row: &impl Columns) -> StoreResult<TaskRow> {
    let outputs = row.opt_text("outputs")?;
    let hold_open = row.int("hold_open")?;
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

pub(crate) fn check_row(row: &impl Columns) -> StoreResult<CheckRow> {
    let verdict = row.opt_text("verdict")?;
    let evidence = row.opt_text("evidence")?;
    let checker = get_opt_u64(row, "checker")?;
    Ok(CheckRow {
        id: get_u64(row, "id")?,
        task_id: get_u64(row, "task_id")?,
        attempt: get_u32(row, "attempt")?,
        escalation: get_u32(row, "escalation")?,
        state: enum_parse::<CheckState>(row.text("state")?, "state")?,
        checker,
        lease_expires_ms: get_opt_u64(row, "lease_expires_ms")?,
        verdict: verdict
            .map(|text| enum_parse(text, "verdict"))
            .transpose()?,
        evidence: evidence.map(|text| parse(&text, "evidence")).transpose()?,
        leased_at_ms: get_opt_u64(row, "leased_at_ms")?,
        done_at_ms: get_opt_u64(row, "done_at_ms")?,
        purpose: enum_parse::<CheckPurpose>(row.text("purpose")?, "purpose")?,
        expected: row.opt_text("expected")?,
        subject: row
            .opt_text("subject")?
            .map(|text| parse(&text, "subject"))
            .transpose()?,
        stake: get_opt_u64(row, "stake")?.map(Money::from_micros),
    })
}

pub(crate) fn frame_row(row: &impl Columns) -> StoreResult<FrameRow> {
    Ok(FrameRow {
        job_id: get_u64(row, "job_id")?,
        frame: get_u32(row, "frame")?,
        task_id: get_u64(row, "task_id")?,
        hash: row.text("hash")?,
        size: get_u64(row, "size")?,
        name: row.opt_text("name")?,
    })
}

pub(crate) fn event_row(row: &impl Columns) -> StoreResult<EventRow> {
    Ok(EventRow {
        job_id: get_u64(row, "job_id")?,
        seq: get_u64(row, "seq")?,
        kind: row.text("kind")?,
        at_ms: get_u64(row, "at_ms")?,
        data: get_json(row, "data")?,
    })
}

/// Job ids as read from an `INTEGER` column.
pub(crate) fn job_ids(ids: Vec<i64>) -> StoreResult<Vec<u64>> {
    ids.into_iter()
        .map(|id| u64::try_from(id).map_err(|_| StoreError::OutOfRange { column: "job_id" }))
        .collect()
}

/// The worker holding a leased task (the `lease_worker` column).
pub(crate) fn lease_holder(state: &pictor_core::task::TaskState) -> Option<u64> {
    match state {
        pictor_core::task::TaskState::Leased { worker, .. } => Some(worker.0),
        _ => None,
    }
}

pub(crate) fn lease_expiry(state: &pictor_core::task::TaskState) -> Option<u64> {
    match state {
        pictor_core::task::TaskState::Leased { expires_at_ms, .. } => Some(*expires_at_ms),
        _ => None,
    }
}

/// A `web_sessions` row.
pub(crate) fn session_row(row: &impl Columns) -> StoreResult<super::SessionRow> {
    Ok(super::SessionRow {
        token_hash: row.text("token_hash")?,
        account_id: get_u64(row, "account_id")?,
        person_id: get_opt_u64(row, "person_id")?,
        csrf_token: row.text("csrf_token")?,
        created_at_ms: get_u64(row, "created_at_ms")?,
        expires_at_ms: get_u64(row, "expires_at_ms")?,
    })
}
