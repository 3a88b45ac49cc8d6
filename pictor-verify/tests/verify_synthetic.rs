//! The verification test matrix of `docs/VERIFICATION.md` on synthetic frames: 16 tiles of 64×64 (a
//! 256×256 frame), references at N/2 with independent seeds, honest cases H1–H5 (zero rejects over
//! many seeds) and cheats C1–C4, C6–C10 (rejected). C5 (duplicates) and C11–C13 (challenge and
//! protocol) are tested with the intake/protocol code. Prints a table of verdict counts and the
//! honest extremes of every statistic (the calibration behind the default thresholds).
//!
//! `VERIFY_SEEDS=<n>` sets the number of seeds per honest case (default 40, about 20 s in the dev
//! profile on 2 cores). The default thresholds were calibrated with `VERIFY_SEEDS=400` (2,400
//! honest frames, 0 rejects). Cheats use `n/10` seeds (at least 10), the tamper sweep `n/2` (≥ 20).
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pictor_render::LinearImage;
use pictor_verify::synthetic::{self, Fireflies, NoiseKind, Scene, Upscale};
use pictor_verify::{
    CpuVerifier, Decision, FrameVerifier, PooledStats, StatParams, Thresholds, TileTriple, Verdict,
    decide, prepare,
};
use rayon::prelude::*;

const SIZE: u32 = 256;
const TILE: u32 = 64;
const N: f64 = 64.0;
const FIREFLIES: Fireflies = Fireflies {
    rate: 1e-4,
    intensity: 200.0,
};

struct Frame {
    scene: Scene,
    reference_a: LinearImage,
    reference_b: LinearImage,
}

fn frame_of(scene: Scene, seed: u64, kind: NoiseKind, n: f64) -> Frame {
    let reference_a = synthetic::render(&scene, n / 2.0, seed * 7 + 1, kind).expect("ref a");
    let reference_b = synthetic::render(&scene, n / 2.0, seed * 7 + 2, kind).expect("ref b");
    Frame {
        scene,
        reference_a,
        reference_b,
    }
}

fn frame(seed: u64, fireflies: Option<Fireflies>, kind: NoiseKind, n: f64) -> Frame {
    frame_of(
        synthetic::scene(SIZE, SIZE, seed % 16, fireflies),
        seed,
        kind,
        n,
    )
}

fn honest(frame: &Frame, seed: u64, n: f64, kind: NoiseKind) -> LinearImage {
    synthetic::render(&frame.scene, n, seed * 7 + 3, kind).expect("render")
}

fn other_scene(seed: u64) -> LinearImage {
    let other = synthetic::scene(SIZE, SIZE, seed + 1000, None);
    synthetic::render(&other, N, seed * 7 + 5, NoiseKind::Gaussian).expect("render")
}

fn verify(frame: &Frame, worker: &LinearImage) -> Decision {
    let w = synthetic::tiles(worker, TILE).expect("tiles");
    let a = synthetic::tiles(&frame.reference_a, TILE).expect("tiles");
    let b = synthetic::tiles(&frame.reference_b, TILE).expect("tiles");
    let triples: Vec<TileTriple<'_>> = (0..w.len())
        .map(|i| TileTriple {
            worker: &w[i],
            reference_a: &a[i],
            reference_b: &b[i],
        })
        .collect();
    let params = prepare(&triples, &StatParams::default()).expect("prepare");
    let sums = CpuVerifier.tile_sums(&triples, &params).expect("sums");
    let stats = PooledStats::pool(&sums, &params).expect("pool");
    decide(&stats, &Thresholds::default())
}

