//! Pricing: worker offers, work estimates, fee splits, tier multipliers and quotes.
//!
//! Work is measured in **bench-seconds** (seconds on the reference machine). A worker sets its own
//! price per **bench-hour of work** (the industry's OctaneBench-hour), so the cost of a task does not
//! depend on which worker's speed renders it: `cost = work × price × tier multiplier`, computed in
//! integers with [`Money::for_work`] on milli-bench-seconds and rounded up (holds and quotes never
//! under-reserve). Speed only decides *when* the work is done.

use crate::error::{Error, Result};
use crate::ids::WorkerId;
use crate::job::{GpuVendor, RendererKind, Tier, Version};
use crate::money::{Money, Rounding};
use serde::{Deserialize, Serialize};

/// Basis points in one whole (100 %).
pub const BPS_PER_WHOLE: u32 = 10_000;

/// A worker's reliability: a Beta posterior over the outcome of its tasks.
///
/// Starts from a uniform `Beta(1, 1)` prior; every accepted task adds to α, every rejected or expired
/// task adds to β.
///
/// ```
/// use pictor_core::pricing::Reliability;
/// let r = Reliability { accepted: 98, rejected: 1, expired: 1 };
/// assert!((r.mean() - 99.0 / 102.0).abs() < 1e-12);
/// assert!(r.lower_quantile(0.05) < r.mean());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Reliability {
    /// Tasks whose result was verified and accepted.
    pub accepted: u32,
    /// Tasks whose result was rejected by a checker.
    pub rejected: u32,
    /// Leases that expired without a result.
    pub expired: u32,
}

impl Reliability {
    /// The posterior's α = 1 + accepted.
    pub fn alpha(&self) -> f64 {
        1.0 + f64::from(self.accepted)
    }

    /// The posterior's β = 1 + rejected + expired.
    pub fn beta(&self) -> f64 {
        1.0 + f64::from(self.rejected) + f64::from(self.expired)
    }

    /// Posterior mean probability that a task succeeds.
    pub fn mean(&self) -> f64 {
        self.alpha() / (self.alpha() + self.beta())
    }

    /// The `q`-quantile of the posterior (e.g. `q = 0.05` for a pessimistic estimate), by bisection on
    /// the regularised incomplete beta function. `q` is clamped to `[0, 1]`.
    pub fn lower_quantile(&self, q: f64) -> f64 {
        let q = if q.is_nan() { 0.5 } else { q.clamp(0.0, 1.0) };
        let (a, b) = (self.alpha(), self.beta());
        let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
        for _ in 0..60 {
            let mid = 0.5 * (lo + hi);
            if regularized_incomplete_beta(a, b, mid) < q {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
    }
}

/// ln Γ(x) for x > 0 (Lanczos approximation, g = 7, 9 terms; relative error ~1e-15).
fn ln_gamma(x: f64) -> f64 {
    const COEFFICIENTS: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = COEFFICIENTS[0];
    for (i, c) in COEFFICIENTS.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    let t = x + 7.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// I_x(a, b) by the continued fraction of Numerical Recipes (modified Lentz).
fn regularized_incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    let front = ln_front.exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_continued_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_continued_fraction(b, a, 1.0 - x) / b
    }
}

fn beta_continued_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..300 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < 1e-14 {
            break;
        }
    }
    h
}

/// Whether an offer is one machine or a render farm's bulk capacity.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum OfferKind {
    /// One GPU machine (possibly with several slots, one per GPU).
    Individual,
    /// A render farm's bulk offer, served by a farm adapter. Its capacity must equal
    /// `parallel_slots × speed` (bench-hours of work per hour of wall time).
    Farm {
        /// Bench-hours of work the farm renders per hour.
        capacity_bench_hours_per_hour: f64,
    },
}

