//! The built-in renderer: a small deterministic Monte Carlo path tracer.
//!
//! - Scenes are TOML or JSON files ([`scene`]); without one, [`BuiltinScene::demo`] renders.
//! - Every random number is a pure function of (seed, frame, pixel, sample, bounce, dimension)
//!   ([`sampler`]), so a region renders bit-identical to the same pixels of the full frame on any
//!   number of threads, and independent seeds give independent, honest Monte Carlo noise whose
//!   per-pixel variance falls as 1/samples — what the checker's split references rely on.
//! - Rows are rendered in parallel (rayon); cancellation and the timeout are checked before every
//!   pixel, and progress is reported after every row.
//!
//! ```
//! use pictor_render::{BuiltinRenderer, RenderControl, RenderRequest, Renderer};
//! let output = BuiltinRenderer::default().render(&RenderRequest::new(16, 9, 2, 7), &RenderControl::default())?;
//! assert_eq!(output.regions[0].image.width(), 16);
//! # Ok::<(), pictor_render::RenderError>(())
//! ```

mod camera;
mod geometry;
mod material;
pub mod sampler;
pub mod scene;
mod trace;

pub use scene::{BuiltinScene, demo_scene_toml};

use crate::Renderer;
use crate::error::{RenderError, Result};
use crate::image::LinearImage;
use crate::request::{RegionImage, RenderControl, RenderOutput, RenderRequest};
use pictor_core::task::PixelRect;
use rayon::prelude::*;
use sampler::PixelKey;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use trace::World;

/// The renderer's name in [`RenderOutput::renderer`].
pub const NAME: &str = "builtin";

/// The built-in path tracer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BuiltinRenderer {
    /// Threads to render with: `None` uses rayon's global pool; `Some(n)` a dedicated pool of `n`
    /// threads (`Some(0)`: rayon's default count). Results are bit-identical either way.
    pub threads: Option<usize>,
}

impl BuiltinRenderer {
    /// A renderer on rayon's global thread pool.
    pub fn new() -> Self {
        BuiltinRenderer::default()
    }

    /// A renderer on a dedicated pool of `threads` threads.
    pub fn with_threads(threads: usize) -> Self {
        BuiltinRenderer {
            threads: Some(threads),
        }
    }

    /// Renders an in-memory scene (validated first) for `request`, ignoring `request.scene`.
    pub fn render_scene(
        &self,
        scene: &BuiltinScene,
        request: &RenderRequest,
        control: &RenderControl,
    ) -> Result<RenderOutput> {
        let started = Instant::now();
        request.validate()?;
        scene
            .validate()
            .map_err(|reason| RenderError::SceneInvalid {
                path: scene::in_memory_path(),
                reason,
            })?;
        self.render_validated(scene, request, control, started)
    }

    fn render_validated(
        &self,
        scene: &BuiltinScene,
        request: &RenderRequest,
        control: &RenderControl,
        started: Instant,
    ) -> Result<RenderOutput> {
        control.check(started)?;
        let resolution = request.resolution;
        let world = World::new(scene, request.frame, resolution.width, resolution.height);
        let job = RegionJob {
            world: &world,
            request,
            control,
            started,
            rows_done: AtomicU64::new(0),
            rows_total: request
                .effective_regions()
                .iter()
                .map(|region| u64::from(region.height))
                .sum(),
        };
        let render_all = || -> Result<Vec<RegionImage>> {
            request
                .effective_regions()
                .into_iter()
                .map(|region| job.render_region(region))
                .collect()
        };
        let regions = match self.threads {
            None => render_all()?,
            Some(threads) => rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .map_err(|error| RenderError::invalid("threads", error.to_string()))?
                .install(render_all)?,
        };
        control.report(1.0, started);
        Ok(RenderOutput {
            regions,
            render_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            renderer: NAME.to_string(),
            renderer_version: env!("CARGO_PKG_VERSION").to_string(),
        })
    }
}

/// One request being rendered: the shared state of its rows.
struct RegionJob<'a> {
    world: &'a World,
    request: &'a RenderRequest,
    control: &'a RenderControl,
    started: Instant,
    rows_done: AtomicU64,
    rows_total: u64,
}

impl RegionJob<'_> {
    /// Renders one region, its rows in parallel; stops at the first row that finds the render
    /// cancelled or timed out.
    fn render_region(&self, region: PixelRect) -> Result<RegionImage> {
        let rows: Vec<Vec<f32>> = (0..region.height)
            .into_par_iter()
            .map(|row| self.render_row(region, region.y + row))
            .collect::<Result<_>>()?;
        let image = LinearImage::from_rgba(region.width, region.height, rows.concat())?;
        Ok(RegionImage { region, image })
    }

    /// Renders frame row `y` between the region's columns, as RGBA. Checks for cancellation and the
    /// timeout before every pixel (a pixel of many samples can take a while; the check costs an atomic
    /// load and a clock read).
    fn render_row(&self, region: PixelRect, y: u32) -> Result<Vec<f32>> {
        let request = self.request;
        let mut pixels = Vec::with_capacity(region.width as usize * 4);
        for x in region.x..region.x + region.width {
            self.control.check(self.started)?;
            let key = PixelKey::new(request.seed, request.frame, x, y);
            pixels.extend(self.world.render_pixel(key, x, y, request.samples));
        }
        let done = self.rows_done.fetch_add(1, Ordering::Relaxed) + 1;
        self.control
            .report(done as f32 / self.rows_total.max(1) as f32, self.started);
        Ok(pixels)
    }
}

impl Renderer for BuiltinRenderer {
    fn name(&self) -> &str {
        NAME
    }

    fn version(&self) -> Result<String> {
        Ok(env!("CARGO_PKG_VERSION").to_string())
    }

    /// Validates the request, loads `request.scene` (`.toml` or `.json`) or the demo scene, and
    /// renders every region in request order.
    fn render(&self, request: &RenderRequest, control: &RenderControl) -> Result<RenderOutput> {
        let started = Instant::now();
        request.validate()?;
        control.check(started)?;
        let scene = match &request.scene {
            Some(path) => BuiltinScene::load(path)?,
            None => BuiltinScene::demo(),
        };
        self.render_validated(&scene, request, control, started)
    }
}
