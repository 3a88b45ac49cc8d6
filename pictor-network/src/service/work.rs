//! Workers: registration, leases with fencing tokens, heartbeats, signed results, failures, and the
//! sweep that requeues expired leases.
//!
//! **Dispatch.** A worker asking for work gets the first pending task, in tier priority then job
//! then task order, that it is eligible for (renderer and version, GPU vendor and memory, not barred
//! from the job) and whose hold covers its price for the task; that price is agreed with the lease.

use super::events::emit;
use super::jobs::{hold_transfer, task_frames};
use super::{Caller, Coordinator, Metrics, ServiceError, ServiceResult, Write};
use crate::blobs::BlobStore;
use crate::clock::now_ms;
use crate::store::{
    AttemptRow, CheckRow, CheckState, JobRow, Store, StoreTx, TaskRow, WorkRecord, WorkerRow,
};
use pictor_core::api::{
    ErrorCode, FailureReport, HeartbeatRequest, LeaseRenewal, RegisterWorkerRequest,
    ResultSubmission, Role, TaskLease, TaskStateView, WorkerView, result_signing_message,
};
use pictor_core::job::{JobEvent, JobState};
use pictor_core::ledger::VerifyingKey;
use pictor_core::schedule::{self, engine::offer_is_eligible};
use pictor_core::task::{TaskEvent, TaskState};
use pictor_core::{JobId, Money, TaskId, WorkerId};
use serde_json::json;
use std::collections::HashMap;

/// Pending tasks examined per lease request.
const LEASE_SCAN: u32 = 256;

fn worker_view(worker: &WorkerRow, online_since: u64) -> WorkerView {
    WorkerView {
        id: WorkerId(worker.account_id),
        name: worker.name.clone(),
        hardware: worker.hardware.clone(),
        price_per_bench_hour: worker.price,
        speed_millis: worker.speed_millis,
        online: worker.last_seen_ms >= online_since,
    }
}

pub(crate) fn state_view(task: &TaskRow) -> TaskStateView {
    TaskStateView {
        task: TaskId(task.id),
        state: task.state.name().to_string(),
        attempt: current_attempt(&task.state),
    }
}

fn current_attempt(state: &TaskState) -> u32 {
    match state {
        TaskState::Pending { attempt }
        | TaskState::Leased { attempt, .. }
        | TaskState::Uploaded { attempt, .. }
        | TaskState::Verifying { attempt, .. }
        | TaskState::Accepted { attempt, .. } => *attempt,
        TaskState::Failed { attempts, .. } => *attempts,
        TaskState::Cancelled => 0,
    }
}

/// A schedule job view carrying only what eligibility looks at.
fn eligibility_view(job: &JobRow) -> schedule::JobView {
    let mut view = schedule::JobView::new(JobId(job.id), Vec::new());
    view.tier = job.spec.tier;
    view.requirements = job.spec.requirements.clone();
    view.renderer = (job.spec.renderer.kind, job.spec.renderer.version);
    view
}

