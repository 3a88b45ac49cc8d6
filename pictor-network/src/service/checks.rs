//! Checks: checkers lease the verification of a task result and post a verdict that drives
//! settlement. ACCEPT pays the hold out and records the frames; REJECT requeues the task for another
//! worker, pays nothing and counts against the worker (barred from the job at the configured count);
//! ESCALATE queues a re-check with more evidence, and an escalation past the cap counts as a reject.
//!
//! Known gap: the checker's fee is part of the settlement of accepted results, so a checker is paid
//! only for ACCEPT verdicts. Paying rejects needs a stake from workers to pay from (see the notes).

use super::events::emit;
use super::jobs::task_frames;
use super::{Caller, Coordinator, Metrics, ServiceError, ServiceResult, Write};
use crate::clock::now_ms;
use crate::store::{CheckRow, CheckState, FrameRow, JobRow, Store, StoreTx, TaskRow};
use pictor_core::api::{CheckLease, ErrorCode, Role, TaskStateView, Verdict, VerdictSubmission};
use pictor_core::job::{JobEvent, JobState};
use pictor_core::task::{TaskEvent, TaskState};
use pictor_core::{JobId, TaskId};
use serde_json::json;

/// Largest evidence document, bytes of JSON.
pub const MAX_EVIDENCE_BYTES: usize = 1 << 20;

impl<S: Store> Coordinator<S> {
    /// Leases the oldest waiting check to the caller, or `None`.
    pub async fn lease_check(&self, caller: &Caller) -> ServiceResult<Option<CheckLease>> {
        caller.require(Role::Checker)?;
        let mut write = self.write().await?;
        let result = async {
            let now = now_ms();
            self.expire_in(&mut write, now).await?;
            let Some(mut check) = write.tx.next_pending_check().await? else {
                return Ok(None);
            };
            let task = write
                .tx
                .task(check.task_id)
                .await?
                .ok_or_else(|| ServiceError::internal(&"check without task"))?;
            let job = write
                .tx
                .job(task.job_id)
                .await?
                .ok_or_else(|| ServiceError::internal(&"task without job"))?;
            let expires_at_ms = now.saturating_add(self.config.check_lease_ttl_ms);
            check.state = CheckState::Leased;
            check.checker = Some(caller.id());
            check.lease_expires_ms = Some(expires_at_ms);
            write.tx.update_check(&check).await?;
            Ok(Some(CheckLease {
                check: check.id,
                task: TaskId(task.id),
                job: JobId(job.id),
                attempt: check.attempt,
                spec: job.spec.clone(),
                work: task.work.clone(),
                outputs: task.outputs.clone().unwrap_or_default(),
                escalation: check.escalation,
                expires_at_ms,
            }))
        }
        .await;
        self.finish(write, result).await
    }

    /// Takes the verdict of a check the caller holds.
    pub async fn post_verdict(
        &self,
        caller: &Caller,
        check_id: u64,
        submission: &VerdictSubmission,
    ) -> ServiceResult<TaskStateView> {
        caller.require(Role::Checker)?;
        let evidence_len = serde_json::to_vec(&submission.evidence)
            .map(|v| v.len())
            .unwrap_or(usize::MAX);
        if evidence_len > MAX_EVIDENCE_BYTES {
            return Err(ServiceError::invalid(
                "evidence",
                format!("at most {MAX_EVIDENCE_BYTES} bytes of JSON"),
            ));
        }
        let mut write = self.write().await?;
        let result = self
            .post_verdict_in(&mut write, caller, check_id, submission)
            .await;
        self.finish(write, result).await
    }

