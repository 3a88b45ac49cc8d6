//! Parity of the Vulkan verifier with the CPU reference over the synthetic test matrix: every
//! per-tile sum and every pooled statistic within 1e-5 relative, every count exact, the same
//! verdicts. Needs `--features vulkan`; without a Vulkan device it prints `SKIP: <reason>` and
//! passes, unless `PICTOR_REQUIRE_VULKAN=1` (then it fails).
//!
//! Relative error: `|a − b| / max(|a|, |b|, scale)`. `scale` is 0 (purely relative) for sums of
//! non-negative terms and for ratios of them; it is the natural magnitude of the quantity for
//! signed sums and bounded statistics, whose value can be arbitrarily close to 0 while its terms
//! are not (there an `f32` rounding of the terms is not small *relative to the value*):
//! * `lag_e`, `lag_d` (tile and cell): `Σẽ²` / `Σd̃²` of the channel (Cauchy–Schwarz bound of the lag sum; ρ is
//!   the lag sum divided by it).
//! * block `sum_e`, `sum_d`: `√(n·Σẽ²)` / `√(n·Σd̃²)` of the block (Cauchy–Schwarz bound of a sum of
//!   `n` terms; `T_B` is the sum divided by `√Σ…²`).
//! * `ssim_w`, `ssim_ref`: the number of windows (each SSIM is in [−1, 1]).
//! * pooled `t_mean`, `bias_z`, `rho_*`, `ssim_*`: 1 (standardized statistics or values in [−1, 1]).
#![cfg(feature = "vulkan")]
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pictor_core::task::PixelRect;
use pictor_render::LinearImage;
use pictor_verify::synthetic::{self, Fireflies, NoiseKind, Upscale};
use pictor_verify::vulkan::VulkanVerifier;
use pictor_verify::{
    CpuVerifier, FrameVerifier, PooledStats, StatParams, SumParams, Thresholds, TileSums,
    TileTriple, decide, prepare,
};
use std::collections::BTreeMap;

const TOLERANCE: f64 = 1e-5;
const SIZE: u32 = 256;
const TILE: u32 = 64;
const N: f64 = 64.0;

/// The Vulkan verifier, or `None` (after printing `SKIP: …`) where there is no Vulkan device.
fn vulkan() -> Option<VulkanVerifier> {
    match VulkanVerifier::new() {
        Ok(verifier) => {
            eprintln!(
                "vulkan device: {} ({})",
                verifier.device_name(),
                verifier.device_kind()
            );
            Some(verifier)
        }
        Err(error) => {
            if std::env::var("PICTOR_REQUIRE_VULKAN").as_deref() == Ok("1") {
                panic!("PICTOR_REQUIRE_VULKAN=1 but no Vulkan device: {error}");
            }
            println!("SKIP: {error}");
            None
        }
    }
}

/// One case of the matrix: a worker frame and the two references, cut into tiles.
struct Case {
    name: String,
    worker: Vec<LinearImage>,
    reference_a: Vec<LinearImage>,
    reference_b: Vec<LinearImage>,
}

impl Case {
    fn tiled(name: &str, worker: &LinearImage, a: &LinearImage, b: &LinearImage) -> Case {
        let cut = |image: &LinearImage| synthetic::tiles(image, TILE).expect("tiles");
        Case {
            name: name.to_string(),
            worker: cut(worker),
            reference_a: cut(a),
            reference_b: cut(b),
        }
    }

