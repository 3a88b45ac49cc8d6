//! Chained passes (×8, ×16): the whole output and any region computed on its own are the same
//! pixels, and ×8 is sharper than bicubic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{bicubic, detailed_fixture, downscale, model, planes, psnr_y};
use pictor_upscale::chain::passes_for;
use pictor_upscale::{Chain, Pass, Rect, TileSpec, upscale};

#[test]
fn every_region_of_a_chained_upscale_is_the_whole_computations_pixels() {
    let (Some(x2), Some(x4)) = (model("spanx2_ch48"), model("spanx4_ch48")) else {
        return;
    };
    let input = planes(&detailed_fixture(20, 14, 3));
    let spec = TileSpec {
        tile: 16,
        context: 24,
    };
    let chain = Chain::new(
        &input,
        vec![
            Pass {
                model: &x4,
                tiles: spec,
            },
            Pass {
                model: &x2,
                tiles: TileSpec {
                    tile: 32,
                    context: 24,
                },
            },
        ],
    )
    .unwrap();
    assert_eq!((chain.scale(), chain.output_size()), (8, (160, 112)));
    let whole = chain.upscale_all(|_, _, _| {}).unwrap();
    let tiles = chain.output_tiles();
    assert_eq!(
        tiles.len(),
        3 * 2,
        "the last pass's 32-pixel tiles of its 80×56 input"
    );
    for tile in tiles {
        let region = chain.region(tile).unwrap();
        assert_eq!(
            region,
            whole.crop(tile.left, tile.top, tile.width, tile.height),
            "{tile:?}"
        );
    }
    let odd = Rect {
        left: 37,
        top: 5,
        width: 90,
        height: 101,
    };
    assert_eq!(
        chain.region(odd).unwrap(),
        whole.crop(odd.left, odd.top, odd.width, odd.height)
    );
    let outside = Rect {
        left: 150,
        top: 0,
        width: 20,
        height: 8,
    };
    assert!(chain.region(outside).is_err());
    // One pass is the plain tiled computation.
    let single = Chain::new(
        &input,
        vec![Pass {
            model: &x4,
            tiles: spec,
        }],
    )
    .unwrap();
    assert_eq!(
        single.upscale_all(|_, _, _| {}).unwrap(),
        upscale(&x4, &input, spec, |_, _| {}).unwrap()
    );
}

#[test]
fn x8_by_two_passes_is_sharper_than_bicubic_and_x16_has_its_size() {
    let (Some(x2), Some(x4)) = (model("spanx2_ch48"), model("spanx4_ch48")) else {
        return;
    };
    assert_eq!(
        passes_for(8, "spanx2_ch48", "spanx4_ch48").unwrap(),
        ["spanx4_ch48", "spanx2_ch48"]
    );
    assert!(passes_for(3, "a", "b").is_err());
    let truth = detailed_fixture(256, 256, 9);
    let small = downscale(&truth, 8);
    let input = planes(&small);
    let x8 = Chain::new(
        &input,
        vec![
            Pass {
                model: &x4,
                tiles: TileSpec::DEFAULT,
            },
            Pass {
                model: &x2,
                tiles: TileSpec::DEFAULT,
            },
        ],
    )
    .unwrap()
    .upscale_all(|_, _, _| {})
    .unwrap()
    .to_rgb8();
    let span_db = psnr_y(&truth, &x8, 8);
    let bicubic_db = psnr_y(&truth, &bicubic(&small, 8), 8);
    eprintln!("×8: SPAN {span_db:.2} dB, bicubic {bicubic_db:.2} dB");
    assert!(
        span_db > bicubic_db,
        "SPAN ×8 {span_db:.2} dB, bicubic {bicubic_db:.2} dB"
    );
    let tiny = planes(&detailed_fixture(6, 4, 2));
    let x16 = Chain::new(
        &tiny,
        vec![
            Pass {
                model: &x4,
                tiles: TileSpec::DEFAULT,
            },
            Pass {
                model: &x4,
                tiles: TileSpec::DEFAULT,
            },
        ],
    )
    .unwrap();
    assert_eq!(x16.output_size(), (96, 64));
    assert_eq!(x16.upscale_all(|_, _, _| {}).unwrap().width(), 96);
}

#[test]
fn a_whole_1080p_frame_x4_is_made_of_whole_output_tiles_covering_8k_once() {
    let Some(x4) = model("spanx4_ch48") else {
        return;
    };
    let input = pictor_upscale::RgbPlanes::black(1920, 1080);
    let chain = Chain::new(
        &input,
        vec![Pass {
            model: &x4,
            tiles: TileSpec::DEFAULT,
        }],
    )
    .unwrap();
    let tiles = chain.output_tiles();
    let covered: u64 = tiles
        .iter()
        .map(|t| u64::from(t.width) * u64::from(t.height))
        .sum();
    // 15 × 9 tiles, the last row 56 input pixels high: 8K out, covered once.
    assert_eq!(chain.output_size(), (7680, 4320));
    assert_eq!(tiles.len(), 135);
    assert_eq!(covered, 7680 * 4320);
}