/// What a worker (or a farm) offers the network: price, speed, reliability and hardware.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkerOffer {
    /// The worker making the offer (its account id).
    pub worker: WorkerId,
    /// Price per bench-hour of work, set by the worker.
    pub price_per_bench_hour: Money,
    /// Speed of one slot: bench-seconds of work per second of wall time (> 0, finite).
    pub speed: f64,
    /// Tasks the offer renders at once, each at `speed` (1 for one GPU; a farm's GPU count).
    pub parallel_slots: u32,
    /// Track record.
    #[serde(default)]
    pub reliability: Reliability,
    /// GPU memory of one slot, in MiB.
    pub vram_mib: u32,
    /// GPU maker.
    pub vendor: GpuVendor,
    /// Installed renderers and their versions.
    pub renderers: Vec<(RendererKind, Version)>,
    /// Free-form capability labels.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Seconds from now before the offer can start work (a farm's queue, a machine waking up).
    #[serde(default)]
    pub lead_time_secs: f64,
    /// Individual machine or farm.
    pub kind: OfferKind,
    /// The cheapest service tier whose jobs the worker takes: `economy` takes every job,
    /// `standard` standard and priority jobs, `priority` only priority jobs.
    #[serde(default)]
    pub min_tier: Tier,
}

impl WorkerOffer {
    /// A single-GPU offer with a uniform prior reliability, no tags and no lead time.
    pub fn individual(
        worker: WorkerId,
        price_per_bench_hour: Money,
        speed: f64,
        vram_mib: u32,
        vendor: GpuVendor,
        renderers: Vec<(RendererKind, Version)>,
    ) -> Self {
        WorkerOffer {
            worker,
            price_per_bench_hour,
            speed,
            parallel_slots: 1,
            reliability: Reliability::default(),
            vram_mib,
            vendor,
            renderers,
            tags: Vec::new(),
            lead_time_secs: 0.0,
            kind: OfferKind::Individual,
            min_tier: Tier::Economy,
        }
    }

