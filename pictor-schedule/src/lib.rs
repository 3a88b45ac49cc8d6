//! Scheduling: the pluggable [`Scheduler`] trait, the plan it produces, and the built-in strategies.
//!
//! A strategy sees a [`MarketView`] (jobs, offers, pricing), produces a [`Plan`] (an ordered queue of
//! tasks per worker with predicted times and costs), answers worker requests with
//! [`Scheduler::dispatch`], proposes tail duplications with [`Scheduler::speculate`] and prices jobs
//! before they are accepted with [`Scheduler::quote`]. The engine — not the strategy — decides
//! eligibility ([`engine::Eligibility`]); built-in strategies never place a task on an ineligible
//! worker. Built-in strategies use no randomness: a plan is a pure function of the view (ties are
//! broken by index), so a schedule replays exactly from the event log.
//!
//! Built-ins ([`BUILTIN_STRATEGIES`], [`builtin`]): `cost-under-deadline` (the default),
//! `fastest-finish`, `fair-share`, `batch-min-min`.

pub mod batch_min_min;
pub mod bounds;
pub mod cost_under_deadline;
pub mod engine;
pub mod etc;
pub mod fair_share;
pub mod fastest_finish;
pub mod lp_bound;
pub mod market;
pub mod min_min;
pub mod quote;

pub use batch_min_min::BatchMinMin;
pub use cost_under_deadline::CostUnderDeadline;
pub use engine::{Eligibility, Machines};
pub use fair_share::FairShare;
pub use fastest_finish::FastestFinish;
pub use market::{JobView, MarketConfig, MarketView, TaskStatus, TaskView};

use pictor_core::error::{Error, Result};
use pictor_core::ids::{JobId, TaskId, WorkerId};
use pictor_core::job::JobSpec;
use pictor_core::money::Money;
use pictor_core::pricing::{Quote, WorkEstimate};
use serde::{Deserialize, Serialize};
use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

/// Names of the built-in strategies, the default first.
pub const BUILTIN_STRATEGIES: [&str; 4] = [
    "cost-under-deadline",
    "fastest-finish",
    "fair-share",
    "batch-min-min",
];

/// A built-in strategy with its default configuration, by name.
///
/// ```
/// let scheduler = pictor_schedule::builtin("fastest-finish").expect("built in");
/// assert_eq!(scheduler.name(), "fastest-finish");
/// assert!(pictor_schedule::builtin("random").is_none());
/// ```
pub fn builtin(name: &str) -> Option<Box<dyn Scheduler>> {
    match name {
        "cost-under-deadline" => Some(Box::new(CostUnderDeadline::default())),
        "fastest-finish" => Some(Box::new(FastestFinish::default())),
        "fair-share" => Some(Box::new(FairShare::default())),
        "batch-min-min" => Some(Box::new(BatchMinMin::default())),
        _ => None,
    }
}

/// A scheduling strategy. Implement it outside the crate to plug in your own: [`Plan::from_worker_orders`]
/// builds a plan from per-worker task orders, and [`dispatch_in_plan_order`] serves it.
///
/// ```
/// use pictor_schedule::{
///     dispatch_in_plan_order, Assignment, MarketView, Plan, Scheduler, TaskRef,
/// };
/// use pictor_core::{Result, WorkerId};
///
/// /// Every task of every job on the first worker, in view order.
/// struct FirstWorker;
///
/// impl Scheduler for FirstWorker {
///     fn name(&self) -> &str {
///         "first-worker"
///     }
///     fn plan(&self, view: &MarketView) -> Result<Plan> {
///         let order: Vec<TaskRef> = view.jobs.iter().enumerate()
///             .flat_map(|(j, job)| (0..job.tasks.len()).map(move |t| TaskRef::new(j, t)))
///             .collect();
///         let orders = view.workers.first().map(|w| (w.worker, order)).into_iter().collect();
///         Plan::from_worker_orders(view, self.name(), orders)
///     }
///     fn dispatch(&self, view: &MarketView, plan: &Plan, worker: WorkerId) -> Option<Assignment> {
///         dispatch_in_plan_order(view, plan, worker)
///     }
/// }
///
/// let view = MarketView::synthetic(20, 3, 1, 42);
/// let plan = FirstWorker.plan(&view)?;
/// assert_eq!(plan.workers[0].tasks.len(), 20);
/// let first = FirstWorker.dispatch(&view, &plan, view.workers[0].worker).expect("a task");
/// assert_eq!(first.task, view.jobs[0].tasks[0].id);
/// # Ok::<(), pictor_core::Error>(())
/// ```
pub trait Scheduler: Send + Sync {
    /// The strategy's name, as configured and logged.
    fn name(&self) -> &str;

