//! [`ObjectBlobStore`]: the [`BlobStore`] on an object store — S3 or any S3-compatible service,
//! or anything else the `object_store` crate speaks.
//!
//! Layout under the store's prefix: `blobs/<hash>` for stored blobs, and
//! `uploads/<owner>/<hash>-<size>/<offset>` (the offset zero-padded to 20 digits) for each
//! accepted chunk of a staged upload.
//!
//! Coordinator replicas on different machines share such a store, and the chunks of one upload
//! may reach different replicas:
//! - a chunk is written with a create-only put (`If-None-Match: *`) at its offset, so of two
//!   racing chunks at one offset exactly one lands, whichever replica each reached;
//! - what is staged is the run of chunks from offset 0, read by listing the upload's prefix;
//! - the replica that writes the last chunk reads the chunks in order, hashing them while it
//!   writes them into the blob with a multipart upload, and completes that upload only when the
//!   hash matches: no reader ever sees a partial or unverified blob. The chunks are removed after.
//!
//! A coordinator that dies between the last chunk and the blob leaves the chunks; the client's
//! resume (an empty chunk at the end, as the SDK sends) finishes the blob on any replica.

use super::error::{BlobError, BlobResult};
use super::upload::{BlobLimits, KeyLocks, UploadKey, check_chunk};
use super::{BlobStore, UploadProgress};
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use object_store::buffered::BufWriter;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutPayload};
use pictor_core::{AccountId, BlobHash};
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};
use tokio::io::AsyncRead;

/// Bytes a finished upload buffers before sending them as one part of the blob's multipart upload
/// (S3 needs parts of at least 5 MiB but the last).
const PART_BYTES: usize = 16 << 20;

/// What [`ObjectBlobStore::open`](BlobStore::open) returns: the blob's bytes as they stream in.
pub type ObjectReader = Pin<Box<dyn AsyncRead + Send>>;

/// A blob store on an object store. Cheap to clone: clones share the client, the upload locks and
/// the [`bytes_received`](BlobStore::bytes_received) counter.
#[derive(Clone, Debug)]
pub struct ObjectBlobStore {
    inner: Arc<Inner>,
}

/// The shared state behind an [`ObjectBlobStore`].
#[derive(Debug)]
struct Inner {
    objects: Arc<dyn ObjectStore>,
    limits: BlobLimits,
    received: AtomicU64,
    /// Serialises the chunks of one upload within this process (the create-only put does across
    /// processes; this only spares needless conflicts).
    locks: KeyLocks,
}

/// One accepted chunk of a staged upload, from the listing.
#[derive(Clone, Copy, Debug)]
struct Chunk {
    offset: u64,
    size: u64,
}

impl ObjectBlobStore {
    /// A store on `objects` (already scoped to the store's prefix).
    pub fn new(objects: Arc<dyn ObjectStore>, limits: BlobLimits) -> BlobResult<Self> {
        limits.validate()?;
        Ok(ObjectBlobStore {
            inner: Arc::new(Inner {
                objects,
                limits,
                received: AtomicU64::new(0),
                locks: KeyLocks::default(),
            }),
        })
    }
}

impl ObjectBlobStore {
    /// Copies the local file `file`, which must hold the blob `hash`, into the store, unless the
    /// store holds that blob already; answers whether it copied. The file streams in parts and is
    /// hashed on the way: bytes that do not hash to `hash` are refused and nothing is stored.
    pub async fn import_file(&self, hash: &BlobHash, file: &std::path::Path) -> BlobResult<bool> {
        let target = blob_path(hash);
        if self.inner.size_of(&target).await?.is_some() {
            return Ok(false);
        }
        let context = || format!("reading {}", file.display());
        let mut source = tokio::fs::File::open(file)
            .await
            .map_err(|error| BlobError::io(context(), error))?;
        let mut writer =
            BufWriter::with_capacity(self.inner.objects.clone(), target.clone(), PART_BYTES);
        let mut hasher = blake3::Hasher::new();
        let copied: BlobResult<()> = async {
            loop {
                let mut part = vec![0u8; PART_BYTES];
                let read = read_up_to(&mut source, &mut part)
                    .await
                    .map_err(|error| BlobError::io(context(), error))?;
                if read == 0 {
                    return Ok(());
                }
                part.truncate(read);
                hasher.update(&part);
                writer
                    .put(Bytes::from(part))
                    .await
                    .map_err(|error| remote(format!("writing {target}"), error))?;
            }
        }
        .await;
        let actual = BlobHash::from_raw(*hasher.finalize().as_bytes());
        let checked = copied.and_then(|()| {
            if actual == *hash {
                Ok(())
            } else {
                Err(BlobError::HashMismatch {
                    expected: *hash,
                    actual,
                })
            }
        });
        if let Err(error) = checked {
            // Best effort: an unfinished multipart upload is never visible as the blob.
            let _ = writer.abort().await;
            return Err(error);
        }
        tokio::io::AsyncWriteExt::shutdown(&mut writer)
            .await
            .map_err(|error| BlobError::io(format!("writing {target}"), error))?;
        Ok(true)
    }
}

