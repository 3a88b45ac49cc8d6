//! [`FsBlobStore`]: the [`BlobStore`] on a local folder.
//!
//! Layout under the root: `blobs/<h[0..2]>/<h[2..4]>/<hash>` for stored blobs,
//! `uploads/<owner>/<hash>-<size>` for staged uploads, `tmp/` for half-written [`put`]s. A blob
//! appears only by `rename` of a complete, verified, fsynced file, so a reader never sees a partial
//! blob.
//!
//! [`put`]: BlobStore::put

use super::error::{BlobError, BlobResult};
use super::upload::{BlobLimits, KeyLocks, UploadKey, check_chunk};
use super::{BlobStore, UploadProgress};
use bytes::Bytes;
use pictor_core::asset::hash_reader;
use pictor_core::{AccountId, BlobHash};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A file in `tmp/` older than this is a crashed `put`'s leftover, removed at open.
const TMP_LEFTOVER_AGE: Duration = Duration::from_secs(3600);

/// A blob store on a local folder. Cheap to clone: clones share the folder, the upload locks and
/// the [`bytes_received`](BlobStore::bytes_received) counter.
///
/// Several processes may share a root (coordinator replicas on one machine, or on a shared file
/// system): blobs appear by atomic rename, a staged upload's chunks append under a file lock, and
/// `tmp/` files carry a per-store random tag.
#[derive(Clone, Debug)]
pub struct FsBlobStore {
    inner: Arc<Inner>,
}

/// The shared state behind an [`FsBlobStore`].
#[derive(Debug)]
struct Inner {
    blobs: PathBuf,
    uploads: PathBuf,
    tmp: PathBuf,
    limits: BlobLimits,
    received: AtomicU64,
    tmp_counter: AtomicU64,
    /// Random, per store: names this process's `tmp/` files apart from another's in a shared root.
    tmp_tag: u64,
    /// Serialises the chunks of one upload within this process.
    locks: KeyLocks,
}

impl FsBlobStore {
    /// Opens (creating if needed) a store under `root`: makes `blobs/`, `uploads/` and `tmp/`, and
    /// removes what a crashed [`put`](BlobStore::put) left in `tmp/` an hour or more ago. Staged uploads survive, so
    /// clients can resume after a restart.
    pub async fn open(root: PathBuf, limits: BlobLimits) -> BlobResult<Self> {
        limits.validate()?;
        let inner = Inner {
            blobs: root.join("blobs"),
            uploads: root.join("uploads"),
            tmp: root.join("tmp"),
            limits,
            received: AtomicU64::new(0),
            tmp_counter: AtomicU64::new(0),
            tmp_tag: random_tag()?,
            locks: KeyLocks::default(),
        };
        for dir in [&root, &inner.blobs, &inner.uploads, &inner.tmp] {
            pictor_core::private_fs::create_private_dir(dir)
                .map_err(|error| BlobError::io(format!("creating {}", dir.display()), error))?;
        }
        let mut leftovers = tokio::fs::read_dir(&inner.tmp)
            .await
            .map_err(|error| BlobError::io(format!("listing {}", inner.tmp.display()), error))?;
        // Another coordinator sharing the folder may be writing its own `put` here right now:
        // only files older than any `put` takes are a crashed one's leftovers.
        let cutoff = std::time::SystemTime::now()
            .checked_sub(TMP_LEFTOVER_AGE)
            .unwrap_or(std::time::UNIX_EPOCH);
        while let Some(entry) = leftovers
            .next_entry()
            .await
            .map_err(|error| BlobError::io(format!("listing {}", inner.tmp.display()), error))?
        {
            let path = entry.path();
            let modified = entry.metadata().await.and_then(|m| m.modified());
            if modified.is_ok_and(|time| time >= cutoff) {
                continue;
            }
            remove_if_present(&path)?;
        }
        Ok(FsBlobStore {
            inner: Arc::new(inner),
        })
    }

    /// Where the blob `hash` lives (or would live): `blobs/<h[0..2]>/<h[2..4]>/<hash>`.
    pub fn path(&self, hash: &BlobHash) -> PathBuf {
        self.inner.blob_path(hash)
    }

