//! The Python side of a Blender render: a constant override script ([`OVERRIDE_SCRIPT`]) and the
//! JSON spec ([`ScriptSpec`]) it reads. Request values reach Python only as JSON numbers and JSON
//! strings parsed by `json.load` — never as Python source — so no scene path, however odd, can
//! inject code.
//!
//! ## Border rounding
//!
//! Blender 3.4 turns the border into pixels in `render_init_from_main`
//! (`source/blender/render/intern/pipeline.cc`) by truncation:
//! `disprect.xmin = rd->border.xmin * winx` (an `rctf` of `float` fractions times the `int` frame
//! width, converted to `int`), likewise `xmax`, `ymin`, `ymax`, with `y` counted from the bottom;
//! the crop is `xmax - xmin` × `ymax - ymin`. We therefore pass the fraction of the pixel *centre*
//! `(edge + 0.5) / size` for every edge (and exactly `1.0` for an edge on the frame's right or top
//! border, since Blender clamps fractions to `0..=1`): the product lands half a pixel away from any
//! integer, far beyond `f32` rounding (a relative error of 2⁻²⁴ is under 0.002 px at 32 768 px), so
//! the truncation yields exactly the requested edges. [`blender_pixel_bounds`] replays Blender's
//! arithmetic, and the batch renders check every output's size.

use crate::error::{RenderError, Result};
use crate::request::RenderRequest;
use pictor_core::job::Engine;
use pictor_core::task::PixelRect;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The override script Blender runs (`--python`). A constant: everything variable is in the spec.
pub const OVERRIDE_SCRIPT: &str = include_str!("override.py");

/// Blender's smallest `resolution_x`/`resolution_y` (smaller values are silently raised to it).
pub const MIN_BLENDER_DIMENSION: u32 = 4;
/// Blender's largest `resolution_x`/`resolution_y`.
pub const MAX_BLENDER_DIMENSION: u32 = 65_536;
/// Blender's last frame number (`MAXFRAME`).
pub const MAX_BLENDER_FRAME: u32 = 1_048_574;

/// What the override script reads: the request's values, ready for `bpy`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScriptSpec {
    /// The absolute scene path Blender was asked to load (checked against `bpy.data.filepath`);
    /// `None` for the factory startup scene.
    pub scene: Option<PathBuf>,
    /// `CYCLES` or `BLENDER_EEVEE`.
    pub engine: String,
    /// Full-frame width.
    pub width: u32,
    /// Full-frame height.
    pub height: u32,
    /// Samples per pixel (Cycles `samples`, Eevee `taa_render_samples`).
    pub samples: u32,
    /// The Cycles seed, `0..=i32::MAX` (see [`cycles_seed`]).
    pub seed: u32,
    /// Frame number.
    pub frame: u32,
    /// Keep scene data between the renders of a batch (`render.use_persistent_data`).
    pub persistent_data: bool,
    /// Keep the scene's adaptive sampling ([`RenderRequest::scene_sampling`]).
    #[serde(default)]
    pub scene_sampling: bool,
    /// An operator-supplied Python file run before the overrides are applied.
    pub setup_script: Option<PathBuf>,
    /// What to render, in request order.
    pub regions: Vec<ScriptRegion>,
}

/// One render of the batch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScriptRegion {
    /// `[min_x, max_x, min_y, max_y]` border fractions (y from the bottom); `None`: the whole frame.
    pub border: Option<[f64; 4]>,
    /// Where Blender writes the region's EXR.
    pub output: PathBuf,
    /// The Cycles seed of this render (`0..=i32::MAX`), when it differs from [`ScriptSpec::seed`]:
    /// a batch may render the same regions with several seeds in one process.
    #[serde(default)]
    pub seed: Option<u32>,
}

/// Blender's name for an engine.
pub fn engine_name(engine: Engine) -> &'static str {
    match engine {
        Engine::Cycles => "CYCLES",
        Engine::Eevee => "BLENDER_EEVEE",
    }
}

/// Cycles takes a seed in `0..=i32::MAX`: the request's 64-bit seed folded (high half XOR low half)
/// and masked to 31 bits. Equal seeds map equal; distinct seeds usually differ.
pub fn cycles_seed(seed: u64) -> u32 {
    ((seed ^ (seed >> 32)) as u32) & 0x7fff_ffff
}

