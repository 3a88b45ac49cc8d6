//! The built-in path tracer: determinism, region/frame equality, honest noise, animation, bad input
//! and interruption.
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pictor_core::task::PixelRect;
use pictor_render::builtin::{BuiltinScene, demo_scene_toml};
use pictor_render::{
    BuiltinRenderer, LinearImage, Progress, RenderControl, RenderError, RenderRequest, Renderer,
};
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

fn render(renderer: BuiltinRenderer, request: &RenderRequest) -> Vec<LinearImage> {
    renderer
        .render(request, &RenderControl::default())
        .expect("render")
        .regions
        .into_iter()
        .map(|region| region.image)
        .collect()
}

fn render_frame(request: &RenderRequest) -> LinearImage {
    render(BuiltinRenderer::default(), request).remove(0)
}

fn bits(image: &LinearImage) -> Vec<u32> {
    image.as_rgba().iter().map(|v| v.to_bits()).collect()
}

fn rect(x: u32, y: u32, width: u32, height: u32) -> PixelRect {
    PixelRect {
        x,
        y,
        width,
        height,
    }
}

const FRAME_W: u32 = 24;
const FRAME_H: u32 = 16;

fn small_request() -> RenderRequest {
    let mut request = RenderRequest::new(FRAME_W, FRAME_H, 3, 5);
    request.frame = 7;
    request
}

static FULL_FRAME: LazyLock<LinearImage> = LazyLock::new(|| render_frame(&small_request()));

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// A region rendered alone equals the same pixels of the full frame, bit for bit, on 1 or 4
    /// threads.
    #[test]
    fn a_region_equals_the_crop_of_the_full_frame(
        x in 0..FRAME_W, y in 0..FRAME_H, w in 1..=FRAME_W, h in 1..=FRAME_H, four in any::<bool>()
    ) {
        let region = rect(x, y, w.min(FRAME_W - x), h.min(FRAME_H - y));
        let mut request = small_request();
        request.regions = vec![region];
        let threads = if four { 4 } else { 1 };
        let tile = render(BuiltinRenderer::with_threads(threads), &request).remove(0);
        let crop = FULL_FRAME.crop(region).expect("crop");
        prop_assert_eq!(bits(&tile), bits(&crop));
    }
}

#[test]
fn batched_regions_come_back_in_request_order_and_match_the_frame() {
    let regions = vec![
        rect(20, 10, 4, 6),
        rect(0, 0, 5, 3),
        rect(7, 2, 11, 9),
        rect(0, 0, 5, 3),
    ];
    let mut request = small_request();
    request.regions = regions.clone();
    let output = BuiltinRenderer::with_threads(2)
        .render(&request, &RenderControl::default())
        .expect("render");
    assert_eq!(output.regions.len(), regions.len());
    for (got, region) in output.regions.iter().zip(&regions) {
        assert_eq!(got.region, *region);
        assert_eq!(
            bits(&got.image),
            bits(&FULL_FRAME.crop(*region).expect("crop"))
        );
    }
}

/// `render_seeds`: every region at every seed in one call, each image bit-identical to a
/// single-seed `render` of it.
#[test]
fn several_seeds_in_one_call_match_single_renders() {
    let regions = vec![rect(20, 10, 4, 6), rect(0, 0, 5, 3), rect(7, 2, 11, 9)];
    let mut request = small_request();
    request.regions = regions.clone();
    let seeds = [request.seed, 1234, 99];
    let outputs = BuiltinRenderer::with_threads(2)
        .render_seeds(&request, &seeds, &RenderControl::default())
        .expect("render");
    assert_eq!(outputs.len(), seeds.len());
    for (output, seed) in outputs.iter().zip(seeds) {
        let mut single = request.clone();
        single.seed = seed;
        let alone = render(BuiltinRenderer::with_threads(3), &single);
        assert_eq!(output.regions.len(), regions.len());
        for ((got, region), want) in output.regions.iter().zip(&regions).zip(&alone) {
            assert_eq!(got.region, *region);
            assert_eq!(bits(&got.image), bits(want), "seed {seed}");
        }
    }
    assert_eq!(
        bits(&outputs[0].regions[2].image),
        bits(&FULL_FRAME.crop(regions[2]).expect("crop"))
    );
    assert_ne!(
        bits(&outputs[1].regions[2].image),
        bits(&outputs[2].regions[2].image)
    );
}

#[test]
fn thread_counts_do_not_change_a_single_bit() {
    let request = small_request();
    for threads in [1, 3, 4] {
        let image = render(BuiltinRenderer::with_threads(threads), &request).remove(0);
        assert_eq!(bits(&image), bits(&FULL_FRAME), "{threads} threads");
    }
}