    /// Every blob stored, with its file: what `pictor migrate --blobs` copies to an object store.
    /// Files whose names are not hashes (none are written) are left out.
    pub fn stored(&self) -> BlobResult<Vec<(BlobHash, PathBuf)>> {
        let mut stored = Vec::new();
        for (_, first) in staging_files(&self.inner.blobs)? {
            for (_, second) in staging_files(&first)? {
                for (name, path) in staging_files(&second)? {
                    if let Ok(hash) = name.parse::<BlobHash>() {
                        stored.push((hash, path));
                    }
                }
            }
        }
        stored.sort_by_key(|(hash, _)| hash.to_hex());
        Ok(stored)
    }

    /// Where the upload `key` is staged.
    fn staging_path(&self, key: &UploadKey) -> PathBuf {
        self.inner
            .uploads
            .join(key.owner.to_string())
            .join(format!("{}-{}", key.hash, key.size))
    }
}

impl Inner {
    fn blob_path(&self, hash: &BlobHash) -> PathBuf {
        let hex = hash.to_hex();
        self.blobs.join(&hex[0..2]).join(&hex[2..4]).join(hex)
    }

    /// Appends `chunk` to the staging file, then stores the blob if it is complete. Runs on a
    /// blocking thread with the key's lock held.
    fn append_blocking(
        &self,
        key: &UploadKey,
        staging: &Path,
        offset: u64,
        chunk: &[u8],
    ) -> BlobResult<UploadProgress> {
        // A chunk at the wrong offset is refused before anything is created.
        let seen = staged_len(staging)?;
        if offset != seen && seen <= key.size {
            return Err(BlobError::OffsetMismatch {
                expected: seen,
                got: offset,
            });
        }
        if let Some(dir) = staging.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|error| BlobError::io(format!("creating {}", dir.display()), error))?;
        }
        let mut file = lock_staging(staging)?;
        let context = || format!("writing {}", staging.display());
        let mut staged = file
            .metadata()
            .map_err(|error| BlobError::io(context(), error))?
            .len();
        if staged > key.size {
            // Only a damaged staging file can be longer than its blob: start over.
            file.set_len(0)
                .map_err(|error| BlobError::io(context(), error))?;
            staged = 0;
        }
        if offset != staged {
            if staged == 0 {
                // Created just now by the open (another process finished or restarted the upload
                // while this one waited): leave no empty staging file behind.
                remove_if_present(staging)?;
            }
            return Err(BlobError::OffsetMismatch {
                expected: staged,
                got: offset,
            });
        }
        file.write_all(chunk)
            .map_err(|error| BlobError::io(context(), error))?;
        let chunk_len = chunk.len() as u64;
        self.received.fetch_add(chunk_len, Ordering::Relaxed);
        let received = staged + chunk_len;
        if received < key.size {
            return Ok(UploadProgress {
                received,
                complete: false,
            });
        }
        // Still holding the lock: no other process appends while the blob is verified and placed.
        self.finish_blocking(key, staging)?;
        drop(file);
        Ok(UploadProgress {
            received,
            complete: true,
        })
    }

    /// Verifies a complete staging file and moves it into place (or drops it if the blob exists).
    fn finish_blocking(&self, key: &UploadKey, staging: &Path) -> BlobResult<()> {
        let context = || format!("verifying {}", staging.display());
        // Read-write so that `sync_all` works on every platform.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(staging)
            .map_err(|error| BlobError::io(context(), error))?;
        file.sync_all()
            .map_err(|error| BlobError::io(context(), error))?;
        let (actual, _) = hash_reader(&file).map_err(|error| BlobError::io(context(), error))?;
        drop(file);
        if actual != key.hash {
            remove_if_present(staging)?;
            return Err(BlobError::HashMismatch {
                expected: key.hash,
                actual,
            });
        }
        let target = self.blob_path(&key.hash);
        if target.exists() {
            return remove_if_present(staging);
        }
        place(staging, &target)
    }

    /// Hashes and stores `bytes` through `tmp/`. Runs on a blocking thread.
    fn put_blocking(&self, bytes: &[u8]) -> BlobResult<(BlobHash, u64)> {
        let size = bytes.len() as u64;
        if size > self.limits.max_blob_bytes {
            return Err(BlobError::PayloadTooLarge {
                limit: self.limits.max_blob_bytes,
                actual: size,
            });
        }
        let hash = BlobHash::of_bytes(bytes);
        let target = self.blob_path(&hash);
        if target.exists() {
            return Ok((hash, size));
        }
        let serial = self.tmp_counter.fetch_add(1, Ordering::Relaxed);
        let tmp = self
            .tmp
            .join(format!("{hash}.{:016x}.{serial}", self.tmp_tag));
        let written = write_synced(&tmp, bytes).and_then(|()| place(&tmp, &target));
        if written.is_err() {
            // Best effort: `open` clears `tmp/` anyway.
            let _ = std::fs::remove_file(&tmp);
        }
        written.map(|()| (hash, size))
    }
}

