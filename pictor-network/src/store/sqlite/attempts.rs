//! `AttemptsTx` on SQLite: who leased each attempt of a task, and what each worker did in each job (failures, rejects, blocks, accepted work).

use super::*;
use crate::store::AttemptsTx;

impl AttemptsTx for SqliteTx {
    async fn record_reject(&mut self, job: u64, worker: u64) -> StoreResult<u32> {
        let rejects: i64 = exec::query_scalar(
            "INSERT INTO job_workers (job_id, worker_id, rejects) VALUES (?, ?, 1)
             ON CONFLICT(job_id, worker_id) DO UPDATE SET rejects = rejects + 1 RETURNING rejects",
        )
        .bind(to_i64(job, "job_id")?)
        .bind(to_i64(worker, "worker_id")?)
        .fetch_one(&mut self.tx)
        .await?;
        u32::try_from(rejects).map_err(|_| StoreError::OutOfRange { column: "rejects" })
    }

    async fn record_failure(&mut self, job: u64, worker: u64) -> StoreResult<u32> {
        let failures: i64 = exec::query_scalar(
            "INSERT INTO job_workers (job_id, worker_id, failures) VALUES (?, ?, 1)
             ON CONFLICT(job_id, worker_id) DO UPDATE SET failures = failures + 1 RETURNING failures",
        )
        .bind(to_i64(job, "job_id")?)
        .bind(to_i64(worker, "worker_id")?)
        .fetch_one(&mut self.tx)
        .await?;
        u32::try_from(failures).map_err(|_| StoreError::OutOfRange { column: "failures" })
    }

    async fn count_leases_of(&mut self, worker: u64) -> StoreResult<u64> {
        let count: i64 = exec::query_scalar(
            "SELECT COUNT(*) FROM tasks WHERE lease_worker = ? AND state_name = 'leased'",
        )
        .bind(to_i64(worker, "worker_id")?)
        .fetch_one(&mut self.tx)
        .await?;
        u64::try_from(count).map_err(|_| StoreError::OutOfRange { column: "count" })
    }

    async fn insert_attempt(&mut self, row: &AttemptRow) -> StoreResult<()> {
        exec::query(
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
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }

    async fn attempt(&mut self, task: u64, attempt: u32) -> StoreResult<Option<AttemptRow>> {
        exec::query("SELECT * FROM task_attempts WHERE task_id = ? AND attempt = ?")
            .bind(to_i64(task, "task_id")?)
            .bind(i64::from(attempt))
            .fetch_optional(&mut self.tx)
            .await?
            .as_ref()
            .map(attempt_row)
            .transpose()
    }

    async fn mark_delivered(&mut self, task: u64, attempt: u32, now_ms: u64) -> StoreResult<()> {
        exec::query(
            "UPDATE task_attempts SET delivered_at_ms = ? WHERE task_id = ? AND attempt = ?",
        )
        .bind(to_i64(now_ms, "delivered_at_ms")?)
        .bind(to_i64(task, "task_id")?)
        .bind(i64::from(attempt))
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }

    async fn add_accepted_work(
        &mut self,
        worker: u64,
        bench_ms: u64,
        wall_ms: u64,
    ) -> StoreResult<()> {
        exec::query(
            "UPDATE workers SET accepted_tasks = accepted_tasks + 1,
               accepted_bench_ms = accepted_bench_ms + ?, accepted_wall_ms = accepted_wall_ms + ?
             WHERE account_id = ?",
        )
        .bind(to_i64(bench_ms, "accepted_bench_ms")?)
        .bind(to_i64(wall_ms, "accepted_wall_ms")?)
        .bind(to_i64(worker, "account_id")?)
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }

    async fn block_worker(&mut self, job: u64, worker: u64) -> StoreResult<()> {
        exec::query(
            "INSERT INTO job_workers (job_id, worker_id, blocked) VALUES (?, ?, 1)
             ON CONFLICT(job_id, worker_id) DO UPDATE SET blocked = 1",
        )
        .bind(to_i64(job, "job_id")?)
        .bind(to_i64(worker, "worker_id")?)
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }

    async fn is_blocked(&mut self, job: u64, worker: u64) -> StoreResult<bool> {
        let found: Option<i64> = exec::query_scalar(
            "SELECT 1 FROM job_workers WHERE job_id = ? AND worker_id = ? AND blocked = 1",
        )
        .bind(to_i64(job, "job_id")?)
        .bind(to_i64(worker, "worker_id")?)
        .fetch_optional(&mut self.tx)
        .await?;
        Ok(found.is_some())
    }
}
