//! `fastest-finish`: LPT / earliest-finish-time on related machines, with the budget as a cap and tail
//! duplication.
//!
//! All waiting tasks of all jobs, largest first, each go to the eligible machine where they would
//! finish earliest. Scanning 10k machines per task would be 10⁹ steps at 100k tasks, so machines are
//! bucketed into geometric **speed classes** (speeds within a factor `class_ratio` of each other), and
//! each (eligibility group, class) keeps a min-heap of machine loads. A task checks only the head of
//! each class of its group: O(classes + log machines) per task, no dense matrix.
//!
//! **Approximation**: exact EFT when speeds within a class are equal. Otherwise the head (least loaded)
//! of a class may be up to `class_ratio` slower than a slightly more loaded member, so each decision's
//! finish is within a factor `class_ratio` (default 1.1) of the exact EFT choice. Measured against the
//! related-machine lower bound the plans stay within 6 % (see `tests/scheduler_quality.rs`).

use super::engine::{Eligibility, Machines};
use super::market::{MarketView, TaskStatus};
use super::{
    Assignment, Plan, Scheduler, Speculation, TaskRef, dispatch_in_plan_order, no_eligible,
};
use pictor_core::error::{Error, Result};
use pictor_core::ids::WorkerId;
use pictor_core::money::Money;
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

/// The `fastest-finish` strategy.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FastestFinish {
    /// Ratio between the fastest and slowest speed of one class (> 1; default 1.1).
    pub class_ratio: f64,
    /// A running task is a straggler when its predicted finish is at least this multiple of the median
    /// predicted finish of running tasks (default 1.5).
    pub straggler_factor: f64,
}

impl Default for FastestFinish {
    fn default() -> Self {
        FastestFinish {
            class_ratio: 1.1,
            straggler_factor: 1.5,
        }
    }
}

/// A min-heap of (load bits, machine).
type LoadHeap = BinaryHeap<Reverse<(u64, u32)>>;

/// Earliest-finish-time placement over speed classes, for any number of eligibility groups sharing
/// machines. Heaps are lazy: every machine has one entry whose key is at most its load (loads only
/// grow while tasks are placed, so a machine that is not the head of a heap is not touched when its
/// load grows); an entry that surfaces with a key below the load is re-inserted with the load, one
/// above it (left over after a load decrease, which pushes a fresh entry) is dropped. The head of
/// each heap, with its load and inverse speed, is mirrored in `heads` so the hot scan reads one
/// contiguous array.
pub(crate) struct EftIndex<'a> {
    speed: &'a [f64],
    /// 1 / speed (a multiplication in the hot loop instead of a division).
    inverse_speed: Vec<f64>,
    /// Current load (seconds from now when the machine is free) of each machine.
    pub(crate) load: Vec<f64>,
    /// Per group, per class (fastest first): heap of (load bits, machine).
    heaps: Vec<Vec<LoadHeap>>,
    /// Per group, per class: the head's (load, 1 / speed, machine).
    heads: Vec<Vec<(f64, f64, u32)>>,
    /// Per machine: (group, class position within the group's heaps).
    memberships: Vec<Vec<(u32, u32)>>,
}

impl<'a> EftIndex<'a> {
    /// `groups[g]` lists machine indices; `load` the initial loads (non-negative, finite).
    pub(crate) fn new(speed: &'a [f64], load: Vec<f64>, groups: &[Vec<u32>], ratio: f64) -> Self {
        let log_ratio = ratio.max(1.000_001).ln();
        let class_of = |m: usize| -> i64 { (speed[m].ln() / log_ratio).floor() as i64 };
        let mut memberships: Vec<Vec<(u32, u32)>> = vec![Vec::new(); speed.len()];
        let mut heaps = Vec::with_capacity(groups.len());
        for (g, members) in groups.iter().enumerate() {
            let mut classes: Vec<i64> = members.iter().map(|&m| class_of(m as usize)).collect();
            classes.sort_unstable_by(|a, b| b.cmp(a));
            classes.dedup();
            let position: HashMap<i64, u32> = classes
                .iter()
                .enumerate()
                .map(|(i, &c)| (c, i as u32))
                .collect();
            let mut entries: Vec<Vec<Reverse<(u64, u32)>>> = vec![Vec::new(); classes.len()];
            for &m in members {
                let p = position.get(&class_of(m as usize)).copied().unwrap_or(0);
                entries[p as usize].push(Reverse((load[m as usize].to_bits(), m)));
                memberships[m as usize].push((g as u32, p));
            }
            heaps.push(entries.into_iter().map(BinaryHeap::from).collect());
        }
        let inverse_speed: Vec<f64> = speed.iter().map(|s| 1.0 / s).collect();
        let heads = heaps
            .iter()
            .map(|classes: &Vec<LoadHeap>| {
                classes
                    .iter()
                    .map(|heap| match heap.peek() {
                        Some(&Reverse((_, m))) => (load[m as usize], inverse_speed[m as usize], m),
                        None => (f64::INFINITY, 0.0, u32::MAX),
                    })
                    .collect()
            })
            .collect();
        EftIndex {
            speed,
            inverse_speed,
            load,
            heaps,
            heads,
            memberships,
        }
    }

