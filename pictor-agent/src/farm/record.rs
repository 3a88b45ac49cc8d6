//! The adapter's durable record of the leases it holds: one private JSON file per lease, written
//! before the farm hears of the task and removed once its result is in the outbox (or the task is
//! handed back). With the farm's own tagged jobs it is everything a restarted adapter needs.

use super::engine::LeaseTag;
use anyhow::{Context, Result};
use pictor_core::api::TaskLease;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One lease the adapter holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct LeaseRecord {
    /// The lease as the network gave it (its expiry is renewed by heartbeats, not here).
    pub(crate) lease: TaskLease,
    /// The farm's job for it, once submitted.
    pub(crate) job_id: Option<String>,
    /// Jobs of the farm's for this lease that vanished or were requeued: counted against
    /// `max_requeues`.
    #[serde(default)]
    pub(crate) restarts: u32,
}

impl LeaseRecord {
    pub(crate) fn tag(&self) -> LeaseTag {
        LeaseTag {
            task: self.lease.task,
            attempt: self.lease.attempt,
        }
    }
}

/// The folder of lease records (`<state>/leases`).
#[derive(Clone, Debug)]
pub(crate) struct Records {
    dir: PathBuf,
}

impl Records {
    pub(crate) fn open(dir: &Path) -> Result<Records> {
        pictor_core::private_fs::create_private_dir(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
        Ok(Records {
            dir: dir.to_path_buf(),
        })
    }

    fn file_of(&self, tag: LeaseTag) -> PathBuf {
        self.dir.join(format!("{}.json", tag.folder_name()))
    }

    /// Every record, in task order; unreadable files are reported and skipped.
    pub(crate) fn all(&self) -> Result<Vec<LeaseRecord>> {
        let mut records = Vec::new();
        for entry in std::fs::read_dir(&self.dir)
            .with_context(|| format!("reading {}", self.dir.display()))?
        {
            let path = entry?.path();
            if path.extension().is_none_or(|ext| ext != "json") {
                continue;
            }
            let parsed = std::fs::read(&path)
                .map_err(anyhow::Error::from)
                .and_then(|bytes| Ok(serde_json::from_slice::<LeaseRecord>(&bytes)?));
            match parsed {
                Ok(record) => records.push(record),
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "skipping an unreadable lease record");
                }
            }
        }
        records.sort_by_key(LeaseRecord::tag);
        Ok(records)
    }

    /// Writes `record` durably (atomically, mode 0600).
    pub(crate) fn put(&self, record: &LeaseRecord) -> Result<()> {
        let path = self.file_of(record.tag());
        let bytes = serde_json::to_vec(record).context("encoding the lease record")?;
        pictor_core::private_fs::write_private_file(&path, &bytes)
            .with_context(|| format!("writing {}", path.display()))
    }

    /// Forgets the lease of `tag`.
    pub(crate) fn remove(&self, tag: LeaseTag) -> Result<()> {
        let path = self.file_of(tag);
        match std::fs::remove_file(&path) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                Err(error).with_context(|| format!("removing {}", path.display()))
            }
            _ => Ok(()),
        }
    }
}