#[test]
fn same_seed_is_identical_and_another_seed_differs() {
    let again = render_frame(&small_request());
    assert_eq!(bits(&again), bits(&FULL_FRAME));
    let mut other = small_request();
    other.seed += 1;
    let other = render_frame(&other);
    let differing = other
        .as_rgba()
        .iter()
        .zip(FULL_FRAME.as_rgba())
        .filter(|(a, b)| a.to_bits() != b.to_bits())
        .count();
    // Every lit pixel's colour channels should differ (alpha is 1 everywhere).
    assert!(
        differing > FULL_FRAME.as_rgba().len() / 2,
        "{differing} samples differ"
    );
    for v in FULL_FRAME.as_rgba().chunks(4) {
        assert!(v.iter().all(|c| c.is_finite() && *c >= 0.0));
        assert_eq!(v[3], 1.0);
    }
}

/// Sum of squared differences of two images' colour channels, and the channel count.
fn squared_difference(a: &LinearImage, b: &LinearImage) -> (f64, usize) {
    let mut sum = 0.0;
    let mut count = 0;
    for (i, (x, y)) in a.as_rgba().iter().zip(b.as_rgba()).enumerate() {
        if i % 4 != 3 {
            sum += (f64::from(*x) - f64::from(*y)).powi(2);
            count += 1;
        }
    }
    (sum, count)
}

/// The per-pixel variance of a `samples`-sample render of the demo, pooled over pixels and
/// channels: for independent seeds E[(R₁ − R₂)²] = 2σ²/N, so var = Σd² / (2·count) over `pairs`
/// seed pairs starting at `first_seed`.
fn pooled_variance(width: u32, height: u32, samples: u32, pairs: u64, first_seed: u64) -> f64 {
    let (mut sum, mut count) = (0.0, 0);
    for pair in 0..pairs {
        let seed = first_seed + 2 * pair;
        let first = render_frame(&RenderRequest::new(width, height, samples, seed));
        let second = render_frame(&RenderRequest::new(width, height, samples, seed + 1));
        let (s, c) = squared_difference(&first, &second);
        sum += s;
        count += c;
    }
    sum / (2.0 * count as f64)
}

/// The noise is honest Monte Carlo noise: its variance falls as 1/samples.
///
/// The demo's noise is heavy-tailed: about 0.1 % of 1-sample path values (the lamp seen through
/// the glass and steel spheres, caustics) carry three quarters of the sum of squares, so the
/// precision of a pooled variance is set by how many of those rare paths it contains, i.e. by its
/// sample count, not its pixel count. Both estimates therefore get the same budget (~1M path
/// samples each: 96×54 pixels × 4 spp × 24 seed pairs, and × 16 spp × 6 pairs), which minimises
/// the ratio's error for the cost. Over 20 independent repetitions of exactly this measurement
/// (other seeds, release build) the ratio had mean 3.99 and standard deviation 0.31 (range
/// 3.24..4.57). The accepted band 2.8..5.6 is −3.8σ/+5σ around 4 (the ratio of heavy-tailed sums is
/// skewed), and still rejects 2 (half the samples repeated) and 1 (no independent noise).
#[test]
fn variance_falls_as_one_over_samples() {
    let (width, height, n) = (96, 54, 4);
    let low = pooled_variance(width, height, n, 24, 1_000);
    let high = pooled_variance(width, height, 4 * n, 6, 2_000);
    let ratio = low / high;
    eprintln!(
        "var({n} spp) = {low:.5}, var({} spp) = {high:.5}, ratio {ratio:.3}",
        4 * n
    );
    assert!(low > 1e-3, "a {n}-sample render must be noisy: {low}");
    assert!((2.8..5.6).contains(&ratio), "variance ratio {ratio}");
}

fn luminance(pixel: [f32; 4]) -> f64 {
    (f64::from(pixel[0]) + f64::from(pixel[1]) + f64::from(pixel[2])) / 3.0
}

#[test]
fn the_demo_has_light_shadow_and_indirect_light() {
    let (width, height) = (32, 18);
    let image = render_frame(&RenderRequest::new(width, height, 64, 9));
    let values: Vec<f64> = (0..height)
        .flat_map(|y| (0..width).map(move |x| (x, y)))
        .map(|(x, y)| luminance(image.pixel(x, y)))
        .collect();
    let max = values.iter().copied().fold(f64::MIN, f64::max);
    let min = values.iter().copied().fold(f64::MAX, f64::min);
    assert!(max > 2.0, "the lamp is bright: {max}");
    assert!(min < 0.1, "some of the room is dark: {min}");
    // The ceiling beside the lamp gets no direct light (the lamp faces down): only indirect light.
    let ceiling = luminance(image.pixel(4, 0)) + luminance(image.pixel(27, 0));
    assert!(ceiling > 0.02, "indirect light on the ceiling: {ceiling}");
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    assert!(mean > 0.1 && mean < 2.0, "mean luminance {mean}");
}

