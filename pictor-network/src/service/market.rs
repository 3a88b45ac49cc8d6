//! The market's bounds: what a worker may declare, what the network believes of it, and which
//! offers a quote is priced on.
//!
//! A worker's price and speed are its own word. One dishonest offer must not move every creator's
//! quote, so (docs/ARCHITECTURE.md, "The market's bounds"):
//! - **Declarations are bounded.** A price above [`MarketRules::max_price_per_bench_hour`], a speed
//!   outside `1..=1,000,000` thousandths or slots outside `1..=max_slots` are refused at
//!   registration with a 400 naming the field.
//! - **Speed is measured, not believed.** Until a worker's accepted tasks add up to
//!   [`MarketRules::measure_after_bench_ms`] of work, the scheduler plans it at no more than the
//!   probation allowance; afterwards at no more than its measured speed (bench-time of its accepted
//!   tasks over the wall time from lease to result) times a tolerance. Its declared speed only ever
//!   lowers that.
//! - **Outliers are left out of quotes.** Offers priced above `outlier_price_factor ×` the median
//!   price of the eligible offers are not planned, unless the creator's deadline cannot be met
//!   without them.

use crate::store::WorkerRow;
use pictor_core::Money;
use pictor_core::pricing::{OfferKind, WorkerOffer};
use pictor_core::{JobId, JobSpec, WorkerId};
use pictor_schedule::{self as schedule, engine::offer_is_eligible};

/// The market's bounds, with documented defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MarketRules {
    /// The highest price a worker may ask per bench-hour (default 1,000 credits).
    pub max_price_per_bench_hour: Money,
    /// The most slots (concurrent leases) a worker may declare (default 64).
    pub max_slots: u32,
    /// The speed, in thousandths of the reference machine, a worker is planned at before its
    /// accepted work measures it (default 4,000: four reference machines).
    pub probation_speed_millis: u32,
    /// Accepted bench-milliseconds after which the measured speed replaces the probation allowance
    /// (default 60,000: one bench-minute, enough that per-task overheads do not dominate).
    pub measure_after_bench_ms: u64,
    /// How far above its measured speed a worker may be planned, permille (default 1,250: +25 %).
    pub measured_tolerance_permille: u32,
    /// An offer priced above this multiple of the eligible offers' median price is an outlier,
    /// left out of quotes unless the deadline needs it (default 5).
    pub outlier_price_factor: u64,
}

impl Default for MarketRules {
    fn default() -> Self {
        MarketRules {
            max_price_per_bench_hour: Money::from_micros(1_000_000_000),
            max_slots: 64,
            probation_speed_millis: 4_000,
            measure_after_bench_ms: 60_000,
            measured_tolerance_permille: 1_250,
            outlier_price_factor: 5,
        }
    }
}

impl MarketRules {
    /// The speed (bench-seconds per second) the network plans `worker` at: its declared speed,
    /// bounded by the probation allowance until it has been measured, then by its measured speed
    /// with the tolerance.
    pub fn believed_speed(&self, worker: &WorkerRow) -> f64 {
        let declared = f64::from(worker.speed_millis.max(1)) / 1000.0;
        let record = &worker.record;
        let ceiling = if record.bench_ms >= self.measure_after_bench_ms && record.wall_ms > 0 {
            let measured = record.bench_ms as f64 / record.wall_ms as f64;
            measured * f64::from(self.measured_tolerance_permille) / 1000.0
        } else {
            f64::from(self.probation_speed_millis) / 1000.0
        };
        declared.min(ceiling).max(1e-3)
    }

    /// The market offer of a registered worker, at its believed speed.
    pub fn offer_of(&self, worker: &WorkerRow) -> WorkerOffer {
        let mut offer = WorkerOffer::individual(
            WorkerId(worker.account_id),
            worker.price,
            self.believed_speed(worker),
            worker.hardware.vram_mib,
            worker.hardware.vendor,
            worker.hardware.renderers.clone(),
        );
        offer.parallel_slots = worker.slots.max(1);
        offer.min_tier = worker.min_tier;
        if let Some(delay) = worker.queue_delay_secs {
            // A farm's bulk offer: its slots in parallel, after its queue's delay.
            offer.kind = OfferKind::Farm {
                capacity_bench_hours_per_hour: offer.capacity(),
            };
            offer.lead_time_secs = f64::from(delay);
        }
        offer
    }

