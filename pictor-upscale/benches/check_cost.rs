//! Checker cost ÷ worker cost of one upscale task, measured: a 1920×1080 frame of the project's
//! detailed fixture ×4 to 7680×4320 (135 output tiles), as the network runs it —
//!
//! - the worker: read the input PNG, compute every tile ([`pictor_upscale::upscale`]), encode the
//!   8-bit PNG it uploads;
//! - the checker: read the input PNG and the worker's PNG, recompute the tiles
//!   [`pictor_upscale::verify::tiles_to_check`] draws with its secret
//!   ([`pictor_upscale::verify::check_task`]) and compare — three times, with three secrets.
//!
//! Plain timing (one worker run takes minutes here; criterion's ten samples would take an hour).
//! Needs the models: `PICTOR_SPAN_WHEEL=$(scripts/install-span-wheel DIR)`.
//! Run: `cargo bench -p pictor-upscale --bench check_cost`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use pictor_upscale::chain::{Chain, Pass, Rect};
use pictor_upscale::io::{ViewTransform, read_input};
use pictor_upscale::verify::{check_task, tiles_to_check};
use pictor_upscale::{RgbPlanes, TileSpec, upscale};
use std::time::Instant;

fn main() {
    let Some(x4) = common::model("spanx4_ch48") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let input_png = dir.path().join("000001.png");
    // The fixture's cost grows with its area times its number of shapes: a 480×270 one, tiled
    // 4 × 4 (the model's cost does not depend on what the pixels show).
    let patch = common::detailed_fixture(480, 270, 7);
    image::RgbImage::from_fn(1920, 1080, |x, y| *patch.get_pixel(x % 480, y % 270))
        .save(&input_png)
        .unwrap();
    let output_png = dir.path().join("frame_0001.png");

    let started = Instant::now();
    let input = read_input(&input_png, ViewTransform::Standard).unwrap();
    let output = upscale(&x4, &input, TileSpec::DEFAULT, |_, _| {}).unwrap();
    output.to_rgb8().save(&output_png).unwrap();
    let worker = started.elapsed().as_secs_f64();

    let mut checks = Vec::new();
    for round in 0..3u8 {
        let started = Instant::now();
        let input = read_input(&input_png, ViewTransform::Standard).unwrap();
        let got = RgbPlanes::from_image(&image::open(&output_png).unwrap());
        let chain = Chain::new(
            &input,
            vec![Pass {
                model: &x4,
                tiles: TileSpec::DEFAULT,
            }],
        )
        .unwrap();
        let task = Rect {
            left: 0,
            top: 0,
            width: 7680,
            height: 4320,
        };
        let verdict = check_task(&chain, task, &got, [round + 1; 32]).unwrap();
        assert!(verdict.accepted, "{verdict:?}");
        checks.push((started.elapsed().as_secs_f64(), verdict.checked.len()));
    }
    let tiles = chain_tiles(&input);
    println!(
        "upscale task 1920×1080 ×4 → 7680×4320 ({tiles} output tiles, {} checked): worker {worker:.1} s",
        tiles_to_check(tiles)
    );
    for (index, (secs, checked)) in checks.iter().enumerate() {
        println!(
            "  checker round {}: {secs:.2} s for {checked} tiles = {:.2} % of the worker's cost",
            index + 1,
            secs / worker * 100.0
        );
    }
    let mean = checks.iter().map(|(secs, _)| secs).sum::<f64>() / checks.len() as f64;
    println!(
        "  mean: {mean:.2} s = {:.2} % (goal ≤ 5 %)",
        mean / worker * 100.0
    );
}

fn chain_tiles(input: &RgbPlanes) -> usize {
    pictor_upscale::tile_grid(input.width(), input.height(), TileSpec::DEFAULT.tile).len()
}
