//! `IdempotencyTx` on PostgreSQL: answers of keyed requests, so a retry answers the first response.

use super::*;
use crate::store::IdempotencyTx;

impl IdempotencyTx for PgTx {
    async fn idempotent_response(
        &mut self,
        account: u64,
        route: &str,
        key: &str,
    ) -> StoreResult<Option<(String, String)>> {
        let row = sqlx::query(
            "SELECT request_hash, response FROM idempotency WHERE account_id = $1 AND route = $2 AND key = $3",
        )
        .bind(to_i64(account, "account_id")?)
        .bind(route)
        .bind(key)
        .fetch_optional(&mut *self.tx)
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
        sqlx::query(
            "INSERT INTO idempotency (account_id, route, key, request_hash, response) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(to_i64(account, "account_id")?)
        .bind(route)
        .bind(key)
        .bind(request_hash)
        .bind(response)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}
