//! Matrix case H5 on built-in renders: a worker that rendered 2N samples where N were asked is
//! never rejected. 4 frames at 512×288 (N = 16, 16 tiles of 64 px), the seeds that the two-sided z
//! count rejected (docs/BENCHMARKS.md); the one-sided z count must stay far below its escalate edge.
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Shot;
use pictor_core::OutputFormat;
use pictor_core::api::Verdict;
use pictor_verify::Thresholds;

#[test]
fn more_samples_than_asked_is_never_rejected() {
    let shot = Shot {
        width: 512,
        height: 288,
        samples: 16,
        frame: 12,
    };
    for i in [7u64, 0, 3, 12] {
        let seed = 7_000_001 * (i + 1);
        let image = shot.render(2 * shot.samples, seed);
        let report = shot.verify(image, OutputFormat::Exr, seed, 10_000 + i);
        let z = report.rounds[0].decision.stats.z_excess;
        println!(
            "H5 seed {seed}: {:?}, round-1 z excess {:.4} %",
            report.verdict,
            z * 100.0
        );
        assert_ne!(report.verdict, Verdict::Reject, "{:?}", report.reasons);
        assert!(
            z < Thresholds::default().z_fraction_escalate / 2.0,
            "z excess {z} near its edge"
        );
    }
}
