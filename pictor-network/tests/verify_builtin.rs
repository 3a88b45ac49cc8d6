//! The checker protocol end to end on built-in renderer output (192×108, N = 16, demo scene): the
//! honest cases must not be rejected, the cheats must be. Plus `pictor verify` through the real binary.
//!
//! Matrix cases here: H1, H3, H5, C1 (N/2, N/4), C2, C3 (nearest, bilinear), C4, C5, C6 (black,
//! constant, NaN), C8 (10 %), C9 (2 % exposure, channel swap), C11 (honest only at guessed tiles), C12
//! (off-by-one reference crop). C13 (adaptive sampling parity): the built-in renderer has no adaptive
//! sampling, so there is nothing to diverge; for Blender the job pins `use_adaptive_sampling` and the
//! references must use the same setting (documented in docs/BENCHMARKS.md).
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pictor_core::OutputFormat;
use pictor_core::api::Verdict;
use pictor_core::task::PixelRect;
use pictor_render::BuiltinRenderer;
use pictor_render::{
    LinearImage, RenderControl, RenderError, RenderOutput, RenderRequest, Renderer,
};
use pictor_verify::CpuVerifier;
use pictor_verify::challenge::{ChallengeConfig, ChallengeKey, select_tiles};
use pictor_verify::intake::{DuplicateIndex, facts_of, pixel_hash};
use pictor_verify::protocol::{
    Checker, ProtocolConfig, VerifyJob, VerifyReport, verify_frame_bytes,
};
use std::process::Command;

const W: u32 = 192;
const H: u32 = 108;
const N: u32 = 16;
const WORKER_SEED: u64 = 1;
const FRAME: u32 = 12;

fn job() -> VerifyJob {
    VerifyJob {
        frame: FRAME,
        ..VerifyJob::new(W, H, N, WORKER_SEED)
    }
}

fn render(width: u32, height: u32, samples: u32, seed: u64, frame: u32) -> LinearImage {
    let mut request = RenderRequest::new(width, height, samples, seed);
    request.frame = frame;
    BuiltinRenderer::default()
        .render(&request, &RenderControl::default())
        .expect("render")
        .regions
        .remove(0)
        .image
}

fn verify_with(renderer: &dyn Renderer, image: &LinearImage, secret: u8) -> VerifyReport {
    let bytes = image.encode(OutputFormat::Exr).expect("encode");
    let checker = Checker {
        renderer,
        verifier: &CpuVerifier,
        secret: [secret; 32],
        config: ProtocolConfig::default(),
        control: RenderControl::default(),
    };
    verify_frame_bytes(&checker, &job(), &bytes, &DuplicateIndex::new()).expect("verdict")
}

fn verify(image: &LinearImage) -> VerifyReport {
    verify_with(&BuiltinRenderer::default(), image, 42)
}

fn honest() -> LinearImage {
    render(W, H, N, WORKER_SEED, FRAME)
}

fn assert_verdict(case: &str, report: &VerifyReport, ok: &[Verdict]) {
    assert!(
        ok.contains(&report.verdict),
        "{case}: {:?}, reasons {:#?}\nstats {:#?}",
        report.verdict,
        report.reasons,
        report.stats
    );
    eprintln!(
        "{case}: {:?} after {} round(s); {:?}",
        report.verdict,
        report.rounds.len(),
        report.reasons
    );
}

fn map_rgb(image: &LinearImage, f: impl Fn([f32; 3]) -> [f32; 3]) -> LinearImage {
    let mut out = image.clone();
    for px in out.as_rgba_mut().chunks_exact_mut(4) {
        let [r, g, b] = f([px[0], px[1], px[2]]);
        px[0] = r;
        px[1] = g;
        px[2] = b;
    }
    out
}

