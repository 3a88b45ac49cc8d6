//! The ledger journal, entry by entry in its canonical encoding, and its seals.

use super::*;
use std::future::Future;

/// The ledger journal, entry by entry in its canonical encoding, and its seals.
pub trait LedgerTx: Send {
    /// Appends journal entries `(seq, canonical bytes)`, committed at `at_ms` (Unix ms).
    fn append_ledger_entries(
        &mut self,
        entries: &[(u64, Vec<u8>)],
        at_ms: u64,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Appends a seal `(upto_seq, canonical bytes)`.
    fn append_ledger_seal(
        &mut self,
        upto_seq: u64,
        bytes: &[u8],
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Entries with seq > `after`, at most `limit`, as `(seq, bytes)`.
    fn ledger_entries(
        &mut self,
        after: Option<u64>,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<(u64, Vec<u8>)>>> + Send;

    /// Seals with `from <= upto_seq <= to`, as `(upto_seq, bytes)`.
    fn ledger_seals(
        &mut self,
        from: u64,
        to: u64,
    ) -> impl Future<Output = StoreResult<Vec<(u64, Vec<u8>)>>> + Send;

    /// The seal with the highest `upto_seq`, as `(upto_seq, bytes)`; `None` before the first seal.
    fn last_ledger_seal(
        &mut self,
    ) -> impl Future<Output = StoreResult<Option<(u64, Vec<u8>)>>> + Send;
}
