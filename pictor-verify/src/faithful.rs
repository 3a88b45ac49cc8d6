//! Verifying a frame Blender finished with the scene's own settings (a job's `output: scene`):
//! two checks, as docs/VERIFICATION.md ("Faithful frames") describes.
//!
//! 1. **The deliverable is the finishing of its evidence.** The checker's Blender runs the scene's
//!    finishing (denoiser, compositor, view transform, output format) on the evidence instead of a
//!    render ([`Renderer::refinish_frame`](pictor_render::Renderer::refinish_frame)) and compares
//!    the file it writes with the deliverable, sample for sample
//!    ([`compare_finishing`]): the finishing is deterministic, so any difference rejects. The whole
//!    frame is refinished, so filters that read neighbouring pixels (glare, blur, denoising) see
//!    exactly the worker's neighbours: there are no tile margins to get wrong. A multilayer
//!    deliverable's render passes must also equal the evidence's.
//! 2. **The evidence is an honest render.** The evidence's noisy combined pass (linear light,
//!    before denoising, compositing and the view transform) goes through the statistical protocol
//!    ([`verify_image`]) like a linear OpenEXR frame, against references sampled exactly like the
//!    frame — the scene's adaptive sampling and sampling pattern, at the frame's N
//!    ([`VerifyJob::scene_sampling`]) — with the matched model: each reference is then
//!    distributed exactly like the honest frame, whatever sample count each pixel stopped at and
//!    however the pattern spreads the error (Blender 4.2's blue noise).
//!
//! Not decided statistically (the verdict escalates, with the reason): evidence with several view
//! layers.

use crate::Verdict;
use crate::intake::{DuplicateIndex, facts_of};
use crate::protocol::{Checker, ProtocolError, VerifyJob, VerifyReport, verify_image};
use pictor_core::job::{Engine, OutputFormat, Resolution};
use pictor_render::blender::finish::RefinishRequest;
use pictor_render::compare::{
    DENOISED_FLOAT_TOLERANCE, DENOISED_TOLERANCE, EXACT, FrameDifference, Tolerance,
    compare_finishing,
};
use pictor_render::evidence::{COMPOSITE_LAYER, Evidence};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The cap on a faithful frame's reference renders, as a fraction of the worker's samples (the
/// protocol's [`ChallengeConfig::max_reference_cost`](crate::challenge::ChallengeConfig), 4.5 %
/// by default, is lowered to this). A faithful frame's check also refinishes it, a cost fixed per
/// frame that does not shrink with the samples (measured at 1920×1080 on a 2-core machine: about
/// 1.5 s with Blender's start to read the evidence, composite, apply the view transform and encode
/// the file, 1.6 % of a 128-sample render); the references make room so that the whole check
/// stays under 5 %. At 1920×1080 this gives 16 tiles of 32 px instead of 48.
pub const FAITHFUL_MAX_REFERENCE_COST: f64 = 0.02;

/// The first bytes of every OpenEXR file.
const OPENEXR_MAGIC: [u8; 4] = [0x76, 0x2f, 0x31, 0x01];

/// What a faithful frame is checked against: the job's scene and parameters, and the files.
#[derive(Clone, Debug, PartialEq)]
pub struct FaithfulJob {
    /// The `.blend` the frame was rendered from.
    pub scene: PathBuf,
    /// Frame number.
    pub frame: u32,
    /// Full-frame size.
    pub resolution: Resolution,
    /// Samples per pixel the worker was paid for (N; the maximum under adaptive sampling).
    pub samples: u32,
    /// The worker's seed (references never use it).
    pub worker_seed: u64,
    /// The engine the job named, if any.
    pub engine: Option<Engine>,
    /// The delivered file.
    pub deliverable: PathBuf,
    /// Its evidence (multilayer OpenEXR).
    pub evidence: PathBuf,
    /// A folder for the refinished file.
    pub work_dir: PathBuf,
}

/// The verdict on one faithful frame and what it rests on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaithfulReport {
    /// Accept, reject or escalate.
    pub verdict: Verdict,
    /// Why, each reason prefixed by its check (`finishing:` or `evidence:`).
    pub reasons: Vec<String>,
    /// How the deliverable compared with the refinished evidence (`None` when the evidence was
    /// refused before).
    pub finishing: Option<FrameDifference>,
    /// How far the refinished frame may differ: exact, or within a measured bound when the scene
    /// denoises.
    pub tolerance: Tolerance,
    /// Milliseconds the refinishing took.
    pub refinish_ms: u64,
    /// Whether the scene samples adaptively (the references were sampled the same way).
    pub adaptive_sampling: bool,
    /// The statistical protocol's report on the evidence, when it ran.
    pub evidence: Option<VerifyReport>,
}

