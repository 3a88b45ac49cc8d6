//! The Blender backend against the real binary. Without Blender each test prints `SKIP: <reason>`
//! and passes — unless `PICTOR_REQUIRE_BLENDER=1`, which turns the skip into a failure. Frames are
//! tiny (64×48, a few samples): each Blender start costs a second or two.
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pictor_core::job::Engine;
use pictor_core::task::PixelRect;
use pictor_render::image::linear_to_srgb;
use pictor_render::{
    BlenderRenderer, LinearImage, RenderControl, RenderError, RenderRequest, Renderer,
};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

const W: u32 = 64;
const H: u32 = 48;

/// The renderer, or `None` (after printing why) when Blender is absent and not required.
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

/// A renderer whose temporary folders go into a fresh folder, to check nothing is left behind.
fn renderer_in(dir: &Path) -> BlenderRenderer {
    BlenderRenderer::new().work_dir(dir)
}

fn assert_empty(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .expect("read work dir")
        .map(|entry| entry.expect("entry").path())
        .collect();
    assert!(left.is_empty(), "files left behind: {left:?}");
}

fn request(samples: u32, seed: u64) -> RenderRequest {
    RenderRequest::new(W, H, samples, seed)
}

fn render(renderer: &BlenderRenderer, request: &RenderRequest) -> Vec<LinearImage> {
    let output = renderer
        .render(request, &RenderControl::default())
        .unwrap_or_else(|error| panic!("render failed: {error}"));
    assert_eq!(output.renderer, "blender");
    output.regions.into_iter().map(|r| r.image).collect()
}

fn assert_not_constant(image: &LinearImage) {
    let rgba = image.as_rgba();
    let first = &rgba[..4];
    assert!(
        rgba.chunks(4).any(|pixel| pixel[..3] != first[..3]),
        "constant image"
    );
    assert!(
        rgba.chunks(4)
            .any(|pixel| pixel[..3].iter().any(|v| *v > 0.01)),
        "black image"
    );
}

/// Max |a − b| over colour channels, linear and in sRGB 8-bit units.
fn max_difference(a: &LinearImage, b: &LinearImage) -> (f32, f32) {
    assert_eq!((a.width(), a.height()), (b.width(), b.height()));
    let (mut linear, mut srgb) = (0.0f32, 0.0f32);
    for (i, (x, y)) in a.as_rgba().iter().zip(b.as_rgba()).enumerate() {
        linear = linear.max((x - y).abs());
        if i % 4 != 3 {
            srgb = srgb.max((linear_to_srgb(*x) - linear_to_srgb(*y)).abs() * 255.0);
        }
    }
    (linear, srgb)
}

/// Scenes built once per test run with Blender's Python: `scene.blend` (ground, an emissive sphere,
/// a glossy cube, a sun, a camera) and `nocam.blend` (the same without a camera).
fn scenes() -> (&'static Path, &'static Path) {
    static SCENES: OnceLock<(tempfile::TempDir, PathBuf, PathBuf)> = OnceLock::new();
    let (_, scene, nocam) = SCENES.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("blender-scenes-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .expect("tempdir");
        let (scene, nocam) = (
            dir.path().join("scene.blend"),
            dir.path().join("nocam.blend"),
        );
        const BUILD: &str = r#"
import bpy, sys
scene_path, nocam_path = sys.argv[sys.argv.index("--") + 1:][:2]
bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
world = bpy.data.worlds.new("World")
world.color = (0.05, 0.06, 0.08)
scene.world = world
bpy.ops.mesh.primitive_plane_add(size=20)
bpy.ops.mesh.primitive_uv_sphere_add(radius=1.0, location=(-1.3, 0.0, 1.0))
glow = bpy.data.materials.new("Glow")
glow.use_nodes = True
bsdf = glow.node_tree.nodes["Principled BSDF"]
bsdf.inputs["Emission"].default_value = (1.0, 0.5, 0.2, 1.0)
bsdf.inputs["Emission Strength"].default_value = 6.0
bpy.context.object.data.materials.append(glow)
bpy.ops.mesh.primitive_cube_add(size=1.6, location=(1.3, 0.3, 0.8))
gloss = bpy.data.materials.new("Gloss")
gloss.use_nodes = True
nodes = gloss.node_tree.nodes
glossy = nodes.new("ShaderNodeBsdfGlossy")
glossy.inputs["Roughness"].default_value = 0.15
gloss.node_tree.links.new(glossy.outputs["BSDF"], nodes["Material Output"].inputs["Surface"])
bpy.context.object.data.materials.append(gloss)
bpy.ops.object.light_add(type="SUN", location=(0, 0, 6), rotation=(0.6, 0.2, 0.3))
bpy.context.object.data.energy = 3.0
bpy.ops.wm.save_as_mainfile(filepath=nocam_path)
bpy.ops.object.camera_add(location=(0.0, -7.5, 3.2), rotation=(1.17, 0.0, 0.0))
scene.camera = bpy.context.object
bpy.ops.wm.save_as_mainfile(filepath=scene_path)
"#;
        let blender = BlenderRenderer::new().install().expect("blender").path;
        let output = std::process::Command::new(blender)
            .args([
                "-b",
                "--factory-startup",
                "-noaudio",
                "--python-exit-code",
                "1",
            ])
            .args(["--python-expr", BUILD, "--"])
            .arg(&scene)
            .arg(&nocam)
            .output()
            .expect("run blender");
        assert!(
            output.status.success() && scene.exists() && nocam.exists(),
            "building the scenes failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (dir, scene, nocam)
    });
    // The folder lives as long as the test binary (statics are not dropped) in Cargo's test tmp.
    (scene, nocam)
}

