//! The outbox: a worker's signed results, kept on disk until the network has them.
//!
//! A result is written to the outbox (one private JSON file per task attempt) before it is sent,
//! so a worker that stops or crashes, or a network that is down, loses nothing: the next run sends
//! what the last one could not. A result leaves the outbox when the network takes it, or refuses
//! it for good (the lease moved on: another worker has the task now). Writing to the outbox can
//! fail (a full or read-only disk); that is an error, not something to ignore, because a result
//! that is not kept could be lost.

use anyhow::{Context, Result};
use pictor_core::TaskId;
use pictor_core::api::ResultSubmission;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A signed result waiting to be delivered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The task it is the result of.
    pub task: TaskId,
    /// The outputs, signature and render time, as they will be sent.
    pub result: ResultSubmission,
}

/// The folder of results not delivered yet (`<cache>/spool`).
#[derive(Clone, Debug)]
pub struct Outbox {
    dir: PathBuf,
}

impl Outbox {
    /// Opens (creating if needed) the outbox in `dir`.
    pub fn open(dir: &Path) -> Result<Outbox> {
        pictor_core::private_fs::create_private_dir(dir)
            .with_context(|| format!("creating the outbox {}", dir.display()))?;
        Ok(Outbox {
            dir: dir.to_path_buf(),
        })
    }

    fn file_of(&self, task: TaskId, attempt: u32) -> PathBuf {
        self.dir.join(format!("{}-{attempt}.json", task.0))
    }

    /// Keeps `pending` until [`Outbox::remove`]; an error when it cannot be written durably.
    pub fn put(&self, pending: &Pending) -> Result<()> {
        let path = self.file_of(pending.task, pending.result.attempt);
        let bytes = serde_json::to_vec(pending).context("encoding the result")?;
        pictor_core::private_fs::write_private_file(&path, &bytes)
            .with_context(|| format!("keeping the result in {}", path.display()))
    }

    /// Forgets a delivered (or refused) result.
    pub fn remove(&self, pending: &Pending) -> Result<()> {
        let path = self.file_of(pending.task, pending.result.attempt);
        match std::fs::remove_file(&path) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                Err(error).with_context(|| format!("removing {}", path.display()))
            }
            _ => Ok(()),
        }
    }

    /// The results an earlier run left, oldest task first. A file that does not parse (a torn
    /// write from before writes were atomic, or not ours) is removed with a warning.
    pub fn pending(&self) -> Result<Vec<Pending>> {
        let entries = std::fs::read_dir(&self.dir)
            .with_context(|| format!("reading the outbox {}", self.dir.display()))?;
        let mut found = Vec::new();
        for entry in entries {
            let path = entry.context("reading the outbox")?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let bytes =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            match serde_json::from_slice::<Pending>(&bytes) {
                Ok(pending) => found.push(pending),
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "dropping an unreadable outbox file");
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        found.sort_by_key(|p| (p.task, p.result.attempt));
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(task: u64) -> Pending {
        Pending {
            task: TaskId(task),
            result: ResultSubmission {
                attempt: 1,
                outputs: Vec::new(),
                signature_hex: "00".repeat(64),
                render_ms: 5,
            },
        }
    }

    #[test]
    fn results_survive_until_removed_and_garbage_is_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outbox = Outbox::open(&dir.path().join("spool")).expect("open");
        outbox.put(&pending(2)).expect("put");
        outbox.put(&pending(1)).expect("put");
        std::fs::write(dir.path().join("spool/torn.json"), b"{\"task\":").expect("garbage");
        let reopened = Outbox::open(&dir.path().join("spool")).expect("reopen");
        assert_eq!(
            reopened.pending().expect("list"),
            vec![pending(1), pending(2)]
        );
        reopened.remove(&pending(1)).expect("remove");
        reopened
            .remove(&pending(1))
            .expect("removing twice is fine");
        assert_eq!(reopened.pending().expect("list"), vec![pending(2)]);
    }

    #[cfg(unix)]
    #[test]
    fn a_result_that_cannot_be_kept_is_an_error() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let outbox = Outbox::open(&dir.path().join("spool")).expect("open");
        std::fs::set_permissions(
            dir.path().join("spool"),
            std::fs::Permissions::from_mode(0o500),
        )
        .expect("chmod");
        let unwritable = std::fs::write(dir.path().join("spool/probe"), b"x").is_err();
        if unwritable {
            assert!(outbox.put(&pending(3)).is_err());
        } else {
            // Root ignores permissions: make the folder a file instead.
            std::fs::set_permissions(
                dir.path().join("spool"),
                std::fs::Permissions::from_mode(0o700),
            )
            .expect("chmod back");
            std::fs::remove_dir_all(dir.path().join("spool")).expect("rm");
            std::fs::write(dir.path().join("spool"), b"not a folder").expect("file");
            assert!(outbox.put(&pending(3)).is_err());
        }
    }
}
