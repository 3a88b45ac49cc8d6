//! Verifying frames Blender finished with the scene's own settings (`output: scene`): two checks
//! per frame, as docs/VERIFICATION.md ("Faithful frames") describes.
//!
//! 1. **The deliverable is the finishing of its evidence.** The checker's Blender runs the scene's
//!    finishing (denoiser, compositor, view transform, output format) on the evidence instead of a
//!    render ([`BlenderRenderer::refinish_frame`]) and compares the file it writes with the
//!    deliverable, sample for sample: the finishing is deterministic, so any difference rejects.
//!    The whole frame is refinished, so filters that read neighbouring pixels (glare, blur,
//!    denoising) see exactly the worker's neighbours: no tile margins to get wrong. A multilayer
//!    deliverable's render passes must also equal the evidence's.
//! 2. **The evidence is an honest render.** The evidence's noisy combined pass (linear light,
//!    before denoising, compositing and the view transform) goes through the statistical protocol
//!    against the checker's own half-sample references, exactly like a linear OpenEXR frame.
//!
//! Not yet decided statistically (the verdict escalates, with the reason): pixels adaptive
//! sampling stopped early (the protocol's noise model assumes every pixel took N samples), and
//! scenes with several view layers.

use anyhow::{Context, Result};
use pictor_core::api::{CheckLease, Verdict};
use pictor_core::job::OutputFormat;
use pictor_render::blender::finish::RefinishRequest;
use pictor_render::compare::compare_finishing;
use pictor_render::evidence::Evidence;
use pictor_render::{BlenderRenderer, RenderControl};
use pictor_verify::intake::{DuplicateIndex, facts_of};
use pictor_verify::protocol::{Checker, VerifyJob, VerifyReport, verify_image};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A sample-count pass value below this means adaptive sampling stopped the pixel early (Blender
/// writes the fraction of the samples taken: 1.0 for all of them).
const FULLY_SAMPLED: f32 = 0.999;

/// One delivered frame and its evidence, downloaded.
pub(super) struct FaithfulFrame {
    pub(super) frame: u32,
    pub(super) deliverable: PathBuf,
    pub(super) evidence: PathBuf,
}

/// What one frame's two checks found.
pub(super) struct FrameOutcome {
    pub(super) verdict: Verdict,
    pub(super) reasons: Vec<String>,
    pub(super) report: Option<VerifyReport>,
}

impl FrameOutcome {
    fn decided(verdict: Verdict, reason: String) -> Self {
        FrameOutcome {
            verdict,
            reasons: vec![reason],
            report: None,
        }
    }
}

/// Runs both checks on one frame. `work` is a folder for the refinished file.
pub(super) fn verify_faithful_frame(
    check: &CheckLease,
    main_file: &Path,
    checker: &Checker<'_>,
    frame: &FaithfulFrame,
    work: &Path,
) -> Result<FrameOutcome> {
    let started = Instant::now();
    let spec = &check.spec;
    let (width, height) = (spec.resolution.width, spec.resolution.height);
    let evidence_bytes = std::fs::read(&frame.evidence)
        .with_context(|| format!("reading {}", frame.evidence.display()))?;
    let evidence = match Evidence::decode(&evidence_bytes) {
        Ok(evidence) => evidence,
        Err(error) => {
            return Ok(FrameOutcome::decided(
                Verdict::Reject,
                format!("the evidence is not a readable OpenEXR: {error}"),
            ));
        }
    };
    if (evidence.width(), evidence.height()) != (width, height) {
        return Ok(FrameOutcome::decided(
            Verdict::Reject,
            format!(
                "the evidence is {}×{}, the job {width}×{height}",
                evidence.width(),
                evidence.height()
            ),
        ));
    }
    let layers = evidence.view_layers();
    let [layer] = layers.as_slice() else {
        return Ok(FrameOutcome::decided(
            Verdict::Escalate,
            format!(
                "the evidence holds view layers {layers:?}; one view layer is checked statistically, \
                 several are not yet"
            ),
        ));
    };

    // Check 1: the deliverable is the scene's finishing of the evidence.
    let blender = BlenderRenderer::new();
    let refinished = blender
        .refinish_frame(
            &RefinishRequest {
                scene: main_file.to_path_buf(),
                frame: frame.frame,
                resolution: spec.resolution,
                evidence: frame.evidence.clone(),
                out_dir: work.join(format!("refinished-{}", frame.frame)),
            },
            &RenderControl::with_timeout(Duration::from_secs(3600)),
        )
        .context("refinishing the evidence")?;
    let delivered = std::fs::read(&frame.deliverable)
        .with_context(|| format!("reading {}", frame.deliverable.display()))?;
    let again =
        std::fs::read(&refinished).with_context(|| format!("reading {}", refinished.display()))?;
    match compare_finishing(&delivered, &again) {
        Ok(difference) if difference.identical() => {}
        Ok(difference) => {
            return Ok(FrameOutcome::decided(
                Verdict::Reject,
                format!(
                    "the deliverable is not the scene's finishing of its evidence: {} of {} \
                     samples differ (by up to {}){}",
                    difference.differing,
                    difference.samples,
                    difference.max_abs,
                    if difference.unmatched_channels.is_empty() {
                        String::new()
                    } else {
                        format!(", channels {:?} unmatched", difference.unmatched_channels)
                    }
                ),
            ));
        }
        Err(error) => {
            return Ok(FrameOutcome::decided(
                Verdict::Reject,
                format!("the deliverable cannot be the scene's finishing of its evidence: {error}"),
            ));
        }
    }
    if let Some(reason) = passes_differ_from_evidence(&delivered, &evidence) {
        return Ok(FrameOutcome::decided(Verdict::Reject, reason));
    }

    // Check 2: the evidence is an honest render of the scene.
    if let Some(counts) = evidence.sample_counts(layer) {
        let early = counts.iter().filter(|&&c| c < FULLY_SAMPLED).count();
        if early > 0 {
            return Ok(FrameOutcome::decided(
                Verdict::Escalate,
                format!(
                    "adaptive sampling stopped {early} of {} pixels early; the statistical check \
                     of adaptively sampled pixels is not implemented yet",
                    counts.len()
                ),
            ));
        }
    }
    let Some(noisy) = evidence.noisy_combined(layer) else {
        return Ok(FrameOutcome::decided(
            Verdict::Reject,
            format!("the evidence has no combined pass for view layer {layer:?}"),
        ));
    };
    let job = VerifyJob {
        scene: Some(main_file.to_path_buf()),
        frame: frame.frame,
        width,
        height,
        samples: spec.samples,
        worker_seed: spec.seed.seed_for(frame.frame),
        engine: spec.renderer.engine,
        format: Some(OutputFormat::Exr),
    };
    let facts = facts_of(&noisy, OutputFormat::Exr);
    let report = verify_image(checker, &job, noisy, facts, &DuplicateIndex::new(), started)
        .map_err(anyhow::Error::new)
        .context("verifying the evidence")?;
    Ok(FrameOutcome {
        verdict: report.verdict,
        reasons: report
            .reasons
            .iter()
            .map(|reason| format!("evidence: {reason}"))
            .collect(),
        report: Some(report),
    })
}

/// For a multilayer OpenEXR deliverable: its render passes (every layer but the composite) must be
/// the evidence's own. `None` when they are, or when the deliverable has none.
fn passes_differ_from_evidence(delivered: &[u8], evidence: &Evidence) -> Option<String> {
    const OPENEXR_MAGIC: [u8; 4] = [0x76, 0x2f, 0x31, 0x01];
    if !delivered.starts_with(&OPENEXR_MAGIC) {
        return None;
    }
    let delivered = match Evidence::decode(delivered) {
        Ok(layers) => layers,
        Err(error) => return Some(format!("the deliverable does not decode: {error}")),
    };
    let composite = format!("{}.", pictor_render::evidence::COMPOSITE_LAYER);
    delivered
        .channel_names()
        .filter(|name| name.contains('.') && !name.starts_with(&composite))
        .find(|name| {
            evidence
                .channel(name)
                .map(|samples| samples.iter().map(|v| v.to_bits()).collect::<Vec<_>>())
                != delivered
                    .channel(name)
                    .map(|samples| samples.iter().map(|v| v.to_bits()).collect::<Vec<_>>())
        })
        .map(|name| format!("the deliverable's pass {name:?} is not the evidence's"))
}
