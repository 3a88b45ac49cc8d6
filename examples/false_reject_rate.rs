//! Measures the checker protocol on built-in renderer output: the false-reject rate over honest
//! frames with random seeds, the detection rate per cheat class, and (with `--cost`) the checker's
//! render time as a fraction of the worker's on a realistic frame; `--only C1,C9,H5` limits the
//! cheat classes to those whose names start with one of the comma-separated prefixes.
//!
//! ```sh
//! cargo run --release --example false_reject_rate -- --frames 2000 --cheats 50
//! cargo run --release --example false_reject_rate -- --cost 1280x720x64
//! ```
//! Options: `--frames N` honest frames (default 2000), `--cheats N` frames per cheat class (default
//! 50), `--size WxHxS` frame size and samples (default 128x72x16), `--cost WxHxS` time one worker
//! render against the checker's renders at that size instead; `--first-frame K` starts the honest
//! frames at index K (seeds are `1_000_003 × (index + 1)`), so a long run can be split;
//! `--format exr|png8|png16` passes every frame through that file format first (default exr);
//! `--max-reference-cost F|none` sets `ChallengeConfig::max_reference_cost` (default 0.045);
//! `--sampling-alpha A,R` sets `Thresholds::sampling_alpha_accept` / `_reject`. With the
//! environment variable `FRR_DEBUG` set, every cheat frame's verdict and reasons (and with `--cost`
//! each round's reasons) go to stderr; with `FRR_Z` set, every honest frame's round-1 `Q`, noise
//! ratio, `ρ(e) − ρ(d)` and bias ratio go to stderr with their standard errors (a line
//! `Z seed q q_se nr nr_se rho rho_se bias bias_se rho_e rho_d`), to calibrate the
//! sampling-aware edges.
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pictor::core::OutputFormat;
use pictor::core::api::Verdict;
use pictor::render::{BuiltinRenderer, LinearImage, RenderControl, RenderRequest, Renderer};
use pictor::verify::CpuVerifier;
use pictor::verify::intake::{DuplicateIndex, facts_of};
use pictor::verify::protocol::{Checker, ProtocolConfig, VerifyJob, verify_image};
use std::time::Instant;

type Cheat = fn(&Ctx, u64) -> LinearImage;

struct Ctx {
    width: u32,
    height: u32,
    samples: u32,
    frame: u32,
}

impl Ctx {
    fn render(&self, width: u32, height: u32, samples: u32, seed: u64, frame: u32) -> LinearImage {
        let mut request = RenderRequest::new(width, height, samples.max(1), seed);
        request.frame = frame;
        match BuiltinRenderer::default().render(&request, &RenderControl::default()) {
            Ok(mut output) => output.regions.remove(0).image,
            Err(error) => panic!("render failed: {error}"),
        }
    }
    fn honest(&self, seed: u64) -> LinearImage {
        self.render(self.width, self.height, self.samples, seed, self.frame)
    }
}

fn map_rgb(image: &LinearImage, f: impl Fn([f32; 3]) -> [f32; 3]) -> LinearImage {
    let mut out = image.clone();
    for px in out.as_rgba_mut().chunks_exact_mut(4) {
        let [r, g, b] = f([px[0], px[1], px[2]]);
        px[..3].copy_from_slice(&[r, g, b]);
    }
    out
}

