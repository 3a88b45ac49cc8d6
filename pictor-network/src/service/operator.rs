//! The operator's view (admin): workers online and offline, stuck tasks — leased far longer than
//! their estimate — with a requeue, workers whose results are rejected again and again, the
//! checkers' queue, and the `/metrics` counters sampled over the last ten minutes.

use super::{Caller, Coordinator, Metrics, ServiceError, ServiceResult};
use crate::store::operator::RejectTally;
use crate::store::prelude::*;
use crate::store::{Store, WorkerRow};
use pictor_core::api::{JobEvent, Role};
use pictor_core::task::{TaskEvent, TaskState};
use pictor_core::{TaskId, WorkerId};
use std::collections::VecDeque;
use std::sync::atomic::Ordering;

/// A lease is stuck once it has run this many times its estimate …
const STUCK_FACTOR: u64 = 3;
/// … and at least this long.
const STUCK_GRACE_MS: u64 = 60_000;
/// Leases looked at, oldest first.
const LEASES_LOOKED_AT: u32 = 500;
/// Workers listed.
const WORKERS_LISTED: usize = 200;
/// Samples of the counters kept (one every `server::METRICS_SAMPLE`).
const SAMPLES: usize = 60;
/// The counters' names, as `/metrics` names them, in [`Metrics::counters`] order.
pub const COUNTERS: [&str; 7] = [
    "pictor_http_requests_total",
    "pictor_http_errors_total",
    "pictor_leases_total",
    "pictor_settlements_total",
    "pictor_rejections_total",
    "pictor_expired_leases_total",
    "pictor_slashes_total",
];

impl Metrics {
    /// The counters now, in [`COUNTERS`] order.
    pub fn counters(&self) -> [u64; 7] {
        [
            &self.requests,
            &self.errors,
            &self.leases,
            &self.settlements,
            &self.rejections,
            &self.expired_leases,
            &self.slashes,
        ]
        .map(|counter| counter.load(Ordering::Relaxed))
    }
}

/// The counters sampled over time, oldest first.
#[derive(Default)]
pub(crate) struct MetricHistory {
    samples: std::sync::Mutex<VecDeque<(u64, [u64; 7])>>,
}

/// A task leased far longer than its estimate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StuckTask {
    /// The task.
    pub task: TaskId,
    /// Its job.
    pub job: u64,
    /// The worker holding it.
    pub worker: WorkerId,
    /// How long it has been leased, ms.
    pub leased_for_ms: u64,
    /// How long it should take on that worker, ms.
    pub estimate_ms: u64,
}

/// Everything on the operator's page.
#[derive(Clone, Debug, Default)]
pub struct OperatorView {
    /// Workers seen within the online window.
    pub online: usize,
    /// Workers not seen within it.
    pub offline: usize,
    /// The most recently seen workers, with whether each is online.
    pub workers: Vec<(WorkerRow, bool)>,
    /// Stuck tasks, longest leased first.
    pub stuck: Vec<StuckTask>,
    /// Workers with repeated rejects.
    pub rejected: Vec<RejectTally>,
    /// Checks waiting for a checker.
    pub checks_pending: u64,
    /// Tasks waiting for a worker.
    pub tasks_pending: u64,
    /// The counters sampled, oldest first: `(Unix ms, values in COUNTERS order)`; the last is now.
    pub samples: Vec<(u64, [u64; 7])>,
}

impl<S: Store> Coordinator<S> {
    /// Records the counters now (the server does every `server::METRICS_SAMPLE`).
    pub fn sample_metrics(&self) {
        let mut samples = self
            .metric_history
            .samples
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        samples.push_back((self.now_ms(), self.metrics.counters()));
        while samples.len() > SAMPLES {
            samples.pop_front();
        }
    }

    /// The operator's page (admin only).
    pub async fn operator_view(&self, caller: &Caller) -> ServiceResult<OperatorView> {
        caller.require(Role::Admin)?;
        let now = self.now_ms();
        let online_since = now.saturating_sub(self.config.worker_online_ms);
        let mut tx = self.read().await?;
        let mut workers: Vec<(WorkerRow, bool)> = tx
            .workers()
            .await?
            .into_iter()
            .map(|worker| {
                let online = worker.last_seen_ms >= online_since;
                (worker, online)
            })
            .collect();
        let online = workers.iter().filter(|(_, online)| *online).count();
        let offline = workers.len() - online;
        let mut stuck = Vec::new();
        for lease in tx.oldest_leases(LEASES_LOOKED_AT).await? {
            let speed = workers
                .iter()
                .find(|(worker, _)| worker.account_id == lease.worker_id)
                .map_or(1.0, |(worker, _)| self.config.market.believed_speed(worker));
            let estimate_ms = (lease.work_bench_ms as f64 / speed.max(1e-3)) as u64;
            let leased_for_ms = now.saturating_sub(lease.leased_at_ms);
            if leased_for_ms > estimate_ms.saturating_mul(STUCK_FACTOR).max(STUCK_GRACE_MS) {
                stuck.push(StuckTask {
                    task: TaskId(lease.task_id),
                    job: lease.job_id,
                    worker: WorkerId(lease.worker_id),
                    leased_for_ms,
                    estimate_ms,
                });
            }
        }
        let rejected = tx.workers_rejected(2, 50).await?;
        let checks_pending = tx.count_checks_in_state("pending").await?;
        let tasks_pending = tx.count_tasks_in_state("pending").await?;
        workers.sort_by_key(|(worker, _)| std::cmp::Reverse(worker.last_seen_ms));
        workers.truncate(WORKERS_LISTED);
        let mut samples: Vec<(u64, [u64; 7])> = self
            .metric_history
            .samples
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .copied()
            .collect();
        samples.push((now, self.metrics.counters()));
        Ok(OperatorView {
            online,
            offline,
            workers,
            stuck,
            rejected,
            checks_pending,
            tasks_pending,
            samples,
        })
    }

    /// Takes a task back from the worker holding its lease (admin only), as if the worker had
    /// reported it failed: it is queued again (or fails, out of attempts) and the failure counts
    /// against the worker in that job.
    pub async fn requeue_task(&self, caller: &Caller, task: TaskId) -> ServiceResult<()> {
        caller.require(Role::Admin)?;
        let mut write = self.write_settling().await?;
        let result = async {
            let mut row = write
                .tx
                .task(task.0)
                .await?
                .ok_or_else(|| ServiceError::not_found(format!("task {}", task.0)))?;
            let TaskState::Leased {
                attempt, worker, ..
            } = row.state
            else {
                return Err(ServiceError::conflict(format!(
                    "task {} is {}, not leased",
                    task.0,
                    row.state.name()
                )));
            };
            let message = "requeued by the network's operator: leased far longer than its estimate";
            let fail = TaskEvent::Fail {
                attempt,
                reason: message.to_string(),
            };
            row.state = row.state.apply(&fail, &self.config.task_policy)?;
            row.agreed_cost = None;
            write.tx.update_task(&row).await?;
            self.count_failure(&mut write, row.job_id, worker.0).await?;
            let failed = JobEvent::TaskFailed {
                task,
                worker,
                message: message.to_string(),
            };
            self.after_requeue(&mut write, &row, failed).await?;
            tracing::info!(
                task = task.0,
                worker = worker.0,
                "task requeued by the operator"
            );
            Ok(())
        }
        .await;
        self.finish(write, result).await
    }
}
