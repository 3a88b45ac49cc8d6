//! `pictor render` end to end: the real binary with the built-in renderer (always) and Blender (when
//! installed; required when `PICTOR_REQUIRE_BLENDER=1`).
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn pictor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pictor"))
        .args(args)
        .output()
        .expect("the pictor binary runs")
}

fn render_json(args: &[&str]) -> Value {
    let output = pictor(args);
    assert!(
        output.status.success(),
        "pictor {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("one JSON object")
}

fn blender_available() -> bool {
    let found = Command::new(std::env::var("PICTOR_BLENDER").unwrap_or_else(|_| "blender".into()))
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !found {
        if std::env::var("PICTOR_REQUIRE_BLENDER").as_deref() == Ok("1") {
            panic!("PICTOR_REQUIRE_BLENDER=1 but Blender is not installed");
        }
        eprintln!(
            "SKIP: Blender is not installed (set PICTOR_REQUIRE_BLENDER=1 to make this fail)"
        );
    }
    found
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

#[test]
fn builtin_renders_a_frame_and_a_region_with_the_json_contract() {
    let dir = tempfile::tempdir().expect("tempdir");
    let full = dir.path().join("full.png");
    let report = render_json(&[
        "render",
        "--renderer",
        "builtin",
        "--frame",
        "3",
        "--width",
        "48",
        "--height",
        "32",
        "--samples",
        "4",
        "--seed",
        "7",
        "--out",
        path_str(&full),
        "--json",
    ]);
    for key in [
        "width",
        "height",
        "samples",
        "seed",
        "frame",
        "render_ms",
        "renderer",
        "renderer_version",
        "out",
    ] {
        assert!(report.get(key).is_some(), "missing {key}: {report}");
    }
    assert_eq!(report["width"], 48);
    assert_eq!(report["height"], 32);
    assert_eq!(report["renderer"], "builtin");
    let image = pictor_render::LinearImage::decode(&std::fs::read(&full).expect("png written"))
        .expect("a PNG");
    assert_eq!((image.width(), image.height()), (48, 32));

    let region = dir.path().join("region.exr");
    let report = render_json(&[
        "render",
        "--frame",
        "3",
        "--width",
        "48",
        "--height",
        "32",
        "--samples",
        "4",
        "--seed",
        "7",
        "--region",
        "10,5,16,8",
        "--out",
        path_str(&region),
        "--json",
    ]);
    assert_eq!(
        (report["width"].clone(), report["height"].clone()),
        (16.into(), 8.into())
    );
    let tile = pictor_render::LinearImage::decode(&std::fs::read(&region).expect("exr written"))
        .expect("an EXR");
    assert_eq!((tile.width(), tile.height()), (16, 8));
}

#[test]
fn bad_input_fails_cleanly_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out.png");
    let missing_scene = dir.path().join("missing.toml");
    for args in [
        vec!["render", "--width", "0", "--height", "8", "--samples", "1"],
        vec!["render", "--width", "8", "--height", "8", "--samples", "0"],
        vec![
            "render",
            "--width",
            "8",
            "--height",
            "8",
            "--samples",
            "1",
            "--region",
            "4,4,8,8",
        ],
        vec![
            "render",
            "--width",
            "8",
            "--height",
            "8",
            "--samples",
            "1",
            "--scene",
            path_str(&missing_scene),
        ],
        vec![
            "render",
            "--width",
            "8",
            "--height",
            "8",
            "--samples",
            "1",
            "--format",
            "exr",
        ],
    ] {
        let mut args = args;
        args.extend(["--out", path_str(&out)]);
        let output = pictor(&args);
        assert!(!output.status.success(), "{args:?} should fail");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.starts_with("pictor: "), "{args:?}: {stderr}");
        assert!(!out.exists(), "{args:?} left an output file");
    }
    let listing: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
    assert!(
        listing.is_empty(),
        "no temporary files left behind: {listing:?}"
    );
}

#[test]
fn blender_renders_the_factory_scene() {
    if !blender_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("blender.png");
    let report = render_json(&[
        "render",
        "--renderer",
        "blender",
        "--width",
        "64",
        "--height",
        "48",
        "--samples",
        "4",
        "--seed",
        "1",
        "--out",
        path_str(&out),
        "--json",
    ]);
    assert_eq!(report["renderer"], "blender");
    assert!(
        report["renderer_version"]
            .as_str()
            .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
    );
    let image = pictor_render::LinearImage::decode(&std::fs::read(&out).expect("png written"))
        .expect("a PNG");
    assert_eq!((image.width(), image.height()), (64, 48));
}
