//! A content-addressed blob store for scene files and rendered frames.
//!
//! Blobs are addressed by their BLAKE3 [`BlobHash`] and written once. Clients upload them in
//! resumable chunks under an [`UploadKey`]; the store verifies the hash of the whole before the blob
//! becomes visible. [`BlobStore`] is the interface; [`FsBlobStore`] implements it on a local folder
//! and [`ObjectBlobStore`] on an object store (S3 or compatible). The coordinator holds [`Blobs`],
//! one or the other as [`BlobLocation`] (`pictor serve --blobs`) chose.

mod either;
mod error;
mod fs;
mod location;
mod object;
mod upload;

#[cfg(test)]
mod object_tests;
#[cfg(test)]
mod tests;

pub use either::{BlobReader, Blobs};
pub use error::{BlobError, BlobResult};
pub use fs::FsBlobStore;
pub use location::{BLOBS_DIR, BlobLocation, open_s3};
pub use object::{ObjectBlobStore, ObjectReader};
pub use pictor_core::BlobHash;
pub use pictor_core::api::UploadProgress;
pub use upload::{BlobLimits, UploadKey, check_chunk};

use bytes::Bytes;
use pictor_core::AccountId;
use std::future::Future;
use std::time::Duration;

/// A content-addressed blob store. Every future it returns is `Send`, so handlers can be spawned.
pub trait BlobStore: Send + Sync + 'static {
    /// What [`open`](BlobStore::open) returns: the blob's bytes, read asynchronously (wrap it in
    /// `tokio_util::io::ReaderStream` to stream a download).
    type Reader: tokio::io::AsyncRead + Send + Unpin + 'static;

    /// The store's size limits.
    fn limits(&self) -> &BlobLimits;

    /// True when the store holds the blob.
    fn contains(&self, hash: &BlobHash) -> impl Future<Output = BlobResult<bool>> + Send;

    /// The blob's size in bytes, or `None` when the store does not hold it.
    fn size(&self, hash: &BlobHash) -> impl Future<Output = BlobResult<Option<u64>>> + Send;

    /// Bytes staged so far for this upload (0 if none): the offset the next chunk must carry.
    fn upload_status(&self, key: &UploadKey) -> impl Future<Output = BlobResult<u64>> + Send;

    /// Appends `chunk` at `offset` to the staged upload `key`.
    ///
    /// Refused, with nothing written: an announced size over `max_blob_bytes` or a chunk over
    /// `max_chunk_bytes` ([`BlobError::PayloadTooLarge`]); a chunk running past the announced size
    /// ([`BlobError::InvalidInput`]); an `offset` other than the bytes staged so far
    /// ([`BlobError::OffsetMismatch`], whose `expected` is where to resume). Chunks of one key are
    /// applied one at a time, so of two racing chunks at the same offset exactly one is accepted.
    ///
    /// When the last byte arrives the whole is hashed: a mismatch discards the staging and answers
    /// [`BlobError::HashMismatch`]; a match stores the blob durably and atomically (or, if the store
    /// already holds it, just discards the staging: the bytes proved possession) and answers
    /// `complete: true`. A blob the store already holds must still be uploaded in full under a key.
    fn append(
        &self,
        key: &UploadKey,
        offset: u64,
        chunk: Bytes,
    ) -> impl Future<Output = BlobResult<UploadProgress>> + Send;

    /// Stores a small blob produced on the server side in one go; answers its hash and size.
    /// Storing a blob the store already holds changes nothing.
    fn put(&self, bytes: Bytes) -> impl Future<Output = BlobResult<(BlobHash, u64)>> + Send;

    /// Opens the blob for reading; [`BlobError::NotFound`] if the store does not hold it.
    fn open(&self, hash: &BlobHash) -> impl Future<Output = BlobResult<Self::Reader>> + Send;

    /// Total chunk bytes accepted by [`append`](BlobStore::append) since the store was opened (not
    /// counting [`put`](BlobStore::put)): a re-upload the client skipped moves nothing.
    fn bytes_received(&self) -> u64;

    /// The announced sizes of `owner`'s uploads in progress, summed: what they will take once
    /// complete (a quota counts them in full, so many small starts cannot outgrow it).
    fn staged_bytes(&self, owner: AccountId) -> impl Future<Output = BlobResult<u64>> + Send;

    /// Removes the uploads nobody appended to for `max_age` (abandoned ones; a client resuming
    /// later starts over); answers how many were removed.
    fn expire_uploads(&self, max_age: Duration) -> impl Future<Output = BlobResult<u64>> + Send;
}
