//! Verification statistics speed (criterion), beside a baseline in the same process so the ratio
//! travels between machines:
//!
//! - `verify_cpu/tiles_16x64x64`: every statistic of the checker ([`verify_frame`]: prepare, the
//!   CPU backend's tile sums, pooling, decision) on 16 tiles of 64×64 — one protocol round.
//! - `verify_cpu/frame_4k`: the same over a whole 3840×2160 frame pair, as 144 tiles of 320×180.
//! - Baselines: `ssim_baseline/*`: the `image-compare` crate's SSIM (`MSSIMSimple`, 8×8 windows,
//!   RGB 8-bit) on the same pixels — one worker image against one reference.
//!
//! The images are synthetic (a smooth pattern plus per-pixel noise of known variance: W at N
//! samples, R₁ and R₂ at N/2) so that the bench does not render. Run: `cargo bench --bench verify`.
//!
//! Structure for further backends: each backend gets its own group built by [`backend_group`]
//! (the Vulkan rows go in a `#[cfg(feature = "vulkan")]` function calling it with the Vulkan
//! verifier, added to `criterion_group!` under the same cfg).
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use image_compare::prelude::RgbImage;
use pictor::render::LinearImage;
use pictor::verify::{CpuVerifier, FrameVerifier, StatParams, Thresholds, TileTriple};
use pictor::verify::{Verdict, verify_frame};
use std::hint::black_box;
use std::time::Duration;

/// A deterministic hash → uniform in [0, 1).
fn uniform(mut x: u64) -> f64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^= x >> 33;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// A tile of the synthetic scene at frame offset `(x0, y0)`: smooth radiance plus noise of variance
/// `0.04 / samples` (approximately Gaussian: the sum of four uniforms), stream `stream`.
fn tile(x0: u32, y0: u32, w: u32, h: u32, samples: f64, stream: u64) -> LinearImage {
    let mut data = Vec::with_capacity(w as usize * h as usize * 4);
    let sigma = (0.04 / samples).sqrt();
    for y in y0..y0 + h {
        for x in x0..x0 + w {
            let base = 0.3 + 0.2 * ((f64::from(x) * 0.01).sin() * (f64::from(y) * 0.013).cos());
            for c in 0..3u64 {
                let key = (u64::from(y) << 32 | u64::from(x)) * 4 + c + (stream << 56);
                let noise = (0..4)
                    .map(|k| uniform(key.wrapping_mul(31).wrapping_add(k)))
                    .sum::<f64>()
                    - 2.0;
                // Sum of 4 uniforms has variance 1/3.
                data.push((base + noise * sigma * 3f64.sqrt()) as f32);
            }
            data.push(1.0);
        }
    }
    match LinearImage::from_rgba(w, h, data) {
        Ok(image) => image,
        Err(error) => panic!("tile: {error}"),
    }
}

/// Worker, reference A and reference B tiles at the given positions.
fn triples(positions: &[(u32, u32)], w: u32, h: u32) -> Vec<[LinearImage; 3]> {
    positions
        .iter()
        .map(|&(x, y)| {
            [
                tile(x, y, w, h, 64.0, 1),
                tile(x, y, w, h, 32.0, 2),
                tile(x, y, w, h, 32.0, 3),
            ]
        })
        .collect()
}

fn to_rgb8(image: &LinearImage) -> RgbImage {
    let data = image
        .as_rgba()
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
        .collect();
    match RgbImage::from_raw(image.width(), image.height(), data) {
        Some(image) => image,
        None => panic!("rgb buffer size"),
    }
}

fn run(verifier: &dyn FrameVerifier, tiles: &[[LinearImage; 3]]) -> Verdict {
    let views: Vec<TileTriple<'_>> = tiles
        .iter()
        .map(|[w, a, b]| TileTriple {
            worker: w,
            reference_a: a,
            reference_b: b,
        })
        .collect();
    match verify_frame(
        verifier,
        &views,
        &StatParams::default(),
        &Thresholds::default(),
    ) {
        Ok(decision) => decision.verdict,
        Err(error) => panic!("verify: {error}"),
    }
}

fn sixteen_tiles() -> Vec<[LinearImage; 3]> {
    let positions: Vec<(u32, u32)> = (0..16)
        .map(|i| (i % 4 * 900 + 17, i / 4 * 500 + 9))
        .collect();
    triples(&positions, 64, 64)
}

fn frame_4k() -> Vec<[LinearImage; 3]> {
    let positions: Vec<(u32, u32)> = (0..144).map(|i| (i % 12 * 320, i / 12 * 180)).collect();
    triples(&positions, 320, 180)
}

/// The rows of one statistics backend.
fn backend_group(c: &mut Criterion, name: &str, verifier: &dyn FrameVerifier) {
    let small = sixteen_tiles();
    let large = frame_4k();
    let mut group = c.benchmark_group(name);
    group.sample_size(10).warm_up_time(Duration::from_secs(1));
    group.bench_function("tiles_16x64x64", |b| {
        b.iter(|| black_box(run(verifier, &small)))
    });
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("frame_4k", |b| b.iter(|| black_box(run(verifier, &large))));
    group.finish();
}

fn cpu(c: &mut Criterion) {
    backend_group(c, "verify_cpu", &CpuVerifier);
}

fn ssim_baseline(c: &mut Criterion) {
    use image_compare::Algorithm;
    let small: Vec<(RgbImage, RgbImage)> = sixteen_tiles()
        .iter()
        .map(|[w, a, _]| (to_rgb8(w), to_rgb8(a)))
        .collect();
    let (w4k, r4k) = {
        let mut w = LinearImage::new(3840, 2160);
        let mut r = LinearImage::new(3840, 2160);
        for (i, [tw, ta, _]) in frame_4k().into_iter().enumerate() {
            let (x, y) = (i as u32 % 12 * 320, i as u32 / 12 * 180);
            if w.paste(&tw, x, y).is_err() || r.paste(&ta, x, y).is_err() {
                panic!("tile outside the frame");
            }
        }
        (to_rgb8(&w), to_rgb8(&r))
    };
    let mut group = c.benchmark_group("ssim_baseline");
    group.sample_size(10).warm_up_time(Duration::from_secs(1));
    group.bench_function("tiles_16x64x64", |b| {
        b.iter(|| {
            let mut sum = 0.0;
            for (w, r) in &small {
                if let Ok(similarity) =
                    image_compare::rgb_similarity_structure(&Algorithm::MSSIMSimple, w, r)
                {
                    sum += similarity.score;
                }
            }
            black_box(sum)
        })
    });
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("frame_4k", |b| {
        b.iter(|| {
            black_box(
                image_compare::rgb_similarity_structure(&Algorithm::MSSIMSimple, &w4k, &r4k)
                    .map(|s| s.score)
                    .unwrap_or(0.0),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, cpu, ssim_baseline);
criterion_main!(benches);
