//! `ChecksTx` on PostgreSQL: checks of task results: their queue, leases and verdicts.

use super::*;
use crate::store::ChecksTx;

impl ChecksTx for PgTx {
    async fn insert_check(&mut self, row: &CheckRow) -> StoreResult<u64> {
        let subject = row
            .subject
            .as_ref()
            .map(|subject| json(subject, "subject"))
            .transpose()?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO checks (task_id, attempt, escalation, state, checker, lease_expires_ms,
                                 leased_at_ms, purpose, expected, subject, stake)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(to_i64(row.task_id, "task_id")?)
        .bind(i64::from(row.attempt))
        .bind(i64::from(row.escalation))
        .bind(row.state.as_str())
        .bind(row.checker.map(|c| to_i64(c, "checker")).transpose()?)
        .bind(
            row.lease_expires_ms
                .map(|ms| to_i64(ms, "lease_expires_ms"))
                .transpose()?,
        )
        .bind(
            row.leased_at_ms
                .map(|ms| to_i64(ms, "leased_at_ms"))
                .transpose()?,
        )
        .bind(row.purpose.as_str())
        .bind(row.expected.as_deref())
        .bind(subject)
        .bind(
            row.stake
                .map(|stake| to_i64(stake.micros(), "stake"))
                .transpose()?,
        )
        .fetch_one(&mut *self.tx)
        .await?;
        u64::try_from(id).map_err(|_| StoreError::OutOfRange { column: "id" })
    }

    async fn check(&mut self, id: u64) -> StoreResult<Option<CheckRow>> {
        sqlx::query("SELECT * FROM checks WHERE id = $1")
            .bind(to_i64(id, "id")?)
            .fetch_optional(&mut *self.tx)
            .await?
            .as_ref()
            .map(check_row)
            .transpose()
    }

    async fn update_check(&mut self, row: &CheckRow) -> StoreResult<()> {
        let verdict = row
            .verdict
            .map(|verdict| enum_text(&verdict, "verdict"))
            .transpose()?;
        let evidence = row
            .evidence
            .as_ref()
            .map(|evidence| json(evidence, "evidence"))
            .transpose()?;
        sqlx::query(
            "UPDATE checks SET state = $1, checker = $2, lease_expires_ms = $3, verdict = $4, evidence = $5, leased_at_ms = $6, done_at_ms = $7 WHERE id = $8",
        )
        .bind(row.state.as_str())
        .bind(row.checker.map(|c| to_i64(c, "checker")).transpose()?)
        .bind(
            row.lease_expires_ms
                .map(|ms| to_i64(ms, "lease_expires_ms"))
                .transpose()?,
        )
        .bind(verdict)
        .bind(evidence)
        .bind(row.leased_at_ms.map(|ms| to_i64(ms, "leased_at_ms")).transpose()?)
        .bind(row.done_at_ms.map(|ms| to_i64(ms, "done_at_ms")).transpose()?)
        .bind(to_i64(row.id, "id")?)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn checks_of_task(&mut self, task: u64) -> StoreResult<Vec<CheckRow>> {
        crate::store::listing::checks_of_task::<sqlx::QueryBuilder<sqlx::Postgres>>(task)?
            .build()
            .fetch_all(&mut *self.tx)
            .await?
            .iter()
            .map(check_row)
            .collect()
    }

    async fn drop_checks_of_task(&mut self, task: u64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE checks SET state = 'dropped' WHERE purpose = 'result' AND task_id = $1 AND state IN ('pending', 'leased')",
        )
        .bind(to_i64(task, "task_id")?)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn pending_checks(&mut self, checker: u64, limit: u32) -> StoreResult<Vec<CheckRow>> {
        sqlx::query(
            "SELECT * FROM checks c WHERE c.state = 'pending'
               AND NOT (c.purpose = 'confirm' AND EXISTS (
                 SELECT 1 FROM checks o WHERE o.task_id = c.task_id AND o.attempt = c.attempt
                   AND o.checker = $1))
             ORDER BY c.id LIMIT $2",
        )
        .bind(to_i64(checker, "checker")?)
        .bind(i64::from(limit))
        .fetch_all(&mut *self.tx)
        .await?
        .iter()
        .map(check_row)
        .collect()
    }

    async fn expired_check_leases(&mut self, now_ms: u64) -> StoreResult<Vec<CheckRow>> {
        sqlx::query("SELECT * FROM checks WHERE state = 'leased' AND lease_expires_ms < $1")
            .bind(to_i64(now_ms, "now_ms")?)
            .fetch_all(&mut *self.tx)
            .await?
            .iter()
            .map(check_row)
            .collect()
    }

    async fn count_checks_in_state(&mut self, state: &str) -> StoreResult<u64> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM checks WHERE state = $1")
            .bind(state)
            .fetch_one(&mut *self.tx)
            .await?;
        u64::try_from(count).map_err(|_| StoreError::OutOfRange { column: "count" })
    }
}
