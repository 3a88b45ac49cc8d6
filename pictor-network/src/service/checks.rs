//! Checks: checkers lease the verification of a task result and post a verdict that drives
//! settlement. ACCEPT pays the hold out (through `escrow`) and records the frames — for a new
//! worker's high-value result only once a second checker agrees (`confirmations`); REJECT
//! requeues the task for another worker, pays nothing, counts against the worker (barred from the
//! job at the configured count) and asks a second checker to confirm it: a confirmed reject is a
//! proven cheat whose bond pays the catching checkers (`confirmations`). ESCALATE queues a
//! re-check with more evidence, and an escalation past the cap is inconclusive: rendered again,
//! not counted against the worker. Mixed into the leases are known-outcome probes (`probes`).
//! The protocol the checker runs is docs/VERIFICATION.md; the economics docs/TRUST.md.

use super::events::emit;
use super::views::state_view;
use super::{Caller, Coordinator, Metrics, ServiceError, ServiceResult, Write};
use crate::store::prelude::*;
use crate::store::{CheckPurpose, CheckRow, CheckState, FrameRow, JobRow, Store, TaskRow};
use pictor_core::api::{
    CheckLease, CheckLeaseRequest, ErrorCode, JobEvent, Role, TaskStateView, Verdict,
    VerdictSubmission,
};
use pictor_core::task::{TaskEvent, TaskState};
use pictor_core::{CheckId, CheckerId, JobId, TaskId, WorkerId};
use std::collections::HashMap;

/// How many of the oldest waiting checks a lease looks through for one the checker can verify.
const LEASE_SCAN: u32 = 64;

/// How many a lease reads first: when fewer wait, they are all there is; when more, the lease
/// reads [`LEASE_SCAN`] (reading and decoding 64 rows each lease while a queue is long was most
/// of a check lease's cost).
const FIRST_SCAN: u32 = 8;

/// Largest evidence document, bytes of JSON.
pub const MAX_EVIDENCE_BYTES: usize = 1 << 20;

