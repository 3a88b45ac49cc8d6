//! `TasksTx` on PostgreSQL: tasks: their rows, the dispatch queue, expiries and per-job summaries.

use super::*;
use crate::store::TaskProgress;
use crate::store::TasksTx;

impl TasksTx for PgTx {
    async fn insert_task(&mut self, row: &TaskRow) -> StoreResult<()> {
        let outputs = row
            .outputs
            .as_ref()
            .map(|outputs| json(outputs, "outputs"))
            .transpose()?;
        sqlx::query(
            "INSERT INTO tasks (id, job_id, idx, work, work_bench_ms, state, state_name, lease_expires_ms,
               outputs, hold, hold_generation, hold_open, agreed_cost, rejects)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
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
        sqlx::query("SELECT * FROM tasks WHERE id = $1")
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
            "UPDATE tasks SET state = $1, state_name = $2, lease_expires_ms = $3, lease_worker = $4, outputs = $5,
               hold = $6, hold_generation = $7, hold_open = $8, agreed_cost = $9, rejects = $10 WHERE id = $11",
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
        sqlx::query("SELECT * FROM tasks WHERE job_id = $1 ORDER BY idx")
            .bind(to_i64(job, "job_id")?)
            .fetch_all(&mut *self.tx)
            .await?
            .iter()
            .map(task_row)
            .collect()
    }

    async fn leasable_tasks(&mut self, limit: u32) -> StoreResult<Vec<TaskRow>> {
        // Tier priority first (the JSON spec's tier: priority > standard > economy), then FIFO by
        // job: the active jobs in that order (`jobs_active`), each one's first pending tasks in
        // split order (`tasks_by_state`), so no lease sorts every pending task.
        sqlx::query(
            "SELECT t.* FROM (SELECT id, priority FROM jobs WHERE state IN ('queued', 'running')) j
             CROSS JOIN LATERAL (
                 SELECT * FROM tasks
                 WHERE job_id = j.id AND state_name = 'pending' AND hold_open = 1
                 ORDER BY idx LIMIT $1
             ) t
             ORDER BY j.priority, j.id, t.idx
             LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&mut *self.tx)
        .await?
        .iter()
        .map(task_row)
        .collect()
    }

    async fn expired_task_leases(&mut self, now_ms: u64) -> StoreResult<Vec<TaskRow>> {
        sqlx::query("SELECT * FROM tasks WHERE state_name = 'leased' AND lease_expires_ms < $1")
            .bind(to_i64(now_ms, "now_ms")?)
            .fetch_all(&mut *self.tx)
            .await?
            .iter()
            .map(task_row)
            .collect()
    }

    async fn any_unaccepted_task(&mut self, job: u64) -> StoreResult<bool> {
        let found: Option<i32> = sqlx::query_scalar(
            // Every `TaskState::name` but 'accepted'.
            "SELECT 1 FROM tasks
             WHERE state_name IN ('pending', 'leased', 'uploaded', 'verifying', 'failed', 'cancelled')
               AND job_id = $1 LIMIT 1",
        )
        .bind(to_i64(job, "job_id")?)
        .fetch_optional(&mut *self.tx)
        .await?;
        Ok(found.is_some())
    }

    async fn count_tasks_in_state(&mut self, state_name: &str) -> StoreResult<u64> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tasks WHERE state_name = $1")
            .bind(state_name)
            .fetch_one(&mut *self.tx)
            .await?;
        u64::try_from(count).map_err(|_| StoreError::OutOfRange { column: "count" })
    }

    async fn task_summary(&mut self, job: u64) -> StoreResult<TaskSummary> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS total,
                    COALESCE(SUM(CASE WHEN state_name = 'accepted' THEN 1 ELSE 0 END), 0)::BIGINT AS accepted,
                    COALESCE(SUM(CASE WHEN state_name = 'accepted' THEN agreed_cost ELSE 0 END), 0)::BIGINT AS spent
             FROM tasks WHERE job_id = $1",
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

    async fn task_progress(&mut self, jobs: &[u64]) -> StoreResult<Vec<(u64, TaskProgress)>> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        crate::store::listing::task_progress::<sqlx::QueryBuilder<sqlx::Postgres>>(jobs)?
            .build()
            .fetch_all(&mut *self.tx)
            .await?
            .iter()
            .map(crate::store::listing::task_progress_row)
            .collect()
    }

    async fn open_tasks_of_job(&mut self, job: u64, limit: u32) -> StoreResult<Vec<TaskRow>> {
        sqlx::query(
            "SELECT * FROM tasks WHERE job_id = $1
               AND (hold_open = 1 OR state_name NOT IN ('accepted', 'failed', 'cancelled'))
             ORDER BY idx LIMIT $2",
        )
        .bind(to_i64(job, "job_id")?)
        .bind(i64::from(limit))
        .fetch_all(&mut *self.tx)
        .await?
        .iter()
        .map(task_row)
        .collect()
    }
}