    /// Total throughput: bench-seconds of work per second over all slots.
    pub fn capacity(&self) -> f64 {
        self.speed * f64::from(self.parallel_slots)
    }

    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<()> {
        if !(self.speed.is_finite() && self.speed > 0.0) {
            return Err(Error::invalid(
                "speed",
                format!("{} is not a positive finite number", self.speed),
            ));
        }
        if self.parallel_slots == 0 {
            return Err(Error::invalid("parallel_slots", "must be at least 1"));
        }
        if !(self.lead_time_secs.is_finite() && self.lead_time_secs >= 0.0) {
            return Err(Error::invalid(
                "lead_time_secs",
                format!(
                    "{} is not a non-negative finite number",
                    self.lead_time_secs
                ),
            ));
        }
        if self.renderers.is_empty() {
            return Err(Error::invalid("renderers", "a worker needs a renderer"));
        }
        if let OfferKind::Farm {
            capacity_bench_hours_per_hour: capacity,
        } = self.kind
        {
            let expected = self.capacity();
            if !(capacity.is_finite() && capacity > 0.0)
                || (capacity - expected).abs() > 1e-9 * expected.max(1.0)
            {
                return Err(Error::invalid(
                    "kind.capacity_bench_hours_per_hour",
                    format!(
                        "{capacity} must equal parallel_slots × speed = {expected} (bench-hours per hour)"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// One-sided t quantiles t(0.90, df) for df = 1..=30.
const T90: [f64; 30] = [
    3.078, 1.886, 1.638, 1.533, 1.476, 1.440, 1.415, 1.397, 1.383, 1.372, 1.363, 1.356, 1.350,
    1.345, 1.341, 1.337, 1.333, 1.330, 1.328, 1.325, 1.323, 1.321, 1.319, 1.318, 1.316, 1.315,
    1.314, 1.313, 1.311, 1.310,
];

/// The 0.90 quantile of Student's t with `df` degrees of freedom (table to 30, Cornish–Fisher after).
fn t90(df: usize) -> f64 {
    match df {
        0 => f64::INFINITY,
        1..=30 => T90[df - 1],
        _ => {
            let z = 1.281_551_565_545;
            let df = df as f64;
            z + (z * z * z + z) / (4.0 * df)
        }
    }
}

/// The `q`-quantile of sorted data by linear interpolation between order statistics (Hyndman–Fan
/// type 7, the default of R and NumPy).
fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => 0.0,
        1 => sorted[0],
        n => {
            let h = (n - 1) as f64 * q.clamp(0.0, 1.0);
            let lo = h.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
        }
    }
}

/// How much work a job's frames are, estimated from test renders.
///
/// Built from per-frame bench-second samples of ~10 frames spread evenly over the range (stratified).
/// Two spreads are kept apart: the per-frame quantiles (how uneven frames are, which drives the tail
/// of the ETA) and the standard error of the mean (how sure we are of the *total*, which drives the
/// P90 cost).
///
/// ```
/// use pictor_core::pricing::WorkEstimate;
/// let estimate = WorkEstimate::from_samples(&[10.0, 12.0, 11.0, 30.0, 9.0])?;
/// let (p50, p90) = estimate.total_bench_secs(250);
/// assert!(p90 > p50 && p50 > 0.0);
/// # Ok::<(), pictor_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkEstimate {
    /// Mean bench-seconds per frame.
    pub per_frame_mean: f64,
    /// Median bench-seconds per frame.
    pub per_frame_p50: f64,
    /// 90th percentile of bench-seconds per frame.
    pub per_frame_p90: f64,
    /// Sample standard deviation of bench-seconds per frame (0 when known exactly).
    pub per_frame_std_dev: f64,
    /// Number of test frames behind the estimate (0 when the work is known exactly).
    pub sample_count: u32,
}

impl WorkEstimate {
    /// An estimate with no uncertainty: every frame is `per_frame` bench-seconds.
    pub fn exact(per_frame: f64) -> Result<Self> {
        if !(per_frame.is_finite() && per_frame > 0.0) {
            return Err(Error::invalid(
                "per_frame",
                format!("{per_frame} is not a positive finite number of bench-seconds"),
            ));
        }
        Ok(WorkEstimate {
            per_frame_mean: per_frame,
            per_frame_p50: per_frame,
            per_frame_p90: per_frame,
            per_frame_std_dev: 0.0,
            sample_count: 0,
        })
    }

    /// From test-render samples (bench-seconds per frame). Needs at least two samples, each positive and
    /// finite: one sample says nothing about the spread.
    pub fn from_samples(samples: &[f64]) -> Result<Self> {
        if samples.len() < 2 {
            return Err(Error::invalid(
                "samples",
                format!(
                    "{} test frames; at least 2 are needed to estimate the spread (10 recommended)",
                    samples.len()
                ),
            ));
        }
        if let Some(bad) = samples.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
            return Err(Error::invalid(
                "samples",
                format!("{bad} is not a positive finite number of bench-seconds"),
            ));
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len() as f64;
        let mean = sorted.iter().sum::<f64>() / n;
        let variance = sorted.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (n - 1.0);
        Ok(WorkEstimate {
            per_frame_mean: mean,
            per_frame_p50: quantile_sorted(&sorted, 0.5),
            per_frame_p90: quantile_sorted(&sorted, 0.9),
            per_frame_std_dev: variance.sqrt(),
            sample_count: u32::try_from(sorted.len()).unwrap_or(u32::MAX),
        })
    }

    /// Total bench-seconds of `frames` frames at P50 and P90.
    ///
    /// P50 is `frames × mean`. P90 adds the one-sided 90 % Student-t margin on the mean,
    /// `t(0.9, n−1) × s / √n`, with the finite-population correction `√((N−n)/(N−1))` (the test
    /// frames are part of the job). The per-frame P90 is deliberately *not* multiplied by the frame
    /// count: frames are not all at their 90th percentile at once.
    pub fn total_bench_secs(&self, frames: usize) -> (f64, f64) {
        let total = frames as f64;
        let p50 = total * self.per_frame_mean;
        if self.sample_count < 2 || frames == 0 {
            return (p50, p50);
        }
        let n = f64::from(self.sample_count);
        let fpc = if total > n && total > 1.0 {
            ((total - n) / (total - 1.0)).sqrt()
        } else {
            0.0
        };
        let margin = t90(self.sample_count as usize - 1) * self.per_frame_std_dev / n.sqrt() * fpc;
        (p50, total * (self.per_frame_mean + margin))
    }

    /// The ratio P90 ÷ P50 of the total for `frames` frames (≥ 1).
    pub fn p90_factor(&self, frames: usize) -> f64 {
        let (p50, p90) = self.total_bench_secs(frames);
        if p50 > 0.0 { (p90 / p50).max(1.0) } else { 1.0 }
    }
}

/// How a payment is shared between the worker, the checker and the network, in basis points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FeeSplit {
    /// The checker's share, in basis points (1 bp = 0.01 %).
    pub checker_fee_bps: u32,
    /// The network's share, in basis points.
    pub network_fee_bps: u32,
}

impl Default for FeeSplit {
    /// Checker 10 %, network 10 %, worker 80 %.
    fn default() -> Self {
        FeeSplit {
            checker_fee_bps: 1_000,
            network_fee_bps: 1_000,
        }
    }
}

impl FeeSplit {
    /// Checks the fees leave the worker a non-negative share.
    pub fn validate(&self) -> Result<()> {
        if self.checker_fee_bps > BPS_PER_WHOLE {
            return Err(Error::invalid(
                "checker_fee_bps",
                format!("{} exceeds {BPS_PER_WHOLE}", self.checker_fee_bps),
            ));
        }
        if self.checker_fee_bps + self.network_fee_bps > BPS_PER_WHOLE {
            return Err(Error::invalid(
                "network_fee_bps",
                format!(
                    "checker {} + network {} bps exceed {BPS_PER_WHOLE}",
                    self.checker_fee_bps, self.network_fee_bps
                ),
            ));
        }
        Ok(())
    }

    /// Splits `amount` into `(worker, checker, network)`. The fees are rounded down, the worker gets
    /// the rest, so the three always sum exactly to `amount`.
    ///
    /// ```
    /// use pictor_core::{Money, pricing::FeeSplit};
    /// let (worker, checker, network) = FeeSplit::default().split(Money::from_micros(1_001))?;
    /// assert_eq!((worker.micros(), checker.micros(), network.micros()), (801, 100, 100));
    /// # Ok::<(), pictor_core::Error>(())
    /// ```
    pub fn split(&self, amount: Money) -> Result<(Money, Money, Money)> {
        self.validate()?;
        let whole = u64::from(BPS_PER_WHOLE);
        let checker = amount.mul_ratio(u64::from(self.checker_fee_bps), whole, Rounding::Down)?;
        let network = amount.mul_ratio(u64::from(self.network_fee_bps), whole, Rounding::Down)?;
        let worker = amount.checked_sub(checker)?.checked_sub(network)?;
        Ok((worker, checker, network))
    }
}

/// Price multipliers of the service tiers, in per-mille (1000 = ×1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TierMultipliers {
    /// Economy (default 800: −20 %).
    pub economy_per_mille: u32,
    /// Standard (default 1000).
    pub standard_per_mille: u32,
    /// Priority (default 1500: +50 %).
    pub priority_per_mille: u32,
}

impl Default for TierMultipliers {
    fn default() -> Self {
        TierMultipliers {
            economy_per_mille: 800,
            standard_per_mille: 1_000,
            priority_per_mille: 1_500,
        }
    }
}

impl TierMultipliers {
    /// The multiplier of `tier`, per-mille.
    pub fn per_mille(&self, tier: Tier) -> u32 {
        match tier {
            Tier::Economy => self.economy_per_mille,
            Tier::Standard => self.standard_per_mille,
            Tier::Priority => self.priority_per_mille,
        }
    }

    /// Checks every multiplier is positive.
    pub fn validate(&self) -> Result<()> {
        for (field, value) in [
            ("economy_per_mille", self.economy_per_mille),
            ("standard_per_mille", self.standard_per_mille),
            ("priority_per_mille", self.priority_per_mille),
        ] {
            if value == 0 {
                return Err(Error::invalid(field, "a tier multiplier must be positive"));
            }
        }
        Ok(())
    }
}

/// The reference machine's speed in samples × pixels per second: one bench-second of work is what it
/// renders in one second (the built-in tracer on one core of the reference machine; see
/// docs/BENCHMARKS.md). Workers' speeds and the coordinator's work estimates are relative to it.
pub const REFERENCE_SAMPLES_PX_PER_SEC: f64 = 1.1e6;

/// Market-wide pricing configuration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PricingConfig {
    /// Fee split applied at settlement.
    #[serde(default)]
    pub fees: FeeSplit,
    /// Tier price multipliers.
    #[serde(default)]
    pub tiers: TierMultipliers,
}

impl PricingConfig {
    /// Checks the fee split and the multipliers.
    pub fn validate(&self) -> Result<()> {
        self.fees.validate()?;
        self.tiers.validate()
    }

