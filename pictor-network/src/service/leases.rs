//! Leases: dispatch of tasks to workers, heartbeats that extend a lease, and the sweep that
//! requeues lapsed leases (of tasks and of checks).
//!
//! **Dispatch.** A worker asking for work gets the first pending task, in tier priority then job
//! then task order, that it is eligible for (renderer and version, GPU vendor and memory, not barred
//! from the job) and whose hold covers its price for the task; that price is agreed with the lease.
//! A worker holds at most as many leases as its declared slots.

use super::events::emit;
use super::views::current_attempt;
use super::{Caller, Coordinator, Metrics, ServiceError, ServiceResult, Write};
use crate::store::prelude::*;
use crate::store::{AttemptRow, CheckState, JobRow, Store, TaskRow, WorkerRow};
use pictor_core::api::{ErrorCode, HeartbeatRequest, JobEvent, LeaseRenewal, Role, TaskLease};
use pictor_core::job::{JobState, JobTransition};
use pictor_core::pricing::WorkerOffer;
use pictor_core::task::{TaskEvent, TaskState};
use pictor_core::{JobId, TaskId, WorkerId};
use pictor_schedule::{self as schedule, engine::offer_is_eligible};
use std::collections::HashMap;
use std::collections::hash_map::Entry;

/// Pending tasks a lease request reads first: the first one is usually the one leased, and every
/// row read is decoded.
const LEASE_FIRST_PAGE: u32 = 8;
/// Pending tasks examined at most per lease request, when the first page had none for the worker.
const LEASE_SCAN: u32 = 256;

/// A schedule job view carrying only what eligibility looks at.
fn eligibility_view(job: &JobRow) -> schedule::JobView {
    let mut view = schedule::JobView::new(JobId(job.id), Vec::new());
    view.tier = job.spec.tier;
    view.requirements = job.spec.requirements.clone();
    view.renderer = (job.spec.renderer.kind, job.spec.renderer.version);
    view
}

impl<S: Store> Coordinator<S> {
    /// Leases the best eligible task to the caller's worker, or `None` (an idle poll is answered
    /// from a read snapshot: see `idle_poll`).
    pub async fn lease(&self, caller: &Caller) -> ServiceResult<Option<TaskLease>> {
        if self.idle_workers.contains(caller.id()) && self.idle_poll(caller).await? {
            return Ok(None);
        }
        let mut write = self.write().await?;
        let result = self.lease_in(&mut write, caller).await;
        let leased = self.finish(write, result).await?;
        // Only a worker whose last lease found nothing tries the snapshot first: a busy worker's
        // next request most likely gets a task, and would pay the read for nothing.
        self.idle_workers.set(
            caller.id(),
            leased.is_none(),
            self.now_ms(),
            self.config.worker_online_ms,
        );
        Ok(leased)
    }

    /// Whether `caller`'s lease request (its last one found nothing) is an idle poll that a read
    /// snapshot answers with "no task", without the write path (the ledger lock and the write connection, which every
    /// settlement needs): the caller is a registered worker seen within the last sixth of the
    /// online window (so its last-seen time, which the write path refreshes, stays current), it
    /// has a slot free, no task lease has expired (the write path requeues those) and no task
    /// waits. Anything else, and any doubt, takes the write path, which decides for real. A
    /// fleet of idle workers polling every second costs reads, not serialised writes.
    async fn idle_poll(&self, caller: &Caller) -> ServiceResult<bool> {
        let mut tx = self.read().await?;
        let Ok(worker) = self.registered_worker(&mut tx, caller).await else {
            return Ok(false);
        };
        let now = self.now_ms();
        let fresh = now.saturating_sub(worker.last_seen_ms) <= self.config.worker_online_ms / 6;
        if !fresh || tx.count_leases_of(worker.account_id).await? >= u64::from(worker.slots) {
            return Ok(false);
        }
        Ok(tx.expired_task_leases(now).await?.is_empty() && tx.leasable_tasks(1).await?.is_empty())
    }

