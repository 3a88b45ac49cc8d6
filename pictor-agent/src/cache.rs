//! The agents' content-addressed blob cache: files stored by BLAKE3 hash under `DIR/blobs/ab/abcd…`,
//! checked on download, shared by every task and job, capped in size with least-recently-used
//! eviction — never evicting a file a running task has pinned.

use anyhow::{Context, Result};
use pictor_core::asset::BlobHash;
use pictor_sdk::Client;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

/// A content-addressed cache of blobs on disk. Cheap to share (`Arc`).
#[derive(Debug)]
pub struct BlobCache {
    dir: PathBuf,
    max_bytes: u64,
    state: Mutex<State>,
    downloaded_bytes: AtomicU64,
    downloads: AtomicU64,
    /// One lock per blob being downloaded, so two tasks never fetch the same blob twice at once.
    inflight: tokio::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<String, Entry>,
    pins: HashMap<String, usize>,
    total: u64,
    clock: u64,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    size: u64,
    last_access: u64,
}

/// Keeps blobs from eviction while it lives (a running task's scene and outputs).
#[derive(Debug)]
pub struct PinGuard {
    cache: Arc<BlobCache>,
    hashes: Vec<String>,
}

impl Drop for PinGuard {
    fn drop(&mut self) {
        let mut state = self.cache.lock();
        for hash in &self.hashes {
            if let Some(count) = state.pins.get_mut(hash) {
                *count -= 1;
                if *count == 0 {
                    state.pins.remove(hash);
                }
            }
        }
        drop(state);
        self.cache.evict();
    }
}

impl BlobCache {
    /// Opens (creating) the cache in `dir`, indexing the blobs already there by modification time.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<Arc<BlobCache>> {
        let blobs = dir.join("blobs");
        std::fs::create_dir_all(&blobs).with_context(|| format!("creating {}", blobs.display()))?;
        let mut found = Vec::new();
        for shard in
            std::fs::read_dir(&blobs).with_context(|| format!("reading {}", blobs.display()))?
        {
            let shard = shard?;
            if !shard.file_type()?.is_dir() {
                continue;
            }
            for file in std::fs::read_dir(shard.path())? {
                let file = file?;
                let name = file.file_name().to_string_lossy().into_owned();
                let meta = file.metadata()?;
                if name.starts_with('.') || !meta.is_file() || name.parse::<BlobHash>().is_err() {
                    // A partial download of an earlier run.
                    let _ = std::fs::remove_file(file.path());
                    continue;
                }
                let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                found.push((modified, name, meta.len()));
            }
        }
        found.sort();
        let mut state = State::default();
        for (_, name, size) in found {
            state.clock += 1;
            state.total += size;
            state.entries.insert(
                name,
                Entry {
                    size,
                    last_access: state.clock,
                },
            );
        }
        let cache = Arc::new(BlobCache {
            dir: dir.to_path_buf(),
            max_bytes,
            state: Mutex::new(state),
            downloaded_bytes: AtomicU64::new(0),
            downloads: AtomicU64::new(0),
            inflight: tokio::sync::Mutex::new(HashMap::new()),
        });
        cache.evict();
        Ok(cache)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cache's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where a blob lives (whether or not it is there).
    pub fn path_of(&self, hash: &str) -> PathBuf {
        let hash = hash.to_ascii_lowercase();
        let shard = hash.get(..2).unwrap_or("00").to_string();
        self.dir.join("blobs").join(shard).join(hash)
    }

    /// Bytes downloaded from the network since this cache was opened.
    pub fn downloaded_bytes(&self) -> u64 {
        self.downloaded_bytes.load(Ordering::Relaxed)
    }

    /// Blobs downloaded from the network since this cache was opened.
    pub fn downloads(&self) -> u64 {
        self.downloads.load(Ordering::Relaxed)
    }

    /// Bytes held now.
    pub fn total_bytes(&self) -> u64 {
        self.lock().total
    }

    /// True when the blob is cached.
    pub fn contains(&self, hash: &str) -> bool {
        self.lock().entries.contains_key(&hash.to_ascii_lowercase())
    }