    /// The machine of group `g` where `work` would finish earliest, and that finish; `None` for an
    /// empty group.
    pub(crate) fn best(&self, g: usize, work: f64) -> Option<(u32, f64)> {
        let mut best: Option<(u32, f64)> = None;
        for &(load, inverse, m) in self.heads.get(g)? {
            let finish = load + work * inverse;
            let better = match best {
                None => m != u32::MAX,
                Some((bm, bf)) => finish < bf || (finish == bf && m < bm),
            };
            if better {
                best = Some((m, finish));
            }
        }
        best
    }

    /// Adds `work` to machine `m`.
    pub(crate) fn assign(&mut self, m: u32, work: f64) {
        let mi = m as usize;
        self.load[mi] += work / self.speed[mi];
        for k in 0..self.memberships[mi].len() {
            let (g, p) = self.memberships[mi][k];
            if self.heads[g as usize][p as usize].2 == m {
                self.refresh(g as usize, p as usize);
            }
        }
    }

    /// Takes `work` off machine `m`: a fresh, lower entry is pushed everywhere.
    pub(crate) fn unassign(&mut self, m: u32, work: f64) {
        let mi = m as usize;
        self.load[mi] = (self.load[mi] - work / self.speed[mi]).max(0.0);
        let bits = self.load[mi].to_bits();
        for k in 0..self.memberships[mi].len() {
            let (g, p) = self.memberships[mi][k];
            self.heaps[g as usize][p as usize].push(Reverse((bits, m)));
            self.refresh(g as usize, p as usize);
        }
    }

    /// Cleans the top of heap (g, p) and mirrors it in `heads`.
    fn refresh(&mut self, g: usize, p: usize) {
        let heap = &mut self.heaps[g][p];
        while let Some(&Reverse((bits, top))) = heap.peek() {
            let current = self.load[top as usize];
            let key = f64::from_bits(bits);
            if key == current {
                self.heads[g][p] = (current, self.inverse_speed[top as usize], top);
                return;
            }
            match heap.peek_mut() {
                // Re-key in place: one sift-down instead of a pop and a push.
                Some(mut entry) if key < current => *entry = Reverse((current.to_bits(), top)),
                Some(entry) => {
                    std::collections::binary_heap::PeekMut::pop(entry);
                }
                None => return,
            }
        }
    }
}

/// Per job, the machines it may use: eligibility, optionally restricted to a price ceiling.
fn machine_groups(
    view: &MarketView,
    eligibility: &Eligibility,
    machines: &Machines,
    ceilings: &[Option<Money>],
) -> (Vec<Vec<u32>>, Vec<usize>) {
    let mut keys: HashMap<(usize, Option<Money>), usize> = HashMap::new();
    let mut groups = Vec::new();
    let mut job_group = Vec::with_capacity(view.jobs.len());
    for j in 0..view.jobs.len() {
        let ceiling = ceilings.get(j).copied().flatten();
        let key = (eligibility.group_of(j), ceiling);
        let next = groups.len();
        let g = *keys.entry(key).or_insert_with(|| {
            let workers: Vec<u32> = eligibility
                .eligible_workers(j)
                .iter()
                .copied()
                .filter(|&w| {
                    ceiling.is_none_or(|c| view.workers[w as usize].price_per_bench_hour <= c)
                })
                .collect();
            groups.push(machines.machines_of(&workers));
            next
        });
        job_group.push(g);
    }
    (groups, job_group)
}

