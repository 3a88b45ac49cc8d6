//! `MetaTx` on SQLite: the network-wide bookkeeping: the key-value meta table and the counters of `GET /v1/stats`.

use super::*;
use crate::store::MetaTx;

impl MetaTx for SqliteTx {
    async fn meta(&mut self, key: &str) -> StoreResult<Option<String>> {
        exec::query_scalar("SELECT value FROM meta WHERE key = ?")
            .bind(key)
            .fetch_optional(&mut self.tx)
            .await
    }

    async fn set_meta(&mut self, key: &str, value: &str) -> StoreResult<()> {
        exec::query("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&mut self.tx)
            .await?;
        Ok(())
    }

    async fn count(&mut self, what: Countable) -> StoreResult<u64> {
        let sql = match what {
            Countable::Accounts => "SELECT COUNT(*) FROM accounts",
            Countable::Workers => "SELECT COUNT(*) FROM workers",
            Countable::ActiveJobs => {
                "SELECT COUNT(*) FROM jobs WHERE state NOT IN ('completed', 'failed', 'cancelled')"
            }
            Countable::LedgerEntries => "SELECT COUNT(*) FROM ledger_entries",
        };
        let count: i64 = exec::query_scalar(sql).fetch_one(&mut self.tx).await?;
        u64::try_from(count).map_err(|_| StoreError::OutOfRange { column: "count" })
    }
}