#[test]
fn renders_the_factory_scene() {
    let Some(_) = blender_or_skip() else { return };
    let work = tempfile::tempdir().expect("tempdir");
    let renderer = renderer_in(work.path());
    let version = renderer.version().expect("version");
    assert_eq!(version.split('.').count(), 3, "{version}");
    let reports = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&reports);
    let control = RenderControl {
        progress: Some(Arc::new(move |p| {
            sink.lock().expect("lock").push(p.fraction)
        })),
        ..RenderControl::default()
    };
    let output = renderer.render(&request(8, 1), &control).expect("render");
    assert_eq!(output.renderer_version, version);
    assert_eq!(output.regions.len(), 1);
    let image = &output.regions[0].image;
    assert_eq!((image.width(), image.height()), (W, H));
    assert_not_constant(image);
    let reports = reports.lock().expect("lock").clone();
    assert!(reports.windows(2).all(|w| w[0] <= w[1]), "{reports:?}");
    assert_eq!(reports.first(), Some(&0.0));
    assert_eq!(reports.last(), Some(&1.0));
    assert!(
        reports.len() > 2,
        "sample progress was reported: {reports:?}"
    );
    assert_eq!(renderer.spawn_count(), 1);
    assert_empty(work.path());
}

#[test]
fn renders_a_scene_built_with_blenders_python() {
    let Some(renderer) = blender_or_skip() else {
        return;
    };
    let (scene, _) = scenes();
    let mut request = request(16, 5);
    request.scene = Some(scene.to_path_buf());
    let image = &render(&renderer, &request)[0];
    assert_eq!((image.width(), image.height()), (W, H));
    assert_not_constant(image);
    let brightest = image
        .as_rgba()
        .chunks(4)
        .map(|p| p[0])
        .fold(0.0f32, f32::max);
    assert!(
        brightest > 1.0,
        "the emissive sphere is brighter than white (linear, unclamped): {brightest}"
    );
}

#[test]
fn same_seed_same_pixels_different_seed_different() {
    let Some(renderer) = blender_or_skip() else {
        return;
    };
    let a = render(&renderer, &request(4, 11));
    let b = render(&renderer, &request(4, 11));
    let c = render(&renderer, &request(4, 12));
    assert_eq!(a, b, "same seed, same pixels");
    assert_ne!(a, c, "different seed, different noise");
}

#[test]
fn a_region_equals_the_full_frames_crop() {
    let Some(renderer) = blender_or_skip() else {
        return;
    };
    let (scene, _) = scenes();
    let mut full = request(8, 3);
    full.scene = Some(scene.to_path_buf());
    let frame = render(&renderer, &full).remove(0);
    let region = PixelRect {
        x: 5,
        y: 7,
        width: 29,
        height: 17,
    };
    let mut part = full.clone();
    part.regions = vec![region];
    let tile = render(&renderer, &part).remove(0);
    assert_eq!((tile.width(), tile.height()), (region.width, region.height));
    let (linear, srgb) = max_difference(&tile, &frame.crop(region).expect("crop"));
    println!("region vs crop: max |Δ| linear {linear}, sRGB 8-bit {srgb}");
    assert!(srgb <= 2.0, "region differs from the crop: {srgb}/255");
}

