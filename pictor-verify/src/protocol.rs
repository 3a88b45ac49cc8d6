//! The checker protocol, end to end: intake → commitment → challenge → references → verdict.
//!
//! [`verify_frame_bytes`] runs it on one candidate frame with any [`Renderer`] and any
//! [`FrameVerifier`] backend:
//!
//! 0. **Intake** ([`super::intake`]): bounded decode, dimension/format checks, NaN/Inf counts,
//!    constant/black flags, H(W) = BLAKE3 of the pixels, dHash. Non-finite samples or an exact
//!    duplicate of another frame of the job reject here, without rendering.
//! 1. **Challenge key** = BLAKE3-keyed(checker secret; H(W), frame, samples, worker seed)
//!    ([`ChallengeKey`]); every later choice (preview seeds, tile positions, reference seeds) is drawn
//!    from ChaCha20 streams of it.
//! 2. **Global preview**: the frame at 1/k resolution (k = 8, or the nearest divisor of both sides
//!    ≤ 8 so the aspect ratio is exact), `N/8` samples (at least `min(N, 8)`), rendered twice with
//!    two secret seeds.
//!    The worker's frame is box-downsampled by k and tested against the pair with the z and block
//!    tests (Šidák α = 1e-4). The pair also gives the [`ImportanceMap`] for the weighted tiles.
//! 3. **Round 1**: 16 tiles of 64×64 (small frames: see [`ChallengeConfig::plan`]), 8 stratified +
//!    8 weighted. Every tile at both reference seeds (N/2 samples each, independent secret seeds) in
//!    one renderer call ([`Renderer::render_seeds`]). The worker's frame is cropped at exactly the
//!    requested pixels.
//! 4. **Decide** with [`super::verify_frame`]; any reject (preview or tiles) rejects. An escalation
//!    reruns (round 2) with twice the tiles and four split references at N/4 samples (one call),
//!    paired into two N/2-equivalent references `(R₁+R₂)/2`, `(R₃+R₄)/2`; round 2 decides.
//! 5. **Alignment probe** (matrix case C12): the design crops exactly, with no offset search — but a
//!    checker or renderer crop bug must never turn into a reject of honest work. When a round
//!    rejects, the statistics are recomputed with the worker's crops shifted by ±1 pixel; if a shifted
//!    alignment is not rejected the verdict becomes `Escalate` with a "reference misaligned" reason.

use super::challenge::{ChallengeConfig, ChallengeKey, ChallengeTile, ImportanceMap, select_tiles};
use super::intake::{DuplicateIndex, DuplicateMatch, FrameFacts, IntakeError, IntakeSpec, intake};
use super::{
    Decision, FrameVerifier, PooledStats, StatParams, Thresholds, TileTriple, Verdict, prepare,
    verify_frame,
};
use pictor_core::job::{Engine, OutputFormat, Resolution};
use pictor_core::task::PixelRect;
use pictor_render::{LinearImage, RenderControl, RenderError, RenderRequest, Renderer};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Instant;

/// The job parameters a frame is verified against: what the worker was asked to render.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VerifyJob {
    /// Scene file (`None`: the renderer's default scene).
    pub scene: Option<PathBuf>,
    /// Frame number.
    pub frame: u32,
    /// Frame width.
    pub width: u32,
    /// Frame height.
    pub height: u32,
    /// Samples per pixel the worker was paid for (N).
    pub samples: u32,
    /// The worker's Monte Carlo seed (references never use it).
    pub worker_seed: u64,
    /// Blender's engine, if any.
    pub engine: Option<Engine>,
    /// Required encoding (`None`: PNG 8/16 or EXR).
    pub format: Option<OutputFormat>,
    /// The frame was sampled the way the scene samples (adaptive sampling kept): references are
    /// rendered the same way, at the frame's N, and compared with [`ReferenceModel::Matched`] —
    /// each reference is then distributed exactly like the honest frame, whatever the per-pixel
    /// sample counts were.
    #[serde(default)]
    pub scene_sampling: bool,
}

impl VerifyJob {
    /// A job for the renderer's default scene.
    pub fn new(width: u32, height: u32, samples: u32, worker_seed: u64) -> Self {
        VerifyJob {
            scene: None,
            frame: 1,
            width,
            height,
            samples,
            worker_seed,
            engine: None,
            format: None,
            scene_sampling: false,
        }
    }

    fn request(&self, resolution: Resolution, samples: u32, seed: u64) -> RenderRequest {
        RenderRequest {
            scene: self.scene.clone(),
            frame: self.frame,
            resolution,
            samples: samples.max(1),
            seed,
            regions: Vec::new(),
            engine: self.engine,
            scene_sampling: self.scene_sampling,
        }
    }
}

