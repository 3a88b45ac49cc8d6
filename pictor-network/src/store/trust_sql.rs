//! The SQL of [`TrustTx`](super::TrustTx), one text for both stores (`?` placeholders, numbered
//! for PostgreSQL by [`statement`](super::providers_sql::statement)); [`impl_trust_tx`] implements
//! the trait for a backend's transaction type.

use super::StoreResult;
use super::sql::{Columns, get_opt_u64, get_u32, get_u64};
use super::trust::StandingRow;

pub(crate) const STANDING: &str = "SELECT * FROM checker_standing WHERE account_id = ?";
/// The checker's standing written whole, one statement whether or not it has a row yet.
pub(crate) const PUT_STANDING: &str = "INSERT INTO checker_standing \
     (account_id, leases, next_probe_at, probes_passed, cheats_seen, cheats_accepted, \
     honest_seen, honest_rejected, strikes, fees_forfeited, barred_at_ms) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
     ON CONFLICT (account_id) DO UPDATE SET leases = excluded.leases, \
     next_probe_at = excluded.next_probe_at, probes_passed = excluded.probes_passed, \
     cheats_seen = excluded.cheats_seen, cheats_accepted = excluded.cheats_accepted, \
     honest_seen = excluded.honest_seen, honest_rejected = excluded.honest_rejected, \
     strikes = excluded.strikes, fees_forfeited = excluded.fees_forfeited, \
     barred_at_ms = excluded.barred_at_ms";
pub(crate) const FORGET_REPUTATION: &str =
    "UPDATE workers SET accepted_tasks = 0 WHERE account_id = ?";
/// Walks `tasks_accepted` newest first; each task's checks through `checks_by_task` (`+checker`
/// keeps SQLite off `checks_by_checker`, which would walk all the checker's checks per task).
pub(crate) const ACCEPTED_TASKS_UNJUDGED_BY: &str = "SELECT * FROM tasks t \
     WHERE t.state_name = 'accepted' AND NOT EXISTS (SELECT 1 FROM checks c \
       WHERE c.task_id = t.id AND +c.checker = ? AND c.purpose <> 'probe') \
     ORDER BY t.id DESC LIMIT ?";

/// [`ACCEPTED_TASKS_UNJUDGED_BY`] for SQLite, which without statistics prefers `tasks_by_state`
/// and sorts every accepted task on every probe.
pub(crate) const ACCEPTED_TASKS_UNJUDGED_BY_SQLITE: &str = "SELECT * FROM tasks t \
     INDEXED BY tasks_accepted \
     WHERE t.state_name = 'accepted' AND NOT EXISTS (SELECT 1 FROM checks c \
       WHERE c.task_id = t.id AND +c.checker = ? AND c.purpose <> 'probe') \
     ORDER BY t.id DESC LIMIT ?";
pub(crate) const OPEN_WORK_OF_WORKER: &str = "SELECT \
     (SELECT COUNT(*) FROM task_attempts a JOIN tasks t ON t.id = a.task_id \
        WHERE a.worker_id = ? AND t.state_name IN ('leased', 'verifying')) + \
     (SELECT COUNT(*) FROM checks c JOIN task_attempts a \
        ON a.task_id = c.task_id AND a.attempt = c.attempt \
        WHERE a.worker_id = ? AND c.purpose = 'confirm' AND c.state IN ('pending', 'leased')) \
     AS open_work";

pub(crate) fn standing_row(row: &impl Columns) -> StoreResult<StandingRow> {
    Ok(StandingRow {
        account_id: get_u64(row, "account_id")?,
        leases: get_u64(row, "leases")?,
        next_probe_at: get_u64(row, "next_probe_at")?,
        probes_passed: get_u64(row, "probes_passed")?,
        cheats_seen: get_u64(row, "cheats_seen")?,
        cheats_accepted: get_u64(row, "cheats_accepted")?,
        honest_seen: get_u64(row, "honest_seen")?,
        honest_rejected: get_u64(row, "honest_rejected")?,
        strikes: get_u32(row, "strikes")?,
        fees_forfeited: get_u64(row, "fees_forfeited")?,
        barred_at_ms: get_opt_u64(row, "barred_at_ms")?,
    })
}