fn box_blur(image: &LinearImage) -> LinearImage {
    let (w, h) = (image.width() as i64, image.height() as i64);
    let mut out = image.clone();
    for y in 0..h {
        for x in 0..w {
            let mut sum = [0.0f32; 3];
            let mut n = 0.0;
            for dy in -1..=1 {
                for dx in -1..=1 {
                    let (sx, sy) = (x + dx, y + dy);
                    if sx >= 0 && sy >= 0 && sx < w && sy < h {
                        let p = image.pixel(sx as u32, sy as u32);
                        for (total, v) in sum.iter_mut().zip(p) {
                            *total += v;
                        }
                        n += 1.0;
                    }
                }
            }
            let i = ((y * w + x) * 4) as usize;
            for (dst, total) in out.as_rgba_mut()[i..i + 3].iter_mut().zip(sum) {
                *dst = total / n;
            }
        }
    }
    out
}

fn upscale(small: &LinearImage, bilinear: bool) -> LinearImage {
    let mut out = LinearImage::new(W, H);
    let (sw, sh) = (small.width() as f32, small.height() as f32);
    for y in 0..H {
        for x in 0..W {
            let fx = ((x as f32 + 0.5) * sw / W as f32 - 0.5).clamp(0.0, sw - 1.0);
            let fy = ((y as f32 + 0.5) * sh / H as f32 - 0.5).clamp(0.0, sh - 1.0);
            let p = if bilinear {
                let (x0, y0) = (fx.floor() as u32, fy.floor() as u32);
                let (x1, y1) = (
                    (x0 + 1).min(small.width() - 1),
                    (y0 + 1).min(small.height() - 1),
                );
                let (tx, ty) = (fx - x0 as f32, fy - y0 as f32);
                std::array::from_fn(|c| {
                    let top = small.pixel(x0, y0)[c] * (1.0 - tx) + small.pixel(x1, y0)[c] * tx;
                    let bottom = small.pixel(x0, y1)[c] * (1.0 - tx) + small.pixel(x1, y1)[c] * tx;
                    top * (1.0 - ty) + bottom * ty
                })
            } else {
                small.pixel(
                    ((x as f32 + 0.5) * sw / W as f32) as u32,
                    ((y as f32 + 0.5) * sh / H as f32) as u32,
                )
            };
            let i = ((y * W + x) * 4) as usize;
            out.as_rgba_mut()[i..i + 4].copy_from_slice(&p);
        }
    }
    out
}

#[test]
fn honest_frames_are_not_rejected() {
    // H1: honest, a seed the checker never uses.
    let report = verify(&honest());
    assert_verdict("H1 honest", &report, &[Verdict::Accept, Verdict::Escalate]);
    let plan = ChallengeConfig::default().plan(W, H);
    assert_eq!(report.tiles, plan.tiles);
    // 192×108 is a small frame: its tiles cover every pixel, so there is no preview.
    assert!(plan.whole_frame);
    assert!(report.preview.is_none());
    // One renderer call per tile round (both seeds batched), plus one for a preview pair.
    assert_eq!(
        report.renderer_calls as usize,
        usize::from(report.preview.is_some()) + report.rounds.len()
    );
    // H1 again with other seeds and secrets.
    for (seed, secret) in [(77u64, 3u8), (123_456, 200)] {
        let image = render(W, H, N, seed, FRAME);
        let checker_job = VerifyJob {
            worker_seed: seed,
            ..job()
        };
        let checker = Checker {
            renderer: &BuiltinRenderer::default(),
            verifier: &CpuVerifier,
            secret: [secret; 32],
            config: ProtocolConfig::default(),
            control: RenderControl::default(),
        };
        let bytes = image.encode(OutputFormat::Exr).expect("exr");
        let report = verify_frame_bytes(&checker, &checker_job, &bytes, &DuplicateIndex::new())
            .expect("verdict");
        assert_verdict(
            "H1 other seed",
            &report,
            &[Verdict::Accept, Verdict::Escalate],
        );
    }
    // H1 through an 8-bit PNG: clamped and quantised, checked against matched references.
    let png = honest().encode(OutputFormat::Png8).expect("png");
    let checker = Checker {
        renderer: &BuiltinRenderer::default(),
        verifier: &CpuVerifier,
        secret: [5; 32],
        config: ProtocolConfig::default(),
        control: RenderControl::default(),
    };
    let report =
        verify_frame_bytes(&checker, &job(), &png, &DuplicateIndex::new()).expect("verdict");
    assert_verdict("H1 png8", &report, &[Verdict::Accept, Verdict::Escalate]);
}

