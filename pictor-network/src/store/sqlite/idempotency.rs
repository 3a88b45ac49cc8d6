//! `IdempotencyTx` on SQLite: answers of keyed requests, so a retry answers the first response.

use super::*;
use crate::store::IdempotencyTx;

impl IdempotencyTx for SqliteTx {
    async fn idempotent_response(
        &mut self,
        account: u64,
        route: &str,
        key: &str,
    ) -> StoreResult<Option<(String, String)>> {
        let row = exec::query(
            "SELECT request_hash, response FROM idempotency WHERE account_id = ? AND route = ? AND key = ?",
        )
        .bind(to_i64(account, "account_id")?)
        .bind(route)
        .bind(key)
        .fetch_optional(&mut self.tx)
        .await?;
        row.as_ref()
            .map(|row| Ok((row.try_get("request_hash")?, row.try_get("response")?)))
            .transpose()
    }

    async fn store_idempotent_response(
        &mut self,
        account: u64,
        route: &str,
        key: &str,
        request_hash: &str,
        response: &str,
    ) -> StoreResult<()> {
        exec::query(
            "INSERT INTO idempotency (account_id, route, key, request_hash, response) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(to_i64(account, "account_id")?)
        .bind(route)
        .bind(key)
        .bind(request_hash)
        .bind(response)
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }
}