/// The border fractions `[min_x, max_x, min_y, max_y]` (y from the bottom, as Blender counts) that
/// make Blender render exactly `region` of a `width × height` frame (see the module docs).
pub fn border_fractions(region: PixelRect, width: u32, height: u32) -> [f64; 4] {
    let edge = |pixel: u32, size: u32| {
        if pixel >= size {
            1.0
        } else {
            (f64::from(pixel) + 0.5) / f64::from(size)
        }
    };
    let bottom = height - region.y - region.height;
    let top = height - region.y;
    [
        edge(region.x, width),
        edge(region.x + region.width, width),
        edge(bottom, height),
        edge(top, height),
    ]
}

/// Blender's pixel bounds `[xmin, xmax, ymin, ymax]` for border fractions: `f32` fractions times the
/// frame size, truncated — `render_init_from_main`'s arithmetic.
pub fn blender_pixel_bounds(fractions: [f64; 4], width: u32, height: u32) -> [i64; 4] {
    let pixels = |fraction: f64, size: u32| {
        let fraction = (fraction as f32).clamp(0.0, 1.0);
        (fraction * size as f32) as i64
    };
    [
        pixels(fractions[0], width),
        pixels(fractions[1], width),
        pixels(fractions[2], height),
        pixels(fractions[3], height),
    ]
}

/// Blender's own limits, beyond [`RenderRequest::validate`]'s.
pub fn validate_for_blender(request: &RenderRequest) -> Result<()> {
    for (field, value) in [
        ("resolution.width", request.resolution.width),
        ("resolution.height", request.resolution.height),
    ] {
        if !(MIN_BLENDER_DIMENSION..=MAX_BLENDER_DIMENSION).contains(&value) {
            return Err(RenderError::invalid(
                field,
                format!(
                    "Blender renders {MIN_BLENDER_DIMENSION}..={MAX_BLENDER_DIMENSION} pixels, not {value}"
                ),
            ));
        }
    }
    if request.frame > MAX_BLENDER_FRAME {
        return Err(RenderError::invalid(
            "frame",
            format!(
                "{} is past Blender's last frame {MAX_BLENDER_FRAME}",
                request.frame
            ),
        ));
    }
    Ok(())
}

/// The spec of a request, writing region `i` to `out_dir/region_{i:05}.exr`. `scene` is the
/// resolved absolute scene path.
pub fn build_spec(
    request: &RenderRequest,
    scene: Option<&Path>,
    out_dir: &Path,
    setup_script: Option<&Path>,
) -> ScriptSpec {
    build_seeded_spec(request, &[], scene, out_dir, setup_script)
}

/// The spec of a request rendered once per seed of `seeds` (empty: once, with the request's seed):
/// render `k·regions + i` is region `i` with seed `k`, written to `out_dir/region_{k·regions + i:05}.exr`.
pub fn build_seeded_spec(
    request: &RenderRequest,
    seeds: &[u64],
    scene: Option<&Path>,
    out_dir: &Path,
    setup_script: Option<&Path>,
) -> ScriptSpec {
    let (width, height) = (request.resolution.width, request.resolution.height);
    let borders: Vec<Option<[f64; 4]>> = if request.regions.is_empty() {
        vec![None]
    } else {
        request
            .regions
            .iter()
            .map(|region| Some(border_fractions(*region, width, height)))
            .collect()
    };
    let seeds: Vec<Option<u32>> = if seeds.is_empty() {
        vec![None]
    } else {
        seeds.iter().map(|&seed| Some(cycles_seed(seed))).collect()
    };
    let regions: Vec<ScriptRegion> = seeds
        .iter()
        .flat_map(|seed| borders.iter().map(move |border| (*seed, *border)))
        .enumerate()
        .map(|(index, (seed, border))| ScriptRegion {
            border,
            output: region_output(out_dir, index),
            seed,
        })
        .collect();
    ScriptSpec {
        scene: scene.map(Path::to_path_buf),
        engine: engine_name(request.engine.unwrap_or(Engine::Cycles)).to_string(),
        width,
        height,
        samples: request.samples,
        seed: cycles_seed(request.seed),
        frame: request.frame,
        persistent_data: regions.len() > 1,
        scene_sampling: request.scene_sampling,
        setup_script: setup_script.map(Path::to_path_buf),
        regions,
    }
}