    /// Batch planning (on submit and every few seconds): which capacity serves which task, in which
    /// order. Pure: the same view gives the same plan.
    fn plan(&self, view: &MarketView) -> Result<Plan>;

    /// A worker asks for work: its next task. Must be fast (built-ins: amortised O(1) to O(log n)).
    /// `None` when the plan has nothing for this worker (the engine re-plans periodically).
    fn dispatch(&self, view: &MarketView, plan: &Plan, worker: WorkerId) -> Option<Assignment>;

    /// Tail handling: running tasks worth duplicating now. None by default.
    fn speculate(&self, view: &MarketView, plan: &Plan) -> Vec<Speculation> {
        let _ = (view, plan);
        Vec::new()
    }

    /// Cost and ETA distribution for a job that is not yet accepted, by planning it into the current
    /// market with this strategy at P50 and at P90 work (see [`quote::quote_by_planning`]).
    fn quote(&self, view: &MarketView, job: &JobSpec, estimate: &WorkEstimate) -> Result<Quote> {
        quote::quote_by_planning(self, view, job, estimate)
    }
}

/// A task by position in a [`MarketView`]: `view.jobs[job].tasks[task]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TaskRef {
    /// Index into `view.jobs`.
    pub job: u32,
    /// Index into that job's `tasks`.
    pub task: u32,
}

impl TaskRef {
    /// `view.jobs[job].tasks[task]`.
    pub fn new(job: usize, task: usize) -> Self {
        TaskRef {
            job: job as u32,
            task: task as u32,
        }
    }
}

/// One task in a worker's planned queue.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlannedTask {
    /// Id of the task's job (`view.jobs[at.job].id` in the planned view).
    pub job: JobId,
    /// Id of the task; dispatch skips the entry once the task at `at` is another or not waiting.
    pub task: TaskId,
    /// Where the task was in the planned view.
    pub at: TaskRef,
    /// Which of the worker's parallel slots renders it (0 for a single GPU).
    pub slot: u32,
    /// Predicted start, seconds from now.
    pub start_secs: f64,
    /// Predicted finish, seconds from now.
    pub finish_secs: f64,
    /// What the creator pays for it (price × work × tier multiplier).
    pub cost: Money,
}

/// A worker's planned queue, in start order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkerPlan {
    /// The worker whose queue this is; `Plan::workers` lists them in `view.workers` order.
    pub worker: WorkerId,
    /// Its tasks, by predicted start.
    pub tasks: Vec<PlannedTask>,
}

/// What a plan predicts for one job.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobPlan {
    /// Id of the job; `Plan::job` finds the outcome by it.
    pub job: JobId,
    /// Predicted cost of its planned tasks.
    pub cost: Money,
    /// Predicted finish of its last planned task, seconds from now (0 when nothing is planned).
    pub finish_secs: f64,
    /// Waiting tasks the plan places.
    pub planned_tasks: usize,
    /// Waiting tasks the plan leaves out.
    pub unplanned_tasks: usize,
}

/// The output of [`Scheduler::plan`].
///
/// Besides the data (serialisable), a plan carries two runtime caches that are rebuilt on demand and
/// never serialised: the dispatch index (worker → queue, per-worker cursors) and a strategy-defined
/// *extension* (e.g. fair-share's live accounting), see [`Plan::extension`].
#[derive(Serialize, Deserialize)]
pub struct Plan {
    /// The strategy that made the plan.
    pub strategy: String,
    /// One queue per worker, in `view.workers` order.
    pub workers: Vec<WorkerPlan>,
    /// One outcome per job, in `view.jobs` order.
    pub jobs: Vec<JobPlan>,
    /// Waiting tasks no worker was given.
    pub unplanned: Vec<TaskRef>,
    /// Predicted finish of the last planned task, seconds from now.
    pub makespan_secs: f64,
    /// Predicted total cost of the planned tasks.
    pub cost: Money,
    #[serde(skip)]
    index: OnceLock<DispatchIndex>,
    #[serde(skip)]
    extension: OnceLock<Arc<dyn Any + Send + Sync>>,
}