/// Protocol configuration; [`Default`] is the documented protocol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProtocolConfig {
    /// Tile selection of round 1 (round 2 uses [`ChallengeConfig::escalated`]).
    pub challenge: ChallengeConfig,
    /// Statistical parameters of the tile rounds.
    pub stat_params: StatParams,
    /// Decision thresholds of the tile rounds.
    pub thresholds: Thresholds,
    /// Preferred preview down-scaling factor (default 8); 0 disables the preview.
    pub preview_factor: u32,
    /// Preview samples = `max(N / preview_sample_divisor, min(N, preview_min_samples))`
    /// ([`preview_samples`]; default divisor 8).
    pub preview_sample_divisor: u32,
    /// The fewest samples a preview reference gets (default 8; a frame of fewer samples gets its
    /// own N). At 2 samples, a Blender scene's fireflies made the references so skewed that the
    /// preview's block test rejected 2 of 20 honest 1920×1080 frames of 16 samples.
    pub preview_min_samples: u32,
    /// Family-wise α of the preview's z test (default 1e-4).
    pub preview_z_alpha: f64,
    /// Fraction of preview samples over the z quantile that rejects (default 0.01; the tiles use
    /// 0.0025 — the preview's 1- or 2-sample references are far more skewed).
    pub preview_z_fraction_reject: f64,
    /// The preview rejects when `max |T_B|` exceeds this many times the block limit (default 1.5).
    pub preview_t_factor: f64,
    /// Run round 2 on an escalation (default true).
    pub escalate: bool,
    /// Probe ±1-pixel alignments before rejecting (default true).
    pub alignment_probe: bool,
}

impl Default for ProtocolConfig {
    fn default() -> Self {
        ProtocolConfig {
            challenge: ChallengeConfig::default(),
            stat_params: StatParams::default(),
            thresholds: Thresholds::default(),
            preview_factor: 8,
            preview_sample_divisor: 8,
            preview_min_samples: 8,
            preview_z_alpha: 1e-4,
            preview_z_fraction_reject: 0.01,
            preview_t_factor: 1.5,
            escalate: true,
            alignment_probe: true,
        }
    }
}

