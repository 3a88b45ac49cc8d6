//! `SessionsTx` on SQLite: sessions of the web app.

use super::*;
use crate::store::sql::session_row;
use crate::store::{SessionRow, SessionsTx};

impl SessionsTx for SqliteTx {
    async fn insert_session(&mut self, row: &SessionRow) -> StoreResult<()> {
        exec::query(
            "INSERT INTO web_sessions (token_hash, account_id, person_id, csrf_token, created_at_ms, expires_at_ms) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&row.token_hash)
        .bind(to_i64(row.account_id, "account_id")?)
        .bind(row.person_id.map(|id| to_i64(id, "person_id")).transpose()?)
        .bind(&row.csrf_token)
        .bind(to_i64(row.created_at_ms, "created_at_ms")?)
        .bind(to_i64(row.expires_at_ms, "expires_at_ms")?)
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }

    async fn session(&mut self, token_hash: &str) -> StoreResult<Option<SessionRow>> {
        let row = exec::query("SELECT * FROM web_sessions WHERE token_hash = ?")
            .bind(token_hash)
            .fetch_optional(&mut self.tx)
            .await?;
        row.as_ref().map(session_row).transpose()
    }

    async fn set_session_account(&mut self, token_hash: &str, account_id: u64) -> StoreResult<()> {
        exec::query("UPDATE web_sessions SET account_id = ? WHERE token_hash = ?")
            .bind(to_i64(account_id, "account_id")?)
            .bind(token_hash)
            .execute(&mut self.tx)
            .await?;
        Ok(())
    }

    async fn delete_session(&mut self, token_hash: &str) -> StoreResult<bool> {
        let done = exec::query("DELETE FROM web_sessions WHERE token_hash = ?")
            .bind(token_hash)
            .execute(&mut self.tx)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_expired_sessions(&mut self, now_ms: u64) -> StoreResult<u64> {
        let done = exec::query("DELETE FROM web_sessions WHERE expires_at_ms <= ?")
            .bind(to_i64(now_ms, "now_ms")?)
            .execute(&mut self.tx)
            .await?;
        Ok(done.rows_affected())
    }
}