#[test]
fn very_low_and_higher_sample_counts_are_not_rejected() {
    // H3: a job of 2 samples, rendered honestly (references at 1 sample each).
    let image = render(W, H, 2, WORKER_SEED, FRAME);
    let checker = Checker {
        renderer: &BuiltinRenderer::default(),
        verifier: &CpuVerifier,
        secret: [9; 32],
        config: ProtocolConfig::default(),
        control: RenderControl::default(),
    };
    let low_job = VerifyJob {
        samples: 2,
        ..job()
    };
    let bytes = image.encode(OutputFormat::Exr).expect("exr");
    let report =
        verify_frame_bytes(&checker, &low_job, &bytes, &DuplicateIndex::new()).expect("verdict");
    assert_verdict("H3 2 spp", &report, &[Verdict::Accept, Verdict::Escalate]);
    // H5: 2N samples where N were asked: must not reject.
    let report = verify(&render(W, H, 2 * N, WORKER_SEED, FRAME));
    assert_verdict("H5 2N", &report, &[Verdict::Accept, Verdict::Escalate]);
}

#[test]
fn fewer_samples_blur_and_upscaling_are_rejected() {
    // C1 N/2 at 192×108 moves Q by a few of its standard errors: rejected 53 / 60 with the
    // sampling-aware edges (55 / 60 with the fixed ones), the rest inconclusive — escalated twice,
    // so rendered again and unpaid (docs/BENCHMARKS.md). Never accepted; rejected for most seeds.
    let verdicts: Vec<Verdict> = (1..=6u64)
        .map(|seed| verify(&render(W, H, N / 2, seed, FRAME)).verdict)
        .collect();
    eprintln!("C1 N/2 over worker seeds 1..=6: {verdicts:?}");
    assert!(!verdicts.contains(&Verdict::Accept), "{verdicts:?}");
    let rejected = verdicts.iter().filter(|v| **v == Verdict::Reject).count();
    assert!(
        rejected >= 5,
        "C1 N/2 rejected {rejected} / 6: {verdicts:?}"
    );
    let quarter = render(W, H, N / 4, WORKER_SEED, FRAME);
    assert_verdict("C1 N/4", &verify(&quarter), &[Verdict::Reject]);
    assert_verdict(
        "C2 N/4 + blur",
        &verify(&box_blur(&quarter)),
        &[Verdict::Reject],
    );
    let half = render(W / 2, H / 2, N, WORKER_SEED, FRAME);
    assert_verdict(
        "C3 half res, nearest",
        &verify(&upscale(&half, false)),
        &[Verdict::Reject],
    );
    assert_verdict(
        "C3 half res, bilinear",
        &verify(&upscale(&half, true)),
        &[Verdict::Reject],
    );
}

#[test]
fn wrong_frames_black_nan_and_duplicates_are_rejected() {
    // C4: the neighbouring frame, rendered honestly. One frame of the demo's slow motion moves one
    // object by ~1 px at 192×108: recorded, not asserted (see docs/BENCHMARKS.md for the rate);
    // three frames must be rejected.
    let report = verify(&render(W, H, N, WORKER_SEED, FRAME + 1));
    eprintln!("C4 frame+1: {:?} {:?}", report.verdict, report.reasons);
    assert_verdict(
        "C4 frame+3",
        &verify(&render(W, H, N, WORKER_SEED, FRAME + 3)),
        &[Verdict::Reject],
    );
    // C6: black, constant grey, NaN pixels.
    let mut black = LinearImage::new(W, H);
    for px in black.as_rgba_mut().chunks_exact_mut(4) {
        px[3] = 1.0;
    }
    let report = verify(&black);
    assert_verdict("C6 black", &report, &[Verdict::Reject]);
    assert!(report.intake.black && report.intake.constant);
    let grey = map_rgb(&black, |_| [0.18, 0.18, 0.18]);
    assert_verdict("C6 grey", &verify(&grey), &[Verdict::Reject]);
    let mut nan = honest();
    nan.as_rgba_mut()[4 * 1000] = f32::NAN;
    let report = verify(&nan);
    assert_verdict("C6 NaN", &report, &[Verdict::Reject]);
    assert!(
        report.rounds.is_empty(),
        "decided at intake, nothing rendered"
    );
    // C5: the same image already submitted for frame 11.
    let image = honest();
    let mut others = DuplicateIndex::new();
    others.insert(FRAME - 1, &facts_of(&image, OutputFormat::Exr));
    let checker = Checker {
        renderer: &BuiltinRenderer::default(),
        verifier: &CpuVerifier,
        secret: [1; 32],
        config: ProtocolConfig::default(),
        control: RenderControl::default(),
    };
    let bytes = image.encode(OutputFormat::Exr).expect("exr");
    let report = verify_frame_bytes(&checker, &job(), &bytes, &others).expect("verdict");
    assert_verdict("C5 duplicate", &report, &[Verdict::Reject]);
    assert!(report.checker_render_ms == 0 && report.rounds.is_empty());
}

