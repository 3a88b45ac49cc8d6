//! `EventsTx` on PostgreSQL: job events, numbered per job.

use super::*;
use crate::store::EventsTx;

impl EventsTx for PgTx {
    async fn insert_event(&mut self, row: &EventRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO events (job_id, seq, kind, at_ms, data) VALUES ($1, $2, $3, $4, $5)",
        )
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
        sqlx::query("SELECT * FROM events WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT $3")
            .bind(to_i64(job, "job_id")?)
            .bind(to_i64(after, "seq")?)
            .bind(i64::from(limit))
            .fetch_all(&mut *self.tx)
            .await?
            .iter()
            .map(event_row)
            .collect()
    }

    async fn announce_jobs(&mut self, jobs: &[u64]) -> StoreResult<()> {
        // A notice's payload is at most 8000 bytes: 400 ids of up to 19 digits and a comma fit.
        for chunk in jobs.chunks(400) {
            let payload = chunk
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(",");
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(JOB_NOTICE_CHANNEL)
                .bind(payload)
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }
}
