//! `fair-share`: every worker request serves the eligible job with the lowest
//! **assigned power ÷ entitled share**.
//!
//! *Assigned power* of a job is the sum of the speeds (bench-seconds per second) of the slots now
//! rendering its tasks; its *entitlement* is tier weight × priority ([`JobView::entitlement`]). A
//! worker asking for work has finished its previous task, so its speed is first taken off that job.
//! It then **sticks** to its previous job (warm scene cache) while that job's ratio is within
//! `stickiness_tolerance` of the lowest ratio among jobs it could serve; otherwise it moves to the
//! lowest-ratio eligible job. Within a job, tasks go largest first.
//!
//! Jobs are kept in an ordered set by ratio, so a request costs O(log jobs) plus the jobs skipped for
//! eligibility. [`Scheduler::plan`] predicts the schedule by simulating exactly this rule over time
//! (each slot asks again when its task ends); [`Scheduler::dispatch`] runs the rule live, with its
//! accounting in the plan's extension (rebuilt from the view if the plan was deserialised).
//! Deadlines and budget caps are not enforced by this strategy (the engine pauses a job whose escrow
//! runs out).
//!
//! [`JobView::entitlement`]: super::market::JobView::entitlement

use super::engine::{Eligibility, Machines};
use super::market::{MarketView, TaskStatus};
use super::{Assignment, Plan, Scheduler, TaskRef, TotalF64, no_eligible, waiting_by_work_desc};
use pictor_core::error::{Error, Result};
use pictor_core::ids::WorkerId;
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap, VecDeque};
use std::sync::Mutex;

/// The `fair-share` strategy.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FairShare {
    /// A worker stays on its previous job while that job's ratio is at most `(1 + tolerance) ×` the
    /// lowest eligible ratio (default 0.25).
    pub stickiness_tolerance: f64,
}

impl Default for FairShare {
    fn default() -> Self {
        FairShare {
            stickiness_tolerance: 0.25,
        }
    }
}

/// Live fair-share accounting (the plan's extension).
struct FairState {
    tolerance: f64,
    eligibility: Eligibility,
    worker_index: HashMap<WorkerId, u32>,
    speed: Vec<f64>,
    slots: Vec<u32>,
    entitlement: Vec<f64>,
    power: Vec<f64>,
    queue: Vec<Vec<TaskRef>>,
    cursor: Vec<usize>,
    order: BTreeSet<(TotalF64, u32)>,
    /// Per worker, the jobs its busy slots are rendering, oldest first.
    current: Vec<VecDeque<u32>>,
}

impl FairState {
    fn new(view: &MarketView, tolerance: f64) -> Self {
        let eligibility = Eligibility::build(view);
        let worker_index: HashMap<WorkerId, u32> = view
            .workers
            .iter()
            .enumerate()
            .map(|(i, w)| (w.worker, i as u32))
            .collect();
        let mut state = FairState {
            tolerance,
            eligibility,
            speed: view.workers.iter().map(|w| w.speed).collect(),
            slots: view
                .workers
                .iter()
                .map(|w| w.parallel_slots.max(1))
                .collect(),
            entitlement: view.jobs.iter().map(|j| j.entitlement()).collect(),
            power: vec![0.0; view.jobs.len()],
            queue: (0..view.jobs.len())
                .map(|j| waiting_by_work_desc(view, j))
                .collect(),
            cursor: vec![0; view.jobs.len()],
            order: BTreeSet::new(),
            current: vec![VecDeque::new(); view.workers.len()],
            worker_index,
        };
        for (j, job) in view.jobs.iter().enumerate() {
            for task in &job.tasks {
                if let TaskStatus::Running { worker, .. } = task.status
                    && let Some(&w) = state.worker_index.get(&worker)
                {
                    state.power[j] += state.speed[w as usize];
                    state.current[w as usize].push_back(j as u32);
                }
            }
        }
        for j in 0..view.jobs.len() {
            if !state.queue[j].is_empty() {
                state.order.insert((state.key(j), j as u32));
            }
        }
        state
    }

    fn ratio(&self, j: usize) -> f64 {
        self.power[j] / self.entitlement[j]
    }

    fn key(&self, j: usize) -> TotalF64 {
        TotalF64(self.ratio(j))
    }

    fn has_work(&self, j: usize) -> bool {
        self.cursor[j] < self.queue[j].len()
    }

    fn change_power(&mut self, j: usize, delta: f64) {
        let listed = self.has_work(j) && self.order.remove(&(self.key(j), j as u32));
        self.power[j] = (self.power[j] + delta).max(0.0);
        if listed {
            self.order.insert((self.key(j), j as u32));
        }
    }