impl<S: Store> Coordinator<S> {
    /// Registers (or updates) the caller's worker.
    pub async fn register_worker(
        &self,
        caller: &Caller,
        request: &RegisterWorkerRequest,
    ) -> ServiceResult<WorkerView> {
        caller.require_any(&[Role::Worker, Role::Farm])?;
        let mut key = [0u8; 32];
        hex::decode_to_slice(&request.public_key_hex, &mut key)
            .map_err(|_| ServiceError::invalid("public_key_hex", "must be 64 hex digits"))?;
        VerifyingKey::from_bytes(&key)
            .map_err(|_| ServiceError::invalid("public_key_hex", "is not an ed25519 public key"))?;
        let name_len = request.name.chars().count();
        if !(1..=64).contains(&name_len) || request.name.chars().any(char::is_control) {
            return Err(ServiceError::invalid(
                "name",
                "must be 1 to 64 characters without control characters",
            ));
        }
        if request.speed_millis == 0 || request.speed_millis > 1_000_000 {
            return Err(ServiceError::invalid("speed_millis", "must be 1..=1000000"));
        }
        let market = &self.config.market;
        if request.price_per_bench_hour > market.max_price_per_bench_hour {
            return Err(ServiceError::invalid(
                "price_per_bench_hour",
                format!(
                    "must be at most {} per bench-hour (this network's ceiling)",
                    market.max_price_per_bench_hour
                ),
            ));
        }
        if !(1..=market.max_slots).contains(&request.slots) {
            return Err(ServiceError::invalid(
                "slots",
                format!("must be 1..={}", market.max_slots),
            ));
        }
        if request.hardware.gpu_name.len() > 128 || request.hardware.renderers.len() > 16 {
            return Err(ServiceError::invalid(
                "hardware",
                "gpu_name ≤ 128 bytes, ≤ 16 renderers",
            ));
        }
        let row = WorkerRow {
            account_id: caller.id(),
            name: request.name.clone(),
            public_key: key,
            hardware: request.hardware.clone(),
            price: request.price_per_bench_hour,
            speed_millis: request.speed_millis,
            slots: request.slots,
            last_seen_ms: now_ms(),
            record: WorkRecord::default(),
        };
        market.offer_of(&row).validate()?;
        let mut tx = self.write_without_ledger().await?;
        tx.upsert_worker(&row).await?;
        tx.commit().await?;
        tracing::info!(worker = caller.id(), name = %row.name, "worker registered");
        Ok(worker_view(&row, 0))
    }

    /// Every registered worker (public).
    pub async fn list_workers(&self) -> ServiceResult<Vec<WorkerView>> {
        let since = now_ms().saturating_sub(self.config.worker_online_ms);
        let mut tx = self.read().await?;
        Ok(tx
            .workers()
            .await?
            .iter()
            .map(|w| worker_view(w, since))
            .collect())
    }

    async fn registered_worker<T: StoreTx>(
        &self,
        tx: &mut T,
        caller: &Caller,
    ) -> ServiceResult<WorkerRow> {
        caller.require_any(&[Role::Worker, Role::Farm])?;
        tx.worker(caller.id()).await?.ok_or_else(|| {
            ServiceError::conflict("this worker is not registered: POST /v1/workers first")
        })
    }

    /// Leases the best eligible task to the caller's worker, or `None`.
    pub async fn lease(&self, caller: &Caller) -> ServiceResult<Option<TaskLease>> {
        let mut write = self.write().await?;
        let result = self.lease_in(&mut write, caller).await;
        self.finish(write, result).await
    }