    async fn post_verdict_in(
        &self,
        write: &mut Write<'_, S::Tx>,
        caller: &Caller,
        check_id: u64,
        submission: &VerdictSubmission,
    ) -> ServiceResult<TaskStateView> {
        let mut check = match write.tx.check(check_id).await? {
            Some(check) if check.checker == Some(caller.id()) => check,
            _ => return Err(ServiceError::not_found(format!("check {check_id}"))),
        };
        // A verdict that arrives after its lease lapsed still counts while no other checker has
        // taken the check (an expired check keeps its last holder until it is leased again): on a
        // slow or busy machine a verification may outlast its lease, and doing it again would only
        // outlast the next one too.
        if check.state != CheckState::Leased && check.state != CheckState::Pending {
            return Err(ServiceError::new(
                ErrorCode::StaleLease,
                format!(
                    "check {check_id} is {} and takes no verdict",
                    check.state.as_str()
                ),
            ));
        }
        let mut task = write
            .tx
            .task(check.task_id)
            .await?
            .ok_or_else(|| ServiceError::internal(&"check without task"))?;
        let worker = match &task.state {
            TaskState::Verifying {
                attempt, worker, ..
            } if *attempt == check.attempt => worker.0,
            _ => {
                check.state = CheckState::Dropped;
                write.tx.update_check(&check).await?;
                return Err(ServiceError::new(
                    ErrorCode::StaleLease,
                    format!("task {} moved on; this check no longer counts", task.id),
                ));
            }
        };
        check.state = CheckState::Done;
        check.verdict = Some(submission.verdict);
        check.evidence = Some(submission.evidence.clone());
        write.tx.update_check(&check).await?;
        let mut job = write
            .tx
            .job(task.job_id)
            .await?
            .ok_or_else(|| ServiceError::internal(&"task without job"))?;
        // Still escalated after the last escalation: the statistics could not decide (an honest
        // worker who rendered more samples than asked lands here too). The result is not paid and
        // the task is rendered again, but the worker is not counted as a cheat.
        let inconclusive = submission.verdict == Verdict::Escalate
            && check.escalation >= self.config.max_escalations;
        let verdict = if inconclusive {
            Verdict::Reject
        } else {
            submission.verdict
        };
        match verdict {
            Verdict::Accept => {
                self.accept(write, &mut job, &mut task, worker, caller.id())
                    .await?
            }
            Verdict::Reject => {
                let reason = submission
                    .evidence
                    .get("reasons")
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "rejected by the checker".into());
                task.state = task.state.apply(
                    &TaskEvent::Reject {
                        reason: reason.clone(),
                    },
                    &self.config.task_policy,
                )?;
                task.agreed_cost = None;
                task.outputs = None;
                task.rejects += 1;
                write.tx.update_task(&task).await?;
                let blocked = if inconclusive {
                    false
                } else {
                    let rejects = write.tx.record_reject(job.id, worker).await?;
                    rejects >= self.config.block_after_rejects
                };
                if blocked {
                    write.tx.block_worker(job.id, worker).await?;
                }
                Metrics::bump(&self.metrics.rejections);
                self.after_requeue(
                    write,
                    &task,
                    "task_rejected",
                    json!({"task": task.id, "worker": worker, "checker": caller.id(), "reason": reason, "worker_blocked": blocked, "inconclusive": inconclusive}),
                )
                .await?;
            }
            Verdict::Escalate => {
                write
                    .tx
                    .insert_check(&CheckRow {
                        id: 0,
                        task_id: task.id,
                        attempt: check.attempt,
                        escalation: check.escalation + 1,
                        state: CheckState::Pending,
                        checker: None,
                        lease_expires_ms: None,
                        verdict: None,
                        evidence: None,
                    })
                    .await?;
                emit(
                    write,
                    &mut job,
                    "task_escalated",
                    json!({"task": task.id, "escalation": check.escalation + 1}),
                )
                .await?;
            }
        }
        Ok(super::work::state_view(&task))
    }

    async fn accept(
        &self,
        write: &mut Write<'_, S::Tx>,
        job: &mut JobRow,
        task: &mut TaskRow,
        worker: u64,
        checker: u64,
    ) -> ServiceResult<()> {
        let attempt = match task.state {
            TaskState::Verifying { attempt, .. } => Some(attempt),
            _ => None,
        };
        task.state = task
            .state
            .apply(&TaskEvent::Accept, &self.config.task_policy)?;
        let cost = self.settle(write, task, worker, checker)?;
        self.record_accepted_work(write, task, attempt).await?;
        write.tx.update_task(task).await?;
        for output in task.outputs.clone().unwrap_or_default() {
            write
                .tx
                .insert_frame(&FrameRow {
                    job_id: job.id,
                    frame: output.frame,
                    task_id: task.id,
                    hash: output.hash,
                    size: output.size,
                })
                .await?;
        }
        Metrics::bump(&self.metrics.settlements);
        emit(
            write,
            job,
            "task_accepted",
            json!({"task": task.id, "worker": worker, "checker": checker, "cost": cost, "frames": task_frames(&task.work)}),
        )
        .await?;
        let done = write.tx.count_unaccepted_tasks(job.id).await? == 0;
        if done && !job.state.is_final() {
            if job.state == JobState::Paused {
                job.state = job.state.apply(JobEvent::Resume)?;
            }
            job.state = job.state.apply(JobEvent::Complete)?;
            job.paused_reason = None;
            let frames = write.tx.frames_of(job.id).await?.len();
            emit(write, job, "completed", json!({"frames": frames})).await?;
            tracing::info!(job = job.id, "job completed");
        }
        Ok(())
    }
}
