//! The SQL of [`OperatorTx`](super::OperatorTx), one text for both stores (`?` placeholders,
//! numbered for PostgreSQL by [`statement`](super::providers_sql::statement));
//! [`impl_operator_tx`] implements the trait for a backend's transaction type.

use super::StoreResult;
use super::operator::{LeasedTaskRow, RejectTally};
use super::sql::{Columns, get_u64};

pub(crate) const OLDEST_LEASES: &str = "SELECT t.id, t.job_id, t.work_bench_ms, t.lease_worker, \
     a.leased_at_ms FROM tasks t JOIN task_attempts a ON a.task_id = t.id \
     AND a.attempt = (SELECT MAX(b.attempt) FROM task_attempts b WHERE b.task_id = t.id) \
     WHERE t.lease_worker IS NOT NULL AND t.state_name = 'leased' \
     ORDER BY a.leased_at_ms, t.id LIMIT ?";
pub(crate) const WORKERS_REJECTED: &str = "SELECT worker_id, CAST(SUM(rejects) AS BIGINT) AS rejects, \
     CAST(SUM(CASE WHEN blocked <> 0 THEN 1 ELSE 0 END) AS BIGINT) AS blocked_jobs FROM job_workers \
     GROUP BY worker_id HAVING SUM(rejects) >= ? ORDER BY SUM(rejects) DESC, worker_id LIMIT ?";

pub(crate) fn leased_task_row(row: &impl Columns) -> StoreResult<LeasedTaskRow> {
    Ok(LeasedTaskRow {
        task_id: get_u64(row, "id")?,
        job_id: get_u64(row, "job_id")?,
        work_bench_ms: get_u64(row, "work_bench_ms")?,
        worker_id: get_u64(row, "lease_worker")?,
        leased_at_ms: get_u64(row, "leased_at_ms")?,
    })
}

pub(crate) fn reject_tally(row: &impl Columns) -> StoreResult<RejectTally> {
    Ok(RejectTally {
        worker_id: get_u64(row, "worker_id")?,
        rejects: get_u64(row, "rejects")?,
        blocked_jobs: get_u64(row, "blocked_jobs")?,
    })
}

/// Implements [`OperatorTx`](super::OperatorTx) for a backend's transaction type (whose `tx`
/// field is its open transaction, run through the backend's `exec` module) with the backend's
/// [`Placeholders`](super::providers_sql::Placeholders): invoked once by each backend.
macro_rules! impl_operator_tx {
    ($tx:ty, $style:expr) => {
        impl $crate::store::OperatorTx for $tx {
            async fn oldest_leases(
                &mut self,
                limit: u32,
            ) -> StoreResult<Vec<$crate::store::operator::LeasedTaskRow>> {
                use $crate::store::operator_sql as q;
                use $crate::store::providers_sql::statement;
                exec::query(statement(q::OLDEST_LEASES, $style))
                    .bind(i64::from(limit))
                    .fetch_all(&mut *self.tx)
                    .await?
                    .iter()
                    .map(q::leased_task_row)
                    .collect()
            }

            async fn workers_rejected(
                &mut self,
                min_rejects: u64,
                limit: u32,
            ) -> StoreResult<Vec<$crate::store::operator::RejectTally>> {
                use $crate::store::operator_sql as q;
                use $crate::store::providers_sql::statement;
                exec::query(statement(q::WORKERS_REJECTED, $style))
                    .bind(to_i64(min_rejects, "rejects")?)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *self.tx)
                    .await?
                    .iter()
                    .map(q::reject_tally)
                    .collect()
            }
        }
    };
}
pub(crate) use impl_operator_tx;
