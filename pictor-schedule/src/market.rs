//! The market as a scheduler sees it ([`MarketView`]) and deterministic generators of synthetic,
//! render-shaped markets for tests, benches and `pictor plan`.

use pictor_core::error::{Error, Result};
use pictor_core::ids::{JobId, TaskId, WorkerId};
use pictor_core::job::{
    GpuVendor, HardwareRequirements, RendererKind, Tier, Version, VersionConstraint,
};
use pictor_core::money::Money;
use pictor_core::pricing::{OfferKind, PricingConfig, Reliability, WorkerOffer};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal, Normal};
use serde::{Deserialize, Serialize};

/// Where a task stands, as far as scheduling cares. Finished tasks leave the view.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum TaskStatus {
    /// Not leased: the scheduler may place it.
    Waiting,
    /// Leased to a worker that has been rendering it for `elapsed_secs`.
    Running {
        /// The worker holding the lease.
        worker: WorkerId,
        /// Seconds since the lease started.
        elapsed_secs: f64,
    },
}

/// One task of a job.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskView {
    /// The task's id; plans and assignments name the task by it, and by its position (`TaskRef`).
    pub id: TaskId,
    /// Estimated work in bench-seconds (≥ 0, finite).
    pub work_bench_secs: f64,
    /// Waiting or running.
    pub status: TaskStatus,
}

impl TaskView {
    /// An unleased task of `work_bench_secs` estimated work, which the scheduler may place.
    pub fn waiting(id: TaskId, work_bench_secs: f64) -> Self {
        TaskView {
            id,
            work_bench_secs,
            status: TaskStatus::Waiting,
        }
    }

    /// True when the task is waiting.
    pub fn is_waiting(&self) -> bool {
        matches!(self.status, TaskStatus::Waiting)
    }
}

/// What a job needs from the market.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobView {
    /// The job's id; `Plan::jobs` reports on it in `view.jobs` order.
    pub id: JobId,
    /// Service tier (price multiplier and fair-share weight).
    pub tier: Tier,
    /// Priority within the tier (≥ 1; multiplies the fair-share entitlement).
    pub priority: u32,
    /// Seconds from the view's `now` by which the job should finish, if any.
    pub deadline_secs: Option<f64>,
    /// Most the job may cost (for its tasks still in the view), if capped.
    pub budget_cap: Option<Money>,
    /// Hardware a worker needs.
    pub requirements: HardwareRequirements,
    /// Renderer kind and accepted versions.
    pub renderer: (RendererKind, VersionConstraint),
    /// Workers barred from this job (by the engine, e.g. after repeated failures).
    #[serde(default)]
    pub blocklist: Vec<WorkerId>,
    /// The job's unfinished tasks.
    pub tasks: Vec<TaskView>,
}

impl JobView {
    /// A standard-tier job with priority 1, no deadline, no cap, no requirements, any builtin renderer.
    pub fn new(id: JobId, tasks: Vec<TaskView>) -> Self {
        JobView {
            id,
            tier: Tier::Standard,
            priority: 1,
            deadline_secs: None,
            budget_cap: None,
            requirements: HardwareRequirements::default(),
            renderer: (RendererKind::Builtin, VersionConstraint::Any),
            blocklist: Vec::new(),
            tasks,
        }
    }

    /// Fair-share entitlement: tier weight × priority.
    pub fn entitlement(&self) -> f64 {
        f64::from(self.tier.share_weight()) * f64::from(self.priority.max(1))
    }
}

/// Everything a strategy may look at: jobs, offers, pricing, the clock. Times in a view are seconds
/// relative to `now` (a deadline of 600 means ten minutes from now).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MarketView {
    /// Wall-clock time of the snapshot (seconds since the Unix epoch; informational).
    pub now: f64,
    /// Jobs with unfinished tasks.
    pub jobs: Vec<JobView>,
    /// Live offers.
    pub workers: Vec<WorkerOffer>,
    /// Fees and tier multipliers.
    #[serde(default)]
    pub pricing: PricingConfig,
}

impl MarketView {
    /// A view of these jobs and offers at time 0 with the default pricing.
    pub fn new(jobs: Vec<JobView>, workers: Vec<WorkerOffer>) -> Self {
        MarketView {
            now: 0.0,
            jobs,
            workers,
            pricing: PricingConfig::default(),
        }
    }

