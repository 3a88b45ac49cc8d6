//! The SQL of [`WebhooksTx`](super::WebhooksTx) and [`BudgetsTx`](super::BudgetsTx), one text for
//! both stores (`?` placeholders, numbered for PostgreSQL by
//! [`statement`](super::providers_sql::statement)); [`impl_alerts_tx`] implements both traits for a
//! backend's transaction type.

use super::budgets::BudgetRow;
use super::sql::{Columns, get_opt_u64, get_u32, get_u64};
use super::webhooks::{DeliveryRow, DeliveryState, WebhookRow};
use super::{StoreError, StoreResult};
use pictor_core::Money;

pub(crate) const INSERT_WEBHOOK: &str = "INSERT INTO webhooks \
     (person_id, url, events, secret, created_at_ms, deleted) VALUES (?, ?, ?, ?, ?, 0) RETURNING id";
pub(crate) const WEBHOOKS_OF_PERSON: &str =
    "SELECT * FROM webhooks WHERE person_id = ? ORDER BY id";
pub(crate) const WEBHOOKS_OF_ACCOUNT: &str = "SELECT w.* FROM webhooks w \
     JOIN person_accounts p ON p.person_id = w.person_id \
     WHERE p.account_id = ? AND w.deleted = 0 ORDER BY w.id";
pub(crate) const DELETE_WEBHOOK: &str =
    "UPDATE webhooks SET deleted = 1 WHERE person_id = ? AND id = ? AND deleted = 0";
pub(crate) const INSERT_DELIVERY: &str = "INSERT INTO webhook_deliveries \
     (webhook_id, event, body, created_at_ms, state, attempts, next_attempt_ms) \
     VALUES (?, ?, ?, ?, 'pending', 0, ?) RETURNING id";
pub(crate) const DUE_DELIVERIES: &str = "SELECT d.id AS d_id, d.webhook_id, d.event, d.body, \
     d.created_at_ms AS d_created_at_ms, d.state, d.attempts, d.next_attempt_ms, d.last_status, \
     d.last_error, d.done_at_ms, w.* \
     FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
     WHERE d.state = 'pending' AND d.next_attempt_ms <= ? ORDER BY d.next_attempt_ms, d.id LIMIT ?";
pub(crate) const CLAIM_DELIVERY: &str = "UPDATE webhook_deliveries SET next_attempt_ms = ? \
     WHERE id = ? AND state = 'pending' AND next_attempt_ms <= ?";
pub(crate) const UPDATE_DELIVERY: &str = "UPDATE webhook_deliveries SET state = ?, attempts = ?, \
     next_attempt_ms = ?, last_status = ?, last_error = ?, done_at_ms = ? WHERE id = ?";
pub(crate) const DELIVERIES_OF_PERSON: &str = "SELECT d.id AS d_id, d.webhook_id, d.event, \
     d.body, d.created_at_ms AS d_created_at_ms, d.state, d.attempts, d.next_attempt_ms, \
     d.last_status, d.last_error, d.done_at_ms, w.url \
     FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
     WHERE w.person_id = ? ORDER BY d.id DESC LIMIT ?";
pub(crate) const UNANNOUNCED_OFFLINE: &str = "SELECT DISTINCT k.account_id, k.last_seen_ms \
     FROM workers k JOIN person_accounts p ON p.account_id = k.account_id \
     JOIN webhooks w ON w.person_id = p.person_id AND w.deleted = 0 \
     LEFT JOIN worker_offline_notices n ON n.worker_id = k.account_id \
     WHERE k.last_seen_ms >= ? AND k.last_seen_ms < ? AND w.events LIKE '%worker.offline%' \
     AND (n.last_seen_ms IS NULL OR n.last_seen_ms < k.last_seen_ms) ORDER BY k.account_id";
pub(crate) const DELETE_OFFLINE_NOTICE: &str =
    "DELETE FROM worker_offline_notices WHERE worker_id = ?";