    async fn lease_in(
        &self,
        write: &mut Write<'_, S::Tx>,
        caller: &Caller,
    ) -> ServiceResult<Option<TaskLease>> {
        let now = now_ms();
        let worker = self.registered_worker(&mut write.tx, caller).await?;
        write.tx.touch_worker(worker.account_id, now).await?;
        self.expire_in(write, now).await?;
        let held = write.tx.count_leases_of(worker.account_id).await?;
        if held >= u64::from(worker.slots) {
            return Err(ServiceError::conflict(format!(
                "this worker already holds {held} leases, as many as its {} declared slots; finish or fail one first",
                worker.slots
            )));
        }
        let offer = self.config.market.offer_of(&worker);
        let mut jobs: HashMap<u64, Option<JobRow>> = HashMap::new();
        for mut task in write.tx.leasable_tasks(LEASE_SCAN).await? {
            if let std::collections::hash_map::Entry::Vacant(slot) = jobs.entry(task.job_id) {
                let job = write.tx.job(task.job_id).await?;
                let usable = match job {
                    Some(job)
                        if offer_is_eligible(&offer, &eligibility_view(&job))
                            && !write.tx.is_blocked(job.id, worker.account_id).await? =>
                    {
                        Some(job)
                    }
                    _ => None,
                };
                slot.insert(usable);
            }
            let Some(Some(job)) = jobs.get(&task.job_id) else {
                continue;
            };
            let mut job = job.clone();
            let work_secs = task.work_bench_ms as f64 / 1000.0;
            let cost = self
                .config
                .pricing
                .task_cost(worker.price, work_secs, job.spec.tier)?;
            // A first attempt goes only to a worker whose price fits the hold the quote planned; a
            // retry (after a failure, an expiry or a rejection) may cost more, drawn from the balance.
            let retry = matches!(task.state, TaskState::Pending { attempt } if attempt > 1);
            if cost > task.hold
                && (!retry || !self.top_up_hold(write, &job, &mut task, cost).await?)
            {
                continue;
            }
            task.state = task.state.apply(
                &TaskEvent::Lease {
                    worker: WorkerId(worker.account_id),
                    now_ms: now,
                },
                &self.config.task_policy,
            )?;
            task.agreed_cost = Some(cost);
            write.tx.update_task(&task).await?;
            let TaskState::Leased {
                attempt,
                expires_at_ms,
                ..
            } = task.state
            else {
                return Err(ServiceError::internal(
                    &"a lease did not produce a leased task",
                ));
            };
            write
                .tx
                .insert_attempt(&AttemptRow {
                    task_id: task.id,
                    attempt,
                    worker_id: worker.account_id,
                    leased_at_ms: now,
                    delivered_at_ms: None,
                })
                .await?;
            if job.state == JobState::Queued {
                job.state = job.state.apply(JobEvent::Start)?;
                emit(write, &mut job, "started", json!({})).await?;
            }
            emit(
                write,
                &mut job,
                "task_leased",
                json!({"task": task.id, "worker": worker.account_id, "attempt": attempt, "frames": task_frames(&task.work)}),
            )
            .await?;
            Metrics::bump(&self.metrics.leases);
            return Ok(Some(TaskLease {
                task: TaskId(task.id),
                job: JobId(job.id),
                attempt,
                scene: job.spec.scene.clone(),
                spec: job.spec.clone(),
                work: task.work.clone(),
                expires_at_ms,
            }));
        }
        Ok(None)
    }

    /// Raises a task's hold to `cost` when the worker asking charges more than the hold (a re-render
    /// after a cheaper worker's result was rejected, say): the old hold is voided and a new one opened,
    /// drawing the difference from the creator's balance, within the job's budget cap. Answers false
    /// (and changes nothing) when the balance or the cap does not allow it.
    async fn top_up_hold(
        &self,
        write: &mut Write<'_, S::Tx>,
        job: &JobRow,
        task: &mut TaskRow,
        cost: Money,
    ) -> ServiceResult<bool> {
        use pictor_core::ledger::Account;
        let extra = cost.checked_sub(task.hold)?;
        let creator = Account::Creator(pictor_core::AccountId(job.owner));
        let balance = u64::try_from(write.ledger.balance(creator).max(0)).unwrap_or(0);
        if balance < extra.micros() {
            return Ok(false);
        }
        if let Some(cap) = job.spec.budget_cap {
            let tasks = write.tx.tasks_of_job(job.id).await?;
            let committed = Money::sum(tasks.iter().map(|t| match t.state {
                TaskState::Accepted { .. } => t.agreed_cost.unwrap_or(Money::ZERO),
                _ if t.hold_open => t.hold,
                _ => Money::ZERO,
            }))?;
            if committed.checked_add(extra)? > cap {
                return Ok(false);
            }
        }
        write
            .ledger
            .void_pending(hold_transfer(task.id, task.hold_generation))?;
        task.hold_generation += 1;
        write.ledger.create_pending(
            hold_transfer(task.id, task.hold_generation),
            creator,
            Account::Escrow(JobId(job.id)),
            cost,
        )?;
        task.hold = cost;
        Ok(true)
    }

