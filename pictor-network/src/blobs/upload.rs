//! The rules of a resumable upload, shared by every [`BlobStore`](super::BlobStore): the key that
//! names one staged upload, the store's limits, and the checks a chunk must pass before any byte is
//! written.

use super::error::{BlobError, BlobResult};
use pictor_core::{AccountId, BlobHash};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

/// Names one staged upload: who uploads which blob, announced with its size.
///
/// Staging is per owner, so one tenant can neither see nor disturb another's partial upload of the
/// same blob; the same owner announcing another size for the same hash starts a separate staging.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UploadKey {
    /// The uploading account; only its own requests see or extend this staging.
    pub owner: AccountId,
    /// The announced BLAKE3 hash of the whole blob.
    pub hash: BlobHash,
    /// The announced size of the whole blob, bytes.
    pub size: u64,
}

/// Size limits of a blob store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobLimits {
    /// Largest blob, bytes. Default 8 GiB (the manifest's per-file default).
    pub max_blob_bytes: u64,
    /// Largest chunk of one upload request, bytes. Default 8 MiB.
    pub max_chunk_bytes: u64,
}

impl Default for BlobLimits {
    fn default() -> Self {
        BlobLimits {
            max_blob_bytes: 8 << 30,
            max_chunk_bytes: 8 << 20,
        }
    }
}

impl BlobLimits {
    /// Refuses limits under which no upload could make progress.
    pub fn validate(&self) -> BlobResult<()> {
        if self.max_chunk_bytes == 0 {
            return Err(BlobError::InvalidInput {
                field: "limits.max_chunk_bytes".into(),
                reason: "must be at least 1 byte".into(),
            });
        }
        Ok(())
    }
}

/// The checks of one chunk that do not depend on what is staged: the announced size and the chunk
/// within the limits, and the chunk inside the announced blob.
pub fn check_chunk(
    limits: &BlobLimits,
    key: &UploadKey,
    offset: u64,
    chunk_len: u64,
) -> BlobResult<()> {
    if key.size > limits.max_blob_bytes {
        return Err(BlobError::PayloadTooLarge {
            limit: limits.max_blob_bytes,
            actual: key.size,
        });
    }
    if chunk_len > limits.max_chunk_bytes {
        return Err(BlobError::PayloadTooLarge {
            limit: limits.max_chunk_bytes,
            actual: chunk_len,
        });
    }
    let end = offset.checked_add(chunk_len);
    if end.is_none_or(|end| end > key.size) {
        return Err(BlobError::InvalidInput {
            field: "chunk".into(),
            reason: format!(
                "{chunk_len} bytes at offset {offset} run past the announced size of {} bytes",
                key.size
            ),
        });
    }
    Ok(())
}

/// One lock per upload in progress, so that a store applies the chunks of one key one at a time
/// within this process (across processes each store has its own means: a file lock, a
/// create-only put). Entries whose lock nobody holds are pruned.
#[derive(Debug, Default)]
pub(super) struct KeyLocks {
    locks: Mutex<HashMap<UploadKey, Weak<tokio::sync::Mutex<()>>>>,
}

impl KeyLocks {
    /// The lock serialising the chunks of `key`.
    pub(super) fn of(&self, key: &UploadKey) -> Arc<tokio::sync::Mutex<()>> {
        // The map is consistent after any panic (each step is one insert or retain): ignore poison.
        let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(lock) = locks.get(key).and_then(Weak::upgrade) {
            return lock;
        }
        locks.retain(|_, lock| lock.strong_count() > 0);
        let lock = Arc::new(tokio::sync::Mutex::new(()));
        locks.insert(*key, Arc::downgrade(&lock));
        lock
    }
}