#[test]
fn animation_frames_differ() {
    let mut request = RenderRequest::new(32, 18, 4, 3);
    let first = render_frame(&request);
    request.frame = 10;
    let tenth = render_frame(&request);
    assert_ne!(bits(&first), bits(&tenth));
    // Not just different noise: the ball moved, so the mean image differs well beyond the noise.
    let scene = BuiltinScene::demo();
    let ball = scene.objects.last().expect("animated ball");
    assert_ne!(ball.translation_at(1), ball.translation_at(10));
}

#[test]
fn the_demo_toml_on_disk_renders_like_the_built_in_demo() {
    let dir = tempfile::tempdir().expect("tempdir");
    let toml_path = dir.path().join("demo.toml");
    std::fs::write(&toml_path, demo_scene_toml()).expect("write");
    let json_path = dir.path().join("demo.json");
    std::fs::write(
        &json_path,
        serde_json::to_string_pretty(&BuiltinScene::demo()).expect("json"),
    )
    .expect("write");
    let request = RenderRequest::new(16, 9, 2, 4);
    let demo = render_frame(&request);
    for path in [toml_path, json_path] {
        let mut from_file = request.clone();
        from_file.scene = Some(path);
        assert_eq!(bits(&render_frame(&from_file)), bits(&demo));
    }
}

#[test]
fn a_ten_thousand_triangle_mesh_renders() {
    let n = 71; // 71 × 71 quads = 10,082 triangles
    let mut vertices = Vec::new();
    for j in 0..=n {
        for i in 0..=n {
            let (x, z) = (
                i as f64 / n as f64 * 2.0 - 1.0,
                j as f64 / n as f64 * 2.0 - 1.0,
            );
            vertices.push([x, 0.1 * (x * 9.0).sin() * (z * 7.0).cos(), z]);
        }
    }
    let mut indices = Vec::new();
    for j in 0..n {
        for i in 0..n {
            let a = (j * (n + 1) + i) as u32;
            let c = a + (n + 1) as u32;
            indices.push([a, c, a + 1]);
            indices.push([a + 1, c, c + 1]);
        }
    }
    let mut scene = BuiltinScene::demo();
    scene.objects.retain(|object| {
        !matches!(
            object,
            pictor_render::builtin::scene::ObjectSpec::Plane { .. }
        )
    });
    scene
        .objects
        .push(pictor_render::builtin::scene::ObjectSpec::Mesh {
            vertices,
            indices,
            material: "white".into(),
            keyframes: Vec::new(),
        });
    let output = BuiltinRenderer::default()
        .render_scene(
            &scene,
            &RenderRequest::new(32, 18, 2, 1),
            &RenderControl::default(),
        )
        .expect("render");
    let image = &output.regions[0].image;
    let lit = (0..18)
        .flat_map(|y| (0..32).map(move |x| (x, y)))
        .filter(|&(x, y)| luminance(image.pixel(x, y)) > 0.0)
        .count();
    // The mesh floor fills the lower part of the frame (74 pixels at 2 spp), lit by the lamp.
    assert!(lit > 50, "{lit} lit pixels");
    assert!(luminance(image.pixel(16, 17)) > 0.0);
}

fn render_error(request: &RenderRequest) -> RenderError {
    BuiltinRenderer::default()
        .render(request, &RenderControl::default())
        .expect_err("must fail")
}

fn scene_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

