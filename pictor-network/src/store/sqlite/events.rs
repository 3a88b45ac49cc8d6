//! `EventsTx` on SQLite: job events, numbered per job.

use super::*;
use crate::store::EventsTx;

impl EventsTx for SqliteTx {
    async fn insert_event(&mut self, row: &EventRow) -> StoreResult<()> {
        exec::query("INSERT INTO events (job_id, seq, kind, at_ms, data) VALUES (?, ?, ?, ?, ?)")
            .bind(to_i64(row.job_id, "job_id")?)
            .bind(to_i64(row.seq, "seq")?)
            .bind(&row.kind)
            .bind(to_i64(row.at_ms, "at_ms")?)
            .bind(json(&row.data, "data")?)
            .execute(&mut self.tx)
            .await?;
        Ok(())
    }

    async fn events_after(
        &mut self,
        job: u64,
        after: u64,
        limit: u32,
    ) -> StoreResult<Vec<EventRow>> {
        exec::query("SELECT * FROM events WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?")
            .bind(to_i64(job, "job_id")?)
            .bind(to_i64(after, "seq")?)
            .bind(i64::from(limit))
            .fetch_all(&mut self.tx)
            .await?
            .iter()
            .map(event_row)
            .collect()
    }

    async fn announce_jobs(&mut self, _jobs: &[u64]) -> StoreResult<()> {
        // One process: the coordinator wakes its own watchers after the commit.
        Ok(())
    }
}