/// Reads until `buffer` is full or the file ends; answers the bytes read.
async fn read_up_to(source: &mut tokio::fs::File, buffer: &mut [u8]) -> std::io::Result<usize> {
    use tokio::io::AsyncReadExt;
    let mut filled = 0;
    while filled < buffer.len() {
        let read = source.read(&mut buffer[filled..]).await?;
        if read == 0 {
            break;
        }
        filled += read;
    }
    Ok(filled)
}

/// Where the blob `hash` lives: `blobs/<hash>`.
fn blob_path(hash: &BlobHash) -> Path {
    Path::from_iter(["blobs".to_string(), hash.to_hex()])
}

/// The prefix of every upload `owner` is staging.
fn owner_prefix(owner: AccountId) -> Path {
    Path::from_iter(["uploads".to_string(), owner.to_string()])
}

/// The prefix of the upload `key`'s chunks.
fn upload_prefix(key: &UploadKey) -> Path {
    owner_prefix(key.owner).join(format!("{}-{}", key.hash, key.size))
}

/// Where the chunk of upload `key` starting at `offset` lives.
fn chunk_path(key: &UploadKey, offset: u64) -> Path {
    upload_prefix(key).join(format!("{offset:020}"))
}

/// An object-store failure while `context`, as a [`BlobError`].
fn remote(context: impl Into<String>, source: object_store::Error) -> BlobError {
    BlobError::Remote {
        context: context.into(),
        source: Box::new(source),
    }
}

/// Whether a create-only put lost to an object already there.
fn lost_create_race(error: &object_store::Error) -> bool {
    matches!(
        error,
        object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. }
    )
}

/// The end of the run of chunks from offset 0: the bytes staged. A chunk past a gap (left by a
/// race with a finished upload) is not part of it.
fn staged_end(chunks: &[Chunk]) -> u64 {
    let mut end = 0;
    for chunk in chunks {
        if chunk.offset == end {
            end += chunk.size;
        } else if chunk.offset > end {
            break;
        }
    }
    end
}