struct DispatchIndex {
    position: HashMap<WorkerId, u32>,
    cursors: Vec<AtomicU32>,
}

impl Clone for Plan {
    /// Clones the data and the extension; dispatch cursors start over (they are only hints).
    fn clone(&self) -> Self {
        let extension = OnceLock::new();
        if let Some(ext) = self.extension.get() {
            let _ = extension.set(Arc::clone(ext));
        }
        Plan {
            strategy: self.strategy.clone(),
            workers: self.workers.clone(),
            jobs: self.jobs.clone(),
            unplanned: self.unplanned.clone(),
            makespan_secs: self.makespan_secs,
            cost: self.cost,
            index: OnceLock::new(),
            extension,
        }
    }
}

impl PartialEq for Plan {
    /// Compares the data, not the runtime caches.
    fn eq(&self, other: &Self) -> bool {
        self.strategy == other.strategy
            && self.workers == other.workers
            && self.jobs == other.jobs
            && self.unplanned == other.unplanned
            && self.makespan_secs.to_bits() == other.makespan_secs.to_bits()
            && self.cost == other.cost
    }
}

impl fmt::Debug for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plan")
            .field("strategy", &self.strategy)
            .field("workers", &self.workers.len())
            .field("jobs", &self.jobs)
            .field("unplanned", &self.unplanned.len())
            .field("makespan_secs", &self.makespan_secs)
            .field("cost", &self.cost)
            .finish()
    }
}

impl Plan {
    /// A plan from explicit per-worker task orders. Each worker's tasks start in the given order on its
    /// earliest-free slot (after its lead time and running tasks); times and costs are computed from
    /// the view. Workers not named get an empty queue; waiting tasks not named are `unplanned`.
    /// Errors: an unknown worker or task reference, a task that is not waiting, or a task named twice.
    pub fn from_worker_orders(
        view: &MarketView,
        strategy: &str,
        orders: Vec<(WorkerId, Vec<TaskRef>)>,
    ) -> Result<Plan> {
        let machines = Machines::build(view);
        let mut per_machine: Vec<Vec<TaskRef>> = vec![Vec::new(); machines.len()];
        let mut ready = machines.ready.clone();
        for (worker, order) in orders {
            let w = *machines.worker_index.get(&worker).ok_or_else(|| {
                Error::invalid("orders", format!("worker {worker} is not in the view"))
            })? as usize;
            for at in order {
                let work = task_work(view, at)?;
                let range = machines.slots(w);
                let m = range
                    .min_by(|&a, &b| ready[a].total_cmp(&ready[b]))
                    .ok_or_else(|| Error::invalid("orders", "worker without slots"))?;
                ready[m] += work / machines.speed[m];
                per_machine[m].push(at);
            }
        }
        Plan::from_machine_orders(view, &machines, strategy, per_machine)
    }