#[test]
fn sixteen_regions_render_in_one_process_and_match_the_frame() {
    let Some(_) = blender_or_skip() else { return };
    let work = tempfile::tempdir().expect("tempdir");
    let renderer = renderer_in(work.path());
    let mut full = request(4, 9);
    full.scene = Some(scenes().0.to_path_buf());
    let frame = render(&renderer, &full).remove(0);
    let mut batch = full.clone();
    batch.regions = (0..16)
        .map(|i| PixelRect {
            x: (i % 4) * 16,
            y: (i / 4) * 12,
            width: 16,
            height: 12,
        })
        .collect();
    let before = renderer.spawn_count();
    let output = renderer
        .render(&batch, &RenderControl::default())
        .expect("batch");
    assert_eq!(renderer.spawn_count() - before, 1, "one Blender process");
    assert_eq!(output.regions.len(), 16);
    let mut worst = (0.0f32, 0.0f32);
    for (rendered, wanted) in output.regions.iter().zip(&batch.regions) {
        assert_eq!(rendered.region, *wanted, "request order");
        assert_eq!((rendered.image.width(), rendered.image.height()), (16, 12));
        let (linear, srgb) = max_difference(&rendered.image, &frame.crop(*wanted).expect("crop"));
        worst = (worst.0.max(linear), worst.1.max(srgb));
    }
    println!(
        "16 regions vs crops: max |Δ| linear {}, sRGB 8-bit {}",
        worst.0, worst.1
    );
    assert!(worst.1 <= 2.0, "{worst:?}");
    assert_empty(work.path());
}

/// The checker's split references: two seeds × four regions in one Blender process, each image
/// equal to a single-seed render of the same region.
#[test]
fn several_seeds_render_in_one_process() {
    let Some(_) = blender_or_skip() else { return };
    let work = tempfile::tempdir().expect("tempdir");
    let renderer = renderer_in(work.path());
    let mut batch = request(4, 0);
    batch.scene = Some(scenes().0.to_path_buf());
    batch.regions = (0..4)
        .map(|i| PixelRect {
            x: i * 16,
            y: 12,
            width: 16,
            height: 12,
        })
        .collect();
    let before = renderer.spawn_count();
    let outputs = renderer
        .render_seeds(&batch, &[21, 22], &RenderControl::default())
        .expect("seeded batch");
    assert_eq!(renderer.spawn_count() - before, 1, "one Blender process");
    assert_eq!(outputs.len(), 2);
    for (output, seed) in outputs.iter().zip([21u64, 22]) {
        assert_eq!(output.regions.len(), 4);
        let mut single = batch.clone();
        single.seed = seed;
        let alone = render(&renderer, &single);
        for (got, want) in output.regions.iter().zip(&alone) {
            let (linear, _) = max_difference(&got.image, want);
            assert_eq!(
                linear, 0.0,
                "seed {seed}: the batch equals a single-seed render"
            );
        }
    }
    let (differ, _) = max_difference(&outputs[0].regions[0].image, &outputs[1].regions[0].image);
    assert!(differ > 0.0, "two seeds, two noise patterns");
    assert_empty(work.path());
}

#[test]
fn a_missing_scene_is_scene_not_found_before_spawning() {
    let Some(renderer) = blender_or_skip() else {
        return;
    };
    let mut request = request(4, 1);
    request.scene = Some(PathBuf::from("/nonexistent/scene.blend"));
    let error = renderer
        .render(&request, &RenderControl::default())
        .expect_err("missing");
    assert!(
        matches!(error, RenderError::SceneNotFound { .. }),
        "{error}"
    );
    assert!(
        error.to_string().contains("/nonexistent/scene.blend"),
        "{error}"
    );
    assert_eq!(renderer.spawn_count(), 0);
}

