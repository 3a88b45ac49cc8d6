//! The Vulkan verifier against the CPU one, in the same run: the per-tile sums (`tile_sums`, the
//! part a backend implements) of 16 tiles of 64×64 and of a whole 4K frame pair.
//!
//! `cargo bench --features vulkan --bench verify_vulkan`. Without a Vulkan device it prints
//! `SKIP: <reason>`. On lavapipe (Mesa's software Vulkan) the numbers check the plumbing, not speed.
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pictor_render::LinearImage;
use pictor_verify::synthetic::{self, NoiseKind};
use pictor_verify::vulkan::VulkanVerifier;
use pictor_verify::{CpuVerifier, FrameVerifier, StatParams, TileTriple, prepare};
use std::time::{Duration, Instant};

/// Median wall time of `runs` calls of `f`.
fn time(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

/// Median times of CPU and Vulkan `tile_sums` on the same tiles.
fn compare(name: &str, gpu: &VulkanVerifier, tiles: &[TileTriple<'_>], runs: usize) {
    let params = prepare(tiles, &StatParams::default()).expect("prepare");
    let cpu = time(runs, || {
        CpuVerifier.tile_sums(tiles, &params).expect("cpu sums");
    });
    let vulkan = time(runs, || {
        gpu.tile_sums(tiles, &params).expect("vulkan sums");
    });
    let pixels: u64 = tiles
        .iter()
        .map(|t| u64::from(t.worker.width()) * u64::from(t.worker.height()))
        .sum();
    println!(
        "{name:<28} {pixels:>9} px   cpu {:>9.2} ms   vulkan {:>9.2} ms   cpu/vulkan {:>6.2}",
        cpu.as_secs_f64() * 1e3,
        vulkan.as_secs_f64() * 1e3,
        cpu.as_secs_f64() / vulkan.as_secs_f64()
    );
}

/// An honest worker frame and its two half-sample references.
fn frame(width: u32, height: u32) -> [LinearImage; 3] {
    let scene = synthetic::scene(width, height, 1, None);
    let render = |samples: f64, seed: u64| {
        synthetic::render(&scene, samples, seed, NoiseKind::Gaussian).expect("render")
    };
    [render(64.0, 3), render(32.0, 1), render(32.0, 2)]
}

fn main() {
    let gpu = match VulkanVerifier::new() {
        Ok(gpu) => gpu,
        Err(error) => {
            println!("SKIP: {error}");
            return;
        }
    };
    println!(
        "device: {} ({}); {} CPU threads",
        gpu.device_name(),
        gpu.device_kind(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    let [w, a, b] = frame(256, 256);
    let cut = |image: &LinearImage| synthetic::tiles(image, 64).expect("tiles");
    let (wt, at, bt) = (cut(&w), cut(&a), cut(&b));
    let tiles: Vec<TileTriple<'_>> = (0..wt.len())
        .map(|i| TileTriple {
            worker: &wt[i],
            reference_a: &at[i],
            reference_b: &bt[i],
        })
        .collect();
    compare("16 tiles of 64×64", &gpu, &tiles, 15);

    let [w, a, b] = frame(3840, 2160);
    let whole = [TileTriple {
        worker: &w,
        reference_a: &a,
        reference_b: &b,
    }];
    compare("4K frame (one tile)", &gpu, &whole, 3);
}