impl<S: Store> Coordinator<S> {
    /// Leases the oldest waiting check the caller can verify ([`CheckLeaseRequest::can_verify`]:
    /// a frame Blender finished with the scene's settings goes to a checker with that Blender
    /// version), or `None`. Looks at the `LEASE_SCAN` (64) oldest waiting checks; among them a
    /// check of a scene the checker has open ([`CheckLeaseRequest::open_scenes`]) goes first.
    pub async fn lease_check(
        &self,
        caller: &Caller,
        request: &CheckLeaseRequest,
    ) -> ServiceResult<Option<CheckLease>> {
        caller.require(Role::Checker)?;
        request.validate()?;
        // A probe is made (decoded, altered, stored) before the write, outside the ledger lock.
        let prepared = if self.probe_due(caller.id()).await? {
            self.prepare_probe(caller.id(), request).await?
        } else {
            None
        };
        let mut write = self.write_settling().await?;
        let result = async {
            let now = write.now_ms;
            self.expire_in(&mut write, now).await?;
            let mut standing = write.tx.checker_standing(caller.id()).await?;
            self.admit_checker(&write, &standing)?;
            if let Some(probe) = prepared.filter(|_| self.probe_place(&standing)) {
                let lease = self.insert_probe(&mut write, caller.id(), probe).await?;
                self.count_lease(&mut write, &mut standing, true).await?;
                return Ok(Some(lease));
            }
            // The oldest check this checker can verify, or the oldest of a scene it has open.
            // Checks of one job are usually many: each job is read once per scan (a checker with
            // a scene open may look through all of them).
            // A checker with no scene open takes the first it can verify: the 8 oldest are read
            // first, the 64 only when none of those will do.
            let scans: &[u32] = if request.open_scenes.is_empty() {
                &[FIRST_SCAN, LEASE_SCAN]
            } else {
                &[LEASE_SCAN]
            };
            let mut leasable = None;
            let mut jobs: HashMap<u64, JobRow> = HashMap::new();
            for &scan in scans {
                let pending = write.tx.pending_checks(caller.id(), scan).await?;
                let all_read = pending.len() < scan as usize;
                for check in pending {
                    let task = write
                        .tx
                        .task(check.task_id)
                        .await?
                        .ok_or_else(|| ServiceError::internal(&"check without task"))?;
                    let job = match jobs.get(&task.job_id) {
                        Some(job) => job.clone(),
                        None => {
                            let job = self.job_of_task(&mut write, &task).await?;
                            jobs.insert(task.job_id, job.clone());
                            job
                        }
                    };
                    let outputs = check.outputs_of(&task);
                    if !request.can_verify(job.spec.renderer.kind, &outputs) {
                        continue;
                    }
                    let open = request.has_open(&job.spec.scene);
                    if open || leasable.is_none() {
                        leasable = Some((check, task, job));
                    }
                    if open || request.open_scenes.is_empty() {
                        break;
                    }
                }
                if leasable.is_some() || all_read {
                    break;
                }
            }
            let Some((mut check, task, job)) = leasable else {
                return Ok(None);
            };
            self.count_lease(&mut write, &mut standing, false).await?;
            let expires_at_ms = now.saturating_add(self.config.check_lease_ttl_ms);
            check.state = CheckState::Leased;
            check.checker = Some(caller.id());
            check.lease_expires_ms = Some(expires_at_ms);
            check.leased_at_ms = Some(now);
            write.tx.update_check(&check).await?;
            Ok(Some(CheckLease {
                check: CheckId(check.id),
                task: TaskId(task.id),
                job: JobId(job.id),
                attempt: check.attempt,
                spec: job.spec.clone(),
                work: task.work.clone(),
                outputs: check.outputs_of(&task),
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
        check_id: CheckId,
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
        let mut write = self.write_settling().await?;
        let result = self
            .post_verdict_in(&mut write, caller, check_id, submission)
            .await;
        self.finish(write, result).await
    }

    async fn post_verdict_in(
        &self,
        write: &mut Write<'_, S::Tx>,
        caller: &Caller,
        check_id: CheckId,
        submission: &VerdictSubmission,
    ) -> ServiceResult<TaskStateView> {
        let mut check = match write.tx.check(check_id.0).await? {
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
        match check.purpose {
            CheckPurpose::Probe => {
                Self::record_verdict(write, &mut check, submission).await?;
                return self
                    .grade_probe(write, caller, &mut check, submission.verdict)
                    .await;
            }
            CheckPurpose::Confirm => {
                Self::record_verdict(write, &mut check, submission).await?;
                return self.confirm(write, caller, &check, submission).await;
            }
            CheckPurpose::Result => {}
        }
        let mut task = write
            .tx
            .task(check.task_id)
            .await?
            .ok_or_else(|| ServiceError::internal(&"check without task"))?;
        let worker = match &task.state {
            TaskState::Verifying {
                attempt, worker, ..
            } if *attempt == check.attempt => *worker,
            _ => {
                check.state = CheckState::Dropped;
                write.tx.update_check(&check).await?;
                return Err(ServiceError::new(
                    ErrorCode::StaleLease,
                    format!("task {} moved on; this check no longer counts", task.id),
                ));
            }
        };
        Self::record_verdict(write, &mut check, submission).await?;
        let mut job = self.job_of_task(write, &task).await?;
        let checker = CheckerId(caller.id());
        // Still escalated after the last escalation: the statistics could not decide (an honest
        // worker who rendered more samples than asked lands here too). The result is not paid and
        // the task is rendered again, but the worker is not counted as a cheat.
        let inconclusive = submission.verdict == Verdict::Escalate
            && check.escalation >= self.config.max_escalations;
        match submission.verdict {
            Verdict::Accept if self.accepts_needed(write, worker, &task).await? > 1 => {
                // A new worker's high-value result: a second checker must agree first.
                self.open_confirmation(write, &task, check.attempt).await?;
            }
            Verdict::Accept => {
                self.accept(write, &mut job, &mut task, worker, &[checker])
                    .await?;
                if self.audit_drawn(&task)? {
                    self.open_confirmation(write, &task, check.attempt).await?;
                }
            }
            Verdict::Reject => {
                // Not paid now; a proven cheat only once a second checker confirms.
                self.open_confirmation(write, &task, check.attempt).await?;
                self.reject(write, &job, &mut task, worker, checker, submission, false)
                    .await?
            }
            Verdict::Escalate if inconclusive => {
                self.reject(write, &job, &mut task, worker, checker, submission, true)
                    .await?
            }
            Verdict::Escalate => {
                let escalation = check.escalation + 1;
                let again = CheckRow::waiting(task.id, check.attempt, escalation);
                write.tx.insert_check(&again).await?;
                let escalated = JobEvent::TaskEscalated {
                    task: TaskId(task.id),
                    escalation,
                };
                emit(self, write, &mut job, escalated).await?;
            }
        }
        Ok(state_view(&task))
    }

    /// Records a check's verdict and evidence: the check is done.
    async fn record_verdict(
        write: &mut Write<'_, S::Tx>,
        check: &mut CheckRow,
        submission: &VerdictSubmission,
    ) -> ServiceResult<()> {
        check.state = CheckState::Done;
        check.verdict = Some(submission.verdict);
        check.evidence = Some(submission.evidence.clone());
        check.done_at_ms = Some(write.now_ms);
        write.tx.update_check(check).await?;
        Ok(())
    }

    /// Settles an accepted result: the hold pays out (the worker, each of `checkers` who accepted
    /// it, the network), the frames are recorded, the worker's record grows, and the job completes
    /// with its last task.
    pub(crate) async fn accept(
        &self,
        write: &mut Write<'_, S::Tx>,
        job: &mut JobRow,
        task: &mut TaskRow,
        worker: WorkerId,
        checkers: &[CheckerId],
    ) -> ServiceResult<()> {
        let checker = checkers
            .first()
            .copied()
            .ok_or_else(|| ServiceError::internal(&"an accept without a checker"))?;
        let attempt = match task.state {
            TaskState::Verifying { attempt, .. } => Some(attempt),
            _ => None,
        };
        task.state = task
            .state
            .apply(&TaskEvent::Accept, &self.config.task_policy)?;
        let fees = self.config.pricing.fees;
        let paid: Vec<u64> = checkers.iter().map(|c| c.0).collect();
        let cost = write.escrow().settle(task, worker.0, &paid, &fees)?;
        self.record_accepted_work(write, task, attempt).await?;
        write.tx.update_task(task).await?;
        for output in task.outputs.clone().unwrap_or_default() {
            let frame = FrameRow {
                job_id: job.id,
                frame: output.frame,
                task_id: task.id,
                hash: output.hash,
                size: output.size,
                name: output.name,
            };
            write.tx.insert_frame(&frame).await?;
        }
        Metrics::bump(&self.metrics.settlements);
        let accepted = JobEvent::TaskAccepted {
            task: TaskId(task.id),
            worker,
            checker,
            cost,
            frames: task.work.frames(),
        };
        emit(self, write, job, accepted).await?;
        self.complete_if_done(write, job).await
    }

    /// A rejected (or, with `inconclusive`, undecided) result: nothing is paid, the task is
    /// rendered again, and a rejection counts against the worker.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn reject(
        &self,
        write: &mut Write<'_, S::Tx>,
        job: &JobRow,
        task: &mut TaskRow,
        worker: WorkerId,
        checker: CheckerId,
        submission: &VerdictSubmission,
        inconclusive: bool,
    ) -> ServiceResult<()> {
        let reason = submission
            .evidence
            .get("reasons")
            .map(|r| r.to_string())
            .unwrap_or_else(|| "rejected by the checker".into());
        let reject = TaskEvent::Reject {
            reason: reason.clone(),
        };
        task.state = task.state.apply(&reject, &self.config.task_policy)?;
        task.agreed_cost = None;
        task.outputs = None;
        task.rejects += 1;
        write.tx.update_task(task).await?;
        let blocked = !inconclusive
            && write.tx.record_reject(job.id, worker.0).await? >= self.config.block_after_rejects;
        if blocked {
            write.tx.block_worker(job.id, worker.0).await?;
        }
        Metrics::bump(&self.metrics.rejections);
        let rejected = JobEvent::TaskRejected {
            task: TaskId(task.id),
            worker,
            checker,
            reason,
            worker_blocked: blocked,
            inconclusive,
        };
        self.after_requeue(write, task, rejected).await
    }

    /// Adds an accepted attempt to its worker's record: the task's bench work and the wall time
    /// from its lease to its result, which become the worker's measured speed.
    async fn record_accepted_work(
        &self,
        write: &mut Write<'_, S::Tx>,
        task: &TaskRow,
        attempt: Option<u32>,
    ) -> ServiceResult<()> {
        let Some(attempt) = attempt else {
            return Ok(());
        };
        if let Some(row) = write.tx.attempt(task.id, attempt).await?
            && let Some(delivered) = row.delivered_at_ms
        {
            let wall_ms = delivered.saturating_sub(row.leased_at_ms).max(1);
            write
                .tx
                .add_accepted_work(row.worker_id, task.work_bench_ms, wall_ms)
                .await?;
        }
        Ok(())
    }
}
