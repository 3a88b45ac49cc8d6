//! Answers of keyed requests, so a retry answers the first response.

use super::*;
use std::future::Future;

/// Answers of keyed requests, so a retry answers the first response.
pub trait IdempotencyTx: Send {
    /// The stored `(request hash, response)` of a keyed request.
    fn idempotent_response(
        &mut self,
        account: u64,
        route: &str,
        key: &str,
    ) -> impl Future<Output = StoreResult<Option<(String, String)>>> + Send;

    /// Stores the response of a keyed request.
    fn store_idempotent_response(
        &mut self,
        account: u64,
        route: &str,
        key: &str,
        request_hash: &str,
        response: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}
