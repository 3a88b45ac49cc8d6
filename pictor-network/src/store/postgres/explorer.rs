//! `ExplorerTx` on PostgreSQL: what the public Explorer reads.

use super::*;
use crate::store::ExplorerTx;
use crate::store::sql::{get_u64, job_row};

impl ExplorerTx for PgTx {
    async fn recent_jobs(&mut self, limit: u32) -> StoreResult<Vec<JobRow>> {
        let rows = sqlx::query("SELECT * FROM jobs ORDER BY id DESC LIMIT $1")
            .bind(i64::from(limit))
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(job_row).collect()
    }

    async fn workers_seen_since(&mut self, since_ms: u64) -> StoreResult<u64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM workers WHERE last_seen_ms >= $1")
            .bind(to_i64(since_ms, "since_ms")?)
            .fetch_one(&mut *self.tx)
            .await?;
        get_u64(&row, "n")
    }

    async fn events_since(&mut self, kind: &str, since_ms: u64) -> StoreResult<u64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM events WHERE kind = $1 AND at_ms >= $2")
            .bind(kind)
            .bind(to_i64(since_ms, "since_ms")?)
            .fetch_one(&mut *self.tx)
            .await?;
        get_u64(&row, "n")
    }
}
