//! Blender batch overhead (criterion): rendering 16 regions of a frame in one Blender process
//! (`blender/batch_16_regions_1_process`) against 16 processes rendering one region each
//! (`blender/16_processes_1_region_each`). Tiny frames (64×48, 16×12 regions, 1 sample, the factory
//! scene), so the ratio is mostly Blender's start-up and scene load, which batching pays once.
//!
//! Without Blender (`PICTOR_BLENDER`, else `blender` on `PATH`) it prints a skip line and measures
//! nothing. Run: `cargo bench --bench blender`.
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use pictor_core::task::PixelRect;
use pictor_render::{BlenderRenderer, RenderControl, RenderRequest, Renderer};
use std::hint::black_box;

const REGIONS: u32 = 16;

fn regions() -> Vec<PixelRect> {
    (0..REGIONS)
        .map(|i| PixelRect {
            x: (i % 4) * 16,
            y: (i / 4) * 12,
            width: 16,
            height: 12,
        })
        .collect()
}

fn batch_overhead(c: &mut Criterion) {
    let renderer = BlenderRenderer::new();
    let version = match renderer.version() {
        Ok(version) => version,
        Err(error) => {
            println!("SKIP blender benches: {error}");
            return;
        }
    };
    println!("Blender {version}");
    let control = RenderControl::default();
    let mut batch = RenderRequest::new(64, 48, 1, 1);
    batch.regions = regions();
    let singles: Vec<RenderRequest> = regions()
        .into_iter()
        .map(|region| RenderRequest {
            regions: vec![region],
            ..batch.clone()
        })
        .collect();

    let mut group = c.benchmark_group("blender");
    group.sample_size(10);
    group.bench_function("batch_16_regions_1_process", |b| {
        b.iter(|| {
            let output = renderer.render(&batch, &control).expect("batch render");
            black_box(output.regions.len())
        })
    });
    group.bench_function("16_processes_1_region_each", |b| {
        b.iter(|| {
            singles
                .iter()
                .map(|single| {
                    let output = renderer.render(single, &control).expect("region render");
                    black_box(output.regions.len())
                })
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, batch_overhead);
criterion_main!(benches);
