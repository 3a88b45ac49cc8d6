//! Built-in path tracer throughput (criterion), in path samples × pixels per second, beside a baseline
//! in the same process so the ratio travels between machines:
//!
//! - `render/demo_160x90_16spp_1_thread` and `render/demo_160x90_16spp_all_threads`: the demo scene
//!   (frame 1) at 160×90 pixels, 16 samples per pixel, on a dedicated 1-thread pool and on all cores.
//! - `render/rng_floor_160x90_16spp`: the baseline — evaluating the counter-based RNG, 8 numbers per
//!   sample (the camera's four plus one bounce's worth), for the same pixels and samples, one thread.
//!
//! Criterion reports `thrpt` in samples × pixels per second; a summary with the ratios is printed at
//! the end. Run: `cargo bench --bench render`.
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pictor::render::builtin::sampler::PixelKey;
use pictor::render::{BuiltinRenderer, RenderControl, RenderRequest, Renderer};
use std::hint::black_box;
use std::time::{Duration, Instant};

const WIDTH: u32 = 160;
const HEIGHT: u32 = 90;
const SAMPLES: u32 = 16;
/// Counter-RNG numbers drawn per sample by the baseline.
const NUMBERS_PER_SAMPLE: u32 = 8;

fn samples_times_pixels() -> u64 {
    u64::from(WIDTH) * u64::from(HEIGHT) * u64::from(SAMPLES)
}

fn request() -> RenderRequest {
    RenderRequest::new(WIDTH, HEIGHT, SAMPLES, 1)
}

fn render_once(renderer: BuiltinRenderer) -> u64 {
    match renderer.render(&request(), &RenderControl::default()) {
        Ok(output) => output.regions.len() as u64,
        Err(error) => panic!("render failed: {error}"),
    }
}

/// The baseline: the same pixels and samples, only drawing random numbers.
fn rng_floor(seed: u64) -> f64 {
    let mut sum = 0.0;
    for y in 0..HEIGHT {
        for x in 0..WIDTH {
            let key = PixelKey::new(seed, 1, x, y);
            for sample in 0..SAMPLES {
                let rng = key.sample(sample);
                for dim in 0..NUMBERS_PER_SAMPLE {
                    sum += rng.uniform(dim / 4, dim % 4);
                }
            }
        }
    }
    sum
}

fn all_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn throughput(c: &mut Criterion) {
    let mut group = c.benchmark_group("render");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Elements(samples_times_pixels()));
    group.bench_function("rng_floor_160x90_16spp", |b| {
        b.iter(|| black_box(rng_floor(black_box(1))))
    });
    group.bench_function("demo_160x90_16spp_1_thread", |b| {
        b.iter(|| render_once(black_box(BuiltinRenderer::with_threads(1))))
    });
    let threads = all_threads();
    group.bench_function("demo_160x90_16spp_all_threads", |b| {
        b.iter(|| render_once(black_box(BuiltinRenderer::with_threads(threads))))
    });
    group.finish();
    summary(threads);
}

/// The best of five runs of `f`, in seconds.
fn best_of_five(mut f: impl FnMut()) -> f64 {
    (0..5)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// Prints samples × pixels per second and the ratios, from best-of-five timings.
fn summary(threads: usize) {
    let work = samples_times_pixels() as f64;
    let floor = best_of_five(|| {
        black_box(rng_floor(black_box(1)));
    });
    let one = best_of_five(|| {
        black_box(render_once(BuiltinRenderer::with_threads(1)));
    });
    let all = best_of_five(|| {
        black_box(render_once(BuiltinRenderer::with_threads(threads)));
    });
    eprintln!(
        "builtin demo {WIDTH}x{HEIGHT} x {SAMPLES} spp (best of 5): \
         rng floor {:.3e} samples·px/s; 1 thread {:.3e} samples·px/s ({:.1}× the floor's time); \
         {threads} threads {:.3e} samples·px/s ({:.2}× one thread)",
        work / floor,
        work / one,
        one / floor,
        work / all,
        one / all,
    );
}

criterion_group!(benches, throughput);
criterion_main!(benches);
