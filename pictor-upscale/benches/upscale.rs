//! Upscale throughput (criterion), SPAN beside its baselines in the same run:
//!
//! - `upscale/span_x4_256x144` — the project's detailed fixture, 256×144 → 1024×576 (0.59
//!   output MP), SPAN ×4 fp32 on candle's CPU backend, 128-pixel tiles with 24 of context;
//! - `upscale/bicubic_x4_256x144` — the same image by bicubic (Catmull-Rom) interpolation;
//! - `upscale/checker_tile_x4` — what a checker recomputes per drawn tile (one 128×128 input
//!   tile with its context), to set against a job's whole cost (docs/BENCHMARKS.md).
//!
//! Needs the models: `PICTOR_SPAN_WHEEL=$(scripts/install-span-wheel DIR)`.
//! Run: `cargo bench -p pictor-upscale --bench upscale`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use common::{bicubic, detailed_fixture, model, planes};
use criterion::{Criterion, criterion_group, criterion_main};
use pictor_upscale::{TileSpec, tile_grid, upscale, upscale_tile};
use std::time::Duration;

fn benches(c: &mut Criterion) {
    let Some(x4) = model("spanx4_ch48") else {
        return;
    };
    let fixture = detailed_fixture(256, 144, 5);
    let input = planes(&fixture);
    let mut group = c.benchmark_group("upscale");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(60));
    group.bench_function("span_x4_256x144", |b| {
        b.iter(|| upscale(&x4, &input, TileSpec::DEFAULT, |_, _| {}).unwrap());
    });
    group.bench_function("bicubic_x4_256x144", |b| b.iter(|| bicubic(&fixture, 4)));
    let tile = tile_grid(256, 144, TileSpec::DEFAULT.tile)[0];
    group.bench_function("checker_tile_x4", |b| {
        b.iter(|| upscale_tile(&x4, &input, &tile, TileSpec::DEFAULT).unwrap());
    });
    group.finish();
}

criterion_group!(upscale_benches, benches);
criterion_main!(upscale_benches);