pub(crate) const INSERT_OFFLINE_NOTICE: &str =
    "INSERT INTO worker_offline_notices (worker_id, last_seen_ms) VALUES (?, ?)";
pub(crate) const BUDGET: &str = "SELECT * FROM budgets WHERE account_id = ?";
pub(crate) const DELETE_BUDGET: &str = "DELETE FROM budgets WHERE account_id = ?";
pub(crate) const INSERT_BUDGET: &str = "INSERT INTO budgets \
     (account_id, limit_micros, pause_at_limit, month, alerted_percent) VALUES (?, ?, ?, ?, ?)";

pub(crate) fn webhook_row(row: &impl Columns) -> StoreResult<WebhookRow> {
    Ok(WebhookRow {
        id: get_u64(row, "id")?,
        person_id: get_u64(row, "person_id")?,
        url: row.text("url")?,
        events: row
            .text("events")?
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        secret: row.text("secret")?,
        created_at_ms: get_u64(row, "created_at_ms")?,
        deleted: row.int("deleted")? != 0,
    })
}

/// A delivery of a joined row (its columns `d_`-prefixed where they clash with the endpoint's).
pub(crate) fn delivery_row(row: &impl Columns) -> StoreResult<DeliveryRow> {
    let state = row.text("state")?;
    Ok(DeliveryRow {
        id: get_u64(row, "d_id")?,
        webhook_id: get_u64(row, "webhook_id")?,
        event: row.text("event")?,
        body: row.text("body")?,
        created_at_ms: get_u64(row, "d_created_at_ms")?,
        state: DeliveryState::from_name(&state)
            .ok_or(StoreError::OutOfRange { column: "state" })?,
        attempts: get_u32(row, "attempts")?,
        next_attempt_ms: get_u64(row, "next_attempt_ms")?,
        last_status: get_opt_u64(row, "last_status")?
            .map(|status| u16::try_from(status).unwrap_or(u16::MAX)),
        last_error: row.opt_text("last_error")?,
        done_at_ms: get_opt_u64(row, "done_at_ms")?,
    })
}

pub(crate) fn budget_row(row: &impl Columns) -> StoreResult<BudgetRow> {
    Ok(BudgetRow {
        account_id: get_u64(row, "account_id")?,
        limit: Money::from_micros(get_u64(row, "limit_micros")?),
        pause_at_limit: row.int("pause_at_limit")? != 0,
        month: row.text("month")?,
        alerted_percent: get_u32(row, "alerted_percent")?,
    })
}