impl BlobStore for FsBlobStore {
    type Reader = tokio::fs::File;

    fn limits(&self) -> &BlobLimits {
        &self.inner.limits
    }

    async fn contains(&self, hash: &BlobHash) -> BlobResult<bool> {
        Ok(self.size(hash).await?.is_some())
    }

    async fn size(&self, hash: &BlobHash) -> BlobResult<Option<u64>> {
        let path = self.path(hash);
        match tokio::fs::metadata(&path).await {
            Ok(metadata) => Ok(Some(metadata.len())),
            Err(error) if error.kind() == ErrorKind::NotFound => Ok(None),
            Err(error) => Err(BlobError::io(format!("reading {}", path.display()), error)),
        }
    }

    async fn upload_status(&self, key: &UploadKey) -> BlobResult<u64> {
        let lock = self.inner.locks.of(key);
        let _guard = lock.lock().await;
        let staging = self.staging_path(key);
        let size = key.size;
        // A staging file longer than its blob is damaged; the next append starts it over.
        let staged = tokio::task::spawn_blocking(move || staged_len(&staging))
            .await
            .map_err(BlobError::task_failed)??;
        Ok(if staged > size { 0 } else { staged })
    }

    async fn append(
        &self,
        key: &UploadKey,
        offset: u64,
        chunk: Bytes,
    ) -> BlobResult<UploadProgress> {
        check_chunk(&self.inner.limits, key, offset, chunk.len() as u64)?;
        // The guard moves into the blocking task: even if this future is dropped (the client hung
        // up), the key stays locked until the write has really finished.
        let guard = self.inner.locks.of(key).lock_owned().await;
        let inner = Arc::clone(&self.inner);
        let staging = self.staging_path(key);
        let key = *key;
        tokio::task::spawn_blocking(move || {
            let _guard = guard;
            inner.append_blocking(&key, &staging, offset, &chunk)
        })
        .await
        .map_err(BlobError::task_failed)?
    }

    async fn put(&self, bytes: Bytes) -> BlobResult<(BlobHash, u64)> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || inner.put_blocking(&bytes))
            .await
            .map_err(BlobError::task_failed)?
    }

    async fn open(&self, hash: &BlobHash) -> BlobResult<tokio::fs::File> {
        let path = self.path(hash);
        match tokio::fs::File::open(&path).await {
            Ok(file) => Ok(file),
            Err(error) if error.kind() == ErrorKind::NotFound => Err(BlobError::NotFound(*hash)),
            Err(error) => Err(BlobError::io(format!("opening {}", path.display()), error)),
        }
    }

    fn bytes_received(&self) -> u64 {
        self.inner.received.load(Ordering::Relaxed)
    }

    async fn staged_bytes(&self, owner: AccountId) -> BlobResult<u64> {
        let dir = self.inner.uploads.join(owner.to_string());
        tokio::task::spawn_blocking(move || {
            let mut total = 0u64;
            for (name, _) in staging_files(&dir)? {
                // `<hash>-<size>`: the announced size is part of the name.
                let announced = name
                    .rsplit_once('-')
                    .and_then(|(_, size)| size.parse::<u64>().ok())
                    .unwrap_or(0);
                total = total.saturating_add(announced);
            }
            Ok(total)
        })
        .await
        .map_err(BlobError::task_failed)?
    }

    async fn expire_uploads(&self, max_age: Duration) -> BlobResult<u64> {
        let uploads = self.inner.uploads.clone();
        tokio::task::spawn_blocking(move || {
            let cutoff = std::time::SystemTime::now()
                .checked_sub(max_age)
                .unwrap_or(std::time::UNIX_EPOCH);
            let mut removed = 0;
            for (owner, _) in staging_files(&uploads)? {
                for (_, path) in staging_files(&uploads.join(owner))? {
                    let modified = std::fs::metadata(&path).and_then(|m| m.modified());
                    if modified.is_ok_and(|time| time < cutoff) {
                        remove_if_present(&path)?;
                        removed += 1;
                    }
                }
            }
            Ok(removed)
        })
        .await
        .map_err(BlobError::task_failed)?
    }
}