    /// What the creator pays for `work_bench_secs` of work at `price_per_bench_hour` in `tier`:
    /// `for_work(price, ⌈work × 1000⌉ milli-bench-seconds, Up) × multiplier ÷ 1000`, rounded up.
    pub fn task_cost(
        &self,
        price_per_bench_hour: Money,
        work_bench_secs: f64,
        tier: Tier,
    ) -> Result<Money> {
        let millis = bench_millis(work_bench_secs)?;
        let multiplier = u64::from(self.tiers.per_mille(tier));
        // Fast path in u64 (the same two round-ups as below), exact whenever nothing overflows.
        if let Some(product) = price_per_bench_hour.micros().checked_mul(millis) {
            let base = product.div_ceil(3_600_000);
            if let Some(scaled) = base.checked_mul(multiplier) {
                return Ok(Money::from_micros(scaled.div_ceil(1_000)));
            }
        }
        Money::for_work(price_per_bench_hour, millis, Rounding::Up)?.mul_ratio(
            multiplier,
            1_000,
            Rounding::Up,
        )
    }
}

/// Bench-seconds as whole milli-bench-seconds, rounded up; an error for negative or non-finite work.
pub fn bench_millis(work_bench_secs: f64) -> Result<u64> {
    if !(work_bench_secs.is_finite() && work_bench_secs >= 0.0) {
        return Err(Error::invalid(
            "work_bench_secs",
            format!("{work_bench_secs} is not a non-negative finite number"),
        ));
    }
    let millis = (work_bench_secs * 1_000.0).ceil();
    if millis >= u64::MAX as f64 {
        return Err(Error::MoneyOutOfRange {
            operation: "bench-milliseconds",
        });
    }
    Ok(millis as u64)
}

/// Cost of one tier for the same plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TierQuote {
    /// The tier these costs are for; `Quote::tiers` lists every tier, cheapest first.
    pub tier: Tier,
    /// Cost at P50 work in that tier.
    pub cost_p50: Money,
    /// Cost at P90 work in that tier.
    pub cost_p90: Money,
}