fn blur(image: &LinearImage) -> LinearImage {
    let (w, h) = (image.width(), image.height());
    let mut out = image.clone();
    for y in 0..h {
        for x in 0..w {
            let mut sum = [0.0f32; 3];
            let mut n = 0.0;
            for sy in y.saturating_sub(1)..=(y + 1).min(h - 1) {
                for sx in x.saturating_sub(1)..=(x + 1).min(w - 1) {
                    let p = image.pixel(sx, sy);
                    for (total, v) in sum.iter_mut().zip(p) {
                        *total += v;
                    }
                    n += 1.0;
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

fn upscale_nearest(small: &LinearImage, width: u32, height: u32) -> LinearImage {
    let mut out = LinearImage::new(width, height);
    for y in 0..height {
        for x in 0..width {
            let p = small.pixel(
                (x * small.width() / width).min(small.width() - 1),
                (y * small.height() / height).min(small.height() - 1),
            );
            let i = ((y * width + x) * 4) as usize;
            out.as_rgba_mut()[i..i + 4].copy_from_slice(&p);
        }
    }
    out
}

fn cheats() -> Vec<(&'static str, Cheat)> {
    vec![
        ("C1 N/2 samples", |c, s| {
            c.render(c.width, c.height, c.samples / 2, s, c.frame)
        }),
        ("C1 N/4 samples", |c, s| {
            c.render(c.width, c.height, c.samples / 4, s, c.frame)
        }),
        ("C2 N/4 + 3x3 blur", |c, s| {
            blur(&c.render(c.width, c.height, c.samples / 4, s, c.frame))
        }),
        ("C3 half res, nearest", |c, s| {
            upscale_nearest(
                &c.render(c.width / 2, c.height / 2, c.samples, s, c.frame),
                c.width,
                c.height,
            )
        }),
        ("C4 frame + 1", |c, s| {
            c.render(c.width, c.height, c.samples, s, c.frame + 1)
        }),
        ("C4 frame + 3", |c, s| {
            c.render(c.width, c.height, c.samples, s, c.frame + 3)
        }),
        ("C6 black", |c, _| {
            map_rgb(&LinearImage::new(c.width, c.height), |_| [0.0; 3])
        }),
        ("C8 10 % region flat", |c, s| {
            let mut image = c.honest(s);
            let (pw, ph) = (c.width * 32 / 100, c.height * 32 / 100);
            let x = (s as u32 * 7919) % (c.width - pw);
            let y = (s as u32 * 104_729) % (c.height - ph);
            for yy in y..y + ph {
                for xx in x..x + pw {
                    let i = ((yy * c.width + xx) * 4) as usize;
                    image.as_rgba_mut()[i..i + 3].copy_from_slice(&[0.3, 0.25, 0.2]);
                }
            }
            image
        }),
        ("C9 +2 % exposure", |c, s| {
            map_rgb(&c.honest(s), |[r, g, b]| [r * 1.02, g * 1.02, b * 1.02])
        }),
        ("C9 channel swap", |c, s| {
            map_rgb(&c.honest(s), |[r, g, b]| [b, g, r])
        }),
        ("H5 2N samples (not a cheat)", |c, s| {
            c.render(c.width, c.height, c.samples * 2, s, c.frame)
        }),
    ]
}

fn parse_size(text: &str) -> (u32, u32, u32) {
    let parts: Vec<u32> = text.split('x').filter_map(|p| p.parse().ok()).collect();
    match parts[..] {
        [w, h, s] => (w, h, s),
        _ => panic!("size must be WxHxS, got {text}"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let frames: u64 = value("--frames")
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    // Frame indices start here, so a long run can be split: seeds are 1_000_003 × (index + 1).
    let first_frame: u64 = value("--first-frame")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let per_cheat: u64 = value("--cheats").and_then(|v| v.parse().ok()).unwrap_or(50);
    let format = match value("--format").as_deref() {
        None | Some("exr") => OutputFormat::Exr,
        Some("png8") => OutputFormat::Png8,
        Some("png16") => OutputFormat::Png16,
        Some(other) => panic!("--format must be exr, png8 or png16, got {other}"),
    };
    let mut config = ProtocolConfig::default();
    match value("--max-reference-cost").as_deref() {
        None => {}
        Some("none") => config.challenge.max_reference_cost = None,
        Some(cost) => {
            let cost = cost
                .parse()
                .unwrap_or_else(|_| panic!("--max-reference-cost wants a fraction or none"));
            config.challenge.max_reference_cost = Some(cost);
        }
    }
    if let Some(alpha) = value("--sampling-alpha") {
        let (accept, reject) = alpha
            .split_once(',')
            .and_then(|(a, r)| Some((a.parse().ok()?, r.parse().ok()?)))
            .unwrap_or_else(|| panic!("--sampling-alpha wants ACCEPT,REJECT, got {alpha}"));
        config.thresholds.sampling_alpha_accept = accept;
        config.thresholds.sampling_alpha_reject = reject;
    }
    let renderer = BuiltinRenderer::default();
    let run = |ctx: &Ctx, image: LinearImage, seed: u64, secret: u64| {
        // The frame as the checker receives it: through the job's file format.
        let image = match format {
            OutputFormat::Exr => image,
            _ => image
                .encode(format)
                .and_then(|bytes| LinearImage::decode(&bytes))
                .unwrap_or_else(|error| panic!("encode as {format:?}: {error}")),
        };
        let job = VerifyJob {
            frame: ctx.frame,
            ..VerifyJob::new(ctx.width, ctx.height, ctx.samples, seed)
        };
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&secret.to_le_bytes());
        key[8..16].copy_from_slice(&seed.to_le_bytes());
        let checker = Checker {
            renderer: &renderer,
            verifier: &CpuVerifier,
            secret: key,
            config: config.clone(),
            control: RenderControl::default(),
        };
        let facts = facts_of(&image, format);
        match verify_image(
            &checker,
            &job,
            image,
            facts,
            &DuplicateIndex::new(),
            Instant::now(),
        ) {
            Ok(report) => report,
            Err(error) => panic!("verify failed: {error}"),
        }
    };

    if let Some(size) = value("--cost") {
        let (width, height, samples) = parse_size(&size);
        let ctx = Ctx {
            width,
            height,
            samples,
            frame: 12,
        };
        let started = Instant::now();
        let image = ctx.honest(1);
        let worker_ms = started.elapsed().as_secs_f64() * 1e3;
        let report = run(&ctx, image, 1, 99);
        let fraction = report.checker_render_ms as f64 / worker_ms;
        println!(
            "cost {width}x{height} N={samples}: worker render {worker_ms:.0} ms, checker renders {} ms \
             ({:.2} % of the worker's), statistics {} ms, verdict {:?}, {} round(s), tiles {}",
            report.checker_render_ms,
            fraction * 100.0,
            report.verify_ms,
            report.verdict,
            report.rounds.len(),
            report.tiles
        );
        if std::env::var_os("FRR_DEBUG").is_some() {
            eprintln!("reasons: {:?}", report.reasons);
            for round in &report.rounds {
                eprintln!("round {}: {:?}", round.round, round.decision.reasons);
            }
        }
        return;
    }

    let (width, height, samples) = parse_size(&value("--size").unwrap_or("128x72x16".into()));
    let ctx = Ctx {
        width,
        height,
        samples,
        frame: 12,
    };
    let started = Instant::now();
    let (mut rejects, mut escalated_final, mut escalated_once) = (0u64, 0u64, 0u64);
    let mut extremes = Extremes::default();
    for i in first_frame..first_frame + frames {
        let seed = 1_000_003 * (i + 1);
        let report = run(&ctx, ctx.honest(seed), seed, i);
        extremes.add(&report);
        if let Some(round) = report.rounds.first()
            && std::env::var_os("FRR_Z").is_some()
        {
            let s = &round.decision.stats;
            eprintln!(
                "Z {seed} {:.4} {:.4} {:.4} {:.4} {:.4} {:.4} {:.4} {:.4} {:.4} {:.4}",
                s.q,
                s.q_se,
                s.noise_ratio,
                s.noise_ratio_se,
                s.rho_diff,
                s.rho_diff_se,
                s.bias_ratio,
                s.bias_ratio_se,
                s.rho_e,
                s.rho_d
            );
        }
        match report.verdict {
            Verdict::Reject => {
                rejects += 1;
                eprintln!("honest frame seed {seed} rejected: {:?}", report.reasons);
            }
            Verdict::Escalate => escalated_final += 1,
            Verdict::Accept => {}
        }
        escalated_once += u64::from(report.rounds.len() > 1);
    }
    println!(
        "honest {width}x{height} N={samples}: {frames} frames from index {first_frame}, {rejects} rejected \
         (false-reject rate {:.4} %), {escalated_once} escalated to round 2, {escalated_final} \
         still escalated after it; {:.1} s",
        rejects as f64 * 100.0 / frames.max(1) as f64,
        started.elapsed().as_secs_f64()
    );
    if frames > 0 {
        println!("honest round-1 extremes: {}", extremes.line());
    }
    let only = value("--only");
    for (name, cheat) in cheats() {
        if only
            .as_ref()
            .is_some_and(|o| !o.split(',').any(|o| name.starts_with(o)))
        {
            continue;
        }
        let (mut rejected, mut escalated) = (0u64, 0u64);
        let mut extremes = Extremes::default();
        for i in 0..per_cheat {
            let seed = 7_000_001 * (i + 1);
            let report = run(&ctx, cheat(&ctx, seed), seed, 10_000 + i);
            extremes.add(&report);
            match report.verdict {
                Verdict::Reject => {
                    rejected += 1;
                    if name.starts_with('H') {
                        eprintln!("{name} seed {seed} rejected: {:?}", report.reasons);
                    }
                }
                Verdict::Escalate => escalated += 1,
                Verdict::Accept => {}
            }
            if std::env::var_os("FRR_DEBUG").is_some() {
                eprintln!(
                    "{name} seed {seed}: {:?} {:?}",
                    report.verdict, report.reasons
                );
            }
        }
        println!(
            "{name}: rejected {rejected}/{per_cheat} ({:.1} %), escalated {escalated}, accepted {}",
            rejected as f64 * 100.0 / per_cheat.max(1) as f64,
            per_cheat - rejected - escalated
        );
        println!("  round-1 range: {}", extremes.line());
    }
}

/// Smallest and largest round-1 value of the judged statistics over a set of frames.
#[derive(Default)]
struct Extremes {
    frames: u64,
    ranges: Vec<(&'static str, f64, f64)>,
}

impl Extremes {
    fn add(&mut self, report: &pictor::verify::protocol::VerifyReport) {
        let Some(round) = report.rounds.first() else {
            return;
        };
        let s = &round.decision.stats;
        let values = [
            ("Q", s.q),
            ("z_excess", s.z_excess),
            ("bias_z_max", s.bias_z_max),
            ("t_max", s.t_max),
            ("noise_ratio", s.noise_ratio),
            ("rho_diff", s.rho_diff),
            ("bias_ratio", s.bias_ratio),
            ("cells", s.cells as f64),
            ("z(Q)", (s.q - 1.0) / s.q_se),
            ("z(noise_ratio)", (s.noise_ratio - 1.0) / s.noise_ratio_se),
            ("z(rho_diff)", s.rho_diff / s.rho_diff_se),
            ("z(bias_ratio)", (s.bias_ratio - 1.0) / s.bias_ratio_se),
        ];
        if self.frames == 0 {
            self.ranges = values.iter().map(|(n, v)| (*n, *v, *v)).collect();
        } else {
            for ((_, lo, hi), (_, v)) in self.ranges.iter_mut().zip(values) {
                *lo = lo.min(v);
                *hi = hi.max(v);
            }
        }
        self.frames += 1;
    }

    fn line(&self) -> String {
        self.ranges
            .iter()
            .map(|(n, lo, hi)| format!("{n} {lo:.4}..{hi:.4}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
