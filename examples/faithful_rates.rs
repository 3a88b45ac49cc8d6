//! Measures the verification of faithful frames (`output: scene`, docs/VERIFICATION.md section 2a)
//! with Blender on both sides: the false-reject rate over honest frames with distinct seeds, the
//! detection rate per cheat class, and (with `--cost`) the checker's time against the worker's on
//! one frame. The scene is the tests' lit scene (`pictor-verify/tests/scenes/lit_scene.py`) with
//! Filmic, a look, exposure and a glare compositor, written as 16-bit PNG.
//!
//! ```sh
//! cargo run --release --example faithful_rates -- --frames 200 --cheats 10
//! cargo run --release --example faithful_rates -- --frames 0 --cheats 0 --cost 1920x1080x64
//! ```
//! Options: `--frames N` honest frames (default 200), `--cheats N` frames per cheat class (default
//! 10), `--size WxHxS` (default 160x96x32), `--adaptive T` adaptive sampling at noise threshold T
//! (default off), `--cost WxHxS` times one worker render and its checks at that size: the first
//! check of the scene (Blender started with it), five later checks in the same session (what a
//! checker keeps open between checks of a job), and the baseline, a Blender process per call;
//! `--no-session` checks every frame the baseline way.
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pictor::core::api::Verdict;
use pictor::core::job::Resolution;
use pictor::render::blender::finish::{FinishRequest, FinishedFrame, RefinishRequest};
use pictor::render::evidence::Evidence;
use pictor::render::{
    BlenderRenderer, LinearImage, RenderControl, RenderError, RenderOutput, RenderRequest, Renderer,
};
use pictor::verify::CpuVerifier;
use pictor::verify::faithful::{FaithfulJob, FaithfulReport, verify_faithful_frame};
use pictor::verify::protocol::{Checker, ProtocolConfig};
use pictor::verify::synthetic;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Blender without sessions: every call of the check a Blender process of its own (the baseline
/// the session is measured against).
struct ProcessPerCall<'a>(&'a BlenderRenderer);

impl Renderer for ProcessPerCall<'_> {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn version(&self) -> Result<String, RenderError> {
        self.0.version()
    }

    fn render(
        &self,
        request: &RenderRequest,
        control: &RenderControl,
    ) -> Result<RenderOutput, RenderError> {
        self.0.render(request, control)
    }

    fn render_seeds(
        &self,
        request: &RenderRequest,
        seeds: &[u64],
        control: &RenderControl,
    ) -> Result<Vec<RenderOutput>, RenderError> {
        self.0.render_seeds(request, seeds, control)
    }

    fn refinish_frame(
        &self,
        request: &RefinishRequest,
        control: &RenderControl,
    ) -> Result<pictor::render::blender::finish::Refinished, RenderError> {
        self.0.refinish_frame(request, control)
    }
}

struct Ctx {
    blender: BlenderRenderer,
    /// Check with a Blender process per call instead of one session.
    process_per_call: bool,
    scene: PathBuf,
    dir: PathBuf,
    width: u32,
    height: u32,
    samples: u32,
}

impl Ctx {
    fn render(
        &self,
        name: &str,
        width: u32,
        height: u32,
        samples: u32,
        seed: u64,
    ) -> FinishedFrame {
        let out = self.dir.join(name);
        let _ = std::fs::remove_dir_all(&out);
        self.blender
            .render_finished(
                &FinishRequest {
                    scene: self.scene.clone(),
                    frame: 1,
                    resolution: Resolution { width, height },
                    samples,
                    seed,
                    engine: None,
                    output: None,
                    out_dir: out.join("out"),
                    evidence: out.join("evidence.exr"),
                },
                &RenderControl::default(),
            )
            .unwrap_or_else(|error| panic!("render failed: {error}"))
    }

    fn honest(&self, name: &str, seed: u64) -> FinishedFrame {
        self.render(name, self.width, self.height, self.samples, seed)
    }

    /// `honest`'s evidence with its combined pass replaced, and the deliverable Blender finishes
    /// from it.
    fn forged(
        &self,
        name: &str,
        honest: &FinishedFrame,
        combined: &LinearImage,
    ) -> (PathBuf, PathBuf) {
        let mut evidence = Evidence::decode(&std::fs::read(&honest.evidence).unwrap()).unwrap();
        evidence
            .set_pass("ViewLayer", "Combined", combined)
            .unwrap();
        let dir = self.dir.join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("evidence.exr");
        std::fs::write(&path, evidence.encode().unwrap()).unwrap();
        let deliverable = self
            .blender
            .refinish_frame(
                &RefinishRequest {
                    scene: self.scene.clone(),
                    frame: 1,
                    resolution: Resolution {
                        width: self.width,
                        height: self.height,
                    },
                    evidence: path.clone(),
                    out_dir: dir.join("out"),
                },
                &RenderControl::default(),
            )
            .unwrap()
            .output;
        (deliverable, path)
    }

