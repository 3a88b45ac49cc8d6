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

/// `pictor verify --scene-settings`: a frame Blender itself wrote with the scene's colour
/// management (the factory scene's Filmic, denoising off) is accepted given the scene; the flags
/// refuse what they cannot check, with a clear message.
#[test]
fn verify_accepts_blender_s_own_frame_given_the_scene() {
    if !blender_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let scene = dir.path().join("shot.blend");
    let blender = std::env::var("PICTOR_BLENDER").unwrap_or_else(|_| "blender".into());
    let saved = Command::new(&blender)
        .args([
            "-b",
            "--factory-startup",
            "--python-exit-code",
            "1",
            "--python-expr",
        ])
        .arg(format!(
            "import bpy\ns = bpy.context.scene\ns.render.engine = 'CYCLES'\n\
             s.cycles.device = 'CPU'; s.cycles.samples = 16; s.cycles.use_denoising = False\n\
             s.render.resolution_x, s.render.resolution_y = 96, 64\n\
             bpy.ops.wm.save_as_mainfile(filepath={:?})",
            path_str(&scene)
        ))
        .output()
        .expect("blender runs");
    assert!(
        saved.status.success(),
        "{}",
        String::from_utf8_lossy(&saved.stderr)
    );
    let rendered = Command::new(&blender)
        .args(["-b", "--factory-startup", "-noaudio"])
        .arg(&scene)
        .arg("-o")
        .arg(dir.path().join("f_####"))
        .args(["-f", "1"])
        .output()
        .expect("blender runs");
    assert!(rendered.status.success());
    let frame = dir.path().join("f_0001.png");
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "0b".repeat(32)).expect("secret");
    let common = [
        "verify",
        "--renderer",
        "blender",
        "--width",
        "96",
        "--height",
        "64",
        "--samples",
        "16",
        "--image",
        path_str(&frame),
        "--secret-file",
        path_str(&secret),
    ];
    let mut args = common.to_vec();
    args.extend(["--scene", path_str(&scene), "--scene-settings", "--json"]);
    let report = render_json(&args);
    assert_eq!(report["verdict"], "accept", "{report}");
    assert!(report["tiles"].as_u64().is_some_and(|t| t > 0));

    let mut no_scene = common.to_vec();
    no_scene.push("--scene-settings");
    let refused = pictor(&no_scene);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--scene"));
}
