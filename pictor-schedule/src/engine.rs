//! The engine's side of scheduling: which workers may take which job ([`Eligibility`]) and the
//! machines a market offers ([`Machines`]: one per slot, with the time each is next free).
//!
//! Strategies only rank; they never decide eligibility. Every built-in strategy places a job's tasks
//! only on machines of workers listed by [`Eligibility::eligible_workers`].

use super::market::{JobView, MarketView, TaskStatus};
use pictor_core::ids::WorkerId;
use pictor_core::job::{HardwareRequirements, RendererKind, VersionConstraint};
use pictor_core::pricing::WorkerOffer;
use std::collections::HashMap;

/// True when `offer` may render tasks of `job`: a renderer of the job's kind whose version satisfies
/// the constraint, enough VRAM, the required vendor, a tier the worker serves, and the worker not on
/// the job's blocklist.
pub fn offer_is_eligible(offer: &WorkerOffer, job: &JobView) -> bool {
    let (kind, constraint) = job.renderer;
    offer
        .renderers
        .iter()
        .any(|&(k, v)| k == kind && constraint.matches(v))
        && offer.vram_mib >= job.requirements.min_vram_mib
        && job
            .requirements
            .gpu_vendor
            .is_none_or(|vendor| vendor == offer.vendor)
        && job.tier >= offer.min_tier
        && !job.blocklist.contains(&offer.worker)
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct GroupKey {
    renderer: (RendererKind, VersionConstraint),
    requirements: HardwareRequirements,
    blocklist: Vec<WorkerId>,
}

/// Eligibility index: jobs with identical requirements share one *group*; each group lists its
/// eligible workers (indices into `view.workers`, ascending). Built in O(groups × workers).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Eligibility {
    groups: Vec<Vec<u32>>,
    job_group: Vec<u32>,
}

impl Eligibility {
    /// Indexes `view`.
    pub fn build(view: &MarketView) -> Self {
        let mut keys: HashMap<GroupKey, u32> = HashMap::new();
        let mut groups: Vec<Vec<u32>> = Vec::new();
        let mut job_group = Vec::with_capacity(view.jobs.len());
        for job in &view.jobs {
            let mut blocklist = job.blocklist.clone();
            blocklist.sort_unstable();
            blocklist.dedup();
            let key = GroupKey {
                renderer: job.renderer,
                requirements: job.requirements.clone(),
                blocklist,
            };
            let next = groups.len() as u32;
            let group = *keys.entry(key).or_insert_with(|| {
                groups.push(
                    view.workers
                        .iter()
                        .enumerate()
                        .filter(|(_, offer)| offer_is_eligible(offer, job))
                        .map(|(w, _)| w as u32)
                        .collect(),
                );
                next
            });
            job_group.push(group);
        }
        Eligibility { groups, job_group }
    }

    /// Workers (indices into `view.workers`, ascending) eligible for job `job_index`.
    pub fn eligible_workers(&self, job_index: usize) -> &[u32] {
        self.job_group
            .get(job_index)
            .and_then(|&g| self.groups.get(g as usize))
            .map_or(&[], Vec::as_slice)
    }

    /// True when worker `worker_index` may take tasks of job `job_index` (O(log workers)).
    pub fn is_eligible(&self, job_index: usize, worker_index: usize) -> bool {
        self.eligible_workers(job_index)
            .binary_search(&(worker_index as u32))
            .is_ok()
    }

    /// The group of job `job_index`.
    pub fn group_of(&self, job_index: usize) -> usize {
        self.job_group.get(job_index).map_or(0, |&g| g as usize)
    }

    /// Number of distinct eligibility groups.
    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// Workers of group `group`.
    pub fn group_members(&self, group: usize) -> &[u32] {
        self.groups.get(group).map_or(&[], Vec::as_slice)
    }
}