    fn verify(
        &self,
        deliverable: &Path,
        evidence: &Path,
        seed: u64,
        secret: u64,
    ) -> FaithfulReport {
        let baseline = ProcessPerCall(&self.blender);
        let renderer: &dyn Renderer = if self.process_per_call {
            &baseline
        } else {
            &self.blender
        };
        self.verify_with(renderer, deliverable, evidence, seed, secret)
    }

    /// Checks a frame with `renderer`: Blender (a session of its own for the check), a session
    /// already open (a later check of the same scene on a checker), or the process-per-call
    /// baseline.
    fn verify_with(
        &self,
        renderer: &dyn Renderer,
        deliverable: &Path,
        evidence: &Path,
        seed: u64,
        secret: u64,
    ) -> FaithfulReport {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&secret.to_le_bytes());
        let checker = Checker {
            renderer,
            verifier: &CpuVerifier,
            secret: key,
            config: ProtocolConfig::default(),
            control: RenderControl::default(),
        };
        let work = self.dir.join("check");
        let _ = std::fs::remove_dir_all(&work);
        let job = FaithfulJob {
            scene: self.scene.clone(),
            frame: 1,
            resolution: Resolution {
                width: self.width,
                height: self.height,
            },
            samples: self.samples,
            worker_seed: seed,
            engine: None,
            deliverable: deliverable.to_path_buf(),
            evidence: evidence.to_path_buf(),
            work_dir: work,
        };
        verify_faithful_frame(&checker, &job).unwrap_or_else(|error| panic!("verify: {error}"))
    }

    fn combined(frame: &FinishedFrame) -> LinearImage {
        Evidence::decode(&std::fs::read(&frame.evidence).unwrap())
            .unwrap()
            .noisy_combined("ViewLayer")
            .unwrap()
    }
}

type Cheat = fn(&Ctx, u64) -> (PathBuf, PathBuf);

fn cheats() -> Vec<(&'static str, Cheat)> {
    vec![
        ("C1 N/2 samples", |ctx, seed| {
            let half = ctx.render("c1", ctx.width, ctx.height, ctx.samples / 2, seed);
            (half.deliverable, half.evidence)
        }),
        ("C2 N/4 blurred", |ctx, seed| {
            let honest = ctx.honest("c2-honest", seed);
            let quarter = ctx.render("c2", ctx.width, ctx.height, ctx.samples / 4, seed);
            let blurred = synthetic::box_blur(&Ctx::combined(&quarter), 1);
            ctx.forged("c2-forged", &honest, &blurred)
        }),
        ("C3 half resolution upscaled", |ctx, seed| {
            let honest = ctx.honest("c3-honest", seed);
            let small =
                Ctx::combined(&ctx.render("c3", ctx.width / 2, ctx.height / 2, ctx.samples, seed));
            let mut data = Vec::with_capacity((ctx.width * ctx.height * 4) as usize);
            for y in 0..ctx.height {
                for x in 0..ctx.width {
                    let i = (((y / 2) * small.width() + x / 2) * 4) as usize;
                    data.extend_from_slice(&small.as_rgba()[i..i + 4]);
                }
            }
            let upscaled = LinearImage::from_rgba(ctx.width, ctx.height, data).unwrap();
            ctx.forged("c3-forged", &honest, &upscaled)
        }),
        ("C9 +3 % exposure", |ctx, seed| {
            let honest = ctx.honest("c9-honest", seed);
            let brighter = synthetic::gain(&Ctx::combined(&honest), [1.03; 3]);
            ctx.forged("c9-forged", &honest, &brighter)
        }),
        (
            "C14 deliverable not the finishing of its evidence",
            |ctx, seed| {
                let honest = ctx.honest("c14-honest", seed);
                let other = ctx.honest("c14-other", seed ^ 0x5eed);
                (other.deliverable, honest.evidence)
            },
        ),
    ]
}

