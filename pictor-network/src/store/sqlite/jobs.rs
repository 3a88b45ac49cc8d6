//! `JobsTx` on SQLite: jobs, and the bookkeeping of big jobs inserted or closed a batch per write (splits, closing).

use super::*;
use crate::store::JobFilter;
use crate::store::JobsTx;

impl JobsTx for SqliteTx {
    async fn insert_job(&mut self, row: &JobRow) -> StoreResult<u64> {
        let paused = row
            .paused_reason
            .map(|reason| enum_text(&reason, "paused_reason"))
            .transpose()?;
        let id: i64 = exec::query_scalar(
            "INSERT INTO jobs (owner, idem_key, request_hash, spec, state, priority, paused_reason, quote, created_at_ms, event_seq, name)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
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
        .bind(row.spec.name.as_deref())
        .fetch_one(&mut self.tx)
        .await?;
        u64::try_from(id).map_err(|_| StoreError::OutOfRange { column: "id" })
    }

    async fn job(&mut self, id: u64) -> StoreResult<Option<JobRow>> {
        exec::query("SELECT * FROM jobs WHERE id = ?")
            .bind(to_i64(id, "id")?)
            .fetch_optional(&mut self.tx)
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
        exec::query("SELECT * FROM jobs WHERE owner = ? AND idem_key = ?")
            .bind(to_i64(owner, "owner")?)
            .bind(key)
            .fetch_optional(&mut self.tx)
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
        exec::query("UPDATE jobs SET state = ?, paused_reason = ?, event_seq = ? WHERE id = ?")
            .bind(enum_text(&row.state, "state")?)
            .bind(paused)
            .bind(to_i64(row.event_seq, "event_seq")?)
            .bind(to_i64(row.id, "id")?)
            .execute(&mut self.tx)
            .await?;
        Ok(())
    }

    async fn jobs_of(&mut self, owner: u64, after: u64, limit: u32) -> StoreResult<Vec<JobRow>> {
        exec::query("SELECT * FROM jobs WHERE owner = ? AND id > ? ORDER BY id LIMIT ?")
            .bind(to_i64(owner, "owner")?)
            .bind(to_i64(after, "id")?)
            .bind(i64::from(limit))
            .fetch_all(&mut self.tx)
            .await?
            .iter()
            .map(job_row)
            .collect()
    }

    async fn find_jobs(
        &mut self,
        owner: u64,
        filter: &JobFilter,
        limit: u32,
    ) -> StoreResult<Vec<JobRow>> {
        crate::store::listing::find_jobs::<exec::QueryBuilder>(owner, filter, limit)?
            .build()
            .fetch_all(&mut self.tx)
            .await?
            .iter()
            .map(job_row)
            .collect()
    }

    async fn jobs_paused_for_funds(&mut self, owner: u64) -> StoreResult<Vec<JobRow>> {
        exec::query(
            "SELECT * FROM jobs WHERE owner = ? AND state = 'paused' AND paused_reason = 'funds' ORDER BY id",
        )
        .bind(to_i64(owner, "owner")?)
        .fetch_all(&mut self.tx)
        .await?
        .iter()
        .map(job_row)
        .collect()
    }

    async fn upsert_split(&mut self, row: &SplitRow) -> StoreResult<()> {
        let holds: Vec<u8> = row
            .holds
            .iter()
            .flat_map(|hold| hold.micros().to_le_bytes())
            .collect();
        exec::query(
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
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }

    async fn split(&mut self, job: u64) -> StoreResult<Option<SplitRow>> {
        let Some(row) = exec::query("SELECT * FROM job_splits WHERE job_id = ?")
            .bind(to_i64(job, "job_id")?)
            .fetch_optional(&mut self.tx)
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
        exec::query("DELETE FROM job_splits WHERE job_id = ?")
            .bind(to_i64(job, "job_id")?)
            .execute(&mut self.tx)
            .await?;
        Ok(())
    }

    async fn unfinished_splits(&mut self, limit: u32) -> StoreResult<Vec<u64>> {
        let ids: Vec<i64> =
            exec::query_scalar("SELECT job_id FROM job_splits ORDER BY job_id LIMIT ?")
                .bind(i64::from(limit))
                .fetch_all(&mut self.tx)
                .await?;
        job_ids(ids)
    }

    async fn set_closing(&mut self, job: u64, closing: bool) -> StoreResult<()> {
        let sql = if closing {
            "INSERT OR IGNORE INTO jobs_closing (job_id) VALUES (?)"
        } else {
            "DELETE FROM jobs_closing WHERE job_id = ?"
        };
        exec::query(sql)
            .bind(to_i64(job, "job_id")?)
            .execute(&mut self.tx)
            .await?;
        Ok(())
    }

    async fn closing_jobs(&mut self, limit: u32) -> StoreResult<Vec<u64>> {
        let ids: Vec<i64> =
            exec::query_scalar("SELECT job_id FROM jobs_closing ORDER BY job_id LIMIT ?")
                .bind(i64::from(limit))
                .fetch_all(&mut self.tx)
                .await?;
        job_ids(ids)
    }
}
