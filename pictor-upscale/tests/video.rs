//! A 2-second video upscaled ×2 through `ffmpeg`: frame count, frame rate and duration kept, the
//! audio copied packet for packet, each frame the model's. Needs ffmpeg (required when
//! `PICTOR_REQUIRE_FFMPEG=1`, as in CI) and the models (`PICTOR_SPAN_WHEEL`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::model;
use pictor_upscale::video::{AudioJoin, probe, split_frames, upscale_video};
use pictor_upscale::{RgbPlanes, TileSpec, upscale};
use std::path::Path;

fn x2_frame(model: &pictor_upscale::Model, input: &Path, output: &Path) -> Result<(), String> {
    let image = image::open(input).map_err(|e| e.to_string())?;
    let planes = RgbPlanes::from_image(&image);
    let spec = TileSpec {
        tile: 32,
        context: 24,
    };
    let upscaled = upscale(model, &planes, spec, |_, _| {}).map_err(|e| e.to_string())?;
    upscaled.to_rgb8().save(output).map_err(|e| e.to_string())
}

#[test]
fn a_two_second_video_upscaled_x2_keeps_its_frames_timing_and_audio() {
    if !common::ffmpeg_available() {
        return;
    }
    let Some(x2) = model("spanx2_ch48") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let original = common::make_clip(dir.path());
    let before = probe(&original).unwrap();
    assert_eq!(
        (before.frames, before.frame_rate, before.has_audio),
        (24, (12, 1), true)
    );

    let out = dir.path().join("clip_x2.mp4");
    let info = upscale_video(
        &original,
        &out,
        &dir.path().join("work"),
        |input, output| x2_frame(&x2, input, output),
    )
    .unwrap();
    assert_eq!(info, (before, AudioJoin::Copied));
    let after = probe(&out).unwrap();
    assert_eq!((after.width, after.height), (96, 64));
    assert_eq!(after.frames, before.frames, "frame count kept");
    assert_eq!(after.frame_rate, before.frame_rate, "timing kept");
    assert!(after.has_audio);
    assert_eq!(
        common::audio_md5(&out),
        common::audio_md5(&original),
        "audio copied, not re-encoded"
    );

    // Each frame of the result is the model's upscale of the original's frame (within what
    // H.264 at CRF 16 keeps: compared on average, not bit for bit).
    let frames_in = split_frames(&original, &dir.path().join("check-in")).unwrap();
    let frames_out = split_frames(&out, &dir.path().join("check-out")).unwrap();
    assert_eq!(frames_out.len(), 24);
    for index in [0, 11, 23] {
        let expected = dir.path().join(format!("expected-{index}.png"));
        x2_frame(&x2, &frames_in[index], &expected).unwrap();
        let (a, b) = (
            image::open(&expected).unwrap().to_rgb8(),
            image::open(&frames_out[index]).unwrap().to_rgb8(),
        );
        let mean_difference = a
            .as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(x, y)| f64::from(x.abs_diff(*y)))
            .sum::<f64>()
            / a.as_raw().len() as f64;
        assert!(
            mean_difference < 3.0,
            "frame {index}: {mean_difference:.2} levels on average"
        );
    }
}

#[test]
fn a_file_that_is_not_a_video_is_refused_with_the_reason() {
    if !common::ffmpeg_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("fake.mp4");
    std::fs::write(&fake, "not a video").unwrap();
    let error = probe(&fake).unwrap_err().to_string();
    assert!(error.contains("fake.mp4"), "{error}");
}