/// Why the protocol could not produce a verdict (not a verdict about the worker).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The frame file was refused at intake (for a network checker: reject the result).
    #[error(transparent)]
    Intake(#[from] IntakeError),
    /// Rendering a reference failed.
    #[error("rendering the references failed: {0}")]
    Render(#[from] RenderError),
    /// The renderer returned regions other than those asked for (a checker-side bug).
    #[error("the renderer returned {found} where {expected} was requested")]
    RegionMismatch {
        /// What was asked.
        expected: String,
        /// What came back.
        found: String,
    },
    /// The statistics backend failed.
    #[error("statistics failed: {0}")]
    Stats(#[from] pictor_core::error::Error),
    /// Invalid job or configuration.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The offending job or configuration field, e.g. `samples` or `tiles`.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// The global preview's evidence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PreviewEvidence {
    /// Down-scaling factor k.
    pub factor: u32,
    /// Preview width.
    pub width: u32,
    /// Preview height.
    pub height: u32,
    /// Samples per preview pixel.
    pub samples: u32,
    /// The preview's reference seeds.
    pub seeds: Vec<u64>,
    /// Reject or accept (the preview never escalates).
    pub verdict: Verdict,
    /// Failed tests.
    pub reasons: Vec<String>,
    /// Its statistics (Q ≈ 0.5 is expected: the downsampled frame is far less noisy than the
    /// preview; only the z and block tests are judged).
    pub stats: PooledStats,
}

/// How a round's references model the worker's frame.
///
/// The statistics assume `e = W − R̄` and `d = R₁ − R₂` with `E[e] = 0` and
/// `Var(e) = ½·Var(d)`. That holds in linear light when `R₁`, `R₂` have N/2 samples each
/// ([`ReferenceModel::Split`]): `R̄` is then distributed like an honest N-sample `W`. A file format
/// that clamps (PNG stores 0..=1) breaks it: clamping is a concave map, so `E[clamp(X)]` falls
/// as the noise grows, and N/2-sample references lose more to it than the N-sample frame — an
/// honest PNG frame sits *above* `R̄` wherever fireflies or highlights reach 1 (measured on the
/// demo scene at 192×108, N = 16: `bias_z` up to 8.9 and `Q` up to 1.44, 6 of 8 honest 16-bit PNG
/// frames rejected; quantization alone is not the cause — 16-bit PNG fails like 8-bit).
///
/// [`ReferenceModel::Matched`] renders each reference with the frame's own N samples and passes
/// it through the same encoding, so an honest frame `W` and each reference `Rᵢ` are identically
/// distributed under any per-pixel encoding. The statistics then see the pair
/// `R₁ ± (R₁ − R₂)/√2`: its mean is `R₁` (so `e = W − R₁`, `E[e] = 0`, `Var(e) = 2σ²`) and its
/// split is `√2·(R₁ − R₂)` (so `½Var(d) = 2σ²`), which keeps every statistic calibrated — the
/// Immerkær ratio compares `W` with `R₁`, which has exactly its noise. `e` and `d` are now
/// correlated per pixel (−½), which moves no expectation. Measured on the demo scene (8-bit PNG):
/// 0 of 140 honest frames rejected or escalated at 192×108 and 512×288. The price is twice the
/// reference samples of [`ReferenceModel::Split`]; highlights clipped at 1 carry no evidence.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferenceModel {
    /// References at N/2 samples (round 2: four at N/4, paired), in linear light (EXR).
    #[default]
    Split,
    /// References at N samples (round 2: four at N/2, paired before encoding), through the
    /// frame's encoding, against the shrunken worker plane `W'` (clamped formats: PNG).
    Matched,
}

impl ReferenceModel {
    /// The model for frames stored as `format`.
    pub fn for_format(format: OutputFormat) -> ReferenceModel {
        match format {
            OutputFormat::Exr => ReferenceModel::Split,
            OutputFormat::Scene | OutputFormat::Png8 | OutputFormat::Png16 => {
                ReferenceModel::Matched
            }
        }
    }

    /// Samples per reference render when the frame has `samples` and the round renders
    /// `references` of them (2 or 4).
    pub fn reference_samples(self, samples: u32, references: u32) -> u32 {
        let per_pair = match self {
            ReferenceModel::Split => samples,
            ReferenceModel::Matched => samples.saturating_mul(2),
        };
        (per_pair / references.max(1)).max(1)
    }

    /// Reference samples per tile pixel, relative to [`ReferenceModel::Split`]'s N.
    pub fn reference_cost_factor(self) -> f64 {
        match self {
            ReferenceModel::Split => 1.0,
            ReferenceModel::Matched => 2.0,
        }
    }
}

/// One round of tiles.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoundEvidence {
    /// 1 or 2.
    pub round: u32,
    /// The tiles, in frame coordinates.
    pub tiles: Vec<ChallengeTile>,
    /// Reference seeds (2, or 4 paired).
    pub seeds: Vec<u64>,
    /// Samples per reference render.
    pub reference_samples: u32,
    /// How the references model the frame (from its format).
    #[serde(default)]
    pub reference_model: ReferenceModel,
    /// The statistics' decision.
    pub decision: Decision,
    /// Set when the alignment probe found a ±1-pixel shift that the statistics do not reject.
    pub misalignment: Option<(i32, i32)>,
}

/// The verdict with all its evidence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// Accept, reject or escalate.
    pub verdict: Verdict,
    /// Why: intake, preview and round reasons, prefixed by their stage.
    pub reasons: Vec<String>,
    /// The deciding round's statistics (`None` when intake decided).
    pub stats: Option<PooledStats>,
    /// Tiles of the deciding round.
    pub tiles: usize,
    /// What intake found.
    pub intake: FrameFacts,
    /// Matches against the job's other frames.
    pub duplicates: Vec<DuplicateMatch>,
    /// The global preview's evidence, if it ran.
    pub preview: Option<PreviewEvidence>,
    /// Tile rounds run (1 or 2).
    pub rounds: Vec<RoundEvidence>,
    /// Wall-clock time of the checker's renders, ms.
    pub checker_render_ms: u64,
    /// Renderer calls made (one for the preview pair, one per tile round).
    #[serde(default)]
    pub renderer_calls: u32,
    /// Wall-clock time of everything else (decode, hashing, statistics), ms.
    pub verify_ms: u64,
    /// The `FrameVerifier` backend that computed the statistics, e.g. `cpu` or `vulkan`.
    pub backend: String,
    /// The renderer and its version.
    pub renderer: String,
}

/// Everything the checker brings: its renderer, its statistics backend, its secret, its settings.
pub struct Checker<'a> {
    /// Renders the references.
    pub renderer: &'a dyn Renderer,
    /// Computes the statistics.
    pub verifier: &'a dyn FrameVerifier,
    /// The checker's 32-byte secret (never shown to workers).
    pub secret: [u8; 32],
    /// Protocol settings.
    pub config: ProtocolConfig,
    /// Renderer control (timeout, cancellation).
    pub control: RenderControl,
}

struct Clock {
    render_ms: f64,
    render_calls: u32,
    started: Instant,
}