impl Inner {
    /// The chunks of upload `key`, sorted by offset.
    async fn chunks(&self, key: &UploadKey) -> BlobResult<Vec<Chunk>> {
        let prefix = upload_prefix(key);
        let listed: Vec<_> = self
            .objects
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|error| remote(format!("listing {prefix}"), error))?;
        let mut chunks: Vec<Chunk> = listed
            .iter()
            .filter_map(|meta| {
                let offset = meta.location.filename()?.parse().ok()?;
                Some(Chunk {
                    offset,
                    size: meta.size,
                })
            })
            .collect();
        chunks.sort_by_key(|chunk| chunk.offset);
        Ok(chunks)
    }

    /// The chunks of `key` from offset 0 without a gap.
    async fn staged_run(&self, key: &UploadKey) -> BlobResult<Vec<Chunk>> {
        let chunks = self.chunks(key).await?;
        let end = staged_end(&chunks);
        Ok(chunks
            .into_iter()
            .filter(|chunk| chunk.offset + chunk.size <= end)
            .collect())
    }

    async fn append(
        &self,
        key: &UploadKey,
        offset: u64,
        chunk: Bytes,
    ) -> BlobResult<UploadProgress> {
        let lock = self.locks.of(key);
        let _guard = lock.lock().await;
        let mut run = self.staged_run(key).await?;
        let staged = staged_end(&run);
        if offset != staged {
            return Err(BlobError::OffsetMismatch {
                expected: staged,
                got: offset,
            });
        }
        let chunk_len = chunk.len() as u64;
        if chunk_len > 0 {
            let path = chunk_path(key, offset);
            let written = self
                .objects
                .put_opts(&path, PutPayload::from(chunk), PutMode::Create.into())
                .await;
            match written {
                Ok(_) => {}
                Err(error) if lost_create_race(&error) => {
                    // Another coordinator stored a chunk at this offset first.
                    let expected = staged_end(&self.chunks(key).await?);
                    return Err(BlobError::OffsetMismatch {
                        expected,
                        got: offset,
                    });
                }
                Err(error) => return Err(remote(format!("writing {path}"), error)),
            }
            self.received.fetch_add(chunk_len, Ordering::Relaxed);
            run.push(Chunk {
                offset,
                size: chunk_len,
            });
        }
        let received = offset + chunk_len;
        if received < key.size {
            return Ok(UploadProgress {
                received,
                complete: false,
            });
        }
        self.finish(key, &run).await?;
        Ok(UploadProgress {
            received,
            complete: true,
        })
    }

    /// Verifies a complete upload and stores its blob (or, when the store holds it already, only
    /// verifies: the bytes proved possession), then removes its chunks.
    async fn finish(&self, key: &UploadKey, run: &[Chunk]) -> BlobResult<()> {
        let target = blob_path(&key.hash);
        let present = self.size_of(&target).await?.is_some();
        let mut writer = (!present)
            .then(|| BufWriter::with_capacity(self.objects.clone(), target.clone(), PART_BYTES));
        let mut hasher = blake3::Hasher::new();
        let mut copied = Ok(());
        for chunk in run {
            let path = chunk_path(key, chunk.offset);
            let bytes = match self.objects.get(&path).await {
                Ok(got) => got.bytes().await,
                Err(error) => Err(error),
            };
            let bytes = match bytes {
                Ok(bytes) => bytes,
                Err(error) => {
                    copied = Err(remote(format!("reading {path}"), error));
                    break;
                }
            };
            hasher.update(&bytes);
            if let Some(writer) = writer.as_mut()
                && let Err(error) = writer.put(bytes).await
            {
                copied = Err(remote(format!("writing {target}"), error));
                break;
            }
        }
        let actual = BlobHash::from_raw(*hasher.finalize().as_bytes());
        if copied.is_ok() && actual != key.hash {
            copied = Err(BlobError::HashMismatch {
                expected: key.hash,
                actual,
            });
        }
        if let Err(error) = copied {
            if let Some(mut writer) = writer {
                // Best effort: an unfinished multipart upload is never visible as the blob.
                let _ = writer.abort().await;
            }
            if matches!(error, BlobError::HashMismatch { .. }) {
                self.remove_upload(key).await?;
            }
            return Err(error);
        }
        if let Some(mut writer) = writer {
            tokio::io::AsyncWriteExt::shutdown(&mut writer)
                .await
                .map_err(|error| BlobError::io(format!("writing {target}"), error))?;
        }
        self.remove_upload(key).await
    }

    /// Removes every chunk of `key`.
    async fn remove_upload(&self, key: &UploadKey) -> BlobResult<()> {
        let prefix = upload_prefix(key);
        let locations = self
            .objects
            .list(Some(&prefix))
            .map_ok(|meta| meta.location)
            .boxed();
        self.objects
            .delete_stream(locations)
            .try_collect::<Vec<_>>()
            .await
            .map_err(|error| remote(format!("removing {prefix}"), error))?;
        Ok(())
    }

    /// The size of the object at `path`, or `None` when there is none.
    async fn size_of(&self, path: &Path) -> BlobResult<Option<u64>> {
        match self.objects.head(path).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(remote(format!("reading {path}"), error)),
        }
    }
}

impl BlobStore for ObjectBlobStore {
    type Reader = ObjectReader;

    fn limits(&self) -> &BlobLimits {
        &self.inner.limits
    }

    async fn contains(&self, hash: &BlobHash) -> BlobResult<bool> {
        Ok(self.size(hash).await?.is_some())
    }

    async fn size(&self, hash: &BlobHash) -> BlobResult<Option<u64>> {
        self.inner.size_of(&blob_path(hash)).await
    }

    async fn upload_status(&self, key: &UploadKey) -> BlobResult<u64> {
        let run = self.inner.staged_run(key).await?;
        Ok(staged_end(&run).min(key.size))
    }

