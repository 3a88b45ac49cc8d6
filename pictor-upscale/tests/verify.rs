//! The checker's side of an upscale task through the real model: honest work accepted whatever
//! tiles are drawn, a faked tile caught exactly when drawn (at the rate `1 − (1 − f)^k` says), and
//! a result of the wrong size rejected with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{bicubic, detailed_fixture, model, planes};
use pictor_upscale::verify::{check_task, tiles_to_check};
use pictor_upscale::{Chain, Pass, Rect, TileSpec};

fn secret(n: u32) -> [u8; 32] {
    let mut secret = [7_u8; 32];
    secret[..4].copy_from_slice(&n.to_le_bytes());
    secret
}

#[test]
fn honest_tasks_pass_and_faked_tiles_are_caught_when_drawn() {
    let Some(x2) = model("spanx2_ch48") else {
        return;
    };
    let source = detailed_fixture(96, 64, 31);
    let input = planes(&source);
    let spec = TileSpec {
        tile: 16,
        context: 24,
    };
    let chain = Chain::new(
        &input,
        vec![Pass {
            model: &x2,
            tiles: spec,
        }],
    )
    .unwrap();
    let honest = chain.upscale_all(|_, _, _| {}).unwrap();
    let tiles = chain.output_tiles();
    assert_eq!((tiles.len(), tiles_to_check(tiles.len())), (24, 1));
    let whole = Rect {
        left: 0,
        top: 0,
        width: 192,
        height: 128,
    };
    for n in 0..6 {
        let verdict = check_task(&chain, whole, &honest, secret(n)).unwrap();
        assert!(verdict.accepted, "{verdict:?}");
        assert_eq!(verdict.checked.len(), 1);
    }
    // A task of four tiles, honest.
    let task = Rect {
        left: 32,
        top: 32,
        width: 64,
        height: 64,
    };
    let part = honest.crop(task.left, task.top, task.width, task.height);
    assert!(check_task(&chain, task, &part, secret(1)).unwrap().accepted);
    let ragged = Rect { left: 30, ..task };
    assert!(check_task(&chain, ragged, &part, secret(1)).is_err());

    // A quarter of the tiles (6 of 24) faked with bicubic.
    let cheap = planes(&bicubic(&source, 2));
    let mut faked = honest.clone();
    let faked_tiles: Vec<Rect> = tiles.iter().copied().step_by(4).collect();
    for tile in &faked_tiles {
        faked.paste(
            &cheap.crop(tile.left, tile.top, tile.width, tile.height),
            tile.left,
            tile.top,
        );
    }
    let draws = 60;
    let mut caught = 0;
    for n in 0..draws {
        let verdict = check_task(&chain, whole, &faked, secret(n)).unwrap();
        let drawn = &verdict.checked[0];
        let drawn_faked = faked_tiles
            .iter()
            .any(|t| (t.left, t.top) == (drawn.left, drawn.top));
        assert_eq!(
            !verdict.accepted, drawn_faked,
            "caught exactly when drawn: {verdict:?}"
        );
        if !verdict.accepted {
            caught += 1;
            assert!(
                verdict
                    .reason
                    .as_deref()
                    .unwrap()
                    .contains("differs from the model's")
            );
        }
    }
    // 1 − (1 − 1/4)^1 = 25 % of 60 draws: 15 expected; 3 standard deviations either side.
    assert!((5..=25).contains(&caught), "{caught} of {draws} caught");

    let small = honest.crop(0, 0, 190, 128);
    let verdict = check_task(&chain, whole, &small, secret(0)).unwrap();
    assert!(!verdict.accepted);
    assert!(verdict.reason.unwrap().contains("190×128"));
}