fn parse_size(text: &str) -> (u32, u32, u32) {
    let parts: Vec<u32> = text.split('x').map(|p| p.parse().expect("WxHxS")).collect();
    assert_eq!(parts.len(), 3, "--size and --cost take WxHxS");
    (parts[0], parts[1], parts[2])
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let frames: u64 = value("--frames").map_or(200, |v| v.parse().expect("--frames N"));
    let cheat_frames: u64 = value("--cheats").map_or(10, |v| v.parse().expect("--cheats N"));
    let (width, height, samples) = parse_size(&value("--size").unwrap_or("160x96x32".into()));
    let adaptive: Option<f32> = value("--adaptive").map(|v| v.parse().expect("--adaptive T"));
    let cost = value("--cost").map(|v| parse_size(&v));

    let blender = BlenderRenderer::new();
    let dir = tempfile::tempdir().unwrap();
    let scene = dir.path().join("shot.blend");
    let (scene_width, scene_height, _) = cost.unwrap_or((width, height, samples));
    let options = serde_json::json!({ "adaptive": adaptive, "size": [scene_width, scene_height] });
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("pictor-verify/tests/scenes/lit_scene.py");
    let built = std::process::Command::new(blender.install().expect("Blender").path)
        .args([
            "-b",
            "--factory-startup",
            "-noaudio",
            "--python-exit-code",
            "1",
            "--python",
        ])
        .arg(&script)
        .arg("--")
        .arg(&scene)
        .arg(options.to_string())
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );

    if let Some((width, height, samples)) = cost {
        let mut ctx = Ctx {
            blender,
            process_per_call: false,
            scene,
            dir: dir.path().to_path_buf(),
            width,
            height,
            samples,
        };
        let started = Instant::now();
        let frame = ctx.honest("cost", 7);
        let worker_ms = started.elapsed().as_secs_f64() * 1e3;
        let size = |path: &Path| std::fs::metadata(path).map_or(0, |m| m.len());
        println!(
            "cost {width}x{height}x{samples}: deliverable {} bytes, evidence {} bytes",
            size(&frame.deliverable),
            size(&frame.evidence)
        );
        let report_cost = |how: &str, checker_ms: f64, report: &FaithfulReport| {
            let references_ms = report.evidence.as_ref().map_or(0, |r| r.checker_render_ms);
            println!(
                "cost {width}x{height}x{samples} ({how}): worker {worker_ms:.0} ms, checker \
                 {checker_ms:.0} ms ({:.2} %): refinish {} ms ({:.2} %), reference renders \
                 {references_ms} ms ({:.2} %), verdict {:?}",
                100.0 * checker_ms / worker_ms,
                report.refinish_ms,
                100.0 * report.refinish_ms as f64 / worker_ms,
                100.0 * references_ms as f64 / worker_ms,
                report.verdict
            );
        };
        // What a checker does: the first check of a job starts Blender with the scene; later
        // checks of the job on that checker find the session open (`pictor_agent`'s warm
        // sessions). Each check a distinct secret.
        let started = Instant::now();
        let session = ctx.blender.open_session(&ctx.scene).unwrap();
        let report = ctx.verify_with(&session, &frame.deliverable, &frame.evidence, 7, 1);
        report_cost(
            "first check of the scene: Blender started",
            started.elapsed().as_secs_f64() * 1e3,
            &report,
        );
        let mut later_ms = Vec::new();
        for secret in 2..7 {
            let started = Instant::now();
            let report = ctx.verify_with(&session, &frame.deliverable, &frame.evidence, 7, secret);
            let checker_ms = started.elapsed().as_secs_f64() * 1e3;
            report_cost(
                "a later check of the scene: session open",
                checker_ms,
                &report,
            );
            later_ms.push(checker_ms);
        }
        let mean = later_ms.iter().sum::<f64>() / later_ms.len() as f64;
        let max = later_ms.iter().copied().fold(0.0, f64::max);
        println!(
            "cost {width}x{height}x{samples}: {} later checks, mean {mean:.0} ms ({:.2} %), \
             slowest {max:.0} ms ({:.2} %)",
            later_ms.len(),
            100.0 * mean / worker_ms,
            100.0 * max / worker_ms
        );
        drop(session);
        ctx.process_per_call = true;
        let started = Instant::now();
        let report = ctx.verify(&frame.deliverable, &frame.evidence, 7, 4);
        report_cost(
            "baseline: a Blender process per call",
            started.elapsed().as_secs_f64() * 1e3,
            &report,
        );
        return;
    }

    let ctx = Ctx {
        blender,
        process_per_call: args.iter().any(|a| a == "--no-session"),
        scene,
        dir: dir.path().to_path_buf(),
        width,
        height,
        samples,
    };
    let mut not_accepted = Vec::new();
    for index in 0..frames {
        let seed = 1_000_003 * (index + 1);
        let frame = ctx.honest("honest", seed);
        let report = ctx.verify(&frame.deliverable, &frame.evidence, seed, index + 11);
        if report.verdict != Verdict::Accept {
            eprintln!(
                "honest seed {seed}: {:?} {:?}",
                report.verdict, report.reasons
            );
            not_accepted.push((seed, report.verdict));
        }
    }
    let rejected = not_accepted
        .iter()
        .filter(|(_, v)| *v == Verdict::Reject)
        .count();
    println!(
        "honest {width}x{height}x{samples} adaptive {adaptive:?}: {frames} frames, {rejected} rejected, {} escalated",
        not_accepted.len() - rejected
    );
    for (name, cheat) in cheats() {
        let (mut rejected, mut escalated) = (0, 0);
        for index in 0..cheat_frames {
            let seed = 7_000_001 * (index + 1);
            let (deliverable, evidence) = cheat(&ctx, seed);
            match ctx
                .verify(&deliverable, &evidence, seed, 5_000 + index)
                .verdict
            {
                Verdict::Reject => rejected += 1,
                Verdict::Escalate => escalated += 1,
                _ => {}
            }
        }
        println!("{name}: {cheat_frames} frames, {rejected} rejected, {escalated} escalated");
    }
}
