//! Blobs each account holds (proof of possession) and committed scene manifests, with the read rights they give.

use super::*;
use std::future::Future;

/// Blobs each account holds (proof of possession) and committed scene manifests, with the read rights they give.
pub trait AssetsTx: Send {
    /// True when `account` proved it holds `hash`.
    fn holds_blob(
        &mut self,
        account: u64,
        hash: &str,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Records that `account` holds `hash`.
    fn add_blob_holder(
        &mut self,
        account: u64,
        hash: &str,
        size: u64,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Bytes of the blobs `account` holds (what counts against its storage quota).
    fn held_bytes(&mut self, account: u64) -> impl Future<Output = StoreResult<u64>> + Send;

    /// Stores a committed manifest (idempotent per owner and id).
    fn insert_asset(&mut self, row: &AssetRow) -> impl Future<Output = StoreResult<()>> + Send;

    /// A manifest committed by `owner`.
    fn asset(
        &mut self,
        owner: u64,
        id: &str,
    ) -> impl Future<Output = StoreResult<Option<AssetRow>>> + Send;

    /// Any owner's manifest with this id (for workers and checkers of a job using it).
    fn asset_any_owner(
        &mut self,
        id: &str,
    ) -> impl Future<Output = StoreResult<Option<AssetRow>>> + Send;

    /// True when the asset's manifest lists the blob.
    fn asset_contains(
        &mut self,
        asset: &str,
        hash: &str,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// True when `account` (acting as `role`) may read the asset: a worker holding a lease on a task
    /// of a job rendering it, or a checker holding a check of such a task.
    fn may_read_asset(
        &mut self,
        account: u64,
        role: &str,
        asset: &str,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// True when `account` (acting as `role`) may download the blob without holding it: a creator
    /// whose job's accepted output it is, a worker holding a lease on a job whose scene lists it, a
    /// checker holding a check whose result or scene lists it.
    fn may_read_blob(
        &mut self,
        account: u64,
        role: &str,
        hash: &str,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
}