    /// Pins blobs against eviction until the guard drops.
    pub fn pin<I, S>(self: &Arc<Self>, hashes: I) -> PinGuard
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let hashes: Vec<String> = hashes
            .into_iter()
            .map(|h| h.as_ref().to_ascii_lowercase())
            .collect();
        let mut state = self.lock();
        for hash in &hashes {
            *state.pins.entry(hash.clone()).or_default() += 1;
        }
        drop(state);
        PinGuard {
            cache: self.clone(),
            hashes,
        }
    }

    /// Marks a cached blob used now; answers its path, or `None` when it is not cached.
    pub fn touch(&self, hash: &str) -> Option<PathBuf> {
        let hash = hash.to_ascii_lowercase();
        let mut state = self.lock();
        state.clock += 1;
        let clock = state.clock;
        let entry = state.entries.get_mut(&hash)?;
        entry.last_access = clock;
        drop(state);
        let path = self.path_of(&hash);
        // Keep the on-disk order for the next start; a failure here only weakens that order.
        if let Ok(file) = std::fs::File::options().write(true).open(&path) {
            let _ = file.set_modified(SystemTime::now());
        }
        if path.is_file() {
            Some(path)
        } else {
            // Removed behind our back: forget it.
            let mut state = self.lock();
            if let Some(entry) = state.entries.remove(&hash) {
                state.total -= entry.size;
            }
            None
        }
    }

    fn record(&self, hash: &str, size: u64) {
        let mut state = self.lock();
        state.clock += 1;
        let clock = state.clock;
        if let Some(old) = state.entries.insert(
            hash.to_string(),
            Entry {
                size,
                last_access: clock,
            },
        ) {
            state.total -= old.size;
        }
        state.total += size;
    }

    /// Stores bytes (a file produced locally) and answers their hash. Evicts above the cap.
    pub fn insert_bytes(&self, bytes: &[u8]) -> Result<String> {
        let hash = BlobHash::of_bytes(bytes).to_hex();
        if self.touch(&hash).is_none() {
            let path = self.path_of(&hash);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let tmp = path.with_file_name(format!(
                ".{hash}.{}.partial",
                (crate::retry::random_unit() * f64::from(u32::MAX)) as u32
            ));
            std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
            make_read_only(&tmp);
            std::fs::rename(&tmp, &path)?;
            self.record(&hash, bytes.len() as u64);
        }
        self.evict();
        Ok(hash)
    }

    /// The blob's path, downloading it (BLAKE3-checked) when it is not cached. Pin it first if it
    /// must survive eviction until used.
    pub async fn fetch(
        &self,
        client: &Client,
        hash: &str,
        size: u64,
    ) -> Result<PathBuf, pictor_sdk::Error> {
        let hash = hash.to_ascii_lowercase();
        if let Some(path) = self.touch(&hash) {
            return Ok(path);
        }
        let lock = {
            let mut inflight = self.inflight.lock().await;
            inflight.entry(hash.clone()).or_default().clone()
        };
        let _held = lock.lock().await;
        if let Some(path) = self.touch(&hash) {
            return Ok(path);
        }
        let path = self.path_of(&hash);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| pictor_sdk::Error::Io {
                path: parent.to_path_buf(),
                source: e,
            })?;
        }
        let got = client.assets().download_blob(&hash, path.clone()).await?;
        if got != size {
            let _ = std::fs::remove_file(&path);
            return Err(pictor_sdk::Error::InvalidInput {
                field: "size".into(),
                reason: format!("blob {hash} has {got} bytes, the manifest says {size}"),
            });
        }
        make_read_only(&path);
        self.downloaded_bytes.fetch_add(got, Ordering::Relaxed);
        self.downloads.fetch_add(1, Ordering::Relaxed);
        self.record(&hash, got);
        self.inflight.lock().await.remove(&hash);
        self.evict();
        Ok(path)
    }

    /// Removes least-recently-used unpinned blobs until the cache fits its cap.
    pub fn evict(&self) {
        let mut state = self.lock();
        while state.total > self.max_bytes {
            let victim = state
                .entries
                .iter()
                .filter(|(hash, _)| !state.pins.contains_key(*hash))
                .min_by_key(|(_, entry)| entry.last_access)
                .map(|(hash, entry)| (hash.clone(), *entry));
            let Some((hash, entry)) = victim else { break };
            state.entries.remove(&hash);
            state.total -= entry.size;
            let _ = std::fs::remove_file(self.path_of(&hash));
        }
    }
}

/// Cached files are shared by hard links: make them read-only so no renderer can alter them.
fn make_read_only(path: &Path) {
    if let Ok(meta) = std::fs::metadata(path) {
        let mut permissions = meta.permissions();
        permissions.set_readonly(true);
        let _ = std::fs::set_permissions(path, permissions);
    }
}