    /// A plan from per-*machine* orders (`machines` from [`Machines::build`] on the same view).
    pub fn from_machine_orders(
        view: &MarketView,
        machines: &Machines,
        strategy: &str,
        per_machine: Vec<Vec<TaskRef>>,
    ) -> Result<Plan> {
        let mut seen: Vec<Vec<bool>> = view
            .jobs
            .iter()
            .map(|j| vec![false; j.tasks.len()])
            .collect();
        let mut jobs: Vec<JobPlan> = view
            .jobs
            .iter()
            .map(|j| JobPlan {
                job: j.id,
                cost: Money::ZERO,
                finish_secs: 0.0,
                planned_tasks: 0,
                unplanned_tasks: 0,
            })
            .collect();
        let mut workers: Vec<WorkerPlan> = view
            .workers
            .iter()
            .map(|w| WorkerPlan {
                worker: w.worker,
                tasks: Vec::new(),
            })
            .collect();
        let mut makespan = 0.0_f64;
        let mut total = Money::ZERO;
        for (m, order) in per_machine.iter().enumerate() {
            if let Some(&w) = machines.worker_of.get(m)
                && let Some(worker) = workers.get_mut(w as usize)
            {
                worker.tasks.reserve(order.len());
            }
        }
        for (m, order) in per_machine.into_iter().enumerate() {
            let (Some(&w), Some(&speed), Some(&ready)) = (
                machines.worker_of.get(m),
                machines.speed.get(m),
                machines.ready.get(m),
            ) else {
                return Err(Error::invalid("per_machine", "more queues than machines"));
            };
            let w = w as usize;
            let slot = (m - machines.slots(w).start) as u32;
            let offer = &view.workers[w];
            let mut clock = ready;
            for at in order {
                let task = task_view(view, at)?;
                let job = &view.jobs[at.job as usize];
                let work = task.work_bench_secs;
                let flag = &mut seen[at.job as usize][at.task as usize];
                if *flag {
                    return Err(Error::invalid(
                        "orders",
                        format!("task {} planned twice", task.id),
                    ));
                }
                *flag = true;
                let cost = view
                    .pricing
                    .task_cost(offer.price_per_bench_hour, work, job.tier)?;
                let start = clock;
                clock += work / speed;
                let outcome = &mut jobs[at.job as usize];
                outcome.cost = outcome.cost.checked_add(cost)?;
                outcome.finish_secs = outcome.finish_secs.max(clock);
                outcome.planned_tasks += 1;
                total = total.checked_add(cost)?;
                makespan = makespan.max(clock);
                workers[w].tasks.push(PlannedTask {
                    job: job.id,
                    task: task.id,
                    at,
                    slot,
                    start_secs: start,
                    finish_secs: clock,
                    cost,
                });
            }
        }
        for worker in &mut workers {
            if worker.tasks.iter().any(|t| t.slot != 0) {
                worker.tasks.sort_by(|a, b| {
                    a.start_secs
                        .total_cmp(&b.start_secs)
                        .then(a.slot.cmp(&b.slot))
                });
            }
        }
        let mut unplanned = Vec::new();
        for (j, job) in view.jobs.iter().enumerate() {
            for (t, task) in job.tasks.iter().enumerate() {
                if task.is_waiting() && !seen[j][t] {
                    unplanned.push(TaskRef::new(j, t));
                    jobs[j].unplanned_tasks += 1;
                }
            }
        }
        Ok(Plan {
            strategy: strategy.to_string(),
            workers,
            jobs,
            unplanned,
            makespan_secs: makespan,
            cost: total,
            index: OnceLock::new(),
            extension: OnceLock::new(),
        })
    }

    /// The strategy-defined extension, if one was set and has type `T`.
    pub fn extension<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        self.extension
            .get()
            .and_then(|ext| Arc::clone(ext).downcast::<T>().ok())
    }

    /// The extension, building it with `init` on first use (e.g. after deserialising a plan).
    pub fn extension_or_init<T: Any + Send + Sync>(
        &self,
        init: impl FnOnce() -> T,
    ) -> Option<Arc<T>> {
        let ext = self
            .extension
            .get_or_init(|| Arc::new(init()) as Arc<dyn Any + Send + Sync>);
        Arc::clone(ext).downcast::<T>().ok()
    }

    /// Sets the extension; `false` if one was already set.
    pub fn set_extension<T: Any + Send + Sync>(&self, value: T) -> bool {
        self.extension.set(Arc::new(value)).is_ok()
    }

    /// The outcome of job `id`, if it is in the plan.
    pub fn job(&self, id: JobId) -> Option<&JobPlan> {
        self.jobs.iter().find(|j| j.job == id)
    }

    fn dispatch_index(&self) -> &DispatchIndex {
        self.index.get_or_init(|| DispatchIndex {
            position: self
                .workers
                .iter()
                .enumerate()
                .map(|(i, w)| (w.worker, i as u32))
                .collect(),
            cursors: self.workers.iter().map(|_| AtomicU32::new(0)).collect(),
        })
    }
}

fn task_work(view: &MarketView, at: TaskRef) -> Result<f64> {
    task_view(view, at).map(|t| t.work_bench_secs)
}

fn task_view(view: &MarketView, at: TaskRef) -> Result<&TaskView> {
    let task = view
        .jobs
        .get(at.job as usize)
        .and_then(|j| j.tasks.get(at.task as usize))
        .ok_or_else(|| {
            Error::invalid(
                "orders",
                format!("no task at job {} task {}", at.job, at.task),
            )
        })?;
    if !task.is_waiting() {
        return Err(Error::invalid(
            "orders",
            format!("task {} is not waiting", task.id),
        ));
    }
    Ok(task)
}

