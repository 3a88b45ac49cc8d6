//! Faithful frames (`output: scene`) through both checks of `pictor_verify::faithful`, with Blender
//! on both sides: the lit scene of verify_blender.rs with Filmic, a look, exposure and a glare
//! compositor, written as 16-bit PNG, sampled adaptively (noise thresholds 0.1 and 0.01) or not. Honest frames are accepted; the cheat
//! classes of docs/VERIFICATION.md are rejected: N/2 samples, N/4 blurred, half resolution
//! upscaled, +3 % exposure, and a deliverable that is not the finishing of its evidence. Every cheat
//! that alters the evidence ships the deliverable Blender finishes from it, as a careful cheat would.
//!
//! Without Blender the test prints `SKIP: <reason>` and passes, unless `PICTOR_REQUIRE_BLENDER=1`.
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pictor_core::api::Verdict;
use pictor_core::job::Resolution;
use pictor_render::blender::finish::{FinishRequest, FinishedFrame, RefinishRequest};
use pictor_render::compare::decode_samples;
use pictor_render::evidence::Evidence;
use pictor_render::{BlenderRenderer, LinearImage, RenderControl, Renderer};
use pictor_verify::CpuVerifier;
use pictor_verify::display::{DisplayFrameJob, DisplayReport, verify_display_frame};
use pictor_verify::faithful::{FaithfulJob, FaithfulReport, verify_faithful_frame};
use pictor_verify::protocol::{Checker, ProtocolConfig};
use pictor_verify::synthetic;
use std::path::{Path, PathBuf};

const W: u32 = 160;
const H: u32 = 96;
const N: u32 = 32;
const FRAME: u32 = 1;
const WORKER_SEED: u64 = 11;
const LAYER: &str = "ViewLayer";

fn blender_or_skip() -> Option<BlenderRenderer> {
    let renderer = BlenderRenderer::new();
    match renderer.version() {
        Ok(_) => Some(renderer),
        Err(error) => {
            let reason = format!("Blender unavailable: {error}");
            if std::env::var("PICTOR_REQUIRE_BLENDER").as_deref() == Ok("1") {
                panic!("PICTOR_REQUIRE_BLENDER=1 but {reason}");
            }
            println!("SKIP: {reason}");
            None
        }
    }
}

