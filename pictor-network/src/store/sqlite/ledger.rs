//! `LedgerTx` on SQLite: the ledger journal, entry by entry in its canonical encoding, and its seals.

use super::*;
use crate::store::LedgerTx;

impl LedgerTx for SqliteTx {
    async fn append_ledger_entries(
        &mut self,
        entries: &[(u64, Vec<u8>)],
        at_ms: u64,
    ) -> StoreResult<()> {
        for (seq, bytes) in entries {
            exec::query("INSERT INTO ledger_entries (seq, bytes, at_ms) VALUES (?, ?, ?)")
                .bind(to_i64(*seq, "seq")?)
                .bind(bytes.as_slice())
                .bind(to_i64(at_ms, "at_ms")?)
                .execute(&mut self.tx)
                .await?;
        }
        Ok(())
    }

    async fn append_ledger_seal(&mut self, upto_seq: u64, bytes: &[u8]) -> StoreResult<()> {
        exec::query("INSERT INTO ledger_seals (upto_seq, bytes) VALUES (?, ?)")
            .bind(to_i64(upto_seq, "upto_seq")?)
            .bind(bytes)
            .execute(&mut self.tx)
            .await?;
        Ok(())
    }

    async fn ledger_entries(
        &mut self,
        after: Option<u64>,
        limit: u32,
    ) -> StoreResult<Vec<(u64, Vec<u8>)>> {
        let after = match after {
            Some(seq) => to_i64(seq, "seq")?,
            None => -1,
        };
        let rows =
            exec::query("SELECT seq, bytes FROM ledger_entries WHERE seq > ? ORDER BY seq LIMIT ?")
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&mut self.tx)
                .await?;
        rows.iter()
            .map(|row| Ok((get_u64(row, "seq")?, row.try_get("bytes")?)))
            .collect()
    }

    async fn ledger_seals(&mut self, from: u64, to: u64) -> StoreResult<Vec<(u64, Vec<u8>)>> {
        let rows = exec::query(
            "SELECT upto_seq, bytes FROM ledger_seals WHERE upto_seq >= ? AND upto_seq <= ? ORDER BY upto_seq",
        )
        .bind(to_i64(from, "upto_seq")?)
        .bind(to_i64(to, "upto_seq")?)
        .fetch_all(&mut self.tx)
        .await?;
        rows.iter()
            .map(|row| Ok((get_u64(row, "upto_seq")?, row.try_get("bytes")?)))
            .collect()
    }

    async fn last_ledger_seal(&mut self) -> StoreResult<Option<(u64, Vec<u8>)>> {
        let row =
            exec::query("SELECT upto_seq, bytes FROM ledger_seals ORDER BY upto_seq DESC LIMIT 1")
                .fetch_optional(&mut self.tx)
                .await?;
        row.as_ref()
            .map(|row| Ok((get_u64(row, "upto_seq")?, row.try_get("bytes")?)))
            .transpose()
    }
}
