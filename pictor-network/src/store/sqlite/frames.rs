//! `FramesTx` on SQLite: accepted outputs (frames and tiles) of jobs.

use super::*;
use crate::store::FramesTx;

impl FramesTx for SqliteTx {
    async fn insert_frame(&mut self, row: &FrameRow) -> StoreResult<()> {
        exec::query(
            "INSERT INTO frames (job_id, frame, task_id, hash, size, name) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT(job_id, frame, task_id)
             DO UPDATE SET hash = excluded.hash, size = excluded.size, name = excluded.name",
        )
        .bind(to_i64(row.job_id, "job_id")?)
        .bind(i64::from(row.frame))
        .bind(to_i64(row.task_id, "task_id")?)
        .bind(&row.hash)
        .bind(to_i64(row.size, "size")?)
        .bind(&row.name)
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }

    async fn frames_of(&mut self, job: u64) -> StoreResult<Vec<FrameRow>> {
        exec::query("SELECT * FROM frames WHERE job_id = ? ORDER BY frame, task_id")
            .bind(to_i64(job, "job_id")?)
            .fetch_all(&mut self.tx)
            .await?
            .iter()
            .map(frame_row)
            .collect()
    }

    async fn delete_frames(&mut self, job: u64, frames: &[u32]) -> StoreResult<()> {
        for frame in frames {
            exec::query("DELETE FROM frames WHERE job_id = ? AND frame = ?")
                .bind(to_i64(job, "job_id")?)
                .bind(i64::from(*frame))
                .execute(&mut self.tx)
                .await?;
        }
        Ok(())
    }
}
