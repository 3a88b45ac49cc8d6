//! Frames stored as PNG (clamped to 0..=1, quantized in sRGB) are verified against references
//! rendered with the frame's own sample count (`ReferenceModel::Matched`), centred on the first. The split N/2-sample
//! references rejected every honest PNG frame here (clamping is concave: noisier references lose
//! more to it, so honest frames sat above `R̄`); a cheat must still be rejected.

use pictor_core::OutputFormat;
use pictor_core::api::Verdict;
use pictor_core::verify::CpuVerifier;
use pictor_core::verify::intake::{DuplicateIndex, facts_of};
use pictor_core::verify::protocol::{
    Checker, ProtocolConfig, ReferenceModel, VerifyJob, VerifyReport, verify_image,
};
use pictor_render::{BuiltinRenderer, LinearImage, RenderControl, RenderRequest, Renderer};
use std::time::Instant;

const WIDTH: u32 = 192;
const HEIGHT: u32 = 108;
const SAMPLES: u32 = 16;
const FRAME: u32 = 12;

fn render(seed: u64) -> LinearImage {
    let mut request = RenderRequest::new(WIDTH, HEIGHT, SAMPLES, seed);
    request.frame = FRAME;
    BuiltinRenderer::default()
        .render(&request, &RenderControl::default())
        .expect("render")
        .regions
        .remove(0)
        .image
}

/// `image` as a checker receives it from a `format` file.
fn through(image: &LinearImage, format: OutputFormat) -> LinearImage {
    LinearImage::decode(&image.encode(format).expect("encode")).expect("decode")
}

fn verify(image: LinearImage, format: OutputFormat, seed: u64, secret: u64) -> VerifyReport {
    let renderer = BuiltinRenderer::default();
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&secret.to_le_bytes());
    key[8..16].copy_from_slice(&seed.to_le_bytes());
    let checker = Checker {
        renderer: &renderer,
        verifier: &CpuVerifier,
        secret: key,
        config: ProtocolConfig::default(),
        control: RenderControl::default(),
    };
    let job = VerifyJob {
        frame: FRAME,
        ..VerifyJob::new(WIDTH, HEIGHT, SAMPLES, seed)
    };
    let facts = facts_of(&image, format);
    verify_image(
        &checker,
        &job,
        image,
        facts,
        &DuplicateIndex::new(),
        Instant::now(),
    )
    .expect("verdict")
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
            round.reference_samples, SAMPLES,
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
    assert_eq!(report.rounds[0].reference_samples, SAMPLES / 2);
    assert_eq!(report.verdict, Verdict::Accept, "{:?}", report.reasons);
}

#[test]
fn cheap_png_frames_are_still_rejected() {
    // C1: a quarter of the samples; C4: the frame three frames later (a re-used render).
    let seed = 7_000_001;
    let mut request = RenderRequest::new(WIDTH, HEIGHT, SAMPLES / 4, seed);
    request.frame = FRAME;
    let cheap = BuiltinRenderer::default()
        .render(&request, &RenderControl::default())
        .expect("render")
        .regions
        .remove(0)
        .image;
    request.samples = SAMPLES;
    request.frame = FRAME + 3;
    let later = BuiltinRenderer::default()
        .render(&request, &RenderControl::default())
        .expect("render")
        .regions
        .remove(0)
        .image;
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