/// A random number from the operating system.
fn random_tag() -> BlobResult<u64> {
    use rand::TryRngCore;
    rand::rngs::OsRng
        .try_next_u64()
        .map_err(|error| BlobError::io("drawing a random tag", std::io::Error::other(error)))
}

/// The entries of `dir` as (file name, path); none when `dir` does not exist.
fn staging_files(dir: &Path) -> BlobResult<Vec<(String, PathBuf)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(BlobError::io(format!("listing {}", dir.display()), error)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry =
            entry.map_err(|error| BlobError::io(format!("listing {}", dir.display()), error))?;
        if let Some(name) = entry.file_name().to_str() {
            files.push((name.to_string(), entry.path()));
        }
    }
    Ok(files)
}

/// Opens the staging file for appending (creating it) and locks it exclusively, so that chunks of
/// one upload arriving at several coordinators sharing the folder append one at a time. While
/// this process waited, another may have placed the finished blob or restarted the upload: the
/// file locked must still be the one at `staging`, else it opens again.
fn lock_staging(staging: &Path) -> BlobResult<std::fs::File> {
    let context = || format!("opening {}", staging.display());
    loop {
        let file = pictor_core::private_fs::private_file_options()
            .create(true)
            .append(true)
            .open(staging)
            .map_err(|error| BlobError::io(context(), error))?;
        file.lock()
            .map_err(|error| BlobError::io(context(), error))?;
        let locked = file
            .metadata()
            .map_err(|error| BlobError::io(context(), error))?;
        match std::fs::metadata(staging) {
            Ok(current) if same_file(&current, &locked) => return Ok(file),
            Ok(_) => {}
            Err(error) if error.kind() == ErrorKind::NotFound => {}
            Err(error) => return Err(BlobError::io(context(), error)),
        }
    }
}

/// Whether two metadata describe one file (device and inode on Unix).
#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

/// Whether two metadata describe one file (elsewhere: the best guess without inodes).
#[cfg(not(unix))]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    a.len() == b.len() && a.modified().ok() == b.modified().ok()
}

/// The length of a staging file, 0 if there is none.
fn staged_len(staging: &Path) -> BlobResult<u64> {
    match std::fs::metadata(staging) {
        Ok(metadata) => Ok(metadata.len()),
        Err(error) if error.kind() == ErrorKind::NotFound => Ok(0),
        Err(error) => Err(BlobError::io(
            format!("reading {}", staging.display()),
            error,
        )),
    }
}

/// Removes a file, succeeding if it is already gone.
fn remove_if_present(path: &Path) -> BlobResult<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == ErrorKind::NotFound => Ok(()),
        Err(error) => Err(BlobError::io(format!("removing {}", path.display()), error)),
    }
}

/// Writes `bytes` to a new file at `path` and fsyncs it.
fn write_synced(path: &Path, bytes: &[u8]) -> BlobResult<()> {
    let context = || format!("writing {}", path.display());
    let mut file = pictor_core::private_fs::private_file_options()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|error| BlobError::io(context(), error))?;
    file.write_all(bytes)
        .map_err(|error| BlobError::io(context(), error))?;
    file.sync_all()
        .map_err(|error| BlobError::io(context(), error))
}

/// Renames the complete, fsynced file `from` to the blob path `to`, creating its shard folders and
/// fsyncing the folder so the rename survives a power cut. Replacing an existing blob is harmless:
/// both hold the same verified bytes.
fn place(from: &Path, to: &Path) -> BlobResult<()> {
    let shard = to.parent().ok_or_else(|| {
        BlobError::io(
            format!("placing {}", to.display()),
            ErrorKind::InvalidInput.into(),
        )
    })?;
    std::fs::create_dir_all(shard)
        .map_err(|error| BlobError::io(format!("creating {}", shard.display()), error))?;
    std::fs::rename(from, to).map_err(|error| {
        BlobError::io(
            format!("moving {} to {}", from.display(), to.display()),
            error,
        )
    })?;
    sync_dir(shard)
}

/// Fsyncs a folder's entries (Unix; elsewhere a rename is made durable by the file system).
fn sync_dir(dir: &Path) -> BlobResult<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)
            .and_then(|handle| handle.sync_all())
            .map_err(|error| BlobError::io(format!("syncing {}", dir.display()), error))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