impl<'a> Checker<'a> {
    /// This checker with another renderer (a session of its own, [`Renderer::open_scene_session`]).
    pub fn with_renderer<'b>(&self, renderer: &'b dyn Renderer) -> Checker<'b>
    where
        'a: 'b,
    {
        Checker {
            renderer,
            verifier: self.verifier,
            secret: self.secret,
            config: self.config.clone(),
            control: self.control.clone(),
        }
    }

    /// Renders `request` once per seed in one renderer call ([`Renderer::render_seeds`]) and checks
    /// that every output holds exactly the requested regions: one image list per seed.
    fn render_seeds(
        &self,
        request: &RenderRequest,
        seeds: &[u64],
        clock: &mut Clock,
    ) -> Result<Vec<Vec<LinearImage>>, ProtocolError> {
        let started = Instant::now();
        let outputs = self.renderer.render_seeds(request, seeds, &self.control)?;
        clock.render_ms += started.elapsed().as_secs_f64() * 1e3;
        clock.render_calls += 1;
        if outputs.len() != seeds.len() {
            return Err(ProtocolError::RegionMismatch {
                expected: format!("{} outputs (one per seed)", seeds.len()),
                found: format!("{} outputs", outputs.len()),
            });
        }
        let expected = request.effective_regions();
        outputs
            .into_iter()
            .map(|output| {
                if output.regions.len() != expected.len() {
                    return Err(ProtocolError::RegionMismatch {
                        expected: format!("{} regions", expected.len()),
                        found: format!("{} regions", output.regions.len()),
                    });
                }
                output
                    .regions
                    .into_iter()
                    .zip(&expected)
                    .map(|(got, want)| {
                        let dims = (got.image.width(), got.image.height());
                        if got.region != *want || dims != (want.width, want.height) {
                            Err(ProtocolError::RegionMismatch {
                                expected: format!("{want:?}"),
                                found: format!(
                                    "{:?} with a {}×{} image",
                                    got.region, dims.0, dims.1
                                ),
                            })
                        } else {
                            Ok(got.image)
                        }
                    })
                    .collect()
            })
            .collect()
    }
}

/// Runs the whole protocol on the bytes of one frame file. `others` holds the fingerprints of the
/// job's other frames (may be empty). Returns a verdict with evidence, or an error when no verdict
/// could be reached (the file was refused at intake, a render failed).
pub fn verify_frame_bytes(
    checker: &Checker<'_>,
    job: &VerifyJob,
    bytes: &[u8],
    others: &DuplicateIndex,
) -> Result<VerifyReport, ProtocolError> {
    let started = Instant::now();
    let spec = IntakeSpec {
        format: job.format,
        ..IntakeSpec::new(job.width, job.height)
    };
    let frame = intake(bytes, &spec)?;
    verify_image(checker, job, frame.image, frame.facts, others, started)
}