#[test]
fn tampered_regions_and_colour_shifts_are_rejected() {
    // C8: 10 % of the area (62×34 px) replaced by a flat patch at an arbitrary place.
    let mut tampered = honest();
    let patch = map_rgb(
        &tampered
            .crop(PixelRect {
                x: 100,
                y: 40,
                width: 62,
                height: 34,
            })
            .expect("crop"),
        |_| [0.3, 0.25, 0.2],
    );
    tampered.paste(&patch, 100, 40).expect("paste");
    assert_verdict("C8 10 % region", &verify(&tampered), &[Verdict::Reject]);
    // C9: a 2 % exposure shift, and a channel swap.
    let brighter = map_rgb(&honest(), |[r, g, b]| [r * 1.02, g * 1.02, b * 1.02]);
    let report = verify(&brighter);
    eprintln!("C9 2 % exposure: {:?} {:?}", report.verdict, report.reasons);
    let swapped = map_rgb(&honest(), |[r, g, b]| [b, g, r]);
    assert_verdict("C9 channel swap", &verify(&swapped), &[Verdict::Reject]);
}

/// C11: a worker renders honestly only where it guesses the tiles will be (with a guessed secret),
/// and at N/4 elsewhere. The checker's real secret picks other tiles: caught.
#[test]
fn honest_only_at_guessed_tiles_is_caught() {
    // A frame small enough to be verified whole has no tiles to guess: the "guess" covers every
    // pixel, so this cheat degenerates into honest work there.
    let small = ChallengeConfig::default().plan(W, H);
    assert!(small.whole_frame, "192×108 is verified whole");
    // On a frame large enough for sampled tiles, honest pixels only where a checker with another
    // secret would look are caught.
    let (w, h) = (512, 288);
    assert!(!ChallengeConfig::default().plan(w, h).whole_frame);
    let honest = render(w, h, N, WORKER_SEED, FRAME);
    let mut cheat = render(w, h, N / 4, WORKER_SEED, FRAME);
    let guess = ChallengeKey::derive(&[0; 32], &pixel_hash(&cheat), FRAME, N, WORKER_SEED);
    for tile in select_tiles(&guess, "round1", w, h, None, &ChallengeConfig::default()) {
        let pixels = honest.crop(tile.rect).expect("crop");
        cheat
            .paste(&pixels, tile.rect.x, tile.rect.y)
            .expect("paste");
    }
    let bytes = cheat.encode(OutputFormat::Exr).expect("encode");
    let checker = Checker {
        renderer: &BuiltinRenderer::default(),
        verifier: &CpuVerifier,
        secret: [42; 32],
        config: ProtocolConfig::default(),
        control: RenderControl::default(),
    };
    let job = VerifyJob {
        frame: FRAME,
        ..VerifyJob::new(w, h, N, WORKER_SEED)
    };
    let report =
        verify_frame_bytes(&checker, &job, &bytes, &DuplicateIndex::new()).expect("verdict");
    assert_verdict("C11 honest at guessed tiles", &report, &[Verdict::Reject]);
}

