//! The farm manager as the adapter sees it ([`FarmEngine`]): submit a task's job held and tagged
//! with its lease, release it, list the tagged jobs, cancel one. A second engine (Grid Engine,
//! another Pictor network) implements the same five operations.

use anyhow::Result;
use pictor_core::TaskId;
use std::future::Future;
use std::path::{Path, PathBuf};

/// The lease a farm job belongs to, written into the job itself (Slurm's `--comment`), so the
/// adapter finds its jobs again after a restart: `pictor:<task>:<attempt>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LeaseTag {
    /// The task leased.
    pub task: TaskId,
    /// The lease's fencing token.
    pub attempt: u32,
}

impl LeaseTag {
    const PREFIX: &'static str = "pictor:";

    /// The tag as the farm stores it.
    pub fn to_comment(self) -> String {
        format!("{}{}:{}", Self::PREFIX, self.task.0, self.attempt)
    }

    /// The tag of a farm job's comment; `None` for anyone else's job.
    pub fn parse(comment: &str) -> Option<LeaseTag> {
        let (task, attempt) = comment.strip_prefix(Self::PREFIX)?.split_once(':')?;
        Some(LeaseTag {
            task: TaskId(task.parse().ok()?),
            attempt: attempt.parse().ok()?,
        })
    }

    /// The task folder's name on the farm's storage: `<task>-<attempt>`.
    pub fn folder_name(self) -> String {
        format!("{}-{}", self.task.0, self.attempt)
    }
}

/// A job of the farm's, as the adapter reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FarmJob {
    /// The farm's id for it.
    pub id: String,
    /// The lease it runs.
    pub tag: LeaseTag,
    /// Where it stands.
    pub state: FarmJobState,
    /// Times the farm requeued it (preempted, node lost).
    pub restarts: u32,
}

/// A farm job's state, reduced to what the adapter acts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FarmJobState {
    /// Submitted and held: the adapter releases it (after recording it).
    Held,
    /// Waiting for the farm's resources (first time or after a requeue).
    Queued,
    /// Running on a node.
    Running,
    /// Ended well: its outputs are on the farm's storage.
    Completed,
    /// Ended badly, with the farm's reason.
    Failed(String),
    /// Cancelled (by the adapter, or by the farm's operator).
    Cancelled,
}

impl FarmJobState {
    /// True while the job may still produce its outputs.
    pub fn is_live(&self) -> bool {
        matches!(
            self,
            FarmJobState::Held | FarmJobState::Queued | FarmJobState::Running
        )
    }
}

/// A task's job to submit.
#[derive(Clone, Copy, Debug)]
pub struct Submission<'a> {
    /// The lease it runs.
    pub tag: LeaseTag,
    /// Its folder on the farm's storage (the node runs `pictor farm exec <folder>`).
    pub folder: &'a Path,
}

/// A farm manager. Every operation is safe to repeat: submitting a lease the farm already has a
/// live job for answers that job.
pub trait FarmEngine: Send + Sync {
    /// The engine's name, for logs and errors.
    fn name(&self) -> &'static str;

    /// Submits the task's job held and tagged with its lease; answers the farm's job id.
    fn submit_held(
        &self,
        submission: Submission<'_>,
    ) -> impl Future<Output = Result<String>> + Send;

    /// Lets a held job run.
    fn release(&self, id: &str) -> impl Future<Output = Result<()>> + Send;

    /// Every job of the farm's that carries a lease tag, finished ones included while the farm
    /// remembers them.
    fn jobs(&self) -> impl Future<Output = Result<Vec<FarmJob>>> + Send;

    /// Cancels a job (a no-op for one that ended).
    fn cancel(&self, id: &str) -> impl Future<Output = Result<()>> + Send;

    /// Makes a completed job's frames available in the task's folder (`out/result.json`): a
    /// farm's nodes wrote them there already; another network's are downloaded.
    fn collect(&self, job: &FarmJob, folder: &Path) -> impl Future<Output = Result<()>> + Send;

    /// What one of the farm's nodes offers (speed, renderers), measured through the farm itself
    /// (`folder` is scratch space on its storage). `pictor farm init` registers the farm with it.
    fn probe(
        &self,
        renderer: &str,
        blender: &[PathBuf],
        folder: &Path,
    ) -> impl Future<Output = Result<super::node::NodeProbe>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_tag_reads_back_and_other_comments_are_not_ours() {
        let tag = LeaseTag {
            task: TaskId(42),
            attempt: 3,
        };
        assert_eq!(tag.to_comment(), "pictor:42:3");
        assert_eq!(LeaseTag::parse(&tag.to_comment()), Some(tag));
        for other in [
            "",
            "pictor:",
            "pictor:42",
            "pictor:x:1",
            "render shot 12",
            "pictor:1:2:3",
        ] {
            assert_eq!(LeaseTag::parse(other), None, "{other:?}");
        }
        assert_eq!(tag.folder_name(), "42-3");
    }
}