/// Runs the protocol on an already decoded frame (its facts from [`super::intake::facts_of`]).
pub fn verify_image(
    checker: &Checker<'_>,
    job: &VerifyJob,
    image: LinearImage,
    facts: FrameFacts,
    others: &DuplicateIndex,
    started: Instant,
) -> Result<VerifyReport, ProtocolError> {
    if job.samples == 0 {
        return Err(ProtocolError::Invalid {
            field: "samples",
            reason: "must be at least 1".into(),
        });
    }
    if (image.width(), image.height()) != (job.width, job.height) {
        return Err(IntakeError::WrongDimensions {
            width: image.width(),
            height: image.height(),
            expected_width: job.width,
            expected_height: job.height,
        }
        .into());
    }
    let mut clock = Clock {
        render_ms: 0.0,
        render_calls: 0,
        started,
    };
    let duplicates = others.matches(job.frame, &facts);
    let mut report = VerifyReport {
        verdict: Verdict::Accept,
        reasons: Vec::new(),
        stats: None,
        tiles: 0,
        intake: facts.clone(),
        duplicates: duplicates.clone(),
        preview: None,
        rounds: Vec::new(),
        checker_render_ms: 0,
        renderer_calls: 0,
        verify_ms: 0,
        backend: checker.verifier.name().to_string(),
        renderer: checker.renderer.name().to_string(),
    };
    // 0. Intake verdicts: no rendering needed.
    let mut intake_reasons = Vec::new();
    if facts.nan_count + facts.inf_count > 0 {
        intake_reasons.push(format!(
            "intake: REJECT: {} NaN and {} Inf samples",
            facts.nan_count, facts.inf_count
        ));
    }
    for duplicate in &duplicates {
        if let DuplicateMatch::Exact { frame } = duplicate {
            intake_reasons.push(format!(
                "intake: REJECT: pixel-identical to frame {frame} of the job"
            ));
        }
    }
    if !intake_reasons.is_empty() {
        report.verdict = Verdict::Reject;
        report.reasons = intake_reasons;
        return Ok(finish(report, &clock));
    }
    for duplicate in &duplicates {
        if let DuplicateMatch::Perceptual { frame, distance } = duplicate {
            report.reasons.push(format!(
                "intake: note: dHash within {distance} bits of frame {frame}"
            ));
        }
    }
    if facts.constant {
        report.reasons.push(format!(
            "intake: note: constant frame{}",
            if facts.black { " (black)" } else { "" }
        ));
    }

    // 1. The challenge key, from the commitment.
    let key = ChallengeKey::derive(
        &checker.secret,
        &facts.pixel_hash_bytes(),
        job.frame,
        job.samples,
        job.worker_seed,
    );
    let config = &checker.config;

    // Every render of this check in one renderer session where the renderer keeps scenes
    // loaded (Blender: one process, one scene load, for the preview and every round).
    let session = match &job.scene {
        Some(scene) => checker.renderer.open_scene_session(scene)?,
        None => None,
    };
    let in_session = checker.with_renderer(session.as_deref().unwrap_or(checker.renderer));
    let checker = &in_session;

    // 2. Global preview.
    let mut importance = None;
    let whole_frame = config.challenge.plan(job.width, job.height).whole_frame;
    if whole_frame {
        report
            .reasons
            .push("preview: skipped (small frame: the tiles cover the whole frame)".into());
    } else if let Some(factor) = preview_factor(job.width, job.height, config.preview_factor) {
        let (preview, map) =
            run_preview(checker, job, &image, facts.format, &key, factor, &mut clock)?;
        importance = map;
        if preview.verdict == Verdict::Reject {
            report.verdict = Verdict::Reject;
            report
                .reasons
                .extend(preview.reasons.iter().map(|r| format!("preview: {r}")));
        }
        report.preview = Some(preview);
    } else {
        report
            .reasons
            .push("preview: skipped (no down-scaling factor divides both sides)".into());
    }

    // 3–5. Tile rounds.
    let candidate = Candidate {
        image: &image,
        format: facts.format,
        key: &key,
    };
    let first = run_round(checker, job, &candidate, 1, importance.as_ref(), &mut clock)?;
    let mut deciding = first.clone();
    report.rounds.push(first);
    if deciding.decision.verdict == Verdict::Escalate && config.escalate {
        let second = run_round(checker, job, &candidate, 2, importance.as_ref(), &mut clock)?;
        deciding = second.clone();
        report.rounds.push(second);
    }
    let round_verdict = if deciding.misalignment.is_some() {
        Verdict::Escalate
    } else {
        deciding.decision.verdict
    };
    if let Some((dx, dy)) = deciding.misalignment {
        report.reasons.push(format!(
            "round {}: ESCALATE: the statistics do not reject the frame shifted by ({dx}, {dy}) px: \
             reference misaligned (checker or renderer crop bug), not judged as the worker's fault",
            deciding.round
        ));
    }
    report.reasons.extend(
        deciding
            .decision
            .reasons
            .iter()
            .map(|r| format!("round {}: {r}", deciding.round)),
    );
    report.verdict = match (report.verdict, round_verdict) {
        (Verdict::Reject, _) | (_, Verdict::Reject) => Verdict::Reject,
        (_, Verdict::Escalate) => Verdict::Escalate,
        _ => Verdict::Accept,
    };
    if report.verdict == Verdict::Reject && facts.constant {
        report
            .reasons
            .push("intake: constant frame where the references are not".into());
    }
    report.tiles = deciding.tiles.len();
    report.stats = Some(deciding.decision.stats.clone());
    Ok(finish(report, &clock))
}

fn finish(mut report: VerifyReport, clock: &Clock) -> VerifyReport {
    let total = clock.started.elapsed().as_secs_f64() * 1e3;
    report.checker_render_ms = clock.render_ms.round() as u64;
    report.renderer_calls = clock.render_calls;
    report.verify_ms = (total - clock.render_ms).max(0.0).round() as u64;
    report
}

/// The preview factor: `preferred` when it divides both sides, else the largest divisor of both
/// sides ≤ `preferred` and ≥ 2 (so the preview's aspect ratio — and so its camera — is exact);
/// `None` when there is none or the preview would be smaller than 8×8.
pub fn preview_factor(width: u32, height: u32, preferred: u32) -> Option<u32> {
    if preferred < 2 {
        return None;
    }
    let (mut a, mut b) = (width, height);
    while b != 0 {
        (a, b) = (b, a % b);
    }
    let gcd = a;
    (2..=preferred)
        .rev()
        .find(|k| gcd.is_multiple_of(*k) && width / k >= 8 && height / k >= 8)
}