/// LPT/EFT over all waiting tasks of the jobs in `include` (all when `None`), starting from `load`.
/// Returns per-machine orders.
pub(crate) fn eft_orders(
    view: &MarketView,
    eligibility: &Eligibility,
    machines: &Machines,
    load: Vec<f64>,
    ceilings: &[Option<Money>],
    include: Option<&[usize]>,
    ratio: f64,
) -> Result<(Vec<Vec<TaskRef>>, Vec<f64>)> {
    let (groups, job_group) = machine_groups(view, eligibility, machines, ceilings);
    let jobs: Vec<usize> = match include {
        Some(list) => list.to_vec(),
        None => (0..view.jobs.len()).collect(),
    };
    let mut tasks: Vec<(f64, TaskRef)> = Vec::with_capacity(view.task_count());
    for &j in &jobs {
        let job = &view.jobs[j];
        let waiting = job.tasks.iter().any(|t| t.is_waiting());
        if waiting && groups[job_group[j]].is_empty() {
            return Err(no_eligible(view, j));
        }
        for (t, task) in job.tasks.iter().enumerate() {
            if task.is_waiting() {
                tasks.push((task.work_bench_secs, TaskRef::new(j, t)));
            }
        }
    }
    tasks.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut index = EftIndex::new(&machines.speed, load, &groups, ratio);
    let mut orders: Vec<Vec<(f64, TaskRef)>> = vec![Vec::new(); machines.len()];
    let task_count = tasks.len();
    for (work, at) in tasks {
        let g = job_group[at.job as usize];
        let (m, _) = index
            .best(g, work)
            .ok_or_else(|| no_eligible(view, at.job as usize))?;
        index.assign(m, work);
        orders[m as usize].push((work, at));
    }
    polish(&mut index, &mut orders, &job_group, task_count);
    let orders = orders
        .into_iter()
        .map(|list| list.into_iter().map(|(_, at)| at).collect())
        .collect();
    Ok((orders, index.load))
}

/// Local improvement after LPT/EFT: while some task of the critical (latest-finishing) machine can
/// move to a machine of its group where it would finish before the current makespan, move it (the
/// largest such task first). Stops at the first critical machine with no improving move, or after
/// `max_moves` moves. Only ever lowers the critical machine's finish, never raises another machine
/// above it, so the makespan never increases.
fn polish(
    index: &mut EftIndex<'_>,
    orders: &mut [Vec<(f64, TaskRef)>],
    job_group: &[usize],
    max_moves: usize,
) {
    let mut critical: BinaryHeap<(u64, u32)> = orders
        .iter()
        .enumerate()
        .filter(|(_, list)| !list.is_empty())
        .map(|(m, _)| (index.load[m].to_bits(), m as u32))
        .collect();
    for _ in 0..max_moves {
        let Some(&(bits, c)) = critical.peek() else {
            return;
        };
        if bits != index.load[c as usize].to_bits() || orders[c as usize].is_empty() {
            critical.pop();
            continue;
        }
        let makespan = index.load[c as usize];
        let mut moved = false;
        for k in 0..orders[c as usize].len() {
            let (work, at) = orders[c as usize][k];
            let g = job_group[at.job as usize];
            let Some((m, finish)) = index.best(g, work) else {
                continue;
            };
            if m != c && finish < makespan * (1.0 - 1e-9) {
                orders[c as usize].swap_remove(k);
                index.unassign(c, work);
                index.assign(m, work);
                orders[m as usize].push((work, at));
                critical.push((index.load[c as usize].to_bits(), c));
                critical.push((index.load[m as usize].to_bits(), m));
                moved = true;
                break;
            }
        }
        if !moved {
            return;
        }
    }
}

impl FastestFinish {
    fn plan_with_ceilings(
        &self,
        view: &MarketView,
        eligibility: &Eligibility,
        machines: &Machines,
        ceilings: &[Option<Money>],
    ) -> Result<Plan> {
        let (orders, _) = eft_orders(
            view,
            eligibility,
            machines,
            machines.ready.clone(),
            ceilings,
            None,
            self.class_ratio,
        )?;
        Plan::from_machine_orders(view, machines, self.name(), orders)
    }
}

/// The cheapest any plan can charge job `j`: every waiting task at the lowest eligible price.
pub(crate) fn cheapest_possible_cost(
    view: &MarketView,
    eligibility: &Eligibility,
    j: usize,
) -> Result<Money> {
    let job = &view.jobs[j];
    let price = eligibility
        .eligible_workers(j)
        .iter()
        .map(|&w| view.workers[w as usize].price_per_bench_hour)
        .min()
        .ok_or_else(|| no_eligible(view, j))?;
    Money::sum(
        job.tasks
            .iter()
            .filter(|t| t.is_waiting())
            .map(|t| view.pricing.task_cost(price, t.work_bench_secs, job.tier))
            .collect::<Result<Vec<_>>>()?,
    )
}

