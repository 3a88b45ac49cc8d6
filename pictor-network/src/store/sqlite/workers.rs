//! `WorkersTx` on SQLite: registered workers: their keys, offers, last contact and measured work.

use super::*;
use crate::store::WorkersTx;

impl WorkersTx for SqliteTx {
    async fn upsert_worker(&mut self, row: &WorkerRow) -> StoreResult<()> {
        exec::query(
            "INSERT INTO workers (account_id, name, public_key, hardware, price, speed_millis, slots, last_seen_ms, min_tier, queue_delay_secs)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT(account_id) DO UPDATE SET name = excluded.name, public_key = excluded.public_key,
               hardware = excluded.hardware, price = excluded.price, speed_millis = excluded.speed_millis,
               slots = excluded.slots, last_seen_ms = excluded.last_seen_ms, min_tier = excluded.min_tier,
               queue_delay_secs = excluded.queue_delay_secs",
        )
        .bind(to_i64(row.account_id, "account_id")?)
        .bind(&row.name)
        .bind(&row.public_key[..])
        .bind(json(&row.hardware, "hardware")?)
        .bind(to_i64(row.price.micros(), "price")?)
        .bind(i64::from(row.speed_millis))
        .bind(i64::from(row.slots))
        .bind(to_i64(row.last_seen_ms, "last_seen_ms")?)
        .bind(enum_text(&row.min_tier, "min_tier")?)
        .bind(row.queue_delay_secs.map(i64::from))
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }

    async fn worker(&mut self, id: u64) -> StoreResult<Option<WorkerRow>> {
        exec::query("SELECT * FROM workers WHERE account_id = ?")
            .bind(to_i64(id, "account_id")?)
            .fetch_optional(&mut self.tx)
            .await?
            .as_ref()
            .map(worker_row)
            .transpose()
    }

    async fn workers(&mut self) -> StoreResult<Vec<WorkerRow>> {
        exec::query("SELECT * FROM workers ORDER BY account_id")
            .fetch_all(&mut self.tx)
            .await?
            .iter()
            .map(worker_row)
            .collect()
    }

    async fn touch_worker(&mut self, id: u64, now_ms: u64) -> StoreResult<()> {
        exec::query("UPDATE workers SET last_seen_ms = ? WHERE account_id = ?")
            .bind(to_i64(now_ms, "last_seen_ms")?)
            .bind(to_i64(id, "account_id")?)
            .execute(&mut self.tx)
            .await?;
        Ok(())
    }
}
