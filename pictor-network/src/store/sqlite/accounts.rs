//! `AccountsTx` on SQLite: accounts and their API keys (stored as BLAKE3 hashes).

use super::*;
use crate::store::AccountsTx;

impl AccountsTx for SqliteTx {
    async fn insert_account(
        &mut self,
        role: &str,
        name: &str,
        key_hash: &[u8; 32],
        now_ms: u64,
    ) -> StoreResult<u64> {
        let id: i64 = exec::query_scalar(
            "INSERT INTO accounts (role, name, created_at_ms) VALUES (?, ?, ?) RETURNING id",
        )
        .bind(role)
        .bind(name)
        .bind(to_i64(now_ms, "created_at_ms")?)
        .fetch_one(&mut self.tx)
        .await?;
        exec::query("INSERT INTO api_keys (key_hash, account_id) VALUES (?, ?)")
            .bind(&key_hash[..])
            .bind(id)
            .execute(&mut self.tx)
            .await?;
        u64::try_from(id).map_err(|_| StoreError::OutOfRange { column: "id" })
    }

    async fn account(&mut self, id: u64) -> StoreResult<Option<AccountRow>> {
        exec::query("SELECT * FROM accounts WHERE id = ?")
            .bind(to_i64(id, "id")?)
            .fetch_optional(&mut self.tx)
            .await?
            .as_ref()
            .map(account_row)
            .transpose()
    }

    async fn account_by_key(&mut self, key_hash: &[u8; 32]) -> StoreResult<Option<AccountRow>> {
        exec::query(
            "SELECT a.* FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.key_hash = ?",
        )
        .bind(&key_hash[..])
        .fetch_optional(&mut self.tx)
        .await?
        .as_ref()
        .map(account_row)
        .transpose()
    }
}
