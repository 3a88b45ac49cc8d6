//! The checker protocol of `docs/VERIFICATION.md` with Blender on both sides (Cycles, CPU): the worker's
//! frames and the checker's references are real Blender renders of a small animated scene.
//! Matrix cases: H1 honest, C1 (N/2, N/4), C2 (N/4 + blur), C3 (half resolution, upscaled), C4 (the
//! next frame), C6 (black), C8 (10 % of the area tampered), C9 (2 % exposure, channel swap).
//!
//! Without Blender the test prints `SKIP: <reason>` and passes, unless `PICTOR_REQUIRE_BLENDER=1`.
//! Small on purpose (160×96, N = 16): one Blender process per worker image (5) plus one per
//! checker call (the preview pair, and each tile round with both seeds batched: 2–3 per case).
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pictor_core::OutputFormat;
use pictor_core::api::Verdict;
use pictor_render::LinearImage;
use pictor_render::{BlenderRenderer, RenderControl, RenderRequest, Renderer};
use pictor_verify::CpuVerifier;
use pictor_verify::intake::{DuplicateIndex, facts_of};
use pictor_verify::protocol::{Checker, ProtocolConfig, VerifyJob, VerifyReport, verify_image};
use pictor_verify::synthetic::{self, Upscale};
use std::path::{Path, PathBuf};
use std::time::Instant;

const W: u32 = 160;
const H: u32 = 96;
const N: u32 = 16;
const FRAME: u32 = 5;
const WORKER_SEED: u64 = 11;

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

/// A small scene built with Blender's Python: ground, an emissive sphere, a glossy cube that moves
/// ~3 px per frame at 160×96, a sun, a camera.
fn build_scene(blender: &BlenderRenderer, dir: &Path) -> PathBuf {
    let scene = dir.join("anim.blend");
    let executable = blender.install().expect("blender").path;
    let output = std::process::Command::new(executable)
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
        .output()
        .expect("run blender");
    assert!(
        output.status.success() && scene.exists(),
        "building the scene failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    scene
}

struct Setup {
    blender: BlenderRenderer,
    scene: PathBuf,
}

impl Setup {
    fn render(&self, width: u32, height: u32, samples: u32, frame: u32) -> LinearImage {
        let mut request = RenderRequest::new(width, height, samples, WORKER_SEED);
        request.scene = Some(self.scene.clone());
        request.frame = frame;
        let mut output = self
            .blender
            .render(&request, &RenderControl::default())
            .unwrap_or_else(|error| panic!("worker render failed: {error}"));
        output.regions.remove(0).image
    }

    fn verify(&self, image: &LinearImage, secret: u8) -> VerifyReport {
        let job = VerifyJob {
            scene: Some(self.scene.clone()),
            frame: FRAME,
            ..VerifyJob::new(W, H, N, WORKER_SEED)
        };
        let checker = Checker {
            renderer: &self.blender,
            verifier: &CpuVerifier,
            secret: [secret; 32],
            config: ProtocolConfig::default(),
            control: RenderControl::default(),
        };
        let facts = facts_of(image, OutputFormat::Exr);
        verify_image(
            &checker,
            &job,
            image.clone(),
            facts,
            &DuplicateIndex::new(),
            Instant::now(),
        )
        .unwrap_or_else(|error| panic!("verification failed: {error}"))
    }
}

#[test]
fn blender_matrix_honest_accepts_cheats_reject() {
    let Some(blender) = blender_or_skip() else {
        return;
    };
    let dir = tempfile::Builder::new()
        .prefix("verify-blender-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("tempdir");
    let setup = Setup {
        scene: build_scene(&blender, dir.path()),
        blender,
    };
    let honest = setup.render(W, H, N, FRAME);
    let half = setup.render(W, H, N / 2, FRAME);
    let quarter = setup.render(W, H, N / 4, FRAME);
    let half_res = setup.render(W / 2, H / 2, N, FRAME);
    let next = setup.render(W, H, N, FRAME + 1);
    let upscaled = {
        // Bilinear upscale of the half-resolution render: `half_resolution` box-averages the
        // pixel-doubled image back to it and upscales it bilinearly.
        let mut doubled = LinearImage::new(W, H);
        for y in 0..H {
            for x in 0..W {
                let p = half_res.pixel(x / 2, y / 2);
                let i = ((y * W + x) * 4) as usize;
                doubled.as_rgba_mut()[i..i + 4].copy_from_slice(&p);
            }
        }
        synthetic::half_resolution(&doubled, Upscale::Bilinear)
    };
    let tampered =
        synthetic::tamper(&honest, &synthetic::constant(W, H, 0.3), 0.10, 7).expect("tamper");
    let cases: Vec<(&str, LinearImage, bool)> = vec![
        ("H1 honest", honest.clone(), true),
        ("C1 N/2 samples", half, false),
        ("C1 N/4 samples", quarter.clone(), false),
        ("C2 N/4 + 3x3 blur", synthetic::box_blur(&quarter, 1), false),
        ("C3 half res, upscaled", upscaled, false),
        ("C4 next frame", next, false),
        ("C6 black", synthetic::constant(W, H, 0.0), false),
        ("C8 10 % tampered", tampered, false),
        (
            "C9 +2 % exposure",
            synthetic::gain(&honest, [1.02; 3]),
            false,
        ),
        ("C9 channel swap", synthetic::swap_red_blue(&honest), false),
    ];
    let mut failures = Vec::new();
    for (index, (name, image, is_honest)) in cases.iter().enumerate() {
        let report = setup.verify(image, 40 + index as u8);
        let stats = report.stats.as_ref();
        println!(
            "{name}: {:?} after {} round(s), {} renderer calls, Q {:.3}, z excess {:.4} %, \
             bias_z {:.2}, noise ratio {:.3}; {:?}",
            report.verdict,
            report.rounds.len(),
            report.renderer_calls,
            stats.map_or(f64::NAN, |s| s.q),
            stats.map_or(f64::NAN, |s| s.z_excess * 100.0),
            stats.map_or(f64::NAN, |s| s.bias_z_max),
            stats.map_or(f64::NAN, |s| s.noise_ratio),
            report.reasons
        );
        let ok = if *is_honest {
            report.verdict != Verdict::Reject
        } else {
            report.verdict == Verdict::Reject
        };
        if !ok {
            failures.push(format!("{name}: {:?}", report.verdict));
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}