    /// Loads the task a worker acts on and checks the caller holds its lease with `attempt`.
    ///
    /// Only a worker that leased this very attempt learns anything about the task: anyone else gets
    /// the 404 of a task that does not exist. The attempt's holder gets 409 `stale_lease` once the
    /// task moved on to a later attempt, and 409 `conflict` while its own attempt is past leasing.
    async fn held_task<T: StoreTx>(
        &self,
        tx: &mut T,
        caller: &Caller,
        task_id: u64,
        attempt: u32,
    ) -> ServiceResult<TaskRow> {
        caller.require_any(&[Role::Worker, Role::Farm])?;
        let not_found = || ServiceError::not_found(format!("task {task_id}"));
        let task = tx.task(task_id).await?.ok_or_else(not_found)?;
        let holder = task.state.worker().map(|w| w.0);
        let current = current_attempt(&task.state);
        if matches!(task.state, TaskState::Leased { .. })
            && holder == Some(caller.id())
            && current == attempt
        {
            return Ok(task);
        }
        let leased_it = tx
            .attempt(task_id, attempt)
            .await?
            .is_some_and(|a| a.worker_id == caller.id());
        if !leased_it {
            return Err(not_found());
        }
        if attempt < current {
            return Err(ServiceError::new(
                ErrorCode::StaleLease,
                format!(
                    "stale fencing token: task {task_id} is at attempt {current}, you presented {attempt}; drop this task"
                ),
            ));
        }
        Err(ServiceError::conflict(format!(
            "task {task_id} is {} and takes no more from its worker",
            task.state.name()
        )))
    }

    /// Extends a lease; `keep_going` is false when the job no longer wants the work.
    pub async fn heartbeat(
        &self,
        caller: &Caller,
        task_id: u64,
        request: &HeartbeatRequest,
    ) -> ServiceResult<LeaseRenewal> {
        if request.progress_permille > 1000 {
            return Err(ServiceError::invalid(
                "progress_permille",
                "must be 0..=1000",
            ));
        }
        let mut write = self.write().await?;
        let result = async {
            let now = now_ms();
            let mut task = match self.held_task(&mut write.tx, caller, task_id, request.attempt).await {
                Ok(task) => task,
                // The attempt's own holder, told its task was cancelled: stop, nothing is wrong.
                Err(error) if error.code == ErrorCode::Conflict
                    && write.tx.task(task_id).await?.is_some_and(|t| t.state == TaskState::Cancelled) =>
                {
                    return Ok(LeaseRenewal { expires_at_ms: now, keep_going: false });
                }
                Err(error) => return Err(error),
            };
            write.tx.touch_worker(caller.id(), now).await?;
            task.state = task.state.apply(
                &TaskEvent::Heartbeat {
                    attempt: request.attempt,
                    now_ms: now,
                },
                &self.config.task_policy,
            )?;
            write.tx.update_task(&task).await?;
            let mut job = write
                .tx
                .job(task.job_id)
                .await?
                .ok_or_else(|| ServiceError::internal(&"task without job"))?;
            emit(
                &mut write,
                &mut job,
                "task_progress",
                json!({"task": task.id, "worker": caller.id(), "progress_permille": request.progress_permille}),
            )
            .await?;
            let expires_at_ms = match task.state {
                TaskState::Leased { expires_at_ms, .. } => expires_at_ms,
                _ => now,
            };
            Ok(LeaseRenewal {
                expires_at_ms,
                keep_going: !job.state.is_final(),
            })
        }
        .await;
        self.finish(write, result).await
    }

    /// Takes a worker's signed result: the outputs must be the task's frames in order, uploaded by
    /// the worker, and signed with its registered key. The task then waits for a checker.
    pub async fn submit_result(
        &self,
        caller: &Caller,
        task_id: u64,
        submission: &ResultSubmission,
    ) -> ServiceResult<TaskStateView> {
        let mut write = self.write().await?;
        let result = self
            .submit_result_in(&mut write, caller, task_id, submission)
            .await;
        self.finish(write, result).await
    }

