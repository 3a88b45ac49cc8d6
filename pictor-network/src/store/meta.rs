//! The network-wide bookkeeping: the key-value meta table and the counters of `GET /v1/stats`.

use super::*;
use std::future::Future;

/// The network-wide bookkeeping: the key-value meta table and the counters of `GET /v1/stats`.
pub trait MetaTx: Send {
    /// A value of the key-value meta table.
    fn meta(&mut self, key: &str) -> impl Future<Output = StoreResult<Option<String>>> + Send;

    /// Sets a meta value.
    fn set_meta(&mut self, key: &str, value: &str) -> impl Future<Output = StoreResult<()>> + Send;

    /// Counts rows of a table (`accounts`, `workers`, `jobs_active`, `ledger_entries`).
    fn count(&mut self, what: Countable) -> impl Future<Output = StoreResult<u64>> + Send;
}