/// Box-downsamples `image` by `factor` (each side divisible by it): the mean of each block, in f64.
pub fn box_downsample(image: &LinearImage, factor: u32) -> Result<LinearImage, ProtocolError> {
    let (w, h) = (
        image.width() / factor.max(1),
        image.height() / factor.max(1),
    );
    let k = factor.max(1) as usize;
    let src = image.as_rgba();
    let stride = image.width() as usize * 4;
    let mut data = Vec::with_capacity(w as usize * h as usize * 4);
    let scale = 1.0 / (k * k) as f64;
    for by in 0..h as usize {
        for bx in 0..w as usize {
            let mut sum = [0.0f64; 4];
            for y in by * k..by * k + k {
                let row = &src[y * stride + bx * k * 4..y * stride + (bx * k + k) * 4];
                for px in row.chunks_exact(4) {
                    for c in 0..4 {
                        sum[c] += f64::from(px[c]);
                    }
                }
            }
            data.extend(sum.iter().map(|s| (s * scale) as f32));
        }
    }
    LinearImage::from_rgba(w, h, data).map_err(ProtocolError::Render)
}

/// The samples of each preview reference for a frame of `samples` samples: `samples / divisor`,
/// but at least `min(samples, min_samples)` and at least 1.
pub fn preview_samples(samples: u32, divisor: u32, min_samples: u32) -> u32 {
    (samples / divisor.max(1))
        .max(samples.min(min_samples))
        .max(1)
}

fn run_preview(
    checker: &Checker<'_>,
    job: &VerifyJob,
    image: &LinearImage,
    format: OutputFormat,
    key: &ChallengeKey,
    factor: u32,
    clock: &mut Clock,
) -> Result<(PreviewEvidence, Option<ImportanceMap>), ProtocolError> {
    let config = &checker.config;
    let resolution = Resolution {
        width: job.width / factor,
        height: job.height / factor,
    };
    let samples = preview_samples(
        job.samples,
        config.preview_sample_divisor,
        config.preview_min_samples,
    );
    let seeds = key.reference_seeds("preview", 2, job.worker_seed);
    let mut pair: Vec<LinearImage> = checker
        .render_seeds(&job.request(resolution, samples, seeds[0]), &seeds, clock)?
        .into_iter()
        .flatten()
        .collect();
    if pair.len() != 2 {
        return Err(ProtocolError::RegionMismatch {
            expected: "2 preview images".into(),
            found: format!("{}", pair.len()),
        });
    }
    for image in &mut pair {
        *image = encoded_like(image, format)?;
    }
    let downsampled = box_downsample(image, factor)?;
    let triple = TileTriple {
        worker: &downsampled,
        reference_a: &pair[0],
        reference_b: &pair[1],
    };
    // No winsorizing on the preview: its references have few samples and skewed (firefly) noise
    // while the downsampled frame has almost none, so `e = W − R̄` is skewed and clipping it would
    // bias every block sum. The z and block statistics are self-normalising without it.
    let params = StatParams {
        z_alpha: config.preview_z_alpha,
        winsor_quantile: 1.0,
        ..config.stat_params.clone()
    };
    let sum_params = prepare(&[triple], &params)?;
    let sums = checker.verifier.tile_sums(&[triple], &sum_params)?;
    let stats = PooledStats::pool(&sums, &sum_params)?;
    let t = &config.thresholds;
    let mut reasons = Vec::new();
    if stats.z_fraction > config.preview_z_fraction_reject {
        reasons.push(format!(
            "REJECT: z exceedances = {} ({:.4} %) > {:.4} % over |z| > {:.2}",
            stats.z_exceed,
            stats.z_fraction * 100.0,
            config.preview_z_fraction_reject * 100.0,
            stats.z_threshold
        ));
    }
    let t_limit = config.preview_t_factor * t.t_max_limit(&stats);
    if stats.t_max.is_nan() || stats.t_max > t_limit {
        reasons.push(format!(
            "REJECT: max |T_B| = {:.3} > limit {t_limit:.3}",
            stats.t_max
        ));
    }
    // The pooled bias ratio (mean T_B²) is not judged here: at N/8 samples the preview's noise is
    // so skewed (rare fireflies) that a typical R̄ sits below its mean while the noise-free
    // downsampled frame does not, inflating T_B² on honest frames (measured: ≈ 3 on the demo scene).
    let map = ImportanceMap::from_preview(&pair[0], &pair[1]);
    let evidence = PreviewEvidence {
        factor,
        width: resolution.width,
        height: resolution.height,
        samples,
        seeds,
        verdict: if reasons.is_empty() {
            Verdict::Accept
        } else {
            Verdict::Reject
        },
        reasons,
        stats,
    };
    Ok((evidence, map))
}

