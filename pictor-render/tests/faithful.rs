//! Faithful renders against Blender's own: for scenes saved with the settings artists use, the frame
//! [`BlenderRenderer::render_finished`] delivers must equal the frame `blender -b scene.blend -f 1`
//! writes from the same scene and seed, sample for sample. Without Blender each test prints
//! `SKIP: <reason>` and passes — unless `PICTOR_REQUIRE_BLENDER=1`.
//!
//! Dither (Blender's default intensity 1.0 is kept in every scene here) is a deterministic
//! function of the pixel, so it is equal too: the bound asserted is exact equality.
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pictor_core::job::{OutputFormat, Resolution};
use pictor_render::blender::finish::{FinishRequest, FinishedFrame, RefinishRequest};
use pictor_render::compare::{FrameDifference, compare_frames};
use pictor_render::evidence::Evidence;
use pictor_render::{BlenderRenderer, RenderControl, RenderError, Renderer};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;

const SEED: u64 = 7;

fn blender_or_skip() -> Option<BlenderRenderer> {
    let renderer = BlenderRenderer::new();
    match renderer.version() {
        Ok(_) => Some(renderer),
        Err(error) => {
            let reason = format!("Blender unavailable: {error}");
            if std::env::var("PICTOR_REQUIRE_BLENDER").as_deref() == Ok("1") {
                panic!("PICTOR_REQUIRE_BLENDER=1 but {reason}");
            }
            println!("SKIP: {reason}");
            None
        }
    }
}

fn blender_path(renderer: &BlenderRenderer) -> PathBuf {
    renderer.install().expect("install").path
}