impl Scheduler for FastestFinish {
    fn name(&self) -> &str {
        "fastest-finish"
    }

    /// LPT/EFT plan. A job over its budget cap is restricted to workers under a price ceiling, the
    /// highest ceiling (by bisection over the eligible prices) whose plan fits the cap. Errors:
    /// `InfeasibleBudget` with the cheapest possible cost (all work at the lowest eligible price —
    /// a real plan, if a slow one) when even that exceeds the cap; `InfeasibleDeadline` with the
    /// achieved finish when the job cannot meet its deadline (nothing faster is known).
    fn plan(&self, view: &MarketView) -> Result<Plan> {
        view.validate()?;
        if !(self.class_ratio.is_finite() && self.class_ratio > 1.0) {
            return Err(Error::invalid("class_ratio", "must be a finite number > 1"));
        }
        let eligibility = Eligibility::build(view);
        let machines = Machines::build(view);
        let mut ceilings: Vec<Option<Money>> = vec![None; view.jobs.len()];
        let mut minimums: Vec<Option<Money>> = vec![None; view.jobs.len()];
        let mut plan = self.plan_with_ceilings(view, &eligibility, &machines, &ceilings)?;
        for _pass in 0..3 {
            let mut changed = false;
            for (j, job) in view.jobs.iter().enumerate() {
                let Some(cap) = job.budget_cap else { continue };
                if plan.jobs[j].cost <= cap {
                    continue;
                }
                let mut prices: Vec<Money> = eligibility
                    .eligible_workers(j)
                    .iter()
                    .map(|&w| view.workers[w as usize].price_per_bench_hour)
                    .filter(|&p| ceilings[j].is_none_or(|c| p <= c))
                    .collect();
                prices.sort_unstable();
                prices.dedup();
                let minimum = match job.deadline_secs {
                    None => cheapest_possible_cost(view, &eligibility, j)?,
                    Some(deadline) => {
                        // The cheapest plan that still meets the deadline: the lowest ceiling
                        // whose plan finishes in time (the current ceiling, at worst).
                        let (mut lo, mut hi) = (0usize, prices.len().saturating_sub(1));
                        let saved = ceilings[j];
                        while lo < hi {
                            let mid = (lo + hi) / 2;
                            ceilings[j] = Some(prices[mid]);
                            let candidate =
                                self.plan_with_ceilings(view, &eligibility, &machines, &ceilings)?;
                            if candidate.jobs[j].finish_secs <= deadline {
                                hi = mid;
                            } else {
                                lo = mid + 1;
                            }
                        }
                        ceilings[j] = prices.get(lo).copied();
                        let cheapest =
                            self.plan_with_ceilings(view, &eligibility, &machines, &ceilings)?;
                        ceilings[j] = saved;
                        cheapest.jobs[j].cost
                    }
                };
                if minimum > cap {
                    return Err(Error::InfeasibleBudget {
                        requested: cap,
                        minimum,
                    });
                }
                minimums[j] = Some(minimum);
                // prices[lo] always fits (it is the cheapest); find the highest that fits.
                let (mut lo, mut hi) = (0usize, prices.len().saturating_sub(1));
                let mut best: Option<Plan> = None;
                while lo < hi {
                    let mid = (lo + hi).div_ceil(2);
                    ceilings[j] = Some(prices[mid]);
                    let candidate =
                        self.plan_with_ceilings(view, &eligibility, &machines, &ceilings)?;
                    if candidate.jobs[j].cost <= cap {
                        lo = mid;
                        best = Some(candidate);
                    } else {
                        hi = mid - 1;
                    }
                }
                ceilings[j] = prices.get(lo).copied();
                plan = match best {
                    Some(candidate) => candidate,
                    None => self.plan_with_ceilings(view, &eligibility, &machines, &ceilings)?,
                };
                changed = true;
            }
            if !changed {
                break;
            }
        }
        for (j, job) in view.jobs.iter().enumerate() {
            let over_budget = job.budget_cap.is_some_and(|cap| plan.jobs[j].cost > cap);
            let late = job
                .deadline_secs
                .is_some_and(|deadline| plan.jobs[j].finish_secs > deadline);
            if let (Some(cap), true) = (
                job.budget_cap,
                over_budget || (late && ceilings[j].is_some()),
            ) {
                return Err(Error::InfeasibleBudget {
                    requested: cap,
                    minimum: minimums[j].unwrap_or(plan.jobs[j].cost),
                });
            }
            if let (Some(deadline), true) = (job.deadline_secs, late) {
                return Err(Error::InfeasibleDeadline {
                    requested_seconds: deadline,
                    minimum_seconds: plan.jobs[j].finish_secs.ceil(),
                });
            }
        }
        Ok(plan)
    }