/// The market's machines: one per slot of every offer, with its speed and the time (seconds from now)
/// it is next free — the offer's lead time plus what its running tasks still need.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Machines {
    /// Offer (index into `view.workers`) of each machine.
    pub worker_of: Vec<u32>,
    /// Speed of each machine (bench-seconds per second).
    pub speed: Vec<f64>,
    /// Seconds from now when each machine is next free.
    pub ready: Vec<f64>,
    /// Machines of offer `w` are `first[w]..first[w + 1]`.
    pub first: Vec<u32>,
    /// Worker id → index into `view.workers`.
    pub worker_index: HashMap<WorkerId, u32>,
}

impl Machines {
    /// Expands the offers of `view` into machines and loads them with the running tasks.
    pub fn build(view: &MarketView) -> Self {
        let mut machines = Machines {
            first: Vec::with_capacity(view.workers.len() + 1),
            ..Machines::default()
        };
        for (w, offer) in view.workers.iter().enumerate() {
            machines.first.push(machines.speed.len() as u32);
            machines.worker_index.insert(offer.worker, w as u32);
            let lead = if offer.lead_time_secs.is_finite() {
                offer.lead_time_secs.max(0.0)
            } else {
                0.0
            };
            for _ in 0..offer.parallel_slots.max(1) {
                machines.worker_of.push(w as u32);
                machines.speed.push(offer.speed);
                machines.ready.push(lead);
            }
        }
        machines.first.push(machines.speed.len() as u32);
        for job in &view.jobs {
            for task in &job.tasks {
                if let TaskStatus::Running {
                    worker,
                    elapsed_secs,
                } = task.status
                {
                    let Some(&w) = machines.worker_index.get(&worker) else {
                        continue;
                    };
                    let range = machines.slots(w as usize);
                    let Some(m) = range
                        .clone()
                        .min_by(|&a, &b| machines.ready[a].total_cmp(&machines.ready[b]))
                    else {
                        continue;
                    };
                    let remaining =
                        (task.work_bench_secs / machines.speed[m] - elapsed_secs).max(0.0);
                    machines.ready[m] += remaining;
                }
            }
        }
        machines
    }

    /// Number of machines.
    pub fn len(&self) -> usize {
        self.speed.len()
    }

    /// True when the market has no machine.
    pub fn is_empty(&self) -> bool {
        self.speed.is_empty()
    }

    /// Machine indices of offer `worker_index`.
    pub fn slots(&self, worker_index: usize) -> std::ops::Range<usize> {
        let start = self.first.get(worker_index).copied().unwrap_or(0) as usize;
        let end = self
            .first
            .get(worker_index + 1)
            .copied()
            .unwrap_or(start as u32) as usize;
        start..end
    }

    /// Machines of the given offers, in order.
    pub fn machines_of(&self, workers: &[u32]) -> Vec<u32> {
        workers
            .iter()
            .flat_map(|&w| self.slots(w as usize).map(|m| m as u32))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pictor_core::Money;
    use pictor_core::ids::JobId;
    use pictor_core::job::{GpuVendor, Tier, Version};

    #[test]
    fn a_worker_takes_jobs_of_its_minimum_tier_and_dearer_only() {
        let mut offer = WorkerOffer::individual(
            WorkerId(1),
            Money::from_micros(1),
            1.0,
            8_192,
            GpuVendor::Nvidia,
            vec![(RendererKind::Builtin, Version::new(0, 1, 0))],
        );
        let mut job = JobView::new(JobId(1), Vec::new());
        job.renderer = (RendererKind::Builtin, VersionConstraint::Any);
        for (min_tier, job_tier, eligible) in [
            (Tier::Economy, Tier::Economy, true),
            (Tier::Standard, Tier::Economy, false),
            (Tier::Standard, Tier::Priority, true),
            (Tier::Priority, Tier::Standard, false),
            (Tier::Priority, Tier::Priority, true),
        ] {
            offer.min_tier = min_tier;
            job.tier = job_tier;
            assert_eq!(
                offer_is_eligible(&offer, &job),
                eligible,
                "{min_tier:?} {job_tier:?}"
            );
        }
    }
}