/// A renderer with a crop bug: every region is rendered one pixel to the right of the one asked
/// for (and labelled as asked).
struct OffByOne(BuiltinRenderer);

impl Renderer for OffByOne {
    fn name(&self) -> &str {
        "builtin-off-by-one"
    }
    fn version(&self) -> Result<String, RenderError> {
        self.0.version()
    }
    fn render(
        &self,
        request: &RenderRequest,
        control: &RenderControl,
    ) -> Result<RenderOutput, RenderError> {
        if request.regions.is_empty() {
            return self.0.render(request, control);
        }
        let mut shifted = request.clone();
        for region in &mut shifted.regions {
            if region.x + region.width < request.resolution.width {
                region.x += 1;
            }
        }
        let mut output = self.0.render(&shifted, control)?;
        for (got, asked) in output.regions.iter_mut().zip(&request.regions) {
            got.region = *asked;
        }
        Ok(output)
    }
}

/// C12: a checker-side off-by-one crop must not reject an honest frame. Exact crops are the design;
/// a misaligned reference is detected by the ±1-pixel alignment probe and escalated instead.
#[test]
fn off_by_one_reference_crop_does_not_reject_honest_work() {
    let report = verify_with(&OffByOne(BuiltinRenderer::default()), &honest(), 42);
    assert_verdict(
        "C12 off-by-one reference",
        &report,
        &[Verdict::Accept, Verdict::Escalate],
    );
    assert!(
        report
            .rounds
            .iter()
            .any(|round| round.misalignment == Some((1, 0))),
        "{:?}",
        report
            .rounds
            .iter()
            .map(|r| r.misalignment)
            .collect::<Vec<_>>()
    );
    // A cheat stays a reject even with the buggy renderer.
    let quarter = render(W, H, N / 4, WORKER_SEED, FRAME);
    let report = verify_with(&OffByOne(BuiltinRenderer::default()), &quarter, 42);
    assert_ne!(report.verdict, Verdict::Accept);
}

#[test]
fn tile_positions_and_seeds_are_evidence() {
    let report = verify(&honest());
    let json = serde_json::to_value(&report).expect("serde");
    for key in [
        "verdict",
        "reasons",
        "stats",
        "tiles",
        "checker_render_ms",
        "verify_ms",
        "backend",
        "rounds",
        "preview",
        "intake",
    ] {
        assert!(json.get(key).is_some(), "missing {key}");
    }
    let round = &report.rounds[0];
    assert_eq!(round.seeds.len(), 2);
    assert!(!round.seeds.contains(&WORKER_SEED));
    assert_eq!(round.reference_samples, N / 2);
    assert_eq!(
        round.tiles.len(),
        ChallengeConfig::default().plan(W, H).tiles
    );
    // Another secret: other seeds for the same frame; other tiles too, unless the frame is small
    // enough to be verified whole (then every secret checks every pixel).
    let other = verify_with(&BuiltinRenderer::default(), &honest(), 43);
    assert_ne!(other.rounds[0].seeds, round.seeds);
    if ChallengeConfig::default().plan(W, H).whole_frame {
        assert_eq!(other.rounds[0].tiles, round.tiles);
    } else {
        assert_ne!(other.rounds[0].tiles, round.tiles);
    }
}