/// A price and time estimate for a job that is not yet accepted.
///
/// **Escrow policy**: `escrow_hold` is the P90 cost, except when the creator set a budget cap below it,
/// in which case the hold is the cap (`capped = true`) and the job pauses for a top-up if spend reaches
/// it. The hold therefore never under-reserves the P90 cost unless capped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Quote {
    /// The strategy that planned the quote.
    pub strategy: String,
    /// Cost at the median work estimate.
    pub cost_p50: Money,
    /// Cost at the 90th-percentile work estimate (≥ `cost_p50`).
    pub cost_p90: Money,
    /// Seconds from now to the job's finish at P50 work.
    pub eta_p50_secs: f64,
    /// Seconds from now to the job's finish at P90 work (≥ `eta_p50_secs`).
    pub eta_p90_secs: f64,
    /// Amount moved into escrow on submit: `min(cost_p90, budget_cap)`.
    pub escrow_hold: Money,
    /// True when the budget cap is below the P90 cost and the hold is the cap.
    pub capped: bool,
    /// True when the deadline is met at P50 but not at P90 work.
    pub deadline_at_risk: bool,
    /// How the P90 cost would be shared at settlement: `(worker, checker, network)`.
    pub fee_split_p90: (Money, Money, Money),
    /// The same plan's cost in every tier (the ETA is only for the job's own tier).
    pub tiers: Vec<TierQuote>,
    /// True when no worker able to render the job is online now: the quote is priced on the
    /// workers seen recently, the job waits in the queue and starts when one connects (the ETAs
    /// count from then).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub queued_until_online: bool,
    /// The tasks the P50 plan routes to render farms' bulk offers (the rest go to single
    /// machines), and their cost.
    #[serde(default)]
    pub farm_share: FarmShare,
}