/// Implements [`TrustTx`](super::TrustTx) for a backend's transaction type (whose `tx` field is
/// its open transaction, run through the backend's `exec` module) with the backend's [`Placeholders`](super::providers_sql::Placeholders):
/// invoked once by each backend.
macro_rules! impl_trust_tx {
    ($tx:ty, $style:expr) => {
        impl $crate::store::TrustTx for $tx {
            async fn checker_standing(
                &mut self,
                account: u64,
            ) -> StoreResult<$crate::store::trust::StandingRow> {
                use $crate::store::providers_sql::statement;
                use $crate::store::trust_sql as q;
                let found = exec::query(statement(q::STANDING, $style))
                    .bind(to_i64(account, "account_id")?)
                    .fetch_optional(&mut *self.tx)
                    .await?
                    .as_ref()
                    .map(q::standing_row)
                    .transpose()?;
                Ok(found.unwrap_or($crate::store::trust::StandingRow {
                    account_id: account,
                    ..Default::default()
                }))
            }

            async fn put_checker_standing(
                &mut self,
                row: &$crate::store::trust::StandingRow,
            ) -> StoreResult<()> {
                use $crate::store::providers_sql::statement;
                use $crate::store::trust_sql as q;
                let account = to_i64(row.account_id, "account_id")?;
                exec::query(statement(q::PUT_STANDING, $style))
                    .bind(account)
                    .bind(to_i64(row.leases, "leases")?)
                    .bind(to_i64(row.next_probe_at, "next_probe_at")?)
                    .bind(to_i64(row.probes_passed, "probes_passed")?)
                    .bind(to_i64(row.cheats_seen, "cheats_seen")?)
                    .bind(to_i64(row.cheats_accepted, "cheats_accepted")?)
                    .bind(to_i64(row.honest_seen, "honest_seen")?)
                    .bind(to_i64(row.honest_rejected, "honest_rejected")?)
                    .bind(i64::from(row.strikes))
                    .bind(to_i64(row.fees_forfeited, "fees_forfeited")?)
                    .bind(
                        row.barred_at_ms
                            .map(|ms| to_i64(ms, "barred_at_ms"))
                            .transpose()?,
                    )
                    .execute(&mut *self.tx)
                    .await?;
                Ok(())
            }

            async fn accepted_tasks_unjudged_by(
                &mut self,
                checker: u64,
                limit: u32,
            ) -> StoreResult<Vec<$crate::store::TaskRow>> {
                use $crate::store::providers_sql::statement;
                use $crate::store::trust_sql as q;
                let sql = if $style == $crate::store::providers_sql::Placeholders::Question {
                    q::ACCEPTED_TASKS_UNJUDGED_BY_SQLITE
                } else {
                    q::ACCEPTED_TASKS_UNJUDGED_BY
                };
                exec::query(statement(sql, $style))
                    .bind(to_i64(checker, "checker")?)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *self.tx)
                    .await?
                    .iter()
                    .map($crate::store::sql::task_row)
                    .collect()
            }

            async fn forget_reputation(&mut self, worker: u64) -> StoreResult<()> {
                use $crate::store::providers_sql::statement;
                use $crate::store::trust_sql as q;
                exec::query(statement(q::FORGET_REPUTATION, $style))
                    .bind(to_i64(worker, "account_id")?)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(())
            }

            async fn open_work_of_worker(&mut self, worker: u64) -> StoreResult<u64> {
                use $crate::store::providers_sql::statement;
                use $crate::store::trust_sql as q;
                let worker = to_i64(worker, "worker_id")?;
                let open: i64 = exec::query_scalar(statement(q::OPEN_WORK_OF_WORKER, $style))
                    .bind(worker)
                    .bind(worker)
                    .fetch_one(&mut *self.tx)
                    .await?;
                u64::try_from(open).map_err(|_| StoreError::OutOfRange {
                    column: "open_work",
                })
            }
        }
    };
}
pub(crate) use impl_trust_tx;