/// Saves the factory scene with `options` (see tests/scenes/make_scene.py) as `dir/scene.blend`.
fn make_scene(renderer: &BlenderRenderer, dir: &Path, mut options: serde_json::Value) -> PathBuf {
    let path = dir.join("scene.blend");
    options["save_as"] = json!(path);
    options["seed"] = json!(SEED);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenes/make_scene.py");
    let output = Command::new(blender_path(renderer))
        .args([
            "-b",
            "--factory-startup",
            "-noaudio",
            "--python-exit-code",
            "1",
        ])
        .arg("--python")
        .arg(&script)
        .arg("--")
        .arg(options.to_string())
        .output()
        .expect("run Blender");
    assert!(
        output.status.success() && path.is_file(),
        "saving the scene failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    path
}

/// What `blender -b scene.blend -f 1` writes (into `dir/direct`).
fn direct_render(renderer: &BlenderRenderer, scene: &Path, dir: &Path) -> PathBuf {
    let out = dir.join("direct");
    let output = Command::new(blender_path(renderer))
        .args(["-b", "--factory-startup", "-noaudio"])
        .arg(scene)
        .arg("-o")
        .arg(out.join("frame_####"))
        .args(["-f", "1"])
        .output()
        .expect("run Blender");
    assert!(output.status.success(), "direct render failed");
    let written: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap_or_else(|error| {
            panic!(
                "Blender wrote nothing ({error}): {}",
                String::from_utf8_lossy(&output.stdout)
            )
        })
        .map(|entry| entry.expect("entry").path())
        .collect();
    assert_eq!(written.len(), 1, "{written:?}");
    written.into_iter().next().expect("one file")
}

fn finish_request(scene: &Path, dir: &Path, output: Option<OutputFormat>) -> FinishRequest {
    FinishRequest {
        scene: scene.to_path_buf(),
        frame: 1,
        resolution: Resolution {
            width: 96,
            height: 64,
        },
        samples: 16,
        seed: SEED,
        engine: None,
        output,
        out_dir: dir.join("out"),
        evidence: dir.join("evidence/frame_0001.exr"),
    }
}

fn faithful(renderer: &BlenderRenderer, scene: &Path, dir: &Path) -> FinishedFrame {
    renderer
        .render_finished(&finish_request(scene, dir, None), &RenderControl::default())
        .unwrap_or_else(|error| panic!("faithful render failed: {error}"))
}

fn difference(a: &Path, b: &Path) -> FrameDifference {
    compare_frames(
        &std::fs::read(a).expect("read"),
        &std::fs::read(b).expect("read"),
    )
    .expect("comparable frames")
}

/// Renders `options`' scene both ways and asserts the frames are equal; answers the faithful
/// render for further checks.
fn assert_faithful(options: serde_json::Value) -> Option<(tempfile::TempDir, FinishedFrame)> {
    let renderer = blender_or_skip()?;
    let dir = tempfile::tempdir().expect("tempdir");
    let scene = make_scene(&renderer, dir.path(), options.clone());
    let direct = direct_render(&renderer, &scene, dir.path());
    let finished = faithful(&renderer, &scene, dir.path());
    let difference = difference(&finished.deliverable, &direct);
    assert!(
        difference.differing == 0,
        "{options}: the delivered frame differs from Blender's own: {difference:?}"
    );
    assert!(difference.samples >= 96 * 64 * 3, "{difference:?}");
    // The evidence holds the view layer's linear combined light.
    let evidence = Evidence::decode(&std::fs::read(&finished.evidence).expect("evidence"))
        .expect("evidence decodes");
    assert_eq!((evidence.width(), evidence.height()), (96, 64));
    assert_eq!(evidence.view_layers(), ["ViewLayer"]);
    assert!(evidence.noisy_combined("ViewLayer").is_some());
    // The checker's second check: the scene's finishing run on the evidence gives the deliverable.
    let refinished = refinish(&renderer, &scene, dir.path(), &finished);
    let again = finishing_difference(&finished.deliverable, &refinished);
    assert!(
        again.differing == 0,
        "{options}: refinished differs: {again:?}"
    );
    Some((dir, finished))
}

/// The checker's request to refinish `finished` (frame 1 at 96×64) into `out_dir`.
fn refinish_request(scene: &Path, finished: &FinishedFrame, out_dir: PathBuf) -> RefinishRequest {
    RefinishRequest {
        scene: scene.to_path_buf(),
        frame: 1,
        resolution: Resolution {
            width: 96,
            height: 64,
        },
        evidence: finished.evidence.clone(),
        out_dir,
    }
}

fn refinish(
    renderer: &BlenderRenderer,
    scene: &Path,
    dir: &Path,
    finished: &FinishedFrame,
) -> PathBuf {
    let request = refinish_request(scene, finished, dir.join("refinished"));
    renderer
        .refinish_frame(&request, &RenderControl::default())
        .unwrap_or_else(|error| panic!("refinishing failed: {error}"))
        .output
}

fn finishing_difference(delivered: &Path, refinished: &Path) -> FrameDifference {
    pictor_render::compare::compare_finishing(
        &std::fs::read(delivered).expect("read"),
        &std::fs::read(refinished).expect("read"),
    )
    .expect("comparable frames")
}

#[test]
fn filmic_with_a_look_and_exposure_as_png8_equals_blender_s_own() {
    let Some((_dir, finished)) = assert_faithful(json!({
        "view_transform": "Filmic", "look": "Medium High Contrast", "exposure": 0.7,
        "file_format": "PNG", "color_depth": "8",
    })) else {
        return;
    };
    let settings = &finished.settings;
    assert_eq!(settings.view_transform, "Filmic");
    assert_eq!(settings.look, "Medium High Contrast");
    assert!((settings.exposure - 0.7).abs() < 1e-6);
    assert_eq!(settings.dither, 1.0);
    // The scene's naming: `//render/frame_####` → frame_0001.png in the task's folder.
    assert_eq!(
        finished.deliverable.file_name().and_then(|n| n.to_str()),
        Some("frame_0001.png")
    );
}

#[test]
fn standard_as_png16_equals_blender_s_own() {
    let Some((_dir, finished)) = assert_faithful(json!({
        "view_transform": "Standard", "file_format": "PNG", "color_depth": "16",
        "filepath": "//shots/sh010_##.png",
    })) else {
        return;
    };
    assert_eq!(finished.settings.color_depth, "16");
    assert_eq!(
        finished.deliverable.file_name().and_then(|n| n.to_str()),
        Some("sh010_01.png")
    );
}

#[test]
fn adaptive_sampling_as_jpeg_equals_blender_s_own() {
    let Some((_dir, finished)) = assert_faithful(json!({
        "adaptive": true, "adaptive_threshold": 0.05,
        "file_format": "JPEG", "quality": 90,
    })) else {
        return;
    };
    assert!(finished.settings.adaptive_sampling);
}

#[test]
fn a_glare_compositor_as_multilayer_exr_equals_blender_s_own() {
    let Some(renderer) = blender_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let scene = make_scene(
        &renderer,
        dir.path(),
        json!({"glare": true, "file_format": "OPEN_EXR_MULTILAYER", "color_depth": "32"}),
    );
    let direct = direct_render(&renderer, &scene, dir.path());
    let finished = faithful(&renderer, &scene, dir.path());
    assert!(finished.settings.compositing);
    let difference = difference(&finished.deliverable, &direct);
    assert_eq!(difference.differing, 0, "{difference:?}");
    assert!(difference.unmatched_channels.is_empty(), "{difference:?}");
    // The composite (the deliverable's) is not the view layer's combined light: glare changed it.
    // The evidence leaves the composite out (it is the deliverable), and keeps the passes.
    let evidence = Evidence::decode(&std::fs::read(&finished.evidence).expect("read")).expect("ok");
    assert!(
        evidence.composite().is_none(),
        "the evidence has no composite layer"
    );
    let delivered =
        Evidence::decode(&std::fs::read(&finished.deliverable).expect("read")).expect("ok");
    let composite = delivered.composite().expect("composite");
    let combined = evidence.noisy_combined("ViewLayer").expect("combined");
    assert_ne!(composite, combined);
    // Refinishing the evidence runs the glare again and gives the delivered composite.
    let refinished = refinish(&renderer, &scene, dir.path(), &finished);
    let again = finishing_difference(&finished.deliverable, &refinished);
    assert!(again.identical(), "{again:?}");
}

#[test]
fn a_deliverable_that_is_not_the_finishing_of_its_evidence_is_told_apart() {
    let Some(renderer) = blender_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let options = json!({"view_transform": "Filmic", "file_format": "PNG", "color_depth": "16"});
    let scene = make_scene(&renderer, dir.path(), options.clone());
    let finished = faithful(&renderer, &scene, dir.path());
    // The same scene with +3 % exposure: a plausible frame, but not this evidence's finishing.
    let other_dir = dir.path().join("brighter");
    std::fs::create_dir_all(&other_dir).expect("dir");
    let mut brighter = options;
    brighter["exposure"] = json!(0.0426); // log2(1.03)
    let brighter_scene = make_scene(&renderer, &other_dir, brighter);
    let edited = faithful(&renderer, &brighter_scene, &other_dir);
    let refinished = refinish(&renderer, &scene, dir.path(), &finished);
    let honest = finishing_difference(&finished.deliverable, &refinished);
    assert!(honest.identical(), "{honest:?}");
    let cheat = finishing_difference(&edited.deliverable, &refinished);
    assert!(cheat.differing > 96 * 64, "{cheat:?}");
}

#[test]
fn a_format_the_job_names_overrides_only_the_format() {
    let Some(renderer) = blender_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let scene = make_scene(
        &renderer,
        dir.path(),
        json!({"view_transform": "Filmic", "file_format": "JPEG"}),
    );
    let request = finish_request(&scene, dir.path(), Some(OutputFormat::Png16));
    let finished = renderer
        .render_finished(&request, &RenderControl::default())
        .expect("render");
    assert_eq!(finished.settings.file_format, "PNG");
    assert_eq!(finished.settings.color_depth, "16");
    assert_eq!(finished.settings.view_transform, "Filmic");
    let bytes = std::fs::read(&finished.deliverable).expect("read");
    assert_eq!(
        image::guess_format(&bytes).expect("format"),
        image::ImageFormat::Png
    );
}

#[test]
fn a_denoised_scene_on_a_blender_without_a_denoiser_fails_clearly() {
    let Some(renderer) = blender_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let scene = make_scene(&renderer, dir.path(), json!({"denoise": true}));
    match renderer.render_finished(
        &finish_request(&scene, dir.path(), None),
        &RenderControl::default(),
    ) {
        // A Blender built with OpenImageDenoise renders it (the official builds do).
        Ok(finished) => assert!(finished.settings.denoise),
        Err(RenderError::SceneInvalid { reason, .. }) => {
            assert!(reason.contains("denois"), "{reason}");
        }
        Err(other) => panic!("expected a clear refusal, got {other}"),
    }
}

/// The second Blender, `PICTOR_BLENDER_4` (Blender 4.2 from the `bpy` wheel, installed by
/// scripts/install-bpy-blender; an official build, with OpenImageDenoise), or `None` after saying
/// why — unless `PICTOR_REQUIRE_BLENDER_4=1`.
fn blender4_or_skip() -> Option<BlenderRenderer> {
    let reason = match std::env::var_os("PICTOR_BLENDER_4") {
        Some(path) => {
            let renderer = BlenderRenderer::with_executable(path);
            match renderer.version() {
                Ok(_) => return Some(renderer),
                Err(error) => format!("PICTOR_BLENDER_4 does not run: {error}"),
            }
        }
        None => "PICTOR_BLENDER_4 is not set (scripts/install-bpy-blender)".to_string(),
    };
    if std::env::var("PICTOR_REQUIRE_BLENDER_4").as_deref() == Ok("1") {
        panic!("PICTOR_REQUIRE_BLENDER_4=1 but {reason}");
    }
    println!("SKIP: {reason}");
    None
}

/// Denoising, on a Blender that has a denoiser: the delivered frame equals Blender's own, and the
/// checker's refinishing (a Denoise node fed the evidence's noisy image and guides, then the view
/// transform) reproduces it sample for sample.
#[test]
fn a_denoised_scene_on_blender_4_equals_blender_s_own_and_refinishes_exactly() {
    let Some(renderer) = blender4_or_skip() else {
        return;
    };
    for (view_transform, file_format, depth) in [("AgX", "PNG", "8"), ("Filmic", "PNG", "16")] {
        let dir = tempfile::tempdir().expect("tempdir");
        let scene = make_scene(
            &renderer,
            dir.path(),
            json!({"denoise": true, "adaptive": true, "view_transform": view_transform,
                   "file_format": file_format, "color_depth": depth}),
        );
        let direct = direct_render(&renderer, &scene, dir.path());
        let finished = faithful(&renderer, &scene, dir.path());
        assert!(finished.settings.denoise);
        let same = difference(&finished.deliverable, &direct);
        assert!(same.identical(), "{view_transform}: {same:?}");
        let evidence =
            Evidence::decode(&std::fs::read(&finished.evidence).expect("read")).expect("ok");
        assert!(
            evidence.channel("ViewLayer.Noisy Image.R").is_some(),
            "the evidence keeps the image before denoising"
        );
        let refinished = refinish(&renderer, &scene, dir.path(), &finished);
        let again = finishing_difference(&finished.deliverable, &refinished);
        assert!(again.identical(), "{view_transform}: refinished {again:?}");
    }
}

/// A checker's session: one Blender process refinishes and renders references, and gives what a
/// process of its own gives for each call, whatever order the calls come in: a render before the
/// refinishing turns the scene's compositing and denoising off (the session reloads the scene), a
/// render after it finds the compositor rewired (the override script turns it off).
#[test]
fn a_session_refinishes_and_renders_like_processes_of_their_own() {
    let Some(renderer) = blender_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let scene = make_scene(
        &renderer,
        dir.path(),
        json!({"glare": true, "look": "Medium High Contrast", "color_depth": "16"}),
    );
    let finished = faithful(&renderer, &scene, dir.path());
    let alone = refinish(&renderer, &scene, dir.path(), &finished);
    let mut references = pictor_render::RenderRequest::new(96, 64, 8, 0);
    references.scene = Some(scene.clone());
    references.regions = vec![
        pictor_core::task::PixelRect {
            x: 8,
            y: 8,
            width: 24,
            height: 16,
        },
        pictor_core::task::PixelRect {
            x: 56,
            y: 40,
            width: 32,
            height: 24,
        },
    ];
    let control = RenderControl::default();
    let alone_references = renderer
        .render_seeds(&references, &[3, 4], &control)
        .expect("references");

    let before = renderer.spawn_count();
    let session = renderer.open_session(&scene).expect("session");
    let pid = renderer.last_pid().expect("spawned");
    let first = session
        .render_seeds(&references, &[3, 4], &control)
        .expect("references in the session");
    let request = refinish_request(&scene, &finished, dir.path().join("refinished-in-session"));
    let refinished = session
        .refinish_frame(&request, &control)
        .expect("refinishing in the session");
    let again = session
        .render_seeds(&references, &[3, 4], &control)
        .expect("references after the refinishing");
    assert_eq!(renderer.spawn_count() - before, 1, "one Blender process");
    assert!(Path::new(&format!("/proc/{pid}")).exists(), "it still runs");

    let difference = finishing_difference(&finished.deliverable, &refinished.output);
    assert!(difference.identical(), "{difference:?}");
    assert!(finishing_difference(&alone, &refinished.output).identical());
    assert!(!refinished.denoise && !refinished.adaptive_sampling);
    for outputs in [&first, &again] {
        for (session_output, alone_output) in outputs.iter().zip(&alone_references) {
            for (got, want) in session_output.regions.iter().zip(&alone_output.regions) {
                assert_eq!(got.region, want.region);
                assert_eq!(
                    got.image.as_rgba(),
                    want.image.as_rgba(),
                    "a reference rendered in the session equals one rendered alone"
                );
            }
        }
    }
    drop(session);
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "dropping the session ends its Blender"
    );
}