    async fn submit_result_in(
        &self,
        write: &mut Write<'_, S::Tx>,
        caller: &Caller,
        task_id: u64,
        submission: &ResultSubmission,
    ) -> ServiceResult<TaskStateView> {
        let mut task = self
            .held_task(&mut write.tx, caller, task_id, submission.attempt)
            .await?;
        let worker = self.registered_worker(&mut write.tx, caller).await?;
        let frames = task_frames(&task.work);
        let listed: Vec<u32> = submission.outputs.iter().map(|o| o.frame).collect();
        if listed != frames {
            return Err(ServiceError::invalid(
                "outputs",
                format!("expected one output per frame {frames:?} in order, got {listed:?}"),
            ));
        }
        for (i, output) in submission.outputs.iter().enumerate() {
            let hash: pictor_core::BlobHash = output.hash.parse().map_err(|_| {
                ServiceError::invalid(format!("outputs[{i}].hash"), "must be 64 hex digits")
            })?;
            if !write.tx.holds_blob(caller.id(), &hash.to_hex()).await? {
                return Err(ServiceError::invalid(
                    format!("outputs[{i}].hash"),
                    "upload the output as a blob before submitting the result",
                ));
            }
            let stored = self.blobs.size(&hash).await?;
            if stored != Some(output.size) {
                return Err(ServiceError::invalid(
                    format!("outputs[{i}].size"),
                    format!(
                        "the uploaded blob has {stored:?} bytes, not {}",
                        output.size
                    ),
                ));
            }
        }
        let message =
            result_signing_message(TaskId(task.id), submission.attempt, &submission.outputs)?;
        let mut signature = [0u8; 64];
        hex::decode_to_slice(&submission.signature_hex, &mut signature)
            .map_err(|_| ServiceError::invalid("signature_hex", "must be 128 hex digits"))?;
        let key =
            VerifyingKey::from_bytes(&worker.public_key).map_err(|e| ServiceError::internal(&e))?;
        key.verify_strict(&message, &ed25519_dalek::Signature::from_bytes(&signature))
            .map_err(|_| {
                ServiceError::new(
                    ErrorCode::Forbidden,
                    "the result's signature does not verify with the worker's registered key",
                )
            })?;
        let commitment = blake3::hash(&message).to_hex().to_string();
        let policy = self.config.task_policy;
        task.state = task.state.apply(
            &TaskEvent::Upload {
                attempt: submission.attempt,
                output_hash: commitment,
            },
            &policy,
        )?;
        task.state = task.state.apply(&TaskEvent::StartVerify, &policy)?;
        task.outputs = Some(submission.outputs.clone());
        write.tx.update_task(&task).await?;
        write
            .tx
            .mark_delivered(task.id, submission.attempt, now_ms())
            .await?;
        write
            .tx
            .insert_check(&CheckRow {
                id: 0,
                task_id: task.id,
                attempt: submission.attempt,
                escalation: 0,
                state: CheckState::Pending,
                checker: None,
                lease_expires_ms: None,
                verdict: None,
                evidence: None,
            })
            .await?;
        let mut job = write
            .tx
            .job(task.job_id)
            .await?
            .ok_or_else(|| ServiceError::internal(&"task without job"))?;
        emit(
            write,
            &mut job,
            "task_uploaded",
            json!({"task": task.id, "worker": caller.id(), "render_ms": submission.render_ms, "outputs": submission.outputs}),
        )
        .await?;
        Ok(state_view(&task))
    }

    /// The lease holder could not render: the task returns to the queue, or fails after the retry cap
    /// (and with it the job).
    pub async fn fail_task(
        &self,
        caller: &Caller,
        task_id: u64,
        report: &FailureReport,
    ) -> ServiceResult<TaskStateView> {
        if report.message.len() > 4096 {
            return Err(ServiceError::invalid("message", "at most 4096 bytes"));
        }
        let mut write = self.write().await?;
        let result = async {
            let mut task = self
                .held_task(&mut write.tx, caller, task_id, report.attempt)
                .await?;
            task.state = task.state.apply(
                &TaskEvent::Fail {
                    attempt: report.attempt,
                    reason: report.message.clone(),
                },
                &self.config.task_policy,
            )?;
            task.agreed_cost = None;
            write.tx.update_task(&task).await?;
            self.count_failure(&mut write, task.job_id, caller.id())
                .await?;
            self.after_requeue(
                &mut write,
                &task,
                "task_failed",
                json!({"task": task.id, "worker": caller.id(), "message": report.message}),
            )
            .await?;
            Ok(state_view(&task))
        }
        .await;
        self.finish(write, result).await
    }

    /// Counts a failed or expired attempt against its worker; after `block_after_failures` of them
    /// in one job the worker is barred from the job. So one worker can spend only that many of a
    /// task's attempts, and a job fails only when several workers have failed it.
    async fn count_failure(
        &self,
        write: &mut Write<'_, S::Tx>,
        job: u64,
        worker: u64,
    ) -> ServiceResult<()> {
        let failures = write.tx.record_failure(job, worker).await?;
        if failures >= self.config.block_after_failures {
            write.tx.block_worker(job, worker).await?;
        }
        Ok(())
    }

