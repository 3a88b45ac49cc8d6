//! A frame's public record for the Explorer: anyone may see, for a job's frame, which task made
//! it, the accepted output's hash and size, the worker that rendered it, every check of it with
//! the checker's verdict and statistics, and the ledger entries that paid for it — and nothing of
//! the creator (no owner, scene, name, tags).

use super::PublicJob;
use super::money_trail::MoneyMove;
use super::views::FrameProgress;
use super::{Coordinator, ServiceError, ServiceResult};
use crate::store::Store;
use crate::store::prelude::*;
use pictor_core::api::Verdict;
use pictor_core::job::JobState;
use pictor_core::{JobId, TaskId};

/// One check of a task's result.
#[derive(Clone, Debug)]
pub struct CheckRecord {
    /// The check's id.
    pub id: u64,
    /// The task attempt (result) it checked.
    pub attempt: u32,
    /// 0 for the first check of a result, 1… for escalations.
    pub escalation: u32,
    /// The checker's worker id (whoever leased it), if one did.
    pub checker: Option<u64>,
    /// The verdict, once given.
    pub verdict: Option<Verdict>,
    /// The checker's statistics behind the verdict, as it sent them.
    pub evidence: Option<serde_json::Value>,
}

/// One task that renders (part of) the frame.
#[derive(Clone, Debug)]
pub struct TaskRecord {
    /// The task.
    pub task: TaskId,
    /// Where it is.
    pub progress: FrameProgress,
    /// The worker of its current (or accepted) result, if any.
    pub worker: Option<u64>,
    /// The output of its accepted result for this frame: BLAKE3 hex and bytes.
    pub output: Option<(String, u64)>,
    /// Its checks, oldest first.
    pub checks: Vec<CheckRecord>,
    /// The ledger entries of its hold and pay.
    pub payments: Vec<MoneyMove>,
}

/// A frame's public record.
#[derive(Clone, Debug)]
pub struct FrameRecord {
    /// The job.
    pub job: JobId,
    /// The job's state.
    pub job_state: JobState,
    /// The frame.
    pub frame: u32,
    /// The tasks rendering it (one; or one per tile of a still).
    pub tasks: Vec<TaskRecord>,
}

/// The worker a task state names, if any.
fn worker_of(state: &pictor_core::task::TaskState) -> Option<u64> {
    use pictor_core::task::TaskState;
    match state {
        TaskState::Leased { worker, .. }
        | TaskState::Uploaded { worker, .. }
        | TaskState::Verifying { worker, .. }
        | TaskState::Accepted { worker, .. } => Some(worker.0),
        _ => None,
    }
}

impl<S: Store> Coordinator<S> {
    /// What anyone may see of `job` and its accepted frames' numbers; 404 when there is none.
    pub async fn public_job(&self, job: JobId) -> ServiceResult<(PublicJob, Vec<u32>)> {
        let mut tx = self.read().await?;
        let row = tx
            .job(job.0)
            .await?
            .ok_or_else(|| ServiceError::not_found(format!("job {job}")))?;
        let view = self.job_view(&mut tx, &row).await?;
        let accepted: std::collections::BTreeSet<u32> = tx
            .frames_of(job.0)
            .await?
            .into_iter()
            .map(|frame| frame.frame)
            .collect();
        Ok((PublicJob::from(&view), accepted.into_iter().collect()))
    }

    /// The public record of `frame` of `job`; 404 when there is no such job or frame.
    pub async fn frame_record(&self, job: JobId, frame: u32) -> ServiceResult<FrameRecord> {
        let missing = || ServiceError::not_found(format!("frame {frame} of job {job}"));
        let mut tx = self.read().await?;
        let row = tx.job(job.0).await?.ok_or_else(missing)?;
        if !row.spec.frames.contains(frame) {
            return Err(missing());
        }
        let mut tasks = Vec::new();
        for task in tx.tasks_of_job(job.0).await? {
            if !task.work.frames().contains(&frame) {
                continue;
            }
            let accepted = matches!(task.state, pictor_core::task::TaskState::Accepted { .. });
            let output = task
                .outputs
                .iter()
                .flatten()
                .find(|output| output.frame == frame)
                .filter(|_| accepted)
                .map(|output| (output.hash.clone(), output.size));
            let checks = tx
                .checks_of_task(task.id)
                .await?
                .into_iter()
                .map(|check| CheckRecord {
                    id: check.id,
                    attempt: check.attempt,
                    escalation: check.escalation,
                    checker: check.checker,
                    verdict: check.verdict,
                    evidence: check.evidence,
                })
                .collect();
            tasks.push(TaskRecord {
                task: TaskId(task.id),
                progress: FrameProgress::of(&task.state, task.rejects),
                worker: worker_of(&task.state),
                output,
                checks,
                payments: Vec::new(),
            });
        }
        drop(tx);
        let money = self.money_of(job).await?;
        for record in &mut tasks {
            record.payments = money
                .iter()
                .filter(|entry| entry.task == Some(record.task))
                .cloned()
                .collect();
        }
        Ok(FrameRecord {
            job,
            job_state: row.state,
            frame,
            tasks,
        })
    }
}
