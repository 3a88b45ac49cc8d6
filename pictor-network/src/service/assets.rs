//! Blobs and scene assets: the missing-blob query, resumable chunk uploads, manifest commits and
//! access to blobs.
//!
//! Deduplication is per account: a blob counts as held by an account once that account uploaded its
//! bytes (proof of possession). Answering "missing" from the global store instead would tell any
//! tenant whether someone else holds a file with a given hash.

use super::{Caller, Coordinator, ServiceError, ServiceResult};
use crate::blobs::{BlobStore, UploadKey};
use crate::store::prelude::*;
use crate::store::{AssetRow, Store};
use pictor_core::api::{CommittedAsset, ErrorCode, MissingBlobsResponse, Role, UploadProgress};
use pictor_core::asset::Manifest;
use pictor_core::{AccountId, BlobHash};

/// Most hashes one missing-blob query may ask about.
pub const MAX_MISSING_QUERY: usize = 10_000;

const UPLOADERS: [Role; 3] = [Role::Creator, Role::Worker, Role::Farm];

impl<S: Store> Coordinator<S> {
    /// The hashes among `hashes` the caller has not uploaded yet.
    pub async fn missing_blobs(
        &self,
        caller: &Caller,
        hashes: &[BlobHash],
    ) -> ServiceResult<MissingBlobsResponse> {
        caller.require_any(&UPLOADERS)?;
        if hashes.len() > MAX_MISSING_QUERY {
            return Err(ServiceError::invalid(
                "hashes",
                format!("at most {MAX_MISSING_QUERY} hashes per query"),
            ));
        }
        let mut tx = self.read().await?;
        let mut missing = Vec::new();
        for hash in hashes {
            if !tx.holds_blob(caller.id(), &hash.to_hex()).await? && !missing.contains(hash) {
                missing.push(*hash);
            }
        }
        Ok(MissingBlobsResponse { missing })
    }

    fn upload_key(&self, caller: &Caller, hash: BlobHash, size: u64) -> UploadKey {
        UploadKey {
            owner: AccountId(caller.id()),
            hash,
            size,
        }
    }

    /// How much of an upload is staged (or `complete` when the caller already holds the blob).
    pub async fn upload_status(
        &self,
        caller: &Caller,
        hash: BlobHash,
        size: u64,
    ) -> ServiceResult<UploadProgress> {
        caller.require_any(&UPLOADERS)?;
        let mut tx = self.read().await?;
        if tx.holds_blob(caller.id(), &hash.to_hex()).await? {
            return Ok(UploadProgress {
                received: size,
                complete: true,
            });
        }
        drop(tx);
        let received = self
            .blobs
            .upload_status(&self.upload_key(caller, hash, size))
            .await?;
        Ok(UploadProgress {
            received,
            complete: false,
        })
    }

    /// Appends a chunk of an upload; when the last byte arrives and the hash matches, the caller holds
    /// the blob. A blob the caller already holds answers `complete` without storing anything.
    pub async fn upload_chunk(
        &self,
        caller: &Caller,
        hash: BlobHash,
        size: u64,
        offset: u64,
        chunk: bytes::Bytes,
    ) -> ServiceResult<UploadProgress> {
        caller.require_any(&UPLOADERS)?;
        let hex = hash.to_hex();
        {
            let mut tx = self.read().await?;
            if tx.holds_blob(caller.id(), &hex).await? {
                return Ok(UploadProgress {
                    received: size,
                    complete: true,
                });
            }
        }
        let key = self.upload_key(caller, hash, size);
        self.check_quota(caller, &key, offset).await?;
        let progress = self.blobs.append(&key, offset, chunk).await?;
        if progress.complete {
            let mut tx = self.write_without_ledger().await?;
            tx.add_blob_holder(caller.id(), &hex, size).await?;
            tx.commit().await?;
        }
        Ok(progress)
    }

    /// Refuses a chunk that would take the caller past its storage quota: the blobs it holds plus
    /// its uploads in progress at their announced sizes (this one included, once).
    async fn check_quota(
        &self,
        caller: &Caller,
        key: &UploadKey,
        offset: u64,
    ) -> ServiceResult<()> {
        let held = {
            let mut tx = self.read().await?;
            tx.held_bytes(caller.id()).await?
        };
        let mut staged = self.blobs.staged_bytes(key.owner).await?;
        if offset == 0 {
            // Not staged yet (or starting over): count it now.
            staged = staged.saturating_add(key.size);
        }
        let quota = self.config.storage_quota_bytes;
        let total = held.saturating_add(staged);
        if total > quota {
            return Err(ServiceError::new(
                ErrorCode::PayloadTooLarge,
                format!(
                    "storage quota: this account holds {held} bytes and has {staged} bytes of uploads in progress, over its {quota}-byte quota; finish or abandon uploads (they expire after {} s)",
                    self.config.upload_ttl_ms / 1000
                ),
            ));
        }
        Ok(())
    }