/// The lit scene with `options` (see tests/scenes/lit_scene.py), saved as `dir/shot.blend`.
fn build_scene_with(blender: &BlenderRenderer, dir: &Path, options: serde_json::Value) -> PathBuf {
    std::fs::create_dir_all(dir).expect("dir");
    let scene = dir.join("shot.blend");
    let output = std::process::Command::new(blender.install().expect("install").path)
        .args([
            "-b",
            "--factory-startup",
            "-noaudio",
            "--python-exit-code",
            "1",
        ])
        .arg("--python")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenes/lit_scene.py"))
        .arg("--")
        .arg(&scene)
        .arg(options.to_string())
        .output()
        .expect("run Blender");
    assert!(
        output.status.success() && scene.exists(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    scene
}

struct Setup {
    blender: BlenderRenderer,
    scene: PathBuf,
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(adaptive: Option<f32>) -> Option<Setup> {
        Some(Setup::with(
            blender_or_skip()?,
            serde_json::json!({ "adaptive": adaptive }),
        ))
    }

    /// The lit scene with `options`, rendered and checked by `blender`.
    fn with(blender: BlenderRenderer, options: serde_json::Value) -> Setup {
        let dir = tempfile::tempdir().expect("tempdir");
        let scene = build_scene_with(&blender, dir.path(), options);
        Setup {
            blender,
            scene,
            dir,
        }
    }

    /// A worker's faithful render at `width × height` with `samples`, into `dir/<name>`.
    fn render(&self, name: &str, width: u32, height: u32, samples: u32) -> FinishedFrame {
        let out = self.dir.path().join(name);
        self.blender
            .render_finished(
                &FinishRequest {
                    scene: self.scene.clone(),
                    frame: FRAME,
                    resolution: Resolution { width, height },
                    samples,
                    seed: WORKER_SEED,
                    engine: None,
                    output: None,
                    out_dir: out.join("out"),
                    evidence: out.join("evidence.exr"),
                },
                &RenderControl::default(),
            )
            .unwrap_or_else(|error| panic!("worker render failed: {error}"))
    }

    /// A cheat's files: `honest`'s evidence with its combined pass replaced by `combined`, and the
    /// deliverable Blender finishes from that evidence.
    fn forged(
        &self,
        name: &str,
        honest: &FinishedFrame,
        combined: &LinearImage,
    ) -> (PathBuf, PathBuf) {
        let mut evidence =
            Evidence::decode(&std::fs::read(&honest.evidence).expect("read")).expect("decode");
        evidence
            .set_pass(LAYER, "Combined", combined)
            .expect("same size");
        let dir = self.dir.path().join(name);
        std::fs::create_dir_all(&dir).expect("dir");
        let evidence_path = dir.join("evidence.exr");
        std::fs::write(&evidence_path, evidence.encode().expect("encode")).expect("write");
        let deliverable = self
            .blender
            .refinish_frame(
                &RefinishRequest {
                    scene: self.scene.clone(),
                    frame: FRAME,
                    resolution: Resolution {
                        width: W,
                        height: H,
                    },
                    evidence: evidence_path.clone(),
                    out_dir: dir.join("out"),
                },
                &RenderControl::default(),
            )
            .expect("refinish the forged evidence")
            .output;
        (deliverable, evidence_path)
    }

    fn verify(&self, deliverable: &Path, evidence: &Path, secret: u8) -> FaithfulReport {
        let checker = Checker {
            renderer: &self.blender,
            verifier: &CpuVerifier,
            secret: [secret; 32],
            config: ProtocolConfig::default(),
            control: RenderControl::default(),
        };
        let job = FaithfulJob {
            scene: self.scene.clone(),
            frame: FRAME,
            resolution: Resolution {
                width: W,
                height: H,
            },
            samples: N,
            worker_seed: WORKER_SEED,
            engine: None,
            deliverable: deliverable.to_path_buf(),
            evidence: evidence.to_path_buf(),
            work_dir: self.dir.path().join(format!("check-{secret}")),
        };
        verify_faithful_frame(&checker, &job)
            .unwrap_or_else(|error| panic!("verification failed: {error}"))
    }
}

fn combined(frame: &FinishedFrame) -> LinearImage {
    Evidence::decode(&std::fs::read(&frame.evidence).expect("read"))
        .expect("decode")
        .noisy_combined(LAYER)
        .expect("combined")
}

#[test]
fn honest_faithful_frames_are_accepted_with_and_without_adaptive_sampling() {
    for adaptive in [None, Some(0.1), Some(0.01)] {
        let Some(setup) = Setup::new(adaptive) else {
            return;
        };
        let honest = setup.render("honest", W, H, N);
        for secret in [1, 2] {
            let report = setup.verify(&honest.deliverable, &honest.evidence, secret);
            assert_eq!(
                report.verdict,
                Verdict::Accept,
                "adaptive {adaptive:?}, secret {secret}: {:?}",
                report.reasons
            );
            assert_eq!(report.adaptive_sampling, adaptive.is_some());
            let finishing = report.finishing.expect("the finishing was compared");
            assert!(finishing.identical() && finishing.samples > 0);
        }
    }
}

#[test]
fn cheats_on_faithful_frames_are_rejected() {
    let Some(setup) = Setup::new(None) else {
        return;
    };
    let honest = setup.render("honest", W, H, N);
    let mut cases: Vec<(&str, PathBuf, PathBuf)> = Vec::new();

    // N/2 samples, claimed as N: Blender's own files, consistent with each other.
    let half = setup.render("half", W, H, N / 2);
    cases.push((
        "N/2 samples",
        half.deliverable.clone(),
        half.evidence.clone(),
    ));
    // N/4 samples, blurred to hide the noise.
    let quarter = setup.render("quarter", W, H, N / 4);
    let blurred = synthetic::box_blur(&combined(&quarter), 1);
    let (deliverable, evidence) = setup.forged("blurred", &honest, &blurred);
    cases.push(("N/4 blurred", deliverable, evidence));
    // Half resolution at N, upscaled.
    let small = setup.render("small", W / 2, H / 2, N);
    let upscaled = upscale2(&combined(&small));
    let (deliverable, evidence) = setup.forged("upscaled", &honest, &upscaled);
    cases.push(("half resolution upscaled", deliverable, evidence));
    // +3 % exposure.
    let brighter = synthetic::gain(&combined(&honest), [1.03; 3]);
    let (deliverable, evidence) = setup.forged("exposure", &honest, &brighter);
    cases.push(("+3 % exposure", deliverable, evidence));
    // An honest evidence with a deliverable finished from something else.
    cases.push((
        "deliverable not the finishing of its evidence",
        half.deliverable.clone(),
        honest.evidence.clone(),
    ));

    for (name, deliverable, evidence) in &cases {
        let report = setup.verify(deliverable, evidence, 3);
        assert_eq!(
            report.verdict,
            Verdict::Reject,
            "{name}: {:?}",
            report.reasons
        );
    }
    // The mismatched deliverable is caught by the first check, before any statistics.
    let mismatched = setup.verify(&half.deliverable, &honest.evidence, 4);
    assert!(mismatched.evidence.is_none());
    assert!(
        mismatched.reasons[0].starts_with("finishing: REJECT"),
        "{:?}",
        mismatched.reasons
    );
}

/// Under adaptive sampling at Blender's default noise threshold (0.01), N/2 samples is still a cheat
/// the statistics see: the references are sampled like the scene, at N.
#[test]
fn half_the_samples_under_adaptive_sampling_is_rejected() {
    let Some(setup) = Setup::new(Some(0.01)) else {
        return;
    };
    let half = setup.render("half", W, H, N / 2);
    let report = setup.verify(&half.deliverable, &half.evidence, 5);
    assert!(report.adaptive_sampling);
    assert_eq!(report.verdict, Verdict::Reject, "{:?}", report.reasons);
}

/// Nearest-neighbour 2× upscale of a half-resolution render to W × H.
fn upscale2(small: &LinearImage) -> LinearImage {
    let mut data = Vec::with_capacity((W * H * 4) as usize);
    for y in 0..H {
        for x in 0..W {
            let i = (((y / 2) * small.width() + x / 2) * 4) as usize;
            data.extend_from_slice(&small.as_rgba()[i..i + 4]);
        }
    }
    LinearImage::from_rgba(W, H, data).expect("image")
}

/// What the creator's own Blender writes: `blender -b scene.blend -o <dir>/f_#### -f 1`.
fn blender_s_own_frame(blender: &BlenderRenderer, scene: &Path, dir: &Path) -> PathBuf {
    let output = std::process::Command::new(blender.install().expect("install").path)
        .args(["-b", "--factory-startup", "-noaudio"])
        .arg(scene)
        .arg("-o")
        .arg(dir.join("f_####"))
        .args(["-f", &FRAME.to_string()])
        .output()
        .expect("run Blender");
    assert!(output.status.success());
    dir.join(format!("f_{FRAME:04}.png"))
}

/// Writes display samples (0..=1) as a 16-bit PNG, like the scene's output.
fn write_png16(image: &LinearImage, path: &Path) {
    let data: Vec<u16> = image
        .as_rgba()
        .iter()
        .map(|v| (v.clamp(0.0, 1.0) * 65_535.0).round() as u16)
        .collect();
    let buffer: image::ImageBuffer<image::Rgba<u16>, Vec<u16>> =
        image::ImageBuffer::from_raw(image.width(), image.height(), data).expect("buffer");
    buffer.save(path).expect("save png");
}

fn verify_display(setup: &Setup, image: &Path, secret: u8) -> DisplayReport {
    let checker = Checker {
        renderer: &setup.blender,
        verifier: &CpuVerifier,
        secret: [secret; 32],
        config: ProtocolConfig::default(),
        control: RenderControl::default(),
    };
    let job = DisplayFrameJob {
        scene: setup.scene.clone(),
        frame: FRAME,
        resolution: Resolution {
            width: W,
            height: H,
        },
        samples: N,
        seed: None,
        engine: None,
        image: image.to_path_buf(),
        work_dir: setup.dir.path().join(format!("display-{secret}")),
    };
    verify_display_frame(&checker, &job)
        .unwrap_or_else(|error| panic!("verification failed: {error}"))
}

/// `pictor verify --scene-settings`: a frame Blender itself wrote with the scene's colour
/// management and compositor is accepted without evidence; the cheat classes are rejected.
#[test]
fn blender_s_own_display_frames_are_accepted_and_cheats_rejected() {
    let Some(setup) = Setup::new(None) else {
        return;
    };
    let own = blender_s_own_frame(&setup.blender, &setup.scene, &setup.dir.path().join("own"));
    for secret in [6, 7] {
        let report = verify_display(&setup, &own, secret);
        assert_eq!(report.verdict, Verdict::Accept, "{:?}", report.reasons);
    }
    let mut cheats: Vec<(&str, PathBuf)> = Vec::new();
    // N/2 samples: the same scene saved with half the samples, rendered by Blender.
    let half_dir = setup.dir.path().join("half");
    let half_scene = build_scene_with(
        &setup.blender,
        &half_dir,
        serde_json::json!({ "samples": N / 2 }),
    );
    cheats.push((
        "N/2 samples",
        blender_s_own_frame(&setup.blender, &half_scene, &half_dir),
    ));
    // +3 % exposure.
    let bright_dir = setup.dir.path().join("bright");
    let bright_scene = build_scene_with(
        &setup.blender,
        &bright_dir,
        serde_json::json!({ "extra_exposure": 0.0426 }),
    );
    cheats.push((
        "+3 % exposure",
        blender_s_own_frame(&setup.blender, &bright_scene, &bright_dir),
    ));
    // N/4 samples, blurred in display space.
    let quarter_dir = setup.dir.path().join("quarter");
    let quarter_scene = build_scene_with(
        &setup.blender,
        &quarter_dir,
        serde_json::json!({ "samples": N / 4 }),
    );
    let quarter = blender_s_own_frame(&setup.blender, &quarter_scene, &quarter_dir);
    let blurred = synthetic::box_blur(
        &decode_samples(&std::fs::read(&quarter).expect("read")).expect("decode"),
        1,
    );
    let blurred_path = quarter_dir.join("blurred.png");
    write_png16(&blurred, &blurred_path);
    cheats.push(("N/4 blurred", blurred_path));
    // Half resolution, upscaled.
    let small = setup.render("small-display", W / 2, H / 2, N);
    let upscaled = upscale2(
        &decode_samples(&std::fs::read(&small.deliverable).expect("read")).expect("decode"),
    );
    let upscaled_path = setup.dir.path().join("upscaled.png");
    write_png16(&upscaled, &upscaled_path);
    cheats.push(("half resolution upscaled", upscaled_path));
    for (name, image) in &cheats {
        let report = verify_display(&setup, image, 8);
        assert_eq!(
            report.verdict,
            Verdict::Reject,
            "{name}: {:?}",
            report.reasons
        );
    }
}

/// The second Blender, `PICTOR_BLENDER_4` (Blender 4.2 from the `bpy` wheel, with
/// OpenImageDenoise; scripts/install-bpy-blender), or `None` after saying why — unless
/// `PICTOR_REQUIRE_BLENDER_4=1`.
fn blender4_or_skip() -> Option<BlenderRenderer> {
    let reason = match std::env::var_os("PICTOR_BLENDER_4") {
        Some(path) => {
            let renderer = BlenderRenderer::with_executable(path);
            match renderer.version() {
                Ok(_) => return Some(renderer),
                Err(error) => format!("PICTOR_BLENDER_4 does not run: {error}"),
            }
        }
        None => "PICTOR_BLENDER_4 is not set (scripts/install-bpy-blender)".to_string(),
    };
    if std::env::var("PICTOR_REQUIRE_BLENDER_4").as_deref() == Ok("1") {
        panic!("PICTOR_REQUIRE_BLENDER_4=1 but {reason}");
    }
    println!("SKIP: {reason}");
    None
}

/// Denoised frames (Blender 4.2, OpenImageDenoise): the honest frame is accepted — its finishing
/// rebuilt by the Denoise node, its noisy image checked statistically — and a frame denoised from a
/// render with half the samples is rejected, as is an honest evidence shipped with that frame.
#[test]
fn denoised_frames_are_accepted_and_a_cheaper_denoised_render_is_rejected() {
    let Some(blender) = blender4_or_skip() else {
        return;
    };
    let setup = Setup::with(blender, serde_json::json!({ "denoise": true }));
    let honest = setup.render("honest", W, H, N);
    let report = setup.verify(&honest.deliverable, &honest.evidence, 9);
    assert_eq!(report.verdict, Verdict::Accept, "{:?}", report.reasons);
    let cheaper = setup.render("cheaper", W, H, N / 2);
    let report = setup.verify(&cheaper.deliverable, &cheaper.evidence, 9);
    assert_eq!(report.verdict, Verdict::Reject, "{:?}", report.reasons);
    let mixed = setup.verify(&cheaper.deliverable, &honest.evidence, 9);
    assert_eq!(mixed.verdict, Verdict::Reject, "{:?}", mixed.reasons);
    assert!(mixed.reasons[0].starts_with("finishing: REJECT"));
}