    /// Adds an accepted attempt to its worker's [`WorkRecord`]: the task's bench work and the wall
    /// time from its lease to its result, which become the worker's measured speed.
    pub(crate) async fn record_accepted_work(
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

    /// After a task left its lease (failure, expiry, rejection): announce it, and fail the job if the
    /// task ran out of attempts.
    pub(crate) async fn after_requeue(
        &self,
        write: &mut Write<'_, S::Tx>,
        task: &TaskRow,
        kind: &str,
        data: serde_json::Value,
    ) -> ServiceResult<()> {
        let mut job = write
            .tx
            .job(task.job_id)
            .await?
            .ok_or_else(|| ServiceError::internal(&"task without job"))?;
        emit(write, &mut job, kind, data).await?;
        if let TaskState::Failed { attempts, reason } = &task.state
            && !job.state.is_final()
        {
            job.state = job.state.apply(JobEvent::Fail)?;
            job.paused_reason = None;
            self.close_tasks(write, job.id).await?;
            emit(
                write,
                &mut job,
                "failed",
                json!({"task": task.id, "attempts": attempts, "reason": reason}),
            )
            .await?;
        }
        Ok(())
    }

    /// Requeues every lease (task or check) that lapsed before `now`.
    pub(crate) async fn expire_in(
        &self,
        write: &mut Write<'_, S::Tx>,
        now: u64,
    ) -> ServiceResult<usize> {
        let mut expired = 0;
        for mut task in write.tx.expired_task_leases(now).await? {
            let worker = task.state.worker().map(|w| w.0);
            task.state = task
                .state
                .apply(&TaskEvent::Expire { now_ms: now }, &self.config.task_policy)?;
            task.agreed_cost = None;
            write.tx.update_task(&task).await?;
            if let Some(worker) = worker {
                self.count_failure(write, task.job_id, worker).await?;
            }
            Metrics::bump(&self.metrics.expired_leases);
            self.after_requeue(
                write,
                &task,
                "task_expired",
                json!({"task": task.id, "worker": worker}),
            )
            .await?;
            expired += 1;
        }
        for mut check in write.tx.expired_check_leases(now).await? {
            // Back in the queue; its last holder stays recorded so that a late verdict of its own
            // counts until another checker takes the check (see `post_verdict`).
            check.state = CheckState::Pending;
            check.lease_expires_ms = None;
            write.tx.update_check(&check).await?;
            expired += 1;
        }
        Ok(expired)
    }

    /// Requeues expired leases now (the server runs this every `sweep_interval_ms`).
    pub async fn sweep(&self) -> ServiceResult<usize> {
        let mut write = self.write().await?;
        let result = self.expire_in(&mut write, now_ms()).await;
        self.finish(write, result).await
    }

    /// Pays out a task's hold for an accepted result: the agreed cost split between worker, checker
    /// and network; the rest of the hold returns to the creator.
    pub(crate) fn settle(
        &self,
        write: &mut Write<'_, S::Tx>,
        task: &mut TaskRow,
        worker: u64,
        checker: u64,
    ) -> ServiceResult<Money> {
        use pictor_core::ledger::Account;
        let cost = task.agreed_cost.unwrap_or(Money::ZERO).min(task.hold);
        let (to_worker, to_checker, to_network) = self.config.pricing.fees.split(cost)?;
        let payouts: Vec<(Account, Money)> = [
            (Account::Worker(pictor_core::AccountId(worker)), to_worker),
            (
                Account::Checker(pictor_core::AccountId(checker)),
                to_checker,
            ),
            (Account::NetworkFees, to_network),
        ]
        .into_iter()
        .filter(|(_, amount)| *amount > Money::ZERO)
        .collect();
        write
            .ledger
            .post_pending(hold_transfer(task.id, task.hold_generation), &payouts)?;
        task.hold_open = false;
        Ok(cost)
    }
}