/// A task handed to a worker.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    /// The worker that asked for work (the `worker` passed to `dispatch`).
    pub worker: WorkerId,
    /// The job of the assigned task (`view.jobs[at.job].id`).
    pub job: JobId,
    /// Id of the task to lease to `worker`; still waiting in the view when dispatched.
    pub task: TaskId,
    /// Where the task is in the view.
    pub at: TaskRef,
    /// Predicted finish if started now, seconds from now.
    pub expected_finish_secs: f64,
    /// What the creator pays for it.
    pub cost: Money,
}

/// A running task worth duplicating on another (idle, faster) worker: first valid result wins.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Speculation {
    /// The job of the running task (`view.jobs[at.job].id`).
    pub job: JobId,
    /// Id of the running task to duplicate; the first valid result of the two copies wins.
    pub task: TaskId,
    /// Where the task is in the view.
    pub at: TaskRef,
    /// The worker now running it.
    pub running_on: WorkerId,
    /// The worker to duplicate it on.
    pub duplicate_on: WorkerId,
    /// Predicted finish on the current worker, seconds from now.
    pub current_finish_secs: f64,
    /// Predicted finish of the duplicate, seconds from now.
    pub duplicate_finish_secs: f64,
}

/// Serves a plan's queues in order: the first task of `worker`'s queue still waiting in `view`.
/// Amortised O(1): a per-worker cursor (in the plan's runtime cache) skips tasks already handed out,
/// so the engine must lease what it is given. Entries whose position no longer matches the view (the
/// task left, or the view was rebuilt) are skipped; re-plan to pick them up.
pub fn dispatch_in_plan_order(
    view: &MarketView,
    plan: &Plan,
    worker: WorkerId,
) -> Option<Assignment> {
    let index = plan.dispatch_index();
    let position = *index.position.get(&worker)? as usize;
    let queue = &plan.workers.get(position)?.tasks;
    let cursor = index.cursors.get(position)?;
    let mut i = cursor.load(Ordering::Relaxed) as usize;
    let offer = view.workers.get(position).filter(|o| o.worker == worker);
    while let Some(planned) = queue.get(i) {
        i += 1;
        let Some(task) = view
            .jobs
            .get(planned.at.job as usize)
            .and_then(|j| j.tasks.get(planned.at.task as usize))
        else {
            continue;
        };
        if task.id != planned.task || !task.is_waiting() {
            continue;
        }
        cursor.fetch_max(i as u32, Ordering::Relaxed);
        let expected = offer.map_or(planned.finish_secs, |o| task.work_bench_secs / o.speed);
        return Some(Assignment {
            worker,
            job: planned.job,
            task: planned.task,
            at: planned.at,
            expected_finish_secs: expected,
            cost: planned.cost,
        });
    }
    cursor.fetch_max(i as u32, Ordering::Relaxed);
    None
}

/// Orders f64 keys totally (for heaps and ordered sets).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct TotalF64(pub f64);

impl Eq for TotalF64 {}

impl PartialOrd for TotalF64 {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for TotalF64 {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Waiting tasks of job `j` as refs, largest work first (ties by index).
pub(crate) fn waiting_by_work_desc(view: &MarketView, j: usize) -> Vec<TaskRef> {
    let tasks = &view.jobs[j].tasks;
    let mut refs: Vec<TaskRef> = tasks
        .iter()
        .enumerate()
        .filter(|(_, t)| t.is_waiting())
        .map(|(t, _)| TaskRef::new(j, t))
        .collect();
    refs.sort_by(|a, b| {
        tasks[b.task as usize]
            .work_bench_secs
            .total_cmp(&tasks[a.task as usize].work_bench_secs)
            .then(a.task.cmp(&b.task))
    });
    refs
}

/// The error for a job with waiting tasks and no eligible worker.
pub(crate) fn no_eligible(view: &MarketView, j: usize) -> Error {
    let job = &view.jobs[j];
    Error::NoEligibleWorker {
        job: job.id.to_string(),
        reason: format!(
            "no worker offers {} {} with ≥ {} MiB VRAM{}{}",
            job.renderer.0,
            job.renderer.1,
            job.requirements.min_vram_mib,
            job.requirements
                .gpu_vendor
                .map_or(String::new(), |v| format!(" from {v:?}")),
            if job.blocklist.is_empty() {
                String::new()
            } else {
                format!(" outside its blocklist of {}", job.blocklist.len())
            }
        ),
    }
}