/// The frame under test: its pixels, its encoding and its challenge key.
struct Candidate<'a> {
    image: &'a LinearImage,
    format: OutputFormat,
    key: &'a ChallengeKey,
}

fn run_round(
    checker: &Checker<'_>,
    job: &VerifyJob,
    candidate: &Candidate<'_>,
    round: u32,
    importance: Option<&ImportanceMap>,
    clock: &mut Clock,
) -> Result<RoundEvidence, ProtocolError> {
    let Candidate { image, format, key } = *candidate;
    let config = &checker.config;
    let model = if job.scene_sampling {
        ReferenceModel::Matched
    } else {
        ReferenceModel::for_format(format)
    };
    let challenge = if round == 1 {
        config.challenge
    } else {
        config.challenge.escalated()
    }
    .with_reference_cost_factor(model.reference_cost_factor());
    let purpose = format!("round{round}");
    let tiles = select_tiles(key, &purpose, job.width, job.height, importance, &challenge);
    let references = if round == 1 { 2 } else { 4 };
    let reference_samples = model.reference_samples(job.samples, references as u32);
    let seeds = key.reference_seeds(&purpose, references, job.worker_seed);
    let mut request = job.request(
        Resolution {
            width: job.width,
            height: job.height,
        },
        reference_samples,
        seeds[0],
    );
    request.regions = tiles.iter().map(|t| t.rect).collect();
    // Every tile at every seed in one renderer call.
    let renders = checker.render_seeds(&request, &seeds, clock)?;
    // Pair references in linear light — (R₁+R₂)/2 and (R₃+R₄)/2 are one reference each at twice
    // the samples — then pass each through the frame's encoding.
    let (refs_a, refs_b): (Vec<LinearImage>, Vec<LinearImage>) = if references == 2 {
        let mut it = renders.into_iter();
        let a = it.next().unwrap_or_default();
        let b = it.next().unwrap_or_default();
        (a, b)
    } else {
        let mean =
            |x: &[LinearImage], y: &[LinearImage]| -> Result<Vec<LinearImage>, ProtocolError> {
                x.iter().zip(y).map(|(p, q)| average(p, q)).collect()
            };
        (
            mean(&renders[0], &renders[1])?,
            mean(&renders[2], &renders[3])?,
        )
    };
    let encode_all = |images: Vec<LinearImage>| -> Result<Vec<LinearImage>, ProtocolError> {
        images
            .iter()
            .map(|image| encoded_like(image, format))
            .collect()
    };
    let (refs_a, refs_b) = (encode_all(refs_a)?, encode_all(refs_b)?);
    let (refs_a, refs_b) = match model {
        ReferenceModel::Split => (refs_a, refs_b),
        ReferenceModel::Matched => centred_on_first(&refs_a, &refs_b)?,
    };
    let decide = |dx: i32, dy: i32| -> Result<Option<Decision>, ProtocolError> {
        // Tiles that a shift would push out of the frame are left out of that alignment.
        let mut crops = Vec::with_capacity(tiles.len());
        for (index, tile) in tiles.iter().enumerate() {
            if let Some(rect) = shifted(tile.rect, dx, dy, job.width, job.height) {
                crops.push((index, image.crop(rect)?));
            }
        }
        if crops.is_empty() {
            return Ok(None);
        }
        let triples: Vec<TileTriple<'_>> = crops
            .iter()
            .map(|(index, worker)| TileTriple {
                worker,
                reference_a: &refs_a[*index],
                reference_b: &refs_b[*index],
            })
            .collect();
        Ok(Some(verify_frame(
            checker.verifier,
            &triples,
            &config.stat_params,
            &config.thresholds,
        )?))
    };
    let decision = decide(0, 0)?.ok_or_else(|| ProtocolError::Invalid {
        field: "tiles",
        reason: "a tile lies outside the frame".into(),
    })?;
    let mut misalignment = None;
    if decision.verdict == Verdict::Reject && config.alignment_probe {
        'probe: for dy in -1..=1 {
            for dx in -1..=1 {
                if (dx, dy) == (0, 0) {
                    continue;
                }
                if let Some(shifted) = decide(dx, dy)?
                    && shifted.verdict != Verdict::Reject
                {
                    misalignment = Some((dx, dy));
                    break 'probe;
                }
            }
        }
    }
    Ok(RoundEvidence {
        round,
        tiles,
        seeds,
        reference_samples,
        reference_model: model,
        decision,
        misalignment,
    })
}

/// `rect` moved by `(dx, dy)`, if it stays inside the frame.
/// `image` passed through the frame's encoding (PNG clamps to 0..=1 and quantises in sRGB), so
/// that references and frame differ only by Monte Carlo noise. EXR is kept as is.
fn encoded_like(image: &LinearImage, format: OutputFormat) -> Result<LinearImage, ProtocolError> {
    if format == OutputFormat::Exr {
        return Ok(image.clone());
    }
    Ok(LinearImage::decode(&image.encode(format)?)?)
}