/// Where region `index`'s EXR goes.
pub fn region_output(out_dir: &Path, index: usize) -> PathBuf {
    out_dir.join(format!("region_{index:05}.exr"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn border_fractions_give_blender_exactly_the_region(
            width in 4u32..=32_768,
            height in 4u32..=32_768,
            fx in 0.0f64..1.0, fy in 0.0f64..1.0, fw in 0.0f64..1.0, fh in 0.0f64..1.0,
        ) {
            let x = ((fx * f64::from(width)) as u32).min(width - 1);
            let y = ((fy * f64::from(height)) as u32).min(height - 1);
            let w = (((fw * f64::from(width - x)) as u32).max(1)).min(width - x);
            let h = (((fh * f64::from(height - y)) as u32).max(1)).min(height - y);
            let region = PixelRect { x, y, width: w, height: h };
            let bounds = blender_pixel_bounds(border_fractions(region, width, height), width, height);
            let bottom = i64::from(height - y - h);
            prop_assert_eq!(
                bounds,
                [i64::from(x), i64::from(x + w), bottom, bottom + i64::from(h)]
            );
        }
    }

    #[test]
    fn corner_regions_and_full_frames_are_exact() {
        for (width, height) in [
            (4, 4),
            (64, 48),
            (1920, 1080),
            (32_768, 32_768),
            (65_536, 7),
        ] {
            for region in [
                PixelRect {
                    x: 0,
                    y: 0,
                    width,
                    height,
                },
                PixelRect {
                    x: width - 1,
                    y: height - 1,
                    width: 1,
                    height: 1,
                },
                PixelRect {
                    x: 0,
                    y: height - 1,
                    width: 1,
                    height: 1,
                },
                PixelRect {
                    x: width - 1,
                    y: 0,
                    width: 1,
                    height,
                },
            ] {
                let bounds =
                    blender_pixel_bounds(border_fractions(region, width, height), width, height);
                let bottom = i64::from(height - region.y - region.height);
                assert_eq!(
                    bounds,
                    [
                        i64::from(region.x),
                        i64::from(region.x + region.width),
                        bottom,
                        bottom + i64::from(region.height)
                    ],
                    "{width}×{height} {region:?}"
                );
            }
        }
    }

    #[test]
    fn seeds_fit_cycles() {
        assert_eq!(cycles_seed(0), 0);
        assert_eq!(cycles_seed(7), 7);
        assert!(cycles_seed(u64::MAX) <= 0x7fff_ffff);
        assert_ne!(cycles_seed(1), cycles_seed(2));
    }

    #[test]
    fn the_spec_carries_paths_as_json_strings_only() {
        let mut request = RenderRequest::new(64, 48, 8, 3);
        request.regions = vec![PixelRect {
            x: 1,
            y: 2,
            width: 3,
            height: 4,
        }];
        let evil = Path::new("/tmp/x\"); import os; os.system('boom') #.blend");
        let spec = build_spec(&request, Some(evil), Path::new("/tmp/out"), None);
        let json = serde_json::to_string(&spec).expect("json");
        let back: ScriptSpec = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, spec);
        assert_eq!(back.scene.as_deref(), Some(evil));
        assert_eq!(spec.engine, "CYCLES");
        assert!(!spec.persistent_data);
        assert_eq!(spec.regions[0].seed, None);
        // Two seeds × one region: seed-major order, one output each.
        let seeded = build_seeded_spec(&request, &[5, 6], None, Path::new("/tmp/out"), None);
        assert_eq!(seeded.regions.len(), 2);
        assert_eq!(seeded.regions[0].seed, Some(cycles_seed(5)));
        assert_eq!(seeded.regions[1].seed, Some(cycles_seed(6)));
        assert_eq!(seeded.regions[0].border, seeded.regions[1].border);
        assert_ne!(seeded.regions[0].output, seeded.regions[1].output);
        assert!(seeded.persistent_data);
        assert!(
            !OVERRIDE_SCRIPT.contains("{{"),
            "the script is not a template"
        );
    }
}