    async fn append(
        &self,
        key: &UploadKey,
        offset: u64,
        chunk: Bytes,
    ) -> BlobResult<UploadProgress> {
        check_chunk(&self.inner.limits, key, offset, chunk.len() as u64)?;
        // On a task of its own: even if the client hangs up, a chunk written is followed by the
        // blob it completes.
        let inner = Arc::clone(&self.inner);
        let key = *key;
        tokio::spawn(async move { inner.append(&key, offset, chunk).await })
            .await
            .map_err(BlobError::task_failed)?
    }

    async fn put(&self, bytes: Bytes) -> BlobResult<(BlobHash, u64)> {
        let size = bytes.len() as u64;
        if size > self.inner.limits.max_blob_bytes {
            return Err(BlobError::PayloadTooLarge {
                limit: self.inner.limits.max_blob_bytes,
                actual: size,
            });
        }
        let hash = BlobHash::of_bytes(&bytes);
        let target = blob_path(&hash);
        if self.inner.size_of(&target).await?.is_none() {
            // A racing put of the same blob writes the same bytes: either may win.
            self.inner
                .objects
                .put(&target, PutPayload::from(bytes))
                .await
                .map_err(|error| remote(format!("writing {target}"), error))?;
        }
        Ok((hash, size))
    }

    async fn open(&self, hash: &BlobHash) -> BlobResult<ObjectReader> {
        let path = blob_path(hash);
        match self.inner.objects.get(&path).await {
            Ok(got) => {
                let stream = got.into_stream().map_err(std::io::Error::other);
                Ok(Box::pin(tokio_util::io::StreamReader::new(stream)))
            }
            Err(object_store::Error::NotFound { .. }) => Err(BlobError::NotFound(*hash)),
            Err(error) => Err(remote(format!("reading {path}"), error)),
        }
    }

    fn bytes_received(&self) -> u64 {
        self.inner.received.load(Ordering::Relaxed)
    }

    async fn staged_bytes(&self, owner: AccountId) -> BlobResult<u64> {
        let prefix = owner_prefix(owner);
        let listed = self
            .inner
            .objects
            .list_with_delimiter(Some(&prefix))
            .await
            .map_err(|error| remote(format!("listing {prefix}"), error))?;
        let mut total = 0u64;
        for upload in &listed.common_prefixes {
            // `<hash>-<size>`: the announced size is part of the name.
            let announced = upload
                .filename()
                .and_then(|name| name.rsplit_once('-'))
                .and_then(|(_, size)| size.parse::<u64>().ok())
                .unwrap_or(0);
            total = total.saturating_add(announced);
        }
        Ok(total)
    }

    async fn expire_uploads(&self, max_age: Duration) -> BlobResult<u64> {
        let uploads = Path::from("uploads");
        let listed: Vec<_> = self
            .inner
            .objects
            .list(Some(&uploads))
            .try_collect()
            .await
            .map_err(|error| remote("listing uploads", error))?;
        let cutoff = SystemTime::now()
            .checked_sub(max_age)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        // Each upload's newest chunk decides: an upload someone appended to lately stays whole.
        let mut newest: HashMap<String, (SystemTime, Vec<Path>)> = HashMap::new();
        for meta in listed {
            let parts: Vec<_> = meta.location.parts().collect();
            if parts.len() != 4 {
                continue;
            }
            let upload = format!("{}/{}", parts[1].as_ref(), parts[2].as_ref());
            let modified = SystemTime::from(meta.last_modified);
            let entry = newest
                .entry(upload)
                .or_insert_with(|| (modified, Vec::new()));
            entry.0 = entry.0.max(modified);
            entry.1.push(meta.location);
        }
        let mut removed = 0;
        for (newest, locations) in newest.into_values() {
            if newest >= cutoff {
                continue;
            }
            let locations = futures_util::stream::iter(locations.into_iter().map(Ok)).boxed();
            self.inner
                .objects
                .delete_stream(locations)
                .try_collect::<Vec<_>>()
                .await
                .map_err(|error| remote("removing an abandoned upload", error))?;
            removed += 1;
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::{Chunk, staged_end};

    #[test]
    fn staged_is_the_run_of_chunks_from_zero() {
        let chunk = |offset, size| Chunk { offset, size };
        assert_eq!(staged_end(&[]), 0);
        assert_eq!(staged_end(&[chunk(0, 4), chunk(4, 4)]), 8);
        assert_eq!(
            staged_end(&[chunk(4, 4)]),
            0,
            "no chunk at 0: nothing staged"
        );
        assert_eq!(
            staged_end(&[chunk(0, 4), chunk(6, 4)]),
            4,
            "a chunk past a gap is not staged"
        );
    }
}