    /// Irregular tiles (partial workgroups and blocks, degenerate 1-pixel rows and columns).
    fn irregular(name: &str, worker: &LinearImage, a: &LinearImage, b: &LinearImage) -> Case {
        let rects = [
            (3, 5, 37, 29),
            (40, 40, 100, 70),
            (0, 0, 16, 16),
            (200, 100, 5, 3),
            (10, 150, 1, 64),
            (100, 250, 64, 1),
            (130, 130, 17, 33),
            (0, 0, 256, 256),
        ];
        let cut = |image: &LinearImage| -> Vec<LinearImage> {
            rects
                .iter()
                .map(|&(x, y, width, height)| {
                    image
                        .crop(PixelRect {
                            x,
                            y,
                            width,
                            height,
                        })
                        .expect("crop")
                })
                .collect()
        };
        Case {
            name: name.to_string(),
            worker: cut(worker),
            reference_a: cut(a),
            reference_b: cut(b),
        }
    }

    fn triples(&self) -> Vec<TileTriple<'_>> {
        (0..self.worker.len())
            .map(|i| TileTriple {
                worker: &self.worker[i],
                reference_a: &self.reference_a[i],
                reference_b: &self.reference_b[i],
            })
            .collect()
    }
}

/// The synthetic matrix of `docs/VERIFICATION.md` (honest H1–H5, cheats C1–C10) plus degenerate frames.
fn matrix() -> Vec<Case> {
    let gauss = NoiseKind::Gaussian;
    let scene = synthetic::scene(SIZE, SIZE, 3, None);
    let render = |scene: &synthetic::Scene, n: f64, seed: u64, kind: NoiseKind| {
        synthetic::render(scene, n, seed, kind).expect("render")
    };
    let (a, b) = (
        render(&scene, N / 2.0, 1, gauss),
        render(&scene, N / 2.0, 2, gauss),
    );
    let honest = render(&scene, N, 3, gauss);
    let low = render(&scene, N / 4.0, 3, gauss);
    let other = render(&synthetic::scene(SIZE, SIZE, 11, None), N, 4, gauss);
    let mut cases = vec![
        Case::tiled("H1 honest", &honest, &a, &b),
        Case::tiled("H5 2N samples", &render(&scene, 2.0 * N, 3, gauss), &a, &b),
        Case::tiled("C1 N/4", &low, &a, &b),
        Case::tiled(
            "C2 N/4 + blur",
            &synthetic::gaussian_blur(&low, 1.0),
            &a,
            &b,
        ),
        Case::tiled(
            "C3 upscaled nearest",
            &synthetic::half_resolution(&honest, Upscale::Nearest),
            &a,
            &b,
        ),
        Case::tiled(
            "C3 upscaled bilinear",
            &synthetic::half_resolution(&honest, Upscale::Bilinear),
            &a,
            &b,
        ),
        Case::tiled(
            "C3 upscaled Lanczos",
            &synthetic::half_resolution(&honest, Upscale::Lanczos),
            &a,
            &b,
        ),
        Case::tiled("C7 another scene", &other, &a, &b),
        Case::tiled(
            "C8 tampered 10 %",
            &synthetic::tamper(&honest, &other, 0.1, 5).expect("tamper"),
            &a,
            &b,
        ),
        Case::tiled(
            "C8 tampered 0.1 %",
            &synthetic::tamper(&honest, &other, 0.001, 6).expect("tamper"),
            &a,
            &b,
        ),
        Case::tiled(
            "C9 exposure +2 %",
            &synthetic::gain(&honest, [1.02, 1.02, 1.02]),
            &a,
            &b,
        ),
        Case::tiled("C9 swap R/B", &synthetic::swap_red_blue(&honest), &a, &b),
        Case::tiled("C10 clamped", &synthetic::clamp(&honest, 1.0), &a, &b),
        Case::tiled("C6 black", &synthetic::constant(SIZE, SIZE, 0.0), &a, &b),
        Case::tiled(
            "C6 NaN 1 %",
            &synthetic::sprinkle_nan(&honest, 0.01, 7),
            &a,
            &b,
        ),
        Case::irregular("H1 irregular tiles", &honest, &a, &b),
        Case::irregular(
            "C6 NaN irregular tiles",
            &synthetic::sprinkle_nan(&low, 0.05, 8),
            &a,
            &b,
        ),
    ];
    // Fireflies (H2) and 2-sample skewed noise (H3) need their own references.
    let fireflies = synthetic::scene(
        SIZE,
        SIZE,
        5,
        Some(Fireflies {
            rate: 1e-4,
            intensity: 200.0,
        }),
    );
    cases.push(Case::tiled(
        "H2 fireflies",
        &render(&fireflies, N, 3, gauss),
        &render(&fireflies, N / 2.0, 1, gauss),
        &render(&fireflies, N / 2.0, 2, gauss),
    ));
    let skewed = NoiseKind::Skewed { shape: 0.25 };
    cases.push(Case::tiled(
        "H3 2 samples",
        &render(&scene, 2.0, 3, skewed),
        &render(&scene, 1.0, 1, skewed),
        &render(&scene, 1.0, 2, skewed),
    ));
    let student = NoiseKind::Student { dof: 3.0 };
    cases.push(Case::tiled(
        "H2 Student t",
        &render(&scene, N, 3, student),
        &render(&scene, N / 2.0, 1, student),
        &render(&scene, N / 2.0, 2, student),
    ));
    let black = synthetic::constant(SIZE, SIZE, 0.0);
    cases.push(Case::tiled("all black", &black, &black, &black));
    let grey = synthetic::constant(SIZE, SIZE, 0.5);
    cases.push(Case::tiled("all grey", &grey, &grey, &grey));
    cases
}

