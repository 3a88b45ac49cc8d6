//! `ChecksTx` on SQLite: checks of task results: their queue, leases and verdicts.

use super::*;
use crate::store::ChecksTx;

impl ChecksTx for SqliteTx {
    async fn insert_check(&mut self, row: &CheckRow) -> StoreResult<u64> {
        let subject = row
            .subject
            .as_ref()
            .map(|subject| json(subject, "subject"))
            .transpose()?;
        let id: i64 = exec::query_scalar(
            "INSERT INTO checks (task_id, attempt, escalation, state, checker, lease_expires_ms,
                                 leased_at_ms, purpose, expected, subject, stake)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
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
        .fetch_one(&mut self.tx)
        .await?;
        u64::try_from(id).map_err(|_| StoreError::OutOfRange { column: "id" })
    }

    async fn check(&mut self, id: u64) -> StoreResult<Option<CheckRow>> {
        exec::query("SELECT * FROM checks WHERE id = ?")
            .bind(to_i64(id, "id")?)
            .fetch_optional(&mut self.tx)
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
        exec::query(
            "UPDATE checks SET state = ?, checker = ?, lease_expires_ms = ?, verdict = ?, evidence = ?, leased_at_ms = ?, done_at_ms = ? WHERE id = ?",
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
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }

    async fn checks_of_task(&mut self, task: u64) -> StoreResult<Vec<CheckRow>> {
        crate::store::listing::checks_of_task::<exec::QueryBuilder>(task)?
            .build()
            .fetch_all(&mut self.tx)
            .await?
            .iter()
            .map(check_row)
            .collect()
    }

    async fn drop_checks_of_task(&mut self, task: u64) -> StoreResult<()> {
        exec::query(
            "UPDATE checks SET state = 'dropped' WHERE purpose = 'result' AND task_id = ? AND state IN ('pending', 'leased')",
        )
        .bind(to_i64(task, "task_id")?)
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }

    async fn pending_checks(&mut self, checker: u64, limit: u32) -> StoreResult<Vec<CheckRow>> {
        exec::query(
            "SELECT * FROM checks c WHERE c.state = 'pending'
               AND NOT (c.purpose = 'confirm' AND EXISTS (
                 SELECT 1 FROM checks o WHERE o.task_id = c.task_id AND o.attempt = c.attempt
                   AND o.checker = ?))
             ORDER BY c.id LIMIT ?",
        )
        .bind(to_i64(checker, "checker")?)
        .bind(i64::from(limit))
        .fetch_all(&mut self.tx)
        .await?
        .iter()
        .map(check_row)
        .collect()
    }

    async fn expired_check_leases(&mut self, now_ms: u64) -> StoreResult<Vec<CheckRow>> {
        exec::query(
            "SELECT * FROM checks INDEXED BY checks_lease_expiry
             WHERE state = 'leased' AND lease_expires_ms < ?",
        )
        .bind(to_i64(now_ms, "now_ms")?)
        .fetch_all(&mut self.tx)
        .await?
        .iter()
        .map(check_row)
        .collect()
    }

    async fn count_checks_in_state(&mut self, state: &str) -> StoreResult<u64> {
        let count: i64 = exec::query_scalar("SELECT COUNT(*) FROM checks WHERE state = ?")
            .bind(state)
            .fetch_one(&mut self.tx)
            .await?;
        u64::try_from(count).map_err(|_| StoreError::OutOfRange { column: "count" })
    }
}
