//! What to render ([`RenderRequest`]), how to steer a render in flight ([`RenderControl`]) and what
//! comes back ([`RenderOutput`]).

use crate::error::{RenderError, Result};
use crate::image::LinearImage;
use pictor_core::job::{Engine, MAX_DIMENSION, MAX_PIXELS, MAX_SAMPLES, Resolution};
use pictor_core::task::PixelRect;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Most regions in one batched request.
pub const MAX_REGIONS_PER_REQUEST: usize = 4_096;
/// Default timeout of a render.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3_600);

/// One render: a frame of a scene, whole or as a batch of pixel regions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RenderRequest {
    /// Scene file (`.blend` for Blender; `.toml`/`.json` for the built-in renderer). `None`: the
    /// renderer's default scene (Blender's factory startup scene, the built-in demo scene).
    pub scene: Option<PathBuf>,
    /// Frame number (the scene's own numbering).
    pub frame: u32,
    /// Full-frame size in pixels.
    pub resolution: Resolution,
    /// Samples per pixel.
    pub samples: u32,
    /// Monte Carlo seed.
    pub seed: u64,
    /// Regions of the frame to render, each returned as its own image. Empty: the whole frame.
    pub regions: Vec<PixelRect>,
    /// Blender's engine (Cycles when `None`); ignored by the built-in renderer.
    pub engine: Option<Engine>,
    /// Sample like the scene does: keep its adaptive sampling (noise threshold, min samples) on
    /// top of the request's samples, as its faithful render did. The checker's references for an
    /// adaptively sampled frame are rendered this way, so that they are distributed exactly like
    /// the honest frame. `false`: exactly `samples` per pixel. Ignored by the built-in renderer.
    #[serde(default)]
    pub scene_sampling: bool,
}

impl RenderRequest {
    /// A whole-frame request for the renderer's default scene.
    pub fn new(width: u32, height: u32, samples: u32, seed: u64) -> Self {
        RenderRequest {
            scene: None,
            frame: 1,
            resolution: Resolution { width, height },
            samples,
            seed,
            regions: Vec::new(),
            engine: None,
            scene_sampling: false,
        }
    }

    /// Checks caps (resolution as for jobs, samples, region count) and that every region lies in the
    /// frame. Every renderer calls this before doing anything.
    pub fn validate(&self) -> Result<()> {
        for (field, value) in [
            ("resolution.width", self.resolution.width),
            ("resolution.height", self.resolution.height),
        ] {
            if value == 0 || value > MAX_DIMENSION {
                return Err(RenderError::invalid(
                    field,
                    format!("{value} is outside 1..={MAX_DIMENSION}"),
                ));
            }
        }
        if self.resolution.pixels() > MAX_PIXELS {
            return Err(RenderError::invalid(
                "resolution",
                format!("more than {MAX_PIXELS} pixels"),
            ));
        }
        if self.samples == 0 || self.samples > MAX_SAMPLES {
            return Err(RenderError::invalid(
                "samples",
                format!("{} is outside 1..={MAX_SAMPLES}", self.samples),
            ));
        }
        if self.regions.len() > MAX_REGIONS_PER_REQUEST {
            return Err(RenderError::invalid(
                "regions",
                format!("at most {MAX_REGIONS_PER_REQUEST} regions per request"),
            ));
        }
        for (index, region) in self.regions.iter().enumerate() {
            if !region.fits_in(self.resolution.width, self.resolution.height) {
                return Err(RenderError::invalid(
                    format!("regions[{index}]"),
                    format!(
                        "{},{},{},{} is empty or outside the {}×{} frame",
                        region.x,
                        region.y,
                        region.width,
                        region.height,
                        self.resolution.width,
                        self.resolution.height
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The regions to render: the requested ones, or the whole frame.
    pub fn effective_regions(&self) -> Vec<PixelRect> {
        if self.regions.is_empty() {
            vec![PixelRect {
                x: 0,
                y: 0,
                width: self.resolution.width,
                height: self.resolution.height,
            }]
        } else {
            self.regions.clone()
        }
    }
}

/// Progress of a render in flight.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Fraction done, 0.0..=1.0.
    pub fraction: f32,
    /// Time since the render started.
    pub elapsed: Duration,
}

/// A callback receiving progress reports.
pub type ProgressCallback = Arc<dyn Fn(Progress) + Send + Sync>;

/// A cancellation flag shared between the caller and the renderer. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token not yet cancelled.
    pub fn new() -> Self {
        CancelToken::default()
    }
    /// Asks the render to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
    /// True once [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// How the caller steers a render: cancellation, a timeout and a progress callback.
#[derive(Clone)]
pub struct RenderControl {
    /// Cancels the render when set.
    pub cancel: CancelToken,
    /// Stops the render with [`RenderError::Timeout`] after this long.
    pub timeout: Duration,
    /// Receives progress reports, if set.
    pub progress: Option<ProgressCallback>,
}

impl Default for RenderControl {
    fn default() -> Self {
        RenderControl {
            cancel: CancelToken::new(),
            timeout: DEFAULT_TIMEOUT,
            progress: None,
        }
    }
}

impl std::fmt::Debug for RenderControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenderControl")
            .field("cancel", &self.cancel)
            .field("timeout", &self.timeout)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl RenderControl {
    /// A control with this timeout.
    pub fn with_timeout(timeout: Duration) -> Self {
        RenderControl {
            timeout,
            ..RenderControl::default()
        }
    }

    /// Returns an error when the render should stop now: cancelled, or past its deadline.
    pub fn check(&self, started: Instant) -> Result<()> {
        if self.cancel.is_cancelled() {
            return Err(RenderError::Cancelled);
        }
        if started.elapsed() > self.timeout {
            return Err(RenderError::Timeout(self.timeout));
        }
        Ok(())
    }

    /// Reports progress, if anyone listens.
    pub fn report(&self, fraction: f32, started: Instant) {
        if let Some(callback) = &self.progress {
            callback(Progress {
                fraction: fraction.clamp(0.0, 1.0),
                elapsed: started.elapsed(),
            });
        }
    }
}

/// One rendered region.
#[derive(Clone, Debug, PartialEq)]
pub struct RegionImage {
    /// Where in the frame it lies.
    pub region: PixelRect,
    /// Its pixels, linear RGBA f32.
    pub image: LinearImage,
}

/// What a render answers: one image per requested region, its wall time and the renderer used.
#[derive(Clone, Debug, PartialEq)]
pub struct RenderOutput {
    /// One image per requested region (one for a whole frame), in request order.
    pub regions: Vec<RegionImage>,
    /// Wall-clock time of the render, ms.
    pub render_ms: u64,
    /// `builtin` or `blender`.
    pub renderer: String,
    /// The renderer's version.
    pub renderer_version: String,
}