/// Largest relative error seen per quantity, over all cases.
#[derive(Default)]
struct Errors {
    worst: BTreeMap<String, (f64, String)>,
    failures: Vec<String>,
}

impl Errors {
    fn value(&mut self, case: &str, what: &str, cpu: f64, gpu: f64, scale: f64) {
        let error = if cpu == gpu || (cpu.is_nan() && gpu.is_nan()) {
            0.0
        } else {
            (cpu - gpu).abs() / cpu.abs().max(gpu.abs()).max(scale)
        };
        let error = if error.is_nan() { f64::INFINITY } else { error };
        let entry = self
            .worst
            .entry(what.to_string())
            .or_insert((0.0, String::new()));
        if error > entry.0 {
            *entry = (error, case.to_string());
        }
        if error > TOLERANCE {
            self.failures.push(format!(
                "{case}: {what}: cpu {cpu:e} vulkan {gpu:e} (relative {error:.2e})"
            ));
        }
    }

    fn count(&mut self, case: &str, what: &str, cpu: u64, gpu: u64) {
        self.value(case, what, cpu as f64, gpu as f64, 0.0);
        if cpu != gpu && !self.failures.last().is_some_and(|f| f.contains(what)) {
            self.failures
                .push(format!("{case}: {what}: cpu {cpu} vulkan {gpu}"));
        }
    }