impl FaithfulReport {
    fn decided(verdict: Verdict, reason: String) -> Self {
        FaithfulReport {
            verdict,
            reasons: vec![reason],
            finishing: None,
            tolerance: EXACT,
            refinish_ms: 0,
            adaptive_sampling: false,
            evidence: None,
        }
    }
}

/// Runs both checks on one frame with the checker's renderer (Blender), backend and secret.
/// An error means no verdict could be reached (a render or the refinishing failed on the
/// checker's side); every fault of the worker's files is a verdict.
pub fn verify_faithful_frame(
    checker: &Checker<'_>,
    job: &FaithfulJob,
) -> Result<FaithfulReport, ProtocolError> {
    let started = Instant::now();
    let (width, height) = (job.resolution.width, job.resolution.height);
    let read = |path: &Path| {
        std::fs::read(path).map_err(|error| {
            ProtocolError::Render(pictor_render::RenderError::io(
                format!("reading {}", path.display()),
                error,
            ))
        })
    };
    let evidence_bytes = read(&job.evidence)?;
    // One Blender process for the refinishing and every reference render (the scene loaded once).
    let session = checker.renderer.open_scene_session(&job.scene)?;
    let mut faithful_checker =
        checker.with_renderer(session.as_deref().unwrap_or(checker.renderer));
    let challenge = &mut faithful_checker.config.challenge;
    challenge.max_reference_cost = challenge
        .max_reference_cost
        .map(|cost| cost.min(FAITHFUL_MAX_REFERENCE_COST));
    let checker = &faithful_checker;

    // Blender starts and loads the scene while the evidence decodes.
    let evidence = match Evidence::decode(&evidence_bytes) {
        Ok(evidence) => evidence,
        Err(error) => {
            return Ok(FaithfulReport::decided(
                Verdict::Reject,
                format!("evidence: REJECT: not a readable OpenEXR: {error}"),
            ));
        }
    };
    if (evidence.width(), evidence.height()) != (width, height) {
        return Ok(FaithfulReport::decided(
            Verdict::Reject,
            format!(
                "evidence: REJECT: {}×{} where the job is {width}×{height}",
                evidence.width(),
                evidence.height()
            ),
        ));
    }
    let layers = evidence.view_layers();
    let [layer] = layers.as_slice() else {
        return Ok(FaithfulReport::decided(
            Verdict::Escalate,
            format!(
                "evidence: ESCALATE: view layers {layers:?}; the statistical check covers one view \
                 layer, not several yet"
            ),
        ));
    };

    // Check 1: the deliverable is the scene's finishing of the evidence.
    let refinish_started = Instant::now();
    let refinished = checker.renderer.refinish_frame(
        &RefinishRequest {
            scene: job.scene.clone(),
            frame: job.frame,
            resolution: job.resolution,
            evidence: job.evidence.clone(),
            out_dir: job.work_dir.join(format!("refinished-{}", job.frame)),
        },
        &checker.control,
    )?;
    let refinish_ms = u64::try_from(refinish_started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let delivered = read(&job.deliverable)?;
    let again = read(&refinished.output)?;
    let mut report = FaithfulReport {
        verdict: Verdict::Accept,
        reasons: Vec::new(),
        finishing: None,
        tolerance: EXACT,
        refinish_ms,
        adaptive_sampling: refinished.adaptive_sampling,
        evidence: None,
    };
    let tolerance = match (refinished.denoise, delivered.starts_with(&OPENEXR_MAGIC)) {
        (false, _) => EXACT,
        (true, false) => DENOISED_TOLERANCE,
        (true, true) => DENOISED_FLOAT_TOLERANCE,
    };
    report.tolerance = tolerance;
    match compare_finishing(&delivered, &again) {
        Ok(difference) => {
            let identical = difference.within(&tolerance);
            if !identical {
                report.verdict = Verdict::Reject;
                report.reasons.push(format!(
                    "finishing: REJECT: the deliverable is not the scene's finishing of its \
                     evidence: {} of {} samples differ (by up to {}; allowed: {} in {} %){}",
                    difference.differing,
                    difference.samples,
                    difference.max_abs,
                    tolerance.max_abs,
                    tolerance.max_fraction * 100.0,
                    if difference.unmatched_channels.is_empty() {
                        String::new()
                    } else {
                        format!(", channels {:?} unmatched", difference.unmatched_channels)
                    }
                ));
            }
            report.finishing = Some(difference);
            if !identical {
                return Ok(report);
            }
        }
        Err(error) => {
            report.verdict = Verdict::Reject;
            report.reasons.push(format!(
                "finishing: REJECT: the deliverable cannot be the scene's finishing of its \
                 evidence: {error}"
            ));
            return Ok(report);
        }
    }
    if let Some(reason) = passes_differ_from_evidence(&delivered, &evidence) {
        report.verdict = Verdict::Reject;
        report.reasons.push(format!("finishing: REJECT: {reason}"));
        return Ok(report);
    }

    // Check 2: the evidence is an honest render of the scene.
    let Some(noisy) = evidence.noisy_combined(layer) else {
        report.verdict = Verdict::Reject;
        report.reasons.push(format!(
            "evidence: REJECT: no combined pass for view layer {layer:?}"
        ));
        return Ok(report);
    };
    let verify_job = VerifyJob {
        scene: Some(job.scene.clone()),
        frame: job.frame,
        width,
        height,
        samples: job.samples,
        worker_seed: job.worker_seed,
        engine: job.engine,
        format: Some(OutputFormat::Exr),
        // References sampled exactly like the frame: the scene's adaptive sampling and sampling
        // pattern at the frame's N (Blender 4.2's blue-noise pattern spreads a render's error
        // differently at N/2 samples than at N, which split references would misread as a cheat).
        scene_sampling: true,
    };
    let facts = facts_of(&noisy, OutputFormat::Exr);
    let statistics = verify_image(
        checker,
        &verify_job,
        noisy,
        facts,
        &DuplicateIndex::new(),
        started,
    )?;
    report.verdict = statistics.verdict;
    report.reasons.extend(
        statistics
            .reasons
            .iter()
            .map(|reason| format!("evidence: {reason}")),
    );
    report.evidence = Some(statistics);
    Ok(report)
}

/// For a multilayer OpenEXR deliverable: its render passes (every layer but the composite) must be
/// the evidence's own. `None` when they are, or when the deliverable has none.
fn passes_differ_from_evidence(delivered: &[u8], evidence: &Evidence) -> Option<String> {
    if !delivered.starts_with(&OPENEXR_MAGIC) {
        return None;
    }
    let delivered = match Evidence::decode(delivered) {
        Ok(layers) => layers,
        Err(error) => return Some(format!("the deliverable does not decode: {error}")),
    };
    let composite = format!("{COMPOSITE_LAYER}.");
    let bits = |samples: Option<&[f32]>| {
        samples.map(|samples| samples.iter().map(|v| v.to_bits()).collect::<Vec<u32>>())
    };
    delivered
        .channel_names()
        .filter(|name| name.contains('.') && !name.starts_with(&composite))
        .find(|name| bits(evidence.channel(name)) != bits(delivered.channel(name)))
        .map(|name| format!("the deliverable's pass {name:?} is not the evidence's"))
}