    /// Splits the offers eligible for `spec` into those a quote is priced on and the price outliers
    /// (above `outlier_price_factor ×` the lower median of the eligible prices). Offers not eligible
    /// for `spec` are dropped: they could not take its tasks anyway.
    pub fn partition_outliers(
        &self,
        spec: &JobSpec,
        offers: Vec<WorkerOffer>,
    ) -> (Vec<WorkerOffer>, Vec<WorkerOffer>) {
        let mut job = schedule::JobView::new(JobId(0), Vec::new());
        job.tier = spec.tier;
        job.requirements = spec.requirements.clone();
        job.renderer = (spec.renderer.kind, spec.renderer.version);
        let eligible: Vec<WorkerOffer> = offers
            .into_iter()
            .filter(|offer| offer_is_eligible(offer, &job))
            .collect();
        let mut prices: Vec<u64> = eligible
            .iter()
            .map(|o| o.price_per_bench_hour.micros())
            .collect();
        prices.sort_unstable();
        let Some(median) = prices.get(prices.len().saturating_sub(1) / 2).copied() else {
            return (eligible, Vec::new());
        };
        let limit = median.saturating_mul(self.outlier_price_factor.max(1));
        eligible
            .into_iter()
            .partition(|offer| offer.price_per_bench_hour.micros() <= limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::WorkRecord;
    use pictor_core::api::WorkerHardware;
    use pictor_core::job::{GpuVendor, RendererKind, Version};

    fn worker(id: u64, price_micros: u64, speed_millis: u32, record: WorkRecord) -> WorkerRow {
        WorkerRow {
            account_id: id,
            name: format!("w{id}"),
            public_key: [0; 32],
            hardware: WorkerHardware {
                vendor: GpuVendor::Cpu,
                gpu_name: "cpu".into(),
                vram_mib: 4096,
                renderers: vec![(RendererKind::Builtin, Version::new(0, 1, 0))],
            },
            price: Money::from_micros(price_micros),
            speed_millis,
            slots: 1,
            last_seen_ms: 0,
            record,
            min_tier: pictor_core::job::Tier::Economy,
            queue_delay_secs: None,
        }
    }

    #[test]
    fn a_declared_speed_is_believed_only_up_to_the_probation_allowance() {
        let rules = MarketRules::default();
        let boaster = worker(1, 1, 1_000_000, WorkRecord::default());
        assert_eq!(rules.believed_speed(&boaster), 4.0);
        let modest = worker(2, 1, 500, WorkRecord::default());
        assert_eq!(rules.believed_speed(&modest), 0.5);
    }

    #[test]
    fn a_measured_worker_is_planned_at_its_measured_speed_with_the_tolerance() {
        let rules = MarketRules::default();
        // 120 bench-seconds of accepted work took 60 s of wall time: measured 2.0, believed ≤ 2.5.
        let measured = WorkRecord {
            accepted_tasks: 10,
            bench_ms: 120_000,
            wall_ms: 60_000,
        };
        assert_eq!(
            rules.believed_speed(&worker(1, 1, 1_000_000, measured)),
            2.5
        );
        assert_eq!(rules.believed_speed(&worker(2, 1, 1_500, measured)), 1.5);
        // Too little work measured: still on probation.
        let early = WorkRecord {
            accepted_tasks: 2,
            bench_ms: 1_000,
            wall_ms: 100_000,
        };
        assert_eq!(rules.believed_speed(&worker(3, 1, 3_000, early)), 3.0);
    }

    #[test]
    fn an_offer_far_above_the_median_price_is_an_outlier() {
        let rules = MarketRules::default();
        let spec = JobSpec::builder(
            pictor_core::AssetId::new("ab".repeat(32)).expect("asset id"),
            "1-4".parse().expect("frames"),
        )
        .build()
        .expect("spec");
        let offers: Vec<WorkerOffer> = [(1, 2_000_000), (2, 3_000_000), (3, 10_000_000_000_000)]
            .iter()
            .map(|&(id, price)| rules.offer_of(&worker(id, price, 1000, WorkRecord::default())))
            .collect();
        let (kept, outliers) = rules.partition_outliers(&spec, offers);
        let ids = |offers: &[WorkerOffer]| offers.iter().map(|o| o.worker.0).collect::<Vec<_>>();
        assert_eq!(ids(&kept), [1, 2]);
        assert_eq!(ids(&outliers), [3]);
    }
}