    fn dispatch(&self, view: &MarketView, plan: &Plan, worker: WorkerId) -> Option<Assignment> {
        dispatch_in_plan_order(view, plan, worker)
    }

    /// Tail duplication: running tasks whose predicted finish is ≥ `straggler_factor` × the median
    /// predicted finish of running tasks are duplicated on idle eligible workers (nothing running, no
    /// waiting task left in their queue), fastest idle worker to the latest straggler, when the
    /// duplicate would finish sooner.
    fn speculate(&self, view: &MarketView, plan: &Plan) -> Vec<Speculation> {
        speculate_tails(view, plan, self.straggler_factor)
    }
}

/// Shared tail-duplication rule (see [`FastestFinish::speculate`]).
pub(crate) fn speculate_tails(view: &MarketView, plan: &Plan, factor: f64) -> Vec<Speculation> {
    let index: HashMap<WorkerId, usize> = view
        .workers
        .iter()
        .enumerate()
        .map(|(i, w)| (w.worker, i))
        .collect();
    let mut busy = vec![false; view.workers.len()];
    let mut running: Vec<(f64, TaskRef, usize)> = Vec::new();
    for (j, job) in view.jobs.iter().enumerate() {
        for (t, task) in job.tasks.iter().enumerate() {
            if let TaskStatus::Running {
                worker,
                elapsed_secs,
            } = task.status
                && let Some(&w) = index.get(&worker)
            {
                busy[w] = true;
                let remaining =
                    (task.work_bench_secs / view.workers[w].speed - elapsed_secs).max(0.0);
                running.push((remaining, TaskRef::new(j, t), w));
            }
        }
    }
    if running.is_empty() {
        return Vec::new();
    }
    let mut finishes: Vec<f64> = running.iter().map(|r| r.0).collect();
    finishes.sort_by(f64::total_cmp);
    let median = finishes[finishes.len() / 2];
    let mut stragglers: Vec<(f64, TaskRef, usize)> = running
        .into_iter()
        .filter(|r| r.0 > 0.0 && r.0 >= factor * median)
        .collect();
    stragglers.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let has_waiting = |w: usize| {
        plan.workers.get(w).is_some_and(|queue| {
            queue.tasks.iter().any(|p| {
                view.jobs
                    .get(p.at.job as usize)
                    .and_then(|j| j.tasks.get(p.at.task as usize))
                    .is_some_and(|t| t.id == p.task && t.is_waiting())
            })
        })
    };
    let mut idle: Vec<usize> = (0..view.workers.len())
        .filter(|&w| !busy[w] && !has_waiting(w))
        .collect();
    idle.sort_by(|&a, &b| {
        view.workers[b]
            .speed
            .total_cmp(&view.workers[a].speed)
            .then(a.cmp(&b))
    });
    let eligibility = Eligibility::build(view);
    let mut taken = vec![false; view.workers.len()];
    let mut out = Vec::new();
    for (remaining, at, w) in stragglers {
        let job = &view.jobs[at.job as usize];
        let task = &job.tasks[at.task as usize];
        let candidate = idle.iter().copied().find(|&i| {
            !taken[i]
                && eligibility.is_eligible(at.job as usize, i)
                && view.workers[i].lead_time_secs + task.work_bench_secs / view.workers[i].speed
                    < remaining
        });
        if let Some(i) = candidate {
            taken[i] = true;
            out.push(Speculation {
                job: job.id,
                task: task.id,
                at,
                running_on: view.workers[w].worker,
                duplicate_on: view.workers[i].worker,
                current_finish_secs: remaining,
                duplicate_finish_secs: view.workers[i].lead_time_secs
                    + task.work_bench_secs / view.workers[i].speed,
            });
        }
    }
    out
}