type Case = (&'static str, Box<dyn Fn(u64) -> Decision + Sync>);

#[derive(Default)]
struct Row {
    accept: usize,
    escalate: usize,
    reject: usize,
}

fn run(cases: &[Case], seeds: u64) -> Vec<(&'static str, Row, Vec<Decision>)> {
    cases
        .iter()
        .map(|(name, case)| {
            let decisions: Vec<Decision> = (0..seeds).into_par_iter().map(case).collect();
            let mut row = Row::default();
            for d in &decisions {
                match d.verdict {
                    Verdict::Accept => row.accept += 1,
                    Verdict::Escalate => row.escalate += 1,
                    Verdict::Reject => row.reject += 1,
                }
            }
            (*name, row, decisions)
        })
        .collect()
}

fn table(title: &str, rows: &[(&'static str, Row, Vec<Decision>)]) {
    eprintln!(
        "\n{title}\n{:<22} {:>6} {:>8} {:>9} {:>7}",
        "case", "seeds", "accept", "escalate", "reject"
    );
    for (name, row, decisions) in rows {
        eprintln!(
            "{name:<22} {:>6} {:>8} {:>9} {:>7}",
            decisions.len(),
            row.accept,
            row.escalate,
            row.reject
        );
    }
}

fn gaussian(seed: u64, n_worker: f64) -> (Frame, LinearImage) {
    let f = frame(seed, None, NoiseKind::Gaussian, N);
    let w = honest(&f, seed, n_worker, NoiseKind::Gaussian);
    (f, w)
}

fn cheat(
    f: impl Fn(&Frame, u64) -> LinearImage + Sync + 'static,
) -> Box<dyn Fn(u64) -> Decision + Sync> {
    Box::new(move |seed| {
        let fr = frame(seed, None, NoiseKind::Gaussian, N);
        let w = f(&fr, seed);
        verify(&fr, &w)
    })
}

fn low(fr: &Frame, seed: u64, divisor: f64) -> LinearImage {
    honest(fr, seed, N / divisor, NoiseKind::Gaussian)
}

fn seeds() -> u64 {
    std::env::var("VERIFY_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40)
}

#[test]
fn honest_renders_are_never_rejected() {
    let seeds = seeds();
    let cases: Vec<Case> = vec![
        (
            "H1 other seed",
            Box::new(|s| {
                let (f, w) = gaussian(s, N);
                verify(&f, &w)
            }),
        ),
        (
            "H1 student-t(4) noise",
            Box::new(|s| {
                let k = NoiseKind::Student { dof: 4.0 };
                let f = frame(s, None, k, N);
                verify(&f, &honest(&f, s, N, k))
            }),
        ),
        (
            "H2 fireflies",
            Box::new(|s| {
                let f = frame(s, Some(FIREFLIES), NoiseKind::Gaussian, N);
                verify(&f, &honest(&f, s, N, NoiseKind::Gaussian))
            }),
        ),
        (
            "H3 1-4 spp skewed",
            Box::new(|s| {
                let n = [1.0, 2.0, 4.0][(s % 3) as usize];
                let k = NoiseKind::Skewed { shape: 0.25 };
                let f = frame(s, None, k, n);
                verify(&f, &honest(&f, s, n, k))
            }),
        ),
        (
            "H4 device 1e-4",
            Box::new(|s| {
                let (f, w) = gaussian(s, N);
                let w =
                    synthetic::map_rgb(&w, |c, v| v * (1.0 + 1e-4 * (1.0 + c as f32 * 0.5)) + 1e-5);
                verify(&f, &w)
            }),
        ),
        (
            "H5 2N samples",
            Box::new(|s| {
                let (f, w) = gaussian(s, 2.0 * N);
                verify(&f, &w)
            }),
        ),
    ];
    let rows = run(&cases, seeds);
    table("honest renders (must not reject)", &rows);
    let all: Vec<&PooledStats> = rows
        .iter()
        .filter(|(name, _, _)| !name.starts_with("H5"))
        .flat_map(|(_, _, d)| d.iter().map(|d| &d.stats))
        .collect();
    let range = |f: &dyn Fn(&PooledStats) -> f64| {
        all.iter()
            .map(|s| f(s))
            .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)))
    };
    let th = Thresholds::default();
    eprintln!("\nhonest extremes over H1–H4 ({} frames):", all.len());
    for (name, f) in [
        (
            "Q",
            &(|s: &PooledStats| s.q) as &dyn Fn(&PooledStats) -> f64,
        ),
        ("z excess", &|s: &PooledStats| s.z_excess),
        ("max|T_B| / limit", &|s: &PooledStats| {
            s.t_max / th.t_max_limit(s)
        }),
        ("bias ratio", &|s: &PooledStats| s.bias_ratio),
        ("max |bias_z|", &|s: &PooledStats| s.bias_z_max),
        ("noise ratio", &|s: &PooledStats| s.noise_ratio),
        ("rho(e) - rho(d)", &|s: &PooledStats| s.rho_diff),
        ("(1-SSIMw)/(1-SSIMref)", &|s: &PooledStats| {
            (1.0 - s.ssim_w) / (1.0 - s.ssim_ref)
        }),
        ("PSNRw - PSNRref", &|s: &PooledStats| s.psnr_w - s.psnr_ref),
    ] {
        let (lo, hi) = range(f);
        eprintln!("  {name:<24} {lo:>9.4} .. {hi:>9.4}");
    }
    for (name, row, decisions) in &rows {
        assert_eq!(
            row.reject,
            0,
            "{name}: honest frames rejected: {:?}",
            decisions
                .iter()
                .filter(|d| d.verdict == Verdict::Reject)
                .map(|d| &d.reasons)
                .collect::<Vec<_>>()
        );
        if !name.starts_with("H5") {
            // Escalations cost a re-check; keep them rare.
            assert!(
                row.escalate * 20 <= decisions.len(),
                "{name}: {} escalations",
                row.escalate
            );
        }
    }
}

#[test]
fn cheats_are_rejected() {
    const G: NoiseKind = NoiseKind::Gaussian;
    let cases: Vec<Case> = vec![
        ("C1 N/2 samples", cheat(|f, s| low(f, s, 2.0))),
        ("C1 N/4 samples", cheat(|f, s| low(f, s, 4.0))),
        ("C1 N/16 samples", cheat(|f, s| low(f, s, 16.0))),
        (
            "C2 N/4 + box 3x3",
            cheat(|f, s| synthetic::box_blur(&low(f, s, 4.0), 1)),
        ),
        (
            "C2 N/8 + gauss 1px",
            cheat(|f, s| synthetic::gaussian_blur(&low(f, s, 8.0), 1.0)),
        ),
        (
            "C2 N/16 + gauss 2px",
            cheat(|f, s| synthetic::gaussian_blur(&low(f, s, 16.0), 2.0)),
        ),
        (
            "C3 half-res nearest",
            cheat(|f, s| synthetic::half_resolution(&low(f, s, 4.0), Upscale::Nearest)),
        ),
        (
            "C3 half-res bilinear",
            cheat(|f, s| synthetic::half_resolution(&low(f, s, 4.0), Upscale::Bilinear)),
        ),
        (
            "C3 half-res lanczos3",
            cheat(|f, s| synthetic::half_resolution(&low(f, s, 4.0), Upscale::Lanczos)),
        ),
        (
            "C4 neighbouring frame",
            cheat(move |_f, s| {
                let truth = synthetic::true_image(SIZE, SIZE, s % 16, 1.0, 0.0);
                let shifted = synthetic::scene_from_truth(truth, synthetic::SCENE_NOISE, None);
                synthetic::render(&shifted, N, s * 7 + 3, G).expect("render")
            }),
        ),
        (
            "C6 black",
            cheat(|_, _| synthetic::constant(SIZE, SIZE, 0.0)),
        ),
        (
            "C6 constant grey",
            cheat(|_, _| synthetic::constant(SIZE, SIZE, 0.4)),
        ),
        (
            "C6 NaN 0.1% pixels",
            cheat(|f, s| synthetic::sprinkle_nan(&low(f, s, 1.0), 0.001, s)),
        ),
        (
            "C7 pure noise",
            cheat(|_, s| {
                let noise =
                    synthetic::scene_from_truth(synthetic::constant(SIZE, SIZE, 0.4), 4.0, None);
                synthetic::render(&noise, 1.0, s, G).expect("render")
            }),
        ),
        ("C7 another scene", cheat(|_, s| other_scene(s))),
        (
            "C8 tamper 10%",
            cheat(|f, s| synthetic::tamper(&low(f, s, 1.0), &other_scene(s), 0.1, s).expect("t")),
        ),
        (
            "C9 exposure x1.02",
            cheat(|f, s| synthetic::gain(&low(f, s, 1.0), [1.02; 3])),
        ),
        (
            "C9 colour shift 2%",
            cheat(|f, s| synthetic::gain(&low(f, s, 1.0), [1.02, 1.0, 0.98])),
        ),
        (
            "C9 channel swap",
            cheat(|f, s| synthetic::swap_red_blue(&low(f, s, 1.0))),
        ),
        (
            "C10 clamped fireflies",
            Box::new(|s| {
                let f = frame(s, Some(FIREFLIES), G, N);
                let w = synthetic::clamp(&honest(&f, s, N, G), 1.0);
                verify(&f, &w)
            }),
        ),
    ];
    let rows = run(&cases, (seeds() / 10).max(10));
    table("cheats (must reject)", &rows);
    for (name, row, decisions) in &rows {
        assert_eq!(row.reject, decisions.len(), "{name}: not all rejected");
    }
}

#[test]
fn tampered_regions_detection_vs_area() {
    let seeds = (seeds() / 2).max(20);
    let cases: Vec<Case> = vec![
        (
            "C8 tamper 10%",
            cheat(|f, s| synthetic::tamper(&low(f, s, 1.0), &other_scene(s), 0.1, s).expect("t")),
        ),
        (
            "C8 tamper 1%",
            cheat(|f, s| synthetic::tamper(&low(f, s, 1.0), &other_scene(s), 0.01, s).expect("t")),
        ),
        (
            "C8 tamper 0.1%",
            cheat(|f, s| synthetic::tamper(&low(f, s, 1.0), &other_scene(s), 0.001, s).expect("t")),
        ),
    ];
    let rows = run(&cases, seeds);
    table("tampered region (content pasted from another scene)", &rows);
    for (name, row, _) in &rows {
        eprintln!(
            "  {name}: rejected {:.0} %, rejected or escalated {:.0} %",
            100.0 * row.reject as f64 / seeds as f64,
            100.0 * (row.reject + row.escalate) as f64 / seeds as f64
        );
    }
    assert!(
        rows[0].1.reject * 100 >= 99 * seeds as usize,
        "10 % tamper detection below 99 %"
    );
}
