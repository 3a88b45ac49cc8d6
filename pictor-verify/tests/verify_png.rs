//! Frames stored as PNG (clamped to 0..=1, quantized in sRGB) are verified against references
//! rendered with the frame's own sample count (`ReferenceModel::Matched`), centred on the first. The split N/2-sample
//! references rejected every honest PNG frame here (clamping is concave: noisier references lose
//! more to it, so honest frames sat above `R̄`); a cheat must still be rejected.
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Shot;
use pictor_core::OutputFormat;
use pictor_core::api::Verdict;
use pictor_render::LinearImage;
use pictor_verify::protocol::{ReferenceModel, VerifyReport};

const SHOT: Shot = Shot {
    width: 192,
    height: 108,
    samples: 16,
    frame: 12,
};

/// `image` as a checker receives it from a `format` file.
fn through(image: &LinearImage, format: OutputFormat) -> LinearImage {
    LinearImage::decode(&image.encode(format).expect("encode")).expect("decode")
}

fn verify(image: LinearImage, format: OutputFormat, seed: u64, secret: u64) -> VerifyReport {
    SHOT.verify(image, format, seed, secret)
}

fn render(seed: u64) -> LinearImage {
    SHOT.render(SHOT.samples, seed)
}

#[test]
fn honest_png_frames_are_accepted_with_matched_references() {
    for (i, format) in [
        OutputFormat::Png8,
        OutputFormat::Png8,
        OutputFormat::Png8,
        OutputFormat::Png16,
    ]
    .into_iter()
    .enumerate()
    {
        let seed = 1_000_003 * (i as u64 + 1);
        let report = verify(through(&render(seed), format), format, seed, i as u64);
        println!(
            "{format:?} seed {seed}: {:?} {:?}",
            report.verdict, report.reasons
        );
        let round = &report.rounds[0];
        assert_eq!(round.reference_model, ReferenceModel::Matched);
        assert_eq!(
            round.reference_samples, SHOT.samples,
            "one reference = N samples"
        );
        assert_ne!(report.verdict, Verdict::Reject, "{:?}", report.reasons);
        let stats = &round.decision.stats;
        // Round 1 sits inside every accept band: no escalation either.
        assert!(
            (0.85..1.15).contains(&stats.q)
                && stats.bias_z_max < 4.5
                && (0.8..1.25).contains(&stats.noise_ratio),
            "round 1 off its honest centre: Q {:.3}, bias_z {:.2}, noise ratio {:.3}",
            stats.q,
            stats.bias_z_max,
            stats.noise_ratio
        );
        assert_eq!(report.rounds.len(), 1, "{:?}", report.reasons);
    }
}

#[test]
fn exr_frames_keep_split_references() {
    let seed = 1_000_003;
    let report = verify(render(seed), OutputFormat::Exr, seed, 0);
    assert_eq!(report.rounds[0].reference_model, ReferenceModel::Split);
    assert_eq!(report.rounds[0].reference_samples, SHOT.samples / 2);
    assert_eq!(report.verdict, Verdict::Accept, "{:?}", report.reasons);
}

#[test]
fn cheap_png_frames_are_still_rejected() {
    // C1: a quarter of the samples; C4: the frame three frames later (a re-used render).
    let seed = 7_000_001;
    let cheap = SHOT.render(SHOT.samples / 4, seed);
    let later = Shot {
        frame: SHOT.frame + 3,
        ..SHOT
    }
    .render(SHOT.samples, seed);
    for (name, image) in [("N/4 samples", cheap), ("frame + 3", later)] {
        let report = verify(
            through(&image, OutputFormat::Png8),
            OutputFormat::Png8,
            seed,
            9,
        );
        println!("{name}: {:?} {:?}", report.verdict, report.reasons);
        assert_eq!(
            report.verdict,
            Verdict::Reject,
            "{name}: {:?}",
            report.reasons
        );
    }
}