fn shifted(rect: PixelRect, dx: i32, dy: i32, width: u32, height: u32) -> Option<PixelRect> {
    let x = rect.x.checked_add_signed(dx)?;
    let y = rect.y.checked_add_signed(dy)?;
    let moved = PixelRect { x, y, ..rect };
    moved.fits_in(width, height).then_some(moved)
}

/// Matched references as the statistics' pair: `R₁ ± (R₁ − R₂)/√2` per colour sample (alpha from
/// `R₁`), for every tile — mean `R₁`, split `√2·(R₁ − R₂)` (see [`ReferenceModel::Matched`]).
pub(crate) fn centred_on_first(
    first: &[LinearImage],
    second: &[LinearImage],
) -> Result<(Vec<LinearImage>, Vec<LinearImage>), ProtocolError> {
    let mut plus = Vec::with_capacity(first.len());
    let mut minus = Vec::with_capacity(first.len());
    for (r1, r2) in first.iter().zip(second) {
        if (r1.width(), r1.height()) != (r2.width(), r2.height()) {
            return Err(ProtocolError::RegionMismatch {
                expected: format!("{}x{}", r1.width(), r1.height()),
                found: format!("{}x{}", r2.width(), r2.height()),
            });
        }
        let (mut up, mut down) = (r1.clone(), r1.clone());
        for ((up_px, down_px), (first_px, second_px)) in up
            .as_rgba_mut()
            .chunks_exact_mut(4)
            .zip(down.as_rgba_mut().chunks_exact_mut(4))
            .zip(
                r1.as_rgba()
                    .chunks_exact(4)
                    .zip(r2.as_rgba().chunks_exact(4)),
            )
        {
            for c in 0..3 {
                let (centre, other) = (f64::from(first_px[c]), f64::from(second_px[c]));
                let half = (centre - other) * std::f64::consts::FRAC_1_SQRT_2;
                up_px[c] = (centre + half) as f32;
                down_px[c] = (centre - half) as f32;
            }
        }
        plus.push(up);
        minus.push(down);
    }
    Ok((plus, minus))
}

fn average(a: &LinearImage, b: &LinearImage) -> Result<LinearImage, ProtocolError> {
    let data = a
        .as_rgba()
        .iter()
        .zip(b.as_rgba())
        .map(|(x, y)| ((f64::from(*x) + f64::from(*y)) * 0.5) as f32)
        .collect();
    LinearImage::from_rgba(a.width(), a.height(), data).map_err(ProtocolError::Render)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_samples_are_an_eighth_but_never_fewer_than_eight() {
        assert_eq!(preview_samples(256, 8, 8), 32);
        assert_eq!(preview_samples(64, 8, 8), 8);
        assert_eq!(preview_samples(16, 8, 8), 8);
        assert_eq!(preview_samples(4, 8, 8), 4);
        assert_eq!(preview_samples(1, 8, 8), 1);
        assert_eq!(preview_samples(16, 8, 0), 2);
        assert_eq!(preview_samples(16, 0, 0), 16);
    }

    #[test]
    fn preview_factor_keeps_the_aspect_exact() {
        assert_eq!(preview_factor(1920, 1080, 8), Some(8));
        assert_eq!(preview_factor(1280, 720, 8), Some(8));
        assert_eq!(preview_factor(192, 108, 8), Some(6));
        assert_eq!(preview_factor(97, 61, 8), None);
        assert_eq!(preview_factor(32, 16, 8), Some(2));
    }

    #[test]
    fn box_downsample_averages_blocks() {
        let mut image = LinearImage::new(4, 2);
        for (i, v) in image.as_rgba_mut().iter_mut().enumerate() {
            *v = (i / 4) as f32;
        }
        let small = box_downsample(&image, 2).expect("downsample");
        assert_eq!((small.width(), small.height()), (2, 1));
        // Block 0: pixels 0, 1, 4, 5 → 2.5; block 1: 2, 3, 6, 7 → 4.5.
        assert_eq!(small.pixel(0, 0)[0], 2.5);
        assert_eq!(small.pixel(1, 0)[0], 4.5);
    }

    #[test]
    fn shifts_stay_inside() {
        let rect = PixelRect {
            x: 0,
            y: 5,
            width: 4,
            height: 4,
        };
        assert_eq!(shifted(rect, -1, 0, 10, 10), None);
        assert_eq!(
            shifted(rect, 1, 1, 10, 10).map(|r| (r.x, r.y)),
            Some((1, 6))
        );
        assert_eq!(shifted(rect, 0, 2, 10, 10), None);
    }
}