/// The part of a quoted job a plan routes to render farms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FarmShare {
    /// Tasks planned on farms.
    pub tasks: u32,
    /// Tasks of the job.
    pub of_tasks: u32,
    /// Their cost at the P50 work estimate.
    pub cost_p50: Money,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn beta_quantile_matches_known_values() {
        // Beta(1, 1) is uniform.
        let uniform = Reliability::default();
        assert!((uniform.lower_quantile(0.05) - 0.05).abs() < 1e-9);
        // Beta(2, 1): CDF x², so the 0.25 quantile is 0.5.
        let r = Reliability {
            accepted: 1,
            ..Reliability::default()
        };
        assert!((r.lower_quantile(0.25) - 0.5).abs() < 1e-9);
    }

    #[test]
    fn sample_quantiles_are_type_7() {
        let e = WorkEstimate::from_samples(&[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        assert_eq!(e.per_frame_p50, 3.0);
        assert!((e.per_frame_p90 - 4.6).abs() < 1e-12);
        assert!(WorkEstimate::from_samples(&[1.0]).is_err());
        assert_eq!(
            WorkEstimate::from_samples(&[1.0, -1.0])
                .unwrap_err()
                .field(),
            Some("samples")
        );
    }

    #[test]
    fn offer_validation_names_fields() {
        let mut offer = WorkerOffer::individual(
            WorkerId(1),
            Money::from_micros(1),
            1.0,
            8_192,
            GpuVendor::Nvidia,
            vec![(RendererKind::Builtin, Version::new(1, 0, 0))],
        );
        assert!(offer.validate().is_ok());
        offer.speed = f64::NAN;
        assert_eq!(offer.validate().unwrap_err().field(), Some("speed"));
        offer.speed = 2.0;
        offer.parallel_slots = 4;
        offer.kind = OfferKind::Farm {
            capacity_bench_hours_per_hour: 7.0,
        };
        assert_eq!(
            offer.validate().unwrap_err().field(),
            Some("kind.capacity_bench_hours_per_hour")
        );
        offer.kind = OfferKind::Farm {
            capacity_bench_hours_per_hour: 8.0,
        };
        assert!(offer.validate().is_ok());
    }

    proptest! {
        #[test]
        fn task_cost_fast_path_matches_money(price in any::<u32>(), work in 0.0f64..1e7, tier in 0usize..3) {
            let config = PricingConfig::default();
            let tier = Tier::ALL[tier];
            let millis = bench_millis(work).unwrap();
            let slow = Money::for_work(Money::from_micros(u64::from(price)), millis, Rounding::Up)
                .unwrap()
                .mul_ratio(u64::from(config.tiers.per_mille(tier)), 1_000, Rounding::Up)
                .unwrap();
            prop_assert_eq!(config.task_cost(Money::from_micros(u64::from(price)), work, tier).unwrap(), slow);
        }

        #[test]
        fn fee_split_sums_exactly(amount in any::<u64>(), checker in 0u32..=5_000, network in 0u32..=5_000) {
            let split = FeeSplit { checker_fee_bps: checker, network_fee_bps: network };
            let (w, c, n) = split.split(Money::from_micros(amount)).unwrap();
            prop_assert_eq!(
                u128::from(w.micros()) + u128::from(c.micros()) + u128::from(n.micros()),
                u128::from(amount)
            );
            prop_assert!(u128::from(c.micros()) * 10_000 <= u128::from(amount) * u128::from(checker));
        }
    }
}