    fn tile(&mut self, case: &str, cpu: &TileSums, gpu: &TileSums) {
        assert_eq!((cpu.width, cpu.height), (gpu.width, gpu.height));
        self.count(case, "tile.nonfinite", cpu.nonfinite, gpu.nonfinite);
        self.count(case, "tile.ssim_count", cpu.ssim_count, gpu.ssim_count);
        self.value(case, "tile.z_max", cpu.z_max, gpu.z_max, 0.0);
        let windows = cpu.ssim_count as f64;
        for c in 0..3 {
            let plain = [
                ("tile.sum_e2_w", cpu.sum_e2_w[c], gpu.sum_e2_w[c]),
                ("tile.sum_d2_w", cpu.sum_d2_w[c], gpu.sum_d2_w[c]),
                ("tile.sum_e2", cpu.sum_e2[c], gpu.sum_e2[c]),
                ("tile.sum_d2", cpu.sum_d2[c], gpu.sum_d2[c]),
                ("tile.immerkaer_w", cpu.immerkaer_w[c], gpu.immerkaer_w[c]),
                (
                    "tile.immerkaer_ref",
                    cpu.immerkaer_ref[c],
                    gpu.immerkaer_ref[c],
                ),
            ];
            for (what, a, b) in plain {
                self.value(case, what, a, b, 0.0);
            }
            self.value(
                case,
                "tile.lag_e",
                cpu.lag_e[c],
                gpu.lag_e[c],
                cpu.sum_e2_w[c],
            );
            self.value(
                case,
                "tile.lag_d",
                cpu.lag_d[c],
                gpu.lag_d[c],
                cpu.sum_d2_w[c],
            );
            self.value(case, "tile.ssim_w", cpu.ssim_w[c], gpu.ssim_w[c], windows);
            self.value(
                case,
                "tile.ssim_ref",
                cpu.ssim_ref[c],
                gpu.ssim_ref[c],
                windows,
            );
            self.count(case, "tile.z_exceed", cpu.z_exceed[c], gpu.z_exceed[c]);
            self.count(
                case,
                "tile.z_null_exceed",
                cpu.z_null_exceed[c],
                gpu.z_null_exceed[c],
            );
            self.count(
                case,
                "tile.immerkaer_count",
                cpu.immerkaer_count[c],
                gpu.immerkaer_count[c],
            );
        }
        assert_eq!(cpu.cells.len(), gpu.cells.len(), "{case}: cell count");
        for (a, b) in cpu.cells.iter().zip(&gpu.cells) {
            for c in 0..3 {
                let plain = [
                    ("cell.sum_e2_w", a.sum_e2_w[c], b.sum_e2_w[c]),
                    ("cell.sum_d2_w", a.sum_d2_w[c], b.sum_d2_w[c]),
                    ("cell.immerkaer_w", a.immerkaer_w[c], b.immerkaer_w[c]),
                    ("cell.immerkaer_ref", a.immerkaer_ref[c], b.immerkaer_ref[c]),
                ];
                for (what, x, y) in plain {
                    self.value(case, what, x, y, 0.0);
                }
                self.value(case, "cell.lag_d", a.lag_d[c], b.lag_d[c], a.sum_d2_w[c]);
            }
        }
        assert_eq!(cpu.blocks.len(), gpu.blocks.len(), "{case}: block count");
        for (a, b) in cpu.blocks.iter().zip(&gpu.blocks) {
            assert_eq!(a.pixels, b.pixels, "{case}: block pixels");
            let n = f64::from(a.pixels);
            for c in 0..3 {
                self.value(case, "block.sum_e2", a.sum_e2[c], b.sum_e2[c], 0.0);
                self.value(case, "block.sum_d2", a.sum_d2[c], b.sum_d2[c], 0.0);
                let scale_e = (n * a.sum_e2[c]).sqrt();
                let scale_d = (n * a.sum_d2[c]).sqrt();
                self.value(case, "block.sum_e", a.sum_e[c], b.sum_e[c], scale_e);
                self.value(case, "block.sum_d", a.sum_d[c], b.sum_d[c], scale_d);
            }
        }
    }

    /// Every numeric field of the pooled statistics (through their serialized form).
    fn pooled(&mut self, case: &str, cpu: &PooledStats, gpu: &PooledStats) {
        let (a, b) = (
            serde_json::to_value(cpu).expect("json"),
            serde_json::to_value(gpu).expect("json"),
        );
        let (serde_json::Value::Object(a), serde_json::Value::Object(b)) = (a, b) else {
            panic!("PooledStats serializes as an object");
        };
        for (key, va) in &a {
            let vb = &b[key];
            let values: Vec<(String, &serde_json::Value, &serde_json::Value)> = match (va, vb) {
                (serde_json::Value::Array(xs), serde_json::Value::Array(ys)) => xs
                    .iter()
                    .zip(ys)
                    .map(|(x, y)| (format!("stats.{key}[]"), x, y))
                    .collect(),
                _ => vec![(format!("stats.{key}"), va, vb)],
            };
            for (what, x, y) in values {
                match (x.as_u64(), y.as_u64()) {
                    (Some(x), Some(y)) => self.count(case, &what, x, y),
                    _ => {
                        let unit = ["t_mean", "bias_z", "rho_", "ssim_"]
                            .iter()
                            .any(|name| key.starts_with(name));
                        let (x, y) = (
                            x.as_f64().unwrap_or(f64::NAN),
                            y.as_f64().unwrap_or(f64::NAN),
                        );
                        self.value(case, &what, x, y, if unit { 1.0 } else { 0.0 });
                    }
                }
            }
        }
    }
}