    async fn lease_in(
        &self,
        write: &mut Write<'_, S::Tx>,
        caller: &Caller,
    ) -> ServiceResult<Option<TaskLease>> {
        let now = write.now_ms;
        let worker = self.registered_worker(&mut write.tx, caller).await?;
        // Last seen to within a twelfth of the online window (5 s by default): a busy worker's
        // lease does not rewrite its row every time, and `idle_poll`'s freshness test (a sixth)
        // still holds for a worker that leases.
        if now.saturating_sub(worker.last_seen_ms) > self.config.worker_online_ms / 12 {
            write.tx.touch_worker(worker.account_id, now).await?;
        }
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
        for page in [LEASE_FIRST_PAGE, LEASE_SCAN] {
            let tasks = write.tx.leasable_tasks(page).await?;
            let exhausted = tasks.len() < page as usize;
            if let Some(lease) = self
                .lease_first_fitting(write, &worker, &offer, held, &mut jobs, tasks)
                .await?
            {
                return Ok(Some(lease));
            }
            if exhausted {
                break;
            }
        }
        Ok(None)
    }

    /// Leases the first of `tasks` (in dispatch order) whose job the worker may render, whose
    /// hold covers the worker's price and which the worker's reputation or bond covers (it holds
    /// `held` leases); `jobs` remembers each job's verdict across pages.
    async fn lease_first_fitting(
        &self,
        write: &mut Write<'_, S::Tx>,
        worker: &WorkerRow,
        offer: &WorkerOffer,
        held: u64,
        jobs: &mut HashMap<u64, Option<JobRow>>,
        tasks: Vec<TaskRow>,
    ) -> ServiceResult<Option<TaskLease>> {
        for mut task in tasks {
            if let Entry::Vacant(slot) = jobs.entry(task.job_id) {
                let usable = match write.tx.job(task.job_id).await? {
                    Some(job)
                        if offer_is_eligible(offer, &eligibility_view(&job))
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
            // A task bigger than the worker's reputation allows unbonded needs a bond (TRUST.md).
            if !self.may_take(write, worker, held, cost) {
                continue;
            }
            if cost > task.hold
                && (!retry || !self.top_up_hold(write, &job, &mut task, cost).await?)
            {
                continue;
            }
            task.agreed_cost = Some(cost);
            let lease = self.grant(write, worker, &mut job, &mut task).await?;
            return Ok(Some(lease));
        }
        Ok(None)
    }

    /// Leases `task` of `job` to `worker` at the agreed cost: the task's state, the attempt's
    /// record, the job's start and the events.
    async fn grant(
        &self,
        write: &mut Write<'_, S::Tx>,
        worker: &WorkerRow,
        job: &mut JobRow,
        task: &mut TaskRow,
    ) -> ServiceResult<TaskLease> {
        let now = write.now_ms;
        let lease = TaskEvent::Lease {
            worker: WorkerId(worker.account_id),
            now_ms: now,
        };
        task.state = task.state.apply(&lease, &self.config.task_policy)?;
        write.tx.update_task(task).await?;
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
        let record = AttemptRow {
            task_id: task.id,
            attempt,
            worker_id: worker.account_id,
            leased_at_ms: now,
            delivered_at_ms: None,
        };
        write.tx.insert_attempt(&record).await?;
        if job.state == JobState::Queued {
            job.state = job.state.apply(JobTransition::Start)?;
            emit(self, write, job, JobEvent::Started {}).await?;
        }
        let leased = JobEvent::TaskLeased {
            task: TaskId(task.id),
            worker: WorkerId(worker.account_id),
            attempt,
            frames: task.work.frames(),
        };
        emit(self, write, job, leased).await?;
        Metrics::bump(&self.metrics.leases);
        Ok(TaskLease {
            task: TaskId(task.id),
            job: JobId(job.id),
            attempt,
            scene: job.spec.scene.clone(),
            spec: job.spec.clone(),
            work: task.work.clone(),
            expires_at_ms,
        })
    }

    /// Loads the task a worker acts on and checks the caller holds its lease with `attempt`.
    ///
    /// Only a worker that leased this very attempt learns anything about the task: anyone else gets
    /// the 404 of a task that does not exist. The attempt's holder gets 409 `stale_lease` once the
    /// task moved on to a later attempt, and 409 `conflict` while its own attempt is past leasing.
    pub(crate) async fn held_task<T: StoreTx>(
        &self,
        tx: &mut T,
        caller: &Caller,
        task_id: TaskId,
        attempt: u32,
    ) -> ServiceResult<TaskRow> {
        caller.require_any(&[Role::Worker, Role::Farm])?;
        let not_found = || ServiceError::not_found(format!("task {task_id}"));
        let task = tx.task(task_id.0).await?.ok_or_else(not_found)?;
        let holder = task.state.worker().map(|w| w.0);
        let current = current_attempt(&task.state);
        if matches!(task.state, TaskState::Leased { .. })
            && holder == Some(caller.id())
            && current == attempt
        {
            return Ok(task);
        }
        let leased_it = tx
            .attempt(task_id.0, attempt)
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
        task_id: TaskId,
        request: &HeartbeatRequest,
    ) -> ServiceResult<LeaseRenewal> {
        if request.progress_permille > 1000 {
            return Err(ServiceError::invalid(
                "progress_permille",
                "must be 0..=1000",
            ));
        }
        let mut write = self.write_settling().await?;
        let result = self
            .heartbeat_in(&mut write, caller, task_id, request)
            .await;
        self.finish(write, result).await
    }

    async fn heartbeat_in(
        &self,
        write: &mut Write<'_, S::Tx>,
        caller: &Caller,
        task_id: TaskId,
        request: &HeartbeatRequest,
    ) -> ServiceResult<LeaseRenewal> {
        let now = write.now_ms;
        let held = self
            .held_task(&mut write.tx, caller, task_id, request.attempt)
            .await;
        let mut task = match held {
            Ok(task) => task,
            // The attempt's own holder, told its task was cancelled: stop, nothing is wrong.
            Err(error)
                if error.code == ErrorCode::Conflict
                    && write
                        .tx
                        .task(task_id.0)
                        .await?
                        .is_some_and(|t| t.state == TaskState::Cancelled) =>
            {
                return Ok(LeaseRenewal {
                    expires_at_ms: now,
                    keep_going: false,
                });
            }
            Err(error) => return Err(error),
        };
        write.tx.touch_worker(caller.id(), now).await?;
        let beat = TaskEvent::Heartbeat {
            attempt: request.attempt,
            now_ms: now,
        };
        task.state = task.state.apply(&beat, &self.config.task_policy)?;
        write.tx.update_task(&task).await?;
        let mut job = self.job_of_task(write, &task).await?;
        let progress = JobEvent::TaskProgress {
            task: task_id,
            worker: WorkerId(caller.id()),
            progress_permille: request.progress_permille,
        };
        emit(self, write, &mut job, progress).await?;
        let expires_at_ms = match task.state {
            TaskState::Leased { expires_at_ms, .. } => expires_at_ms,
            _ => now,
        };
        Ok(LeaseRenewal {
            expires_at_ms,
            keep_going: !job.state.is_final(),
        })
    }

    /// Requeues every lease (task or check) that lapsed before `now`.
    pub(crate) async fn expire_in(
        &self,
        write: &mut Write<'_, S::Tx>,
        now: u64,
    ) -> ServiceResult<usize> {
        let mut expired = 0;
        for mut task in write.tx.expired_task_leases(now).await? {
            let worker = task.state.worker();
            task.state = task
                .state
                .apply(&TaskEvent::Expire { now_ms: now }, &self.config.task_policy)?;
            task.agreed_cost = None;
            write.tx.update_task(&task).await?;
            if let Some(worker) = worker {
                self.count_failure(write, task.job_id, worker.0).await?;
            }
            Metrics::bump(&self.metrics.expired_leases);
            let event = JobEvent::TaskExpired {
                task: TaskId(task.id),
                worker,
            };
            self.after_requeue(write, &task, event).await?;
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
        let now = write.now_ms;
        let result = self.expire_in(&mut write, now).await;
        self.finish(write, result).await
    }
}