    /// Checks offers, tasks, priorities and deadlines; errors name the field (`workers[3].speed`).
    pub fn validate(&self) -> Result<()> {
        self.pricing.validate()?;
        let mut seen_workers = std::collections::HashSet::new();
        for (i, offer) in self.workers.iter().enumerate() {
            offer
                .validate()
                .map_err(|e| prefix(e, &format!("workers[{i}]")))?;
            if !seen_workers.insert(offer.worker) {
                return Err(Error::invalid(
                    format!("workers[{i}].worker"),
                    format!("worker {} appears twice", offer.worker),
                ));
            }
        }
        for (j, job) in self.jobs.iter().enumerate() {
            if job.priority == 0 {
                return Err(Error::invalid(
                    format!("jobs[{j}].priority"),
                    "must be at least 1",
                ));
            }
            if let Some(deadline) = job.deadline_secs
                && !(deadline.is_finite() && deadline > 0.0)
            {
                return Err(Error::invalid(
                    format!("jobs[{j}].deadline_secs"),
                    format!("{deadline} is not a positive finite number of seconds"),
                ));
            }
            for (t, task) in job.tasks.iter().enumerate() {
                let w = task.work_bench_secs;
                if !(w.is_finite() && w >= 0.0) {
                    return Err(Error::invalid(
                        format!("jobs[{j}].tasks[{t}].work_bench_secs"),
                        format!("{w} is not a non-negative finite number"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Number of tasks over all jobs.
    pub fn task_count(&self) -> usize {
        self.jobs.iter().map(|j| j.tasks.len()).sum()
    }

    /// A render-shaped synthetic market with `tasks` tasks spread over `jobs` jobs and `workers`
    /// offers, deterministic in `seed`. See [`MarketConfig`] for the shape.
    pub fn synthetic(tasks: usize, workers: usize, jobs: usize, seed: u64) -> Self {
        MarketConfig::default().generate(tasks, workers, jobs, seed)
    }
}

fn prefix(error: Error, path: &str) -> Error {
    match error {
        Error::Invalid { field, reason } => Error::Invalid {
            field: format!("{path}.{field}"),
            reason,
        },
        other => other,
    }
}

/// Shape of a synthetic market. Frame costs follow an animation: a smooth trend (a slow sine plus a
/// ramp) times small per-frame noise, with rare heavy frames (`heavy_frame_share` of frames at
/// `heavy_frame_factor` ×). Worker speeds are log-normal; prices per bench-hour are correlated with
/// speed (fast GPUs ask more) times log-normal noise; a share of offers are farms with many slots,
/// a discount and a lead time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MarketConfig {
    /// Mean bench-seconds of a frame.
    pub mean_frame_bench_secs: f64,
    /// Share of heavy frames (default 0.03).
    pub heavy_frame_share: f64,
    /// Work multiplier of a heavy frame (default 5).
    pub heavy_frame_factor: f64,
    /// σ of ln(speed) (default 0.5).
    pub speed_sigma: f64,
    /// Median price per bench-hour of a speed-1 worker, in micro-credits.
    pub base_price_micros: u64,
    /// Elasticity of price with speed: price ∝ speed^elasticity (default 0.3).
    pub price_speed_elasticity: f64,
    /// σ of the log-normal price noise (default 0.25).
    pub price_noise_sigma: f64,
    /// Share of offers that are farms (default 0.02).
    pub farm_share: f64,
    /// Slots of a farm (default 16).
    pub farm_slots: u32,
    /// Price factor of farms (default 0.85: bulk discount).
    pub farm_price_factor: f64,
    /// Lead time of a farm in seconds (default 0).
    pub farm_lead_time_secs: f64,
    /// Share of workers with AMD GPUs (the rest NVIDIA; default 0.2).
    pub amd_share: f64,
    /// Share of jobs that need ≥ 12 GiB of VRAM (default 0.2).
    pub high_vram_job_share: f64,
}

impl Default for MarketConfig {
    fn default() -> Self {
        MarketConfig {
            mean_frame_bench_secs: 120.0,
            heavy_frame_share: 0.03,
            heavy_frame_factor: 5.0,
            speed_sigma: 0.5,
            base_price_micros: 2_000_000,
            price_speed_elasticity: 0.3,
            price_noise_sigma: 0.25,
            farm_share: 0.02,
            farm_slots: 16,
            farm_price_factor: 0.85,
            farm_lead_time_secs: 0.0,
            amd_share: 0.2,
            high_vram_job_share: 0.2,
        }
    }
}

/// Blender versions the generator installs on workers.
const BLENDER_VERSIONS: [Version; 3] = [
    Version::new(3, 6, 5),
    Version::new(4, 1, 1),
    Version::new(4, 2, 0),
];

impl MarketConfig {
    /// Frame costs (bench-seconds) of an animation of `frames` frames.
    pub fn animation(&self, frames: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
        let phase: f64 = rng.random_range(0.0..std::f64::consts::TAU);
        let ramp: f64 = rng.random_range(-0.4..0.6);
        let scale = self.mean_frame_bench_secs * rng.random_range(0.5..1.5);
        let noise = Normal::new(0.0, 0.08).ok();
        (0..frames)
            .map(|f| {
                let x = if frames > 1 {
                    f as f64 / (frames - 1) as f64
                } else {
                    0.0
                };
                let trend = 1.0 + 0.3 * (std::f64::consts::TAU * x + phase).sin() + ramp * x;
                let jitter: f64 = noise.map_or(0.0, |n| n.sample(rng));
                let heavy = if rng.random_bool(self.heavy_frame_share.clamp(0.0, 1.0)) {
                    self.heavy_frame_factor
                } else {
                    1.0
                };
                (scale * trend.max(0.2) * (1.0 + jitter).max(0.5) * heavy).max(0.001)
            })
            .collect()
    }

    /// Offers of `workers` workers (ids `0..workers`).
    pub fn offers(&self, workers: usize, rng: &mut ChaCha8Rng) -> Vec<WorkerOffer> {
        let speed_dist = LogNormal::new(0.0, self.speed_sigma.max(0.0)).ok();
        let price_noise = LogNormal::new(0.0, self.price_noise_sigma.max(0.0)).ok();
        (0..workers)
            .map(|w| {
                let speed = speed_dist.map_or(1.0, |d| d.sample(rng)).clamp(0.05, 20.0);
                let noise = price_noise.map_or(1.0, |d| d.sample(rng));
                let farm = rng.random_bool(self.farm_share.clamp(0.0, 1.0));
                let mut price =
                    self.base_price_micros as f64 * speed.powf(self.price_speed_elasticity) * noise;
                if farm {
                    price *= self.farm_price_factor;
                }
                let vendor = if rng.random_bool(self.amd_share.clamp(0.0, 1.0)) {
                    GpuVendor::Amd
                } else {
                    GpuVendor::Nvidia
                };
                let vram_mib = [8_192, 12_288, 16_384, 24_576][rng.random_range(0..4)];
                let mut renderers = vec![(RendererKind::Builtin, Version::new(0, 1, 0))];
                let blender = BLENDER_VERSIONS[rng.random_range(0..BLENDER_VERSIONS.len())];
                renderers.push((RendererKind::Blender, blender));
                let accepted = rng.random_range(0..500);
                let reliability = Reliability {
                    accepted,
                    rejected: rng.random_range(0..5),
                    expired: rng.random_range(0..10),
                };
                let slots = if farm { self.farm_slots.max(1) } else { 1 };
                WorkerOffer {
                    worker: WorkerId(w as u64),
                    price_per_bench_hour: Money::from_micros(price.round().max(1.0) as u64),
                    speed,
                    parallel_slots: slots,
                    reliability,
                    vram_mib,
                    vendor,
                    renderers,
                    tags: Vec::new(),
                    lead_time_secs: if farm { self.farm_lead_time_secs } else { 0.0 },
                    kind: if farm {
                        OfferKind::Farm {
                            capacity_bench_hours_per_hour: speed * f64::from(slots),
                        }
                    } else {
                        OfferKind::Individual
                    },
                    min_tier: pictor_core::job::Tier::Economy,
                }
            })
            .collect()
    }

    /// A market of `tasks` tasks (one frame each) over `jobs` jobs (sizes as even as possible) and
    /// `workers` offers, deterministic in `seed`. Jobs cycle through the three tiers; a share needs
    /// ≥ 12 GiB of VRAM; every fifth is a Blender job needing `>=4.1`. No deadlines or caps: tests set
    /// them.
    pub fn generate(&self, tasks: usize, workers: usize, jobs: usize, seed: u64) -> MarketView {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let offers = self.offers(workers, &mut rng);
        let jobs = jobs.max(1);
        let mut job_views = Vec::with_capacity(jobs);
        let mut next_task = 0u64;
        for j in 0..jobs {
            let count = tasks / jobs + usize::from(j < tasks % jobs);
            let frames = self.animation(count, &mut rng);
            let mut job = JobView::new(
                JobId(j as u64),
                frames
                    .into_iter()
                    .map(|work| {
                        next_task += 1;
                        TaskView::waiting(TaskId(next_task - 1), work)
                    })
                    .collect(),
            );
            job.tier = Tier::ALL[j % 3];
            if rng.random_bool(self.high_vram_job_share.clamp(0.0, 1.0)) {
                job.requirements.min_vram_mib = 12_288;
            }
            if j % 5 == 4 {
                job.renderer = (
                    RendererKind::Blender,
                    VersionConstraint::AtLeast(Version::new(4, 1, 0)),
                );
            }
            job_views.push(job);
        }
        MarketView::new(job_views, offers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_is_deterministic_and_valid() {
        let a = MarketView::synthetic(500, 40, 3, 7);
        let b = MarketView::synthetic(500, 40, 3, 7);
        assert_eq!(a, b);
        assert_eq!(a.task_count(), 500);
        a.validate().unwrap();
        assert_ne!(a, MarketView::synthetic(500, 40, 3, 8));
    }
}