    /// Removes uploads abandoned for longer than `upload_ttl_ms`; answers how many.
    pub async fn expire_uploads(&self) -> ServiceResult<u64> {
        let max_age = std::time::Duration::from_millis(self.config.upload_ttl_ms);
        Ok(self.blobs.expire_uploads(max_age).await?)
    }

    /// Commits a scene manifest whose blobs the caller has all uploaded.
    pub async fn commit_asset(
        &self,
        caller: &Caller,
        manifest: &Manifest,
    ) -> ServiceResult<CommittedAsset> {
        caller.require(Role::Creator)?;
        manifest.validate(&self.config.manifest_limits)?;
        let id = manifest.asset_id();
        // Each entry's size must be its blob's: workers and quotas trust the manifest's sizes.
        // Checked before the write begins (a stat per file), since blobs never change once stored.
        for (i, entry) in manifest.entries.iter().enumerate() {
            if let Some(stored) = self.blobs.size(&entry.hash).await?
                && stored != entry.size
            {
                return Err(ServiceError::invalid(
                    format!("entries[{i}].size"),
                    format!(
                        "{} is {stored} bytes, not {} as the manifest says",
                        entry.path, entry.size
                    ),
                ));
            }
        }
        let mut write = self.write().await?;
        let result = async {
            for (i, entry) in manifest.entries.iter().enumerate() {
                if !write
                    .tx
                    .holds_blob(caller.id(), &entry.hash.to_hex())
                    .await?
                {
                    return Err(ServiceError::invalid(
                        format!("entries[{i}].hash"),
                        format!("{} ({}) is not uploaded yet", entry.hash, entry.path),
                    ));
                }
            }
            let manifest_json =
                serde_json::to_string(manifest).map_err(|e| ServiceError::internal(&e))?;
            let files = u32::try_from(manifest.entries.len())
                .map_err(|_| ServiceError::invalid("entries", "too many entries"))?;
            let row = AssetRow {
                owner: caller.id(),
                id: id.to_string(),
                manifest_json,
                total_size: manifest.total_size(),
                files,
                hashes: manifest.entries.iter().map(|e| e.hash.to_hex()).collect(),
            };
            write.tx.insert_asset(&row).await?;
            Ok(CommittedAsset {
                id: id.clone(),
                total_size: row.total_size,
                files,
            })
        }
        .await;
        self.finish(write, result).await
    }

    /// A committed manifest: for its creator, and for workers and checkers working on a job that
    /// renders it.
    pub async fn asset_manifest(&self, caller: &Caller, id: &str) -> ServiceResult<Manifest> {
        let mut tx = self.read().await?;
        let row = match tx.asset(caller.id(), id).await? {
            Some(row) => Some(row),
            None => {
                let role = super::auth::role_name(caller.account.role);
                if tx.may_read_asset(caller.id(), role, id).await? {
                    tx.asset_any_owner(id).await?
                } else {
                    None
                }
            }
        };
        let row = row.ok_or_else(|| ServiceError::not_found(format!("asset {id}")))?;
        serde_json::from_str(&row.manifest_json).map_err(|e| ServiceError::internal(&e))
    }

    /// Checks the caller may download `hash`; answers its size.
    pub async fn authorize_blob_read(
        &self,
        caller: &Caller,
        hash: &BlobHash,
    ) -> ServiceResult<u64> {
        let hex = hash.to_hex();
        let mut tx = self.read().await?;
        let allowed = caller.account.role == Role::Admin
            || tx.holds_blob(caller.id(), &hex).await?
            || tx
                .may_read_blob(
                    caller.id(),
                    super::auth::role_name(caller.account.role),
                    &hex,
                )
                .await?;
        drop(tx);
        let size = if allowed {
            self.blobs.size(hash).await?
        } else {
            None
        };
        size.ok_or_else(|| ServiceError::not_found(format!("blob {hash}")))
    }
}
