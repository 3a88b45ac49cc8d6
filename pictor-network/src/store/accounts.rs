//! Accounts and their API keys (stored as BLAKE3 hashes).

use super::*;
use std::future::Future;

/// Accounts and their API keys (stored as BLAKE3 hashes).
pub trait AccountsTx: Send {
    /// Inserts an account and its key hash; answers the new id.
    fn insert_account(
        &mut self,
        role: &str,
        name: &str,
        key_hash: &[u8; 32],
        now_ms: u64,
    ) -> impl Future<Output = StoreResult<u64>> + Send;

    /// One account.
    fn account(&mut self, id: u64) -> impl Future<Output = StoreResult<Option<AccountRow>>> + Send;

    /// The account an API key hash belongs to.
    fn account_by_key(
        &mut self,
        key_hash: &[u8; 32],
    ) -> impl Future<Output = StoreResult<Option<AccountRow>>> + Send;
}