fn sums_of(
    verifier: &dyn FrameVerifier,
    triples: &[TileTriple<'_>],
    params: &SumParams,
) -> Vec<TileSums> {
    verifier.tile_sums(triples, params).expect("tile sums")
}

#[test]
fn vulkan_matches_the_cpu_reference_over_the_matrix() {
    let Some(gpu) = vulkan() else {
        return;
    };
    assert_eq!(gpu.name(), "vulkan");
    let mut errors = Errors::default();
    let thresholds = Thresholds::default();
    for case in matrix() {
        let triples = case.triples();
        let params = prepare(&triples, &StatParams::default()).expect("prepare");
        let cpu_sums = sums_of(&CpuVerifier, &triples, &params);
        let gpu_sums = sums_of(&gpu, &triples, &params);
        assert_eq!(cpu_sums.len(), gpu_sums.len());
        for (a, b) in cpu_sums.iter().zip(&gpu_sums) {
            errors.tile(&case.name, a, b);
        }
        let cpu = PooledStats::pool(&cpu_sums, &params).expect("pool");
        let vk = PooledStats::pool(&gpu_sums, &params).expect("pool");
        errors.pooled(&case.name, &cpu, &vk);
        let (vc, vg) = (decide(&cpu, &thresholds), decide(&vk, &thresholds));
        eprintln!(
            "{:<24} cpu {:?} vulkan {:?}",
            case.name, vc.verdict, vg.verdict
        );
        if vc.verdict != vg.verdict {
            errors.failures.push(format!(
                "{}: verdict cpu {:?} vulkan {:?}",
                case.name, vc.verdict, vg.verdict
            ));
        }
    }
    eprintln!("largest relative error per quantity (tolerance {TOLERANCE:e}):");
    for (what, (error, case)) in &errors.worst {
        eprintln!("  {what:<28} {error:.2e}  ({case})");
    }
    assert!(
        errors.failures.is_empty(),
        "{} mismatches:\n{}",
        errors.failures.len(),
        errors.failures.join("\n")
    );
}

#[test]
fn results_are_reproducible_run_to_run() {
    let Some(gpu) = vulkan() else {
        return;
    };
    let case = &matrix()[0];
    let triples = case.triples();
    let params = prepare(&triples, &StatParams::default()).expect("prepare");
    let first = sums_of(&gpu, &triples, &params);
    let second = sums_of(&gpu, &triples, &params);
    assert_eq!(first, second);
}

#[test]
fn mismatched_tiles_and_unsupported_windows_are_errors() {
    let Some(gpu) = vulkan() else {
        return;
    };
    let (small, big) = (LinearImage::new(4, 4), LinearImage::new(5, 4));
    let good = [TileTriple {
        worker: &small,
        reference_a: &small,
        reference_b: &small,
    }];
    let params = prepare(&good, &StatParams::default()).expect("prepare");
    let bad = [TileTriple {
        worker: &small,
        reference_a: &big,
        reference_b: &small,
    }];
    assert!(gpu.tile_sums(&bad, &params).is_err());
    let wide = SumParams {
        ssim_window: 31,
        ..params
    };
    let error = gpu.tile_sums(&good, &wide).expect_err("window too large");
    assert!(error.to_string().contains("ssim_window"), "{error}");
}
