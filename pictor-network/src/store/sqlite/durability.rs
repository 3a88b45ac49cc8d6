//! Group commit for SQLite: a write commits without waiting for the disk (WAL mode,
//! `synchronous = NORMAL`: the commit is in the operating system's cache, safe against a crash of
//! the process and never corrupting), and its caller waits for one `fsync` of the WAL file that
//! covers it before it answers anyone. The first waiter syncs for everyone committed so far; the
//! others find their commit covered. So the one writer at a time never holds the ledger lock
//! through a disk flush, and one flush serves every write that committed meanwhile.
//!
//! What a power cut can lose is only what no one was told is done: a write's caller answers after
//! its flush. Reads may see a commit a moment before its flush; a power cut in that moment takes
//! back what they saw, and the WAL keeps commits in order, so never a later one without an
//! earlier one.

use super::{StoreError, StoreResult};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// The WAL file of one database, and how many of its commits are known to be on disk.
#[derive(Debug)]
pub(crate) struct WalFlusher {
    /// `<database>-wal`.
    path: PathBuf,
    /// The WAL file, opened at the first flush; reopened if SQLite made a new one.
    file: Mutex<Option<OpenWal>>,
    /// Commits so far, numbered from 1.
    committed: AtomicU64,
    /// Every commit up to this number is on disk.
    durable: AtomicU64,
    /// Held by the waiter that flushes for everyone.
    leader: tokio::sync::Mutex<()>,
    /// Syncs of the WAL file so far.
    syncs: AtomicU64,
}

#[derive(Debug)]
struct OpenWal {
    file: std::fs::File,
    identity: FileIdentity,
}

/// Device and inode: which file a path names right now.
type FileIdentity = (u64, u64);

/// A commit's place in the flush order: wait on it before telling anyone the write is done.
#[derive(Debug)]
#[must_use = "a commit is durable only once its flush is waited for"]
pub struct Flush {
    pending: Option<(Arc<WalFlusher>, u64)>,
}

impl Flush {
    /// A commit that is durable already (the store flushes at commit).
    pub fn done() -> Self {
        Flush { pending: None }
    }

    /// Waits until the commit is on disk.
    pub async fn wait(self) -> StoreResult<()> {
        match self.pending {
            None => Ok(()),
            Some((flusher, seq)) => flusher.wait(seq).await,
        }
    }
}

impl WalFlusher {
    /// The flusher of the database file `database`.
    pub(crate) fn new(database: &std::path::Path) -> Arc<Self> {
        let mut path = database.as_os_str().to_os_string();
        path.push("-wal");
        Arc::new(WalFlusher {
            path: PathBuf::from(path),
            file: Mutex::new(None),
            committed: AtomicU64::new(0),
            durable: AtomicU64::new(0),
            leader: tokio::sync::Mutex::new(()),
            syncs: AtomicU64::new(0),
        })
    }

    /// Records a commit that just returned; answers its flush ticket.
    pub(crate) fn committed(self: &Arc<Self>) -> Flush {
        let seq = self.committed.fetch_add(1, Ordering::AcqRel) + 1;
        Flush {
            pending: Some((Arc::clone(self), seq)),
        }
    }

    async fn wait(self: &Arc<Self>, seq: u64) -> StoreResult<()> {
        if self.durable.load(Ordering::Acquire) >= seq {
            return Ok(());
        }
        let _leader = self.leader.lock().await;
        if self.durable.load(Ordering::Acquire) >= seq {
            return Ok(());
        }
        // Every commit counted so far has returned, so its frames are written: one sync covers
        // them all.
        let target = self.committed.load(Ordering::Acquire);
        let flusher = Arc::clone(self);
        tokio::task::spawn_blocking(move || flusher.sync())
            .await
            .map_err(|error| StoreError::Flush(std::io::Error::other(error)))?
            .map_err(StoreError::Flush)?;
        self.durable.fetch_max(target, Ordering::AcqRel);
        Ok(())
    }

    /// Syncs the WAL file to disk. No WAL file means SQLite checkpointed everything into the
    /// database and synced it when its last connection closed.
    fn sync(&self) -> std::io::Result<()> {
        let identity = match std::fs::metadata(&self.path) {
            Ok(metadata) => identity(&metadata),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(error) => return Err(error),
        };
        // Only this function touches the slot, one call at a time (under `leader`).
        let mut slot = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.as_ref().is_none_or(|open| open.identity != identity) {
            // The file is never written through this handle, and it stays open while the store
            // lives (SQLite keeps no POSIX locks on the WAL file that closing it could drop).
            let file = std::fs::File::open(&self.path)?;
            let identity = identity_of(&file)?;
            *slot = Some(OpenWal { file, identity });
        }
        self.syncs.fetch_add(1, Ordering::Relaxed);
        match slot.as_ref() {
            Some(open) => open.file.sync_data(),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
impl WalFlusher {
    /// (commits, commits known durable, syncs).
    fn counts(&self) -> (u64, u64, u64) {
        (
            self.committed.load(Ordering::Acquire),
            self.durable.load(Ordering::Acquire),
            self.syncs.load(Ordering::Relaxed),
        )
    }
}

fn identity_of(file: &std::fs::File) -> std::io::Result<FileIdentity> {
    Ok(identity(&file.metadata()?))
}

#[cfg(unix)]
fn identity(metadata: &std::fs::Metadata) -> FileIdentity {
    use std::os::unix::fs::MetadataExt;
    (metadata.dev(), metadata.ino())
}

#[cfg(not(unix))]
fn identity(metadata: &std::fs::Metadata) -> FileIdentity {
    (0, metadata.len())
}

#[cfg(test)]
mod tests {
    use crate::store::prelude::*;
    use crate::store::sqlite::SqliteStore;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_commit_is_durable_once_waited_for_and_writers_share_syncs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("t.db"))
            .await
            .expect("open");
        let before = store.flusher.counts();
        let writers: Vec<_> = (0..32)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    let mut tx = store.begin_write().await.expect("begin");
                    tx.set_meta(&format!("k{i}"), "v").await.expect("write");
                    let flush = tx.commit_visible().await.expect("commit");
                    flush.wait().await.expect("flush");
                })
            })
            .collect();
        for writer in writers {
            writer.await.expect("writer");
        }
        let (committed, durable, syncs) = store.flusher.counts();
        let commits = committed - before.0;
        assert_eq!(commits, 32);
        assert_eq!(durable, committed, "every commit waited for is durable");
        let syncs = syncs - before.2;
        assert!(
            (1..=commits).contains(&syncs),
            "{syncs} syncs for {commits} commits"
        );
        // The WAL file the syncs cover holds the writes: a fresh connection reads them all.
        let mut tx = store.begin_read().await.expect("read");
        for i in 0..32 {
            assert_eq!(
                tx.meta(&format!("k{i}")).await.expect("meta").as_deref(),
                Some("v")
            );
        }
    }
}
