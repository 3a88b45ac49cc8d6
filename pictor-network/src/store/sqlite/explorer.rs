//! `ExplorerTx` on SQLite: what the public Explorer reads.

use super::*;
use crate::store::ExplorerTx;
use crate::store::sql::{get_u64, job_row};

impl ExplorerTx for SqliteTx {
    async fn recent_jobs(&mut self, limit: u32) -> StoreResult<Vec<JobRow>> {
        let rows = exec::query("SELECT * FROM jobs ORDER BY id DESC LIMIT ?")
            .bind(i64::from(limit))
            .fetch_all(&mut self.tx)
            .await?;
        rows.iter().map(job_row).collect()
    }

    async fn workers_seen_since(&mut self, since_ms: u64) -> StoreResult<u64> {
        let row = exec::query("SELECT COUNT(*) AS n FROM workers WHERE last_seen_ms >= ?")
            .bind(to_i64(since_ms, "since_ms")?)
            .fetch_one(&mut self.tx)
            .await?;
        get_u64(&row, "n")
    }

    async fn events_since(&mut self, kind: &str, since_ms: u64) -> StoreResult<u64> {
        let row = exec::query("SELECT COUNT(*) AS n FROM events WHERE kind = ? AND at_ms >= ?")
            .bind(kind)
            .bind(to_i64(since_ms, "since_ms")?)
            .fetch_one(&mut self.tx)
            .await?;
        get_u64(&row, "n")
    }
}