#[test]
fn corrupt_scenes_are_scene_invalid() {
    let Some(_) = blender_or_skip() else { return };
    let work = tempfile::tempdir().expect("tempdir");
    let files = tempfile::tempdir().expect("tempdir");
    let renderer = renderer_in(work.path());
    // Garbage bytes: refused before Blender starts.
    let garbage = files.path().join("garbage.blend");
    std::fs::write(&garbage, [0x42u8, 0x00, 0xff, 0x13].repeat(256)).expect("write");
    let mut request = request(4, 1);
    request.scene = Some(garbage);
    let error = renderer
        .render(&request, &RenderControl::default())
        .expect_err("garbage");
    assert!(matches!(error, RenderError::SceneInvalid { .. }), "{error}");
    assert_eq!(renderer.spawn_count(), 0);
    // A .blend header with nothing valid after it: Blender itself refuses it.
    let truncated = files.path().join("truncated.blend");
    std::fs::write(&truncated, b"BLENDER-v304RENDgarbage").expect("write");
    request.scene = Some(truncated);
    let error = renderer
        .render(&request, &RenderControl::default())
        .expect_err("truncated");
    println!("{error}");
    assert!(matches!(error, RenderError::SceneInvalid { .. }), "{error}");
    assert!(error.to_string().contains("blend"), "{error}");
    assert_eq!(renderer.spawn_count(), 1);
    assert_empty(work.path());
}

#[test]
fn a_scene_without_a_camera_is_scene_invalid() {
    let Some(renderer) = blender_or_skip() else {
        return;
    };
    let (_, nocam) = scenes();
    let mut request = request(4, 1);
    request.scene = Some(nocam.to_path_buf());
    let error = renderer
        .render(&request, &RenderControl::default())
        .expect_err("no camera");
    println!("{error}");
    assert!(
        matches!(&error, RenderError::SceneInvalid { reason, .. } if reason.contains("camera")),
        "{error}"
    );
}

#[test]
fn a_python_error_is_blender_python_with_the_exception() {
    let Some(_) = blender_or_skip() else { return };
    let work = tempfile::tempdir().expect("tempdir");
    let setup = work.path().join("setup.py");
    std::fs::write(&setup, "raise ValueError('boom from the setup script')\n").expect("write");
    let out = tempfile::tempdir().expect("tempdir");
    let renderer = renderer_in(out.path()).setup_script(&setup);
    let error = renderer
        .render(&request(4, 1), &RenderControl::default())
        .expect_err("python error");
    println!("{error}");
    match &error {
        RenderError::BlenderPython {
            message,
            last_lines,
        } => {
            assert_eq!(message, "ValueError: boom from the setup script");
            assert!(last_lines.contains("Traceback"), "{last_lines}");
        }
        other => panic!("expected BlenderPython, got {other}"),
    }
    assert_empty(out.path());
}

fn assert_process_gone(pid: u32) {
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "Blender process {pid} is still there"
    );
}

#[test]
fn a_timeout_kills_blender() {
    let Some(_) = blender_or_skip() else { return };
    let work = tempfile::tempdir().expect("tempdir");
    let renderer = renderer_in(work.path());
    let started = Instant::now();
    let error = renderer
        .render(
            &request(1_000_000, 1),
            &RenderControl::with_timeout(Duration::from_millis(1_500)),
        )
        .expect_err("timeout");
    assert!(matches!(error, RenderError::Timeout(_)), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_process_gone(renderer.last_pid().expect("spawned"));
    assert_empty(work.path());
}

#[test]
fn cancelling_from_another_thread_stops_blender() {
    let Some(_) = blender_or_skip() else { return };
    let work = tempfile::tempdir().expect("tempdir");
    let renderer = renderer_in(work.path());
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let started_tx = Mutex::new(started_tx);
    let control = RenderControl {
        progress: Some(Arc::new(move |p| {
            if p.fraction > 0.0 {
                let _ = started_tx.lock().expect("lock").send(());
            }
        })),
        ..RenderControl::default()
    };
    let cancel = control.cancel.clone();
    let canceller = std::thread::spawn(move || {
        // Cancel once Blender reports samples (or after 20 s, to fail rather than hang).
        let _ = started_rx.recv_timeout(Duration::from_secs(20));
        cancel.cancel();
    });
    let started = Instant::now();
    let error = renderer
        .render(&request(1_000_000, 1), &control)
        .expect_err("cancelled");
    canceller.join().expect("canceller");
    assert!(matches!(error, RenderError::Cancelled), "{error}");
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_process_gone(renderer.last_pid().expect("spawned"));
    assert_empty(work.path());
}

#[test]
fn an_absent_blender_is_blender_not_found() {
    let renderer = BlenderRenderer::with_executable("/nonexistent/blender");
    let error = renderer.version().expect_err("absent");
    assert!(
        matches!(error, RenderError::BlenderNotFound { .. }),
        "{error}"
    );
    assert!(
        error.to_string().contains("/nonexistent/blender"),
        "{error}"
    );
    let error = renderer
        .render(&request(4, 1), &RenderControl::default())
        .expect_err("absent");
    assert!(
        matches!(error, RenderError::BlenderNotFound { .. }),
        "{error}"
    );
}

#[cfg(unix)]
#[test]
fn an_old_blender_is_too_old() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = dir.path().join("blender");
    std::fs::write(&fake, "#!/bin/sh\necho 'Blender 2.79 (sub 0)'\n").expect("write");
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let renderer = BlenderRenderer::with_executable(&fake);
    let error = renderer.version().expect_err("too old");
    assert!(
        matches!(error, RenderError::BlenderTooOld { .. }),
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.contains("2.79") && message.contains("3.3"),
        "{message}"
    );
}

