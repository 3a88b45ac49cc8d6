//! [`Blobs`]: the blob store a coordinator runs on, chosen at start — a local folder or an object
//! store — behind the one [`BlobStore`] interface.

use super::error::BlobResult;
use super::fs::FsBlobStore;
use super::object::ObjectBlobStore;
use super::upload::{BlobLimits, UploadKey};
use super::{BlobStore, UploadProgress};
use bytes::Bytes;
use pictor_core::{AccountId, BlobHash};
use std::pin::Pin;
use std::time::Duration;
use tokio::io::AsyncRead;

/// What [`Blobs::open`](BlobStore::open) returns: the blob's bytes, from a file or a stream.
pub type BlobReader = Pin<Box<dyn AsyncRead + Send>>;

/// The coordinator's blob store: a local folder (the default, shared by replicas on one machine)
/// or an object store (shared by replicas on several).
#[derive(Clone, Debug)]
pub enum Blobs {
    /// Blobs in a folder of the data directory (or another folder).
    Local(FsBlobStore),
    /// Blobs in an object store, e.g. an S3 bucket.
    Object(ObjectBlobStore),
}

impl Blobs {
    /// The local folder store, when the blobs are in one.
    pub fn as_local(&self) -> Option<&FsBlobStore> {
        match self {
            Blobs::Local(store) => Some(store),
            Blobs::Object(_) => None,
        }
    }
}

impl From<FsBlobStore> for Blobs {
    fn from(store: FsBlobStore) -> Self {
        Blobs::Local(store)
    }
}

impl From<ObjectBlobStore> for Blobs {
    fn from(store: ObjectBlobStore) -> Self {
        Blobs::Object(store)
    }
}

impl BlobStore for Blobs {
    type Reader = BlobReader;

    fn limits(&self) -> &BlobLimits {
        match self {
            Blobs::Local(store) => store.limits(),
            Blobs::Object(store) => store.limits(),
        }
    }

    async fn contains(&self, hash: &BlobHash) -> BlobResult<bool> {
        match self {
            Blobs::Local(store) => store.contains(hash).await,
            Blobs::Object(store) => store.contains(hash).await,
        }
    }

    async fn size(&self, hash: &BlobHash) -> BlobResult<Option<u64>> {
        match self {
            Blobs::Local(store) => store.size(hash).await,
            Blobs::Object(store) => store.size(hash).await,
        }
    }

    async fn upload_status(&self, key: &UploadKey) -> BlobResult<u64> {
        match self {
            Blobs::Local(store) => store.upload_status(key).await,
            Blobs::Object(store) => store.upload_status(key).await,
        }
    }

    async fn append(
        &self,
        key: &UploadKey,
        offset: u64,
        chunk: Bytes,
    ) -> BlobResult<UploadProgress> {
        match self {
            Blobs::Local(store) => store.append(key, offset, chunk).await,
            Blobs::Object(store) => store.append(key, offset, chunk).await,
        }
    }

    async fn put(&self, bytes: Bytes) -> BlobResult<(BlobHash, u64)> {
        match self {
            Blobs::Local(store) => store.put(bytes).await,
            Blobs::Object(store) => store.put(bytes).await,
        }
    }

    async fn open(&self, hash: &BlobHash) -> BlobResult<BlobReader> {
        Ok(match self {
            Blobs::Local(store) => Box::pin(store.open(hash).await?),
            Blobs::Object(store) => store.open(hash).await?,
        })
    }

    fn bytes_received(&self) -> u64 {
        match self {
            Blobs::Local(store) => store.bytes_received(),
            Blobs::Object(store) => store.bytes_received(),
        }
    }

    async fn staged_bytes(&self, owner: AccountId) -> BlobResult<u64> {
        match self {
            Blobs::Local(store) => store.staged_bytes(owner).await,
            Blobs::Object(store) => store.staged_bytes(owner).await,
        }
    }

    async fn expire_uploads(&self, max_age: Duration) -> BlobResult<u64> {
        match self {
            Blobs::Local(store) => store.expire_uploads(max_age).await,
            Blobs::Object(store) => store.expire_uploads(max_age).await,
        }
    }
}