    /// Serves one request of worker `w` (one slot); `valid` says whether a queued task may still be
    /// handed out. Returns the job and task, or `None` when nothing eligible is left.
    fn request(&mut self, w: usize, valid: impl Fn(TaskRef) -> bool) -> Option<TaskRef> {
        let speed = self.speed[w];
        let mut previous = None;
        if self.current[w].len() >= self.slots[w] as usize
            && let Some(j) = self.current[w].pop_front()
        {
            self.change_power(j as usize, -speed);
            previous = Some(j as usize);
        }
        loop {
            let lowest = self
                .order
                .iter()
                .find(|&&(_, j)| self.eligibility.is_eligible(j as usize, w))
                .map(|&(key, j)| (key.0, j as usize));
            let (min_ratio, min_job) = lowest?;
            let job = match previous {
                Some(p)
                    if p != min_job
                        && self.has_work(p)
                        && self.ratio(p) <= min_ratio * (1.0 + self.tolerance) =>
                {
                    p
                }
                _ => min_job,
            };
            let at = self.queue[job][self.cursor[job]];
            self.order.remove(&(self.key(job), job as u32));
            self.cursor[job] += 1;
            if self.has_work(job) {
                self.order.insert((self.key(job), job as u32));
            }
            if !valid(at) {
                continue;
            }
            self.change_power(job, speed);
            self.current[w].push_back(job as u32);
            return Some(at);
        }
    }
}

impl Scheduler for FairShare {
    fn name(&self) -> &str {
        "fair-share"
    }

    fn plan(&self, view: &MarketView) -> Result<Plan> {
        view.validate()?;
        if !(self.stickiness_tolerance.is_finite() && self.stickiness_tolerance >= 0.0) {
            return Err(Error::invalid(
                "stickiness_tolerance",
                "must be a finite number ≥ 0",
            ));
        }
        let machines = Machines::build(view);
        let mut state = FairState::new(view, self.stickiness_tolerance);
        for (j, job) in view.jobs.iter().enumerate() {
            if job.tasks.iter().any(|t| t.is_waiting())
                && state.eligibility.eligible_workers(j).is_empty()
            {
                return Err(no_eligible(view, j));
            }
        }
        let mut per_machine: Vec<Vec<TaskRef>> = vec![Vec::new(); machines.len()];
        let mut events: BinaryHeap<Reverse<(TotalF64, u32)>> = machines
            .ready
            .iter()
            .enumerate()
            .map(|(m, &r)| Reverse((TotalF64(r), m as u32)))
            .collect();
        while let Some(Reverse((TotalF64(time), m))) = events.pop() {
            if state.order.is_empty() {
                break;
            }
            let w = machines.worker_of[m as usize] as usize;
            if let Some(at) = state.request(w, |_| true) {
                let work = view.jobs[at.job as usize].tasks[at.task as usize].work_bench_secs;
                per_machine[m as usize].push(at);
                events.push(Reverse((
                    TotalF64(time + work / machines.speed[m as usize]),
                    m,
                )));
            }
        }
        let plan = Plan::from_machine_orders(view, &machines, self.name(), per_machine)?;
        plan.set_extension(Mutex::new(FairState::new(view, self.stickiness_tolerance)));
        Ok(plan)
    }

    /// The live fair-share rule: O(log jobs) plus jobs skipped for eligibility. The engine must lease
    /// what it is given (the accounting assumes it).
    fn dispatch(&self, view: &MarketView, plan: &Plan, worker: WorkerId) -> Option<Assignment> {
        let state =
            plan.extension_or_init(|| Mutex::new(FairState::new(view, self.stickiness_tolerance)))?;
        let mut state = state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let w = *state.worker_index.get(&worker)? as usize;
        let offer = view.workers.get(w).filter(|o| o.worker == worker)?;
        let at = state.request(w, |at| {
            view.jobs
                .get(at.job as usize)
                .and_then(|j| j.tasks.get(at.task as usize))
                .is_some_and(|t| t.is_waiting())
        })?;
        let job = &view.jobs[at.job as usize];
        let task = &job.tasks[at.task as usize];
        let cost = view
            .pricing
            .task_cost(offer.price_per_bench_hour, task.work_bench_secs, job.tier)
            .ok()?;
        Some(Assignment {
            worker,
            job: job.id,
            task: task.id,
            at,
            expected_finish_secs: offer.lead_time_secs + task.work_bench_secs / offer.speed,
            cost,
        })
    }
}