/// Implements [`WebhooksTx`](super::WebhooksTx) and [`BudgetsTx`](super::BudgetsTx) for a
/// backend's transaction type (whose `tx` field is its open transaction, run through the backend's `exec` module) with the backend's
/// [`Placeholders`](super::providers_sql::Placeholders): invoked once by each backend.
macro_rules! impl_alerts_tx {
    ($tx:ty, $style:expr) => {
        impl $crate::store::WebhooksTx for $tx {
            async fn insert_webhook(
                &mut self,
                row: &$crate::store::webhooks::WebhookRow,
            ) -> StoreResult<u64> {
                use $crate::store::alerts_sql as q;
                use $crate::store::providers_sql::statement;
                let id: i64 = exec::query_scalar(statement(q::INSERT_WEBHOOK, $style))
                    .bind(to_i64(row.person_id, "person_id")?)
                    .bind(&row.url)
                    .bind(row.events.join(" "))
                    .bind(&row.secret)
                    .bind(to_i64(row.created_at_ms, "created_at_ms")?)
                    .fetch_one(&mut *self.tx)
                    .await?;
                u64::try_from(id).map_err(|_| StoreError::OutOfRange { column: "id" })
            }

            async fn webhooks_of_person(
                &mut self,
                person: u64,
            ) -> StoreResult<Vec<$crate::store::webhooks::WebhookRow>> {
                use $crate::store::alerts_sql as q;
                use $crate::store::providers_sql::statement;
                exec::query(statement(q::WEBHOOKS_OF_PERSON, $style))
                    .bind(to_i64(person, "person_id")?)
                    .fetch_all(&mut *self.tx)
                    .await?
                    .iter()
                    .map(q::webhook_row)
                    .collect()
            }

            async fn webhooks_of_account(
                &mut self,
                account: u64,
            ) -> StoreResult<Vec<$crate::store::webhooks::WebhookRow>> {
                use $crate::store::alerts_sql as q;
                use $crate::store::providers_sql::statement;
                exec::query(statement(q::WEBHOOKS_OF_ACCOUNT, $style))
                    .bind(to_i64(account, "account_id")?)
                    .fetch_all(&mut *self.tx)
                    .await?
                    .iter()
                    .map(q::webhook_row)
                    .collect()
            }

            async fn delete_webhook(&mut self, person: u64, id: u64) -> StoreResult<bool> {
                use $crate::store::alerts_sql as q;
                use $crate::store::providers_sql::statement;
                let done = exec::query(statement(q::DELETE_WEBHOOK, $style))
                    .bind(to_i64(person, "person_id")?)
                    .bind(to_i64(id, "id")?)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn insert_delivery(
                &mut self,
                webhook: u64,
                event: &str,
                body: &str,
                now_ms: u64,
            ) -> StoreResult<u64> {
                use $crate::store::alerts_sql as q;
                use $crate::store::providers_sql::statement;
                let now = to_i64(now_ms, "created_at_ms")?;
                let id: i64 = exec::query_scalar(statement(q::INSERT_DELIVERY, $style))
                    .bind(to_i64(webhook, "webhook_id")?)
                    .bind(event)
                    .bind(body)
                    .bind(now)
                    .bind(now)
                    .fetch_one(&mut *self.tx)
                    .await?;
                u64::try_from(id).map_err(|_| StoreError::OutOfRange { column: "id" })
            }

            async fn due_deliveries(
                &mut self,
                now_ms: u64,
                limit: u32,
            ) -> StoreResult<
                Vec<(
                    $crate::store::webhooks::DeliveryRow,
                    $crate::store::webhooks::WebhookRow,
                )>,
            > {
                use $crate::store::alerts_sql as q;
                use $crate::store::providers_sql::statement;
                exec::query(statement(q::DUE_DELIVERIES, $style))
                    .bind(to_i64(now_ms, "next_attempt_ms")?)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *self.tx)
                    .await?
                    .iter()
                    .map(|row| Ok((q::delivery_row(row)?, q::webhook_row(row)?)))
                    .collect()
            }

            async fn claim_delivery(
                &mut self,
                id: u64,
                now_ms: u64,
                hold_until_ms: u64,
            ) -> StoreResult<bool> {
                use $crate::store::alerts_sql as q;
                use $crate::store::providers_sql::statement;
                let done = exec::query(statement(q::CLAIM_DELIVERY, $style))
                    .bind(to_i64(hold_until_ms, "next_attempt_ms")?)
                    .bind(to_i64(id, "id")?)
                    .bind(to_i64(now_ms, "next_attempt_ms")?)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn update_delivery(
                &mut self,
                row: &$crate::store::webhooks::DeliveryRow,
            ) -> StoreResult<()> {
                use $crate::store::alerts_sql as q;
                use $crate::store::providers_sql::statement;
                exec::query(statement(q::UPDATE_DELIVERY, $style))
                    .bind(row.state.as_str())
                    .bind(i64::from(row.attempts))
                    .bind(to_i64(row.next_attempt_ms, "next_attempt_ms")?)
                    .bind(row.last_status.map(i64::from))
                    .bind(row.last_error.as_deref())
                    .bind(
                        row.done_at_ms
                            .map(|ms| to_i64(ms, "done_at_ms"))
                            .transpose()?,
                    )
                    .bind(to_i64(row.id, "id")?)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(())
            }

            async fn deliveries_of_person(
                &mut self,
                person: u64,
                limit: u32,
            ) -> StoreResult<Vec<($crate::store::webhooks::DeliveryRow, String)>> {
                use $crate::store::alerts_sql as q;
                use $crate::store::providers_sql::statement;
                exec::query(statement(q::DELIVERIES_OF_PERSON, $style))
                    .bind(to_i64(person, "person_id")?)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *self.tx)
                    .await?
                    .iter()
                    .map(|row| Ok((q::delivery_row(row)?, row.text("url")?)))
                    .collect()
            }

            async fn unannounced_offline_workers(
                &mut self,
                since_ms: u64,
                before_ms: u64,
            ) -> StoreResult<Vec<(u64, u64)>> {
                use $crate::store::alerts_sql as q;
                use $crate::store::providers_sql::statement;
                use $crate::store::sql::get_u64;
                exec::query(statement(q::UNANNOUNCED_OFFLINE, $style))
                    .bind(to_i64(since_ms, "last_seen_ms")?)
                    .bind(to_i64(before_ms, "last_seen_ms")?)
                    .fetch_all(&mut *self.tx)
                    .await?
                    .iter()
                    .map(|row| Ok((get_u64(row, "account_id")?, get_u64(row, "last_seen_ms")?)))
                    .collect()
            }

            async fn record_offline_notice(
                &mut self,
                worker: u64,
                last_seen_ms: u64,
            ) -> StoreResult<()> {
                use $crate::store::alerts_sql as q;
                use $crate::store::providers_sql::statement;
                let worker = to_i64(worker, "worker_id")?;
                exec::query(statement(q::DELETE_OFFLINE_NOTICE, $style))
                    .bind(worker)
                    .execute(&mut *self.tx)
                    .await?;
                exec::query(statement(q::INSERT_OFFLINE_NOTICE, $style))
                    .bind(worker)
                    .bind(to_i64(last_seen_ms, "last_seen_ms")?)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(())
            }
        }

        impl $crate::store::BudgetsTx for $tx {
            async fn budget(
                &mut self,
                account: u64,
            ) -> StoreResult<Option<$crate::store::budgets::BudgetRow>> {
                use $crate::store::alerts_sql as q;
                use $crate::store::providers_sql::statement;
                exec::query(statement(q::BUDGET, $style))
                    .bind(to_i64(account, "account_id")?)
                    .fetch_optional(&mut *self.tx)
                    .await?
                    .as_ref()
                    .map(q::budget_row)
                    .transpose()
            }

            async fn put_budget(
                &mut self,
                row: &$crate::store::budgets::BudgetRow,
            ) -> StoreResult<()> {
                use $crate::store::alerts_sql as q;
                use $crate::store::providers_sql::statement;
                let account = to_i64(row.account_id, "account_id")?;
                exec::query(statement(q::DELETE_BUDGET, $style))
                    .bind(account)
                    .execute(&mut *self.tx)
                    .await?;
                exec::query(statement(q::INSERT_BUDGET, $style))
                    .bind(account)
                    .bind(to_i64(row.limit.micros(), "limit_micros")?)
                    .bind(i64::from(row.pause_at_limit))
                    .bind(&row.month)
                    .bind(i64::from(row.alerted_percent))
                    .execute(&mut *self.tx)
                    .await?;
                Ok(())
            }

            async fn delete_budget(&mut self, account: u64) -> StoreResult<()> {
                use $crate::store::alerts_sql as q;
                use $crate::store::providers_sql::statement;
                exec::query(statement(q::DELETE_BUDGET, $style))
                    .bind(to_i64(account, "account_id")?)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(())
            }
        }
    };
}
pub(crate) use impl_alerts_tx;