#[test]
fn bad_requests_are_refused_before_spawning() {
    // Validation needs no Blender: an absent one proves nothing was started.
    let work = tempfile::tempdir().expect("tempdir");
    let renderer = BlenderRenderer::with_executable("/nonexistent/blender").work_dir(work.path());
    let mut outside = request(4, 1);
    outside.regions = vec![PixelRect {
        x: 60,
        y: 0,
        width: 8,
        height: 8,
    }];
    let mut zero_samples = request(4, 1);
    zero_samples.samples = 0;
    let tiny = RenderRequest::new(2, 2, 4, 1);
    let mut late = request(4, 1);
    late.frame = 2_000_000;
    for (name, bad) in [
        ("region outside", outside),
        ("zero samples", zero_samples),
        ("below Blender's 4 px", tiny),
        ("past Blender's last frame", late),
    ] {
        let error = renderer
            .render(&bad, &RenderControl::default())
            .expect_err(name);
        assert!(
            matches!(error, RenderError::InvalidRequest { .. }),
            "{name}: {error}"
        );
    }
    assert_eq!(renderer.spawn_count(), 0);
    assert_empty(work.path());
}

#[test]
fn eevee_renders_or_fails_clearly() {
    let Some(renderer) = blender_or_skip() else {
        return;
    };
    let mut request = RenderRequest::new(32, 24, 1, 1);
    request.engine = Some(Engine::Eevee);
    match renderer.render(&request, &RenderControl::default()) {
        Ok(output) => {
            let image = &output.regions[0].image;
            assert_eq!((image.width(), image.height()), (32, 24));
            assert_not_constant(image);
        }
        Err(RenderError::BlenderFailed { status, last_lines }) if status.contains("OpenGL") => {
            println!("SKIP: Eevee cannot run here ({status})\n{last_lines}");
        }
        Err(other) => panic!("Eevee: {other}"),
    }
}

/// A call that fails inside Blender ends the session: its process is gone, later calls are refused
/// with a clear error, and its folder is removed when it is dropped.
#[test]
fn a_failed_session_call_ends_the_session_and_its_blender() {
    let Some(_) = blender_or_skip() else { return };
    let work = tempfile::tempdir().expect("tempdir");
    let renderer = renderer_in(work.path());
    let scene = scenes().0;
    let session = renderer.open_session(scene).expect("session");
    let pid = renderer.last_pid().expect("spawned");
    let refinish = pictor_render::blender::finish::RefinishRequest {
        scene: scene.to_path_buf(),
        frame: 1,
        resolution: pictor_core::job::Resolution {
            width: W,
            height: H,
        },
        evidence: work.path().join("no-such-evidence.exr"),
        out_dir: work.path().join("out"),
    };
    let error = session
        .refinish_frame(&refinish, &RenderControl::default())
        .expect_err("no evidence to refinish");
    assert!(
        matches!(error, RenderError::BlenderPython { .. }),
        "{error}"
    );
    assert_process_gone(pid);
    let mut batch = request(4, 1);
    batch.scene = Some(scene.to_path_buf());
    let error = session
        .render(&batch, &RenderControl::default())
        .expect_err("the session has ended");
    assert!(error.to_string().contains("session has ended"), "{error}");
    drop(session);
    std::fs::remove_dir_all(work.path().join("out")).expect("the refinishing's output folder");
    assert_empty(work.path());
}