#[test]
fn pictor_verify_cli_prints_the_json_contract() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("frame.png");
    std::fs::write(&path, honest().encode(OutputFormat::Png16).expect("png")).expect("write");
    let path = path.to_str().expect("utf-8");
    let args = [
        "verify",
        "--renderer",
        "builtin",
        "--frame",
        "12",
        "--width",
        "192",
        "--height",
        "108",
        "--samples",
        "16",
        "--seed",
        "1",
        "--image",
        path,
        "--secret-file",
        &secret_file(&"07".repeat(32)),
        "--json",
    ];
    let output = Command::new(env!("CARGO_BIN_EXE_pictor"))
        .args(args)
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("one JSON object");
    for key in [
        "verdict",
        "reasons",
        "stats",
        "tiles",
        "checker_render_ms",
        "verify_ms",
        "backend",
    ] {
        assert!(json.get(key).is_some(), "missing {key}: {json}");
    }
    assert_eq!(json["backend"], "cpu");
    assert!(
        [
            ChallengeConfig::default().plan(W, H).tiles,
            ChallengeConfig::default().escalated().plan(W, H).tiles
        ]
        .contains(&(json["tiles"].as_u64().unwrap_or(0) as usize)),
        "{json}"
    );
    // Exit 0 whatever the verdict (this small frame sits where honest frames are sometimes
    // escalated or even rejected; see docs/BENCHMARKS.md).
    assert!(
        ["accept", "escalate", "reject"].contains(&json["verdict"].as_str().unwrap_or("")),
        "{json}"
    );

    // Errors: wrong dimensions, a 0-byte file (and the vulkan backend when built without it).
    let empty = dir.path().join("empty.png");
    std::fs::write(&empty, b"").expect("write");
    for bad in [
        vec!["--width", "100", "--image", path],
        vec!["--width", "192", "--image", empty.to_str().expect("utf-8")],
    ]
    .into_iter()
    .chain(
        (!cfg!(feature = "vulkan"))
            .then(|| vec!["--width", "192", "--image", path, "--backend", "vulkan"]),
    ) {
        let mut args = vec![
            "verify",
            "--height",
            "108",
            "--samples",
            "16",
            "--frame",
            "12",
        ];
        args.extend(bad);
        let output = Command::new(env!("CARGO_BIN_EXE_pictor"))
            .args(&args)
            .output()
            .expect("runs");
        assert!(!output.status.success(), "{args:?} should fail");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.starts_with("pictor: "), "{args:?}: {stderr}");
    }
}

/// With the `vulkan` feature, `--backend vulkan` runs the same protocol on the Vulkan statistics
/// backend and reaches the CPU backend's verdict. Skips when no Vulkan device exists, unless
/// `PICTOR_REQUIRE_VULKAN=1`.
#[cfg(feature = "vulkan")]
#[test]
fn pictor_verify_vulkan_backend_matches_cpu() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("frame.exr");
    std::fs::write(&path, honest().encode(OutputFormat::Exr).expect("exr")).expect("write");
    let secret_path = secret_file(&"07".repeat(32));
    let run = |backend: &str| {
        Command::new(env!("CARGO_BIN_EXE_pictor"))
            .args([
                "verify",
                "--frame",
                "12",
                "--width",
                "192",
                "--height",
                "108",
                "--samples",
                "16",
                "--seed",
                "1",
                "--image",
                path.to_str().expect("utf-8"),
                "--secret-file",
                &secret_path,
                "--backend",
                backend,
                "--json",
            ])
            .output()
            .expect("runs")
    };
    let vulkan = run("vulkan");
    if !vulkan.status.success() {
        let stderr = String::from_utf8_lossy(&vulkan.stderr);
        assert!(
            stderr.contains("Vulkan") || stderr.contains("vulkan"),
            "unexpected failure: {stderr}"
        );
        if std::env::var("PICTOR_REQUIRE_VULKAN").as_deref() == Ok("1") {
            panic!("PICTOR_REQUIRE_VULKAN=1 but the Vulkan backend failed: {stderr}");
        }
        eprintln!("SKIP: no Vulkan device: {stderr}");
        return;
    }
    let cpu = run("cpu");
    assert!(
        cpu.status.success(),
        "{}",
        String::from_utf8_lossy(&cpu.stderr)
    );
    let vulkan: serde_json::Value = serde_json::from_slice(&vulkan.stdout).expect("json");
    let cpu: serde_json::Value = serde_json::from_slice(&cpu.stdout).expect("json");
    assert_eq!(vulkan["backend"], "vulkan");
    assert_eq!(cpu["backend"], "cpu");
    assert_eq!(
        vulkan["verdict"], cpu["verdict"],
        "same secret, same references, same verdict"
    );
    assert_eq!(vulkan["tiles"], cpu["tiles"]);
}

/// A private file holding `hex`, for `--secret-file` (kept until the process exits).
fn secret_file(hex: &str) -> String {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), hex).expect("write secret");
    let (_, path) = file.keep().expect("keep");
    path.to_str().expect("utf-8").to_string()
}