#[test]
fn bad_scenes_are_typed_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let with_scene = |path: PathBuf| {
        let mut request = RenderRequest::new(8, 8, 1, 1);
        request.scene = Some(path);
        request
    };
    let missing = dir.path().join("nope.toml");
    assert!(matches!(
        render_error(&with_scene(missing.clone())),
        RenderError::SceneNotFound { path, .. } if path == missing
    ));
    let corrupt = scene_file(dir.path(), "corrupt.toml", "[camera\nposition = [0, 0");
    assert!(matches!(
        render_error(&with_scene(corrupt)),
        RenderError::SceneInvalid { .. }
    ));
    let corrupt_json = scene_file(dir.path(), "corrupt.json", "{\"camera\": ");
    assert!(matches!(
        render_error(&with_scene(corrupt_json)),
        RenderError::SceneInvalid { .. }
    ));
    let wrong_extension = scene_file(dir.path(), "scene.yaml", demo_scene_toml());
    assert!(matches!(
        render_error(&with_scene(wrong_extension)),
        RenderError::SceneInvalid { reason, .. } if reason.contains(".toml")
    ));
    let negative = demo_scene_toml().replace("radius = 0.3\n", "radius = -0.3\n");
    let negative = scene_file(dir.path(), "negative.toml", &negative);
    match render_error(&with_scene(negative.clone())) {
        RenderError::SceneInvalid { path, reason } => {
            assert_eq!(path, negative);
            assert_eq!(reason, "objects[8].radius must be > 0");
        }
        other => panic!("unexpected {other:?}"),
    }
    let not_a_number = demo_scene_toml().replace("radius = 0.35\n", "radius = nan\n");
    let not_a_number = scene_file(dir.path(), "nan.toml", &not_a_number);
    assert!(matches!(
        render_error(&with_scene(not_a_number)),
        RenderError::SceneInvalid { reason, .. } if reason.contains("objects[7].radius") && reason.contains("finite")
    ));
    let mut invalid = BuiltinScene::demo();
    invalid.camera.fov_degrees = 0.0;
    assert!(matches!(
        BuiltinRenderer::default().render_scene(
            &invalid,
            &RenderRequest::new(4, 4, 1, 1),
            &RenderControl::default()
        ),
        Err(RenderError::SceneInvalid { reason, .. }) if reason.contains("camera.fov_degrees")
    ));
}

#[test]
fn bad_requests_are_typed_errors() {
    let field_of = |error: RenderError| match error {
        RenderError::InvalidRequest { field, .. } => field,
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(
        field_of(render_error(&RenderRequest::new(0, 8, 1, 1))),
        "resolution.width"
    );
    assert_eq!(
        field_of(render_error(&RenderRequest::new(8, 0, 1, 1))),
        "resolution.height"
    );
    assert_eq!(
        field_of(render_error(&RenderRequest::new(8, 8, 0, 1))),
        "samples"
    );
    let mut outside = RenderRequest::new(8, 8, 1, 1);
    outside.regions = vec![rect(0, 0, 4, 4), rect(6, 6, 4, 1)];
    assert_eq!(field_of(render_error(&outside)), "regions[1]");
    outside.regions = vec![rect(0, 0, 0, 4)];
    assert_eq!(field_of(render_error(&outside)), "regions[0]");
}

#[test]
fn cancellation_and_timeout_stop_the_render() {
    let large = RenderRequest::new(640, 360, 256, 1);
    let control = RenderControl::default();
    control.cancel.cancel();
    assert!(matches!(
        BuiltinRenderer::default().render(&large, &control),
        Err(RenderError::Cancelled)
    ));
    let hurried = RenderControl::with_timeout(Duration::from_millis(20));
    let started = std::time::Instant::now();
    assert!(matches!(
        BuiltinRenderer::default().render(&large, &hurried),
        Err(RenderError::Timeout(t)) if t == Duration::from_millis(20)
    ));
    assert!(started.elapsed() < Duration::from_secs(5));
    // Cancelled from the progress callback, mid-render.
    let mut control = RenderControl::default();
    let token = control.cancel.clone();
    control.progress = Some(Arc::new(move |progress: Progress| {
        if progress.fraction > 0.01 {
            token.cancel();
        }
    }));
    assert!(matches!(
        BuiltinRenderer::with_threads(2).render(&large, &control),
        Err(RenderError::Cancelled)
    ));
}

#[test]
fn progress_is_reported_per_row_and_output_is_labelled() {
    let reports = Arc::new(Mutex::new(Vec::new()));
    let mut control = RenderControl::default();
    let sink = Arc::clone(&reports);
    control.progress = Some(Arc::new(move |progress: Progress| {
        sink.lock().expect("lock").push(progress.fraction);
    }));
    let mut request = RenderRequest::new(16, 12, 1, 1);
    request.regions = vec![rect(0, 0, 16, 5), rect(3, 3, 4, 7)];
    let renderer = BuiltinRenderer::default();
    let output = renderer.render(&request, &control).expect("render");
    let reports = reports.lock().expect("lock");
    assert_eq!(reports.len(), 5 + 7 + 1, "one report per row, then done");
    assert_eq!(reports.last().copied(), Some(1.0));
    assert!(reports.iter().all(|f| (0.0..=1.0).contains(f)));
    assert_eq!(renderer.name(), "builtin");
    assert_eq!(output.renderer, "builtin");
    assert_eq!(output.renderer_version, env!("CARGO_PKG_VERSION"));
    assert_eq!(
        renderer.version().expect("version"),
        env!("CARGO_PKG_VERSION")
    );
}
