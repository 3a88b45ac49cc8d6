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
        self.render_seeds_validated(scene, request, &[request.seed], control, started)?
            .pop()
            .ok_or_else(|| RenderError::invalid("seeds", "no output"))
    }

    /// Renders every region once per seed: one output per seed. All rows of all (seed, region)
    /// pairs go to the thread pool at once, so many small regions keep every thread busy.
    fn render_seeds_validated(
        &self,
        scene: &BuiltinScene,
        request: &RenderRequest,
        seeds: &[u64],
        control: &RenderControl,
        started: Instant,
    ) -> Result<Vec<RenderOutput>> {
        control.check(started)?;
        let resolution = request.resolution;
        let world = World::new(scene, request.frame, resolution.width, resolution.height);
        let regions = request.effective_regions();
        let units: Vec<(u64, PixelRect, u32)> = seeds
            .iter()
            .flat_map(|&seed| {
                regions.iter().flat_map(move |&region| {
                    (region.y..region.y + region.height).map(move |y| (seed, region, y))
                })
            })
            .collect();
        let job = RegionJob {
            world: &world,
            request,
            control,
            started,
            rows_done: AtomicU64::new(0),
            rows_total: units.len() as u64,
        };
        let render_all = || -> Result<Vec<Vec<f32>>> {
            units
                .par_iter()
                .map(|&(seed, region, y)| job.render_row(seed, region, y))
                .collect()
        };
        let rows = match self.threads {
            None => render_all()?,
            Some(threads) => rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .map_err(|error| RenderError::invalid("threads", error.to_string()))?
                .install(render_all)?,
        };
        control.report(1.0, started);
        let render_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let mut rows = rows.into_iter();
        let mut outputs = Vec::with_capacity(seeds.len());
        for _ in seeds {
            let mut images = Vec::with_capacity(regions.len());
            for &region in &regions {
                let pixels: Vec<f32> = rows
                    .by_ref()
                    .take(region.height as usize)
                    .flatten()
                    .collect();
                let image = LinearImage::from_rgba(region.width, region.height, pixels)?;
                images.push(RegionImage { region, image });
            }
            outputs.push(RenderOutput {
                regions: images,
                render_ms,
                renderer: NAME.to_string(),
                renderer_version: env!("CARGO_PKG_VERSION").to_string(),
            });
        }
        Ok(outputs)
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
    /// Renders frame row `y` between the region's columns with `seed`, as RGBA. Checks for
    /// cancellation and the timeout before every pixel (a pixel of many samples can take a while;
    /// the check costs an atomic load and a clock read).
    fn render_row(&self, seed: u64, region: PixelRect, y: u32) -> Result<Vec<f32>> {
        let request = self.request;
        let mut pixels = Vec::with_capacity(region.width as usize * 4);
        for x in region.x..region.x + region.width {
            self.control.check(self.started)?;
            let key = PixelKey::new(seed, request.frame, x, y);
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

    /// One call for all seeds: the scene is loaded and prepared once, and the rows of every
    /// (seed, region) pair are rendered in one parallel pass. Each image is bit-identical to
    /// [`Renderer::render`] with that seed.
    fn render_seeds(
        &self,
        request: &RenderRequest,
        seeds: &[u64],
        control: &RenderControl,
    ) -> Result<Vec<RenderOutput>> {
        let started = Instant::now();
        request.validate()?;
        control.check(started)?;
        let scene = match &request.scene {
            Some(path) => BuiltinScene::load(path)?,
            None => BuiltinScene::demo(),
        };
        self.render_seeds_validated(&scene, request, seeds, control, started)
    }
}