/// A timeout during a session's call kills its Blender; calls on another scene never reach the
/// session (they run in a process of their own).
#[test]
fn a_session_call_that_times_out_kills_its_blender() {
    let Some(_) = blender_or_skip() else { return };
    let work = tempfile::tempdir().expect("tempdir");
    let renderer = renderer_in(work.path());
    let scene = scenes().0;
    let session = renderer.open_session(scene).expect("session");
    let pid = renderer.last_pid().expect("spawned");

    let factory = request(2, 1);
    let before = renderer.spawn_count();
    let output = session
        .render(&factory, &RenderControl::default())
        .expect("the factory scene");
    assert_eq!(output.regions.len(), 1);
    assert_eq!(renderer.spawn_count() - before, 1, "a process of its own");

    let mut long = request(1_000_000, 1);
    long.scene = Some(scene.to_path_buf());
    let started = Instant::now();
    let error = session
        .render(
            &long,
            &RenderControl::with_timeout(Duration::from_millis(2_500)),
        )
        .expect_err("timeout");
    assert!(matches!(error, RenderError::Timeout(_)), "{error}");
    assert!(started.elapsed() < Duration::from_secs(6));
    assert_process_gone(pid);
    drop(session);
    assert_empty(work.path());
}

/// Scenes are untrusted: a text block registered to run when the file loads (the classic way to
/// ship Python inside a .blend) must never run — not on a render, not on a faithful render, and
/// not when a checker's session reloads the scene between a render and a refinishing.
#[test]
fn a_scene_s_own_python_never_runs() {
    let Some(_) = blender_or_skip() else { return };
    let work = tempfile::tempdir().expect("tempdir");
    let marker = work.path().join("the-scene-ran-python");
    let scene = work.path().join("autorun.blend");
    let build = format!(
        r#"
import bpy
bpy.ops.wm.open_mainfile(filepath={source:?})
marker = {marker:?}
text = bpy.data.texts.new("autorun.py")
text.write("open(%r, 'w').write('ran')\n" % marker)
text.use_module = True
bpy.ops.wm.save_as_mainfile(filepath={scene:?})
"#,
        source = scenes().0.display().to_string(),
        marker = marker.display().to_string(),
        scene = scene.display().to_string(),
    );
    let blender = BlenderRenderer::new().install().expect("blender").path;
    let output = std::process::Command::new(&blender)
        .args([
            "-b",
            "--factory-startup",
            "-noaudio",
            "--python-exit-code",
            "1",
        ])
        .args(["--python-expr", &build])
        .output()
        .expect("run blender");
    assert!(
        output.status.success() && scene.is_file(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // The same scene opened the way a user's Blender with auto-run enabled would: the text runs
    // (so the check below can fail).
    let trusted = std::process::Command::new(&blender)
        .args(["-b", "--factory-startup", "-noaudio", "--enable-autoexec"])
        .arg(&scene)
        .args(["--python-expr", "pass"])
        .output()
        .expect("run blender");
    assert!(trusted.status.success());
    assert!(marker.is_file(), "the text block runs where auto-run is on");
    std::fs::remove_file(&marker).expect("remove the marker");

    let renderer = BlenderRenderer::new();
    let mut request = request(2, 1);
    request.scene = Some(scene.clone());
    render(&renderer, &request);
    assert!(!marker.exists(), "a render ran the scene's Python");

    let finished = renderer
        .render_finished(
            &pictor_render::blender::finish::FinishRequest {
                scene: scene.clone(),
                frame: 1,
                resolution: pictor_core::job::Resolution {
                    width: W,
                    height: H,
                },
                samples: 2,
                seed: 1,
                engine: None,
                output: None,
                out_dir: work.path().join("out"),
                evidence: work.path().join("evidence.exr"),
            },
            &RenderControl::default(),
        )
        .expect("faithful render");
    assert!(!marker.exists(), "a faithful render ran the scene's Python");

    // In a session, a refinishing after a render reloads the scene from its file.
    let session = renderer.open_session(&scene).expect("session");
    session
        .render(&request, &RenderControl::default())
        .expect("render in the session");
    session
        .refinish_frame(
            &pictor_render::blender::finish::RefinishRequest {
                scene: scene.clone(),
                frame: 1,
                resolution: pictor_core::job::Resolution {
                    width: W,
                    height: H,
                },
                evidence: finished.evidence.clone(),
                out_dir: work.path().join("refinished"),
            },
            &RenderControl::default(),
        )
        .expect("refinishing after the reload");
    drop(session);
    assert!(
        !marker.exists(),
        "a session's reload ran the scene's Python"
    );
}
