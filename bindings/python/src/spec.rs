//! `JobSpec`: what to render, validated when it is built.

use crate::error::IntoPyErr;
use crate::types::{parse_money, parse_wire, wire_name};
use pictor_core::FrameSet;
use pictor_core::job::{Engine, OutputFormat, RendererKind, Tier};
use pyo3::prelude::*;

/// What to render: the uploaded scene, the frames and how. Every field is checked when it is
/// built; a bad one raises `ValidationError` naming it.
///
/// `frames` is a frame set in text (`"1-4"`, `"1,3,5-9"`); `renderer` is `"blender"` or
/// `"builtin"`; `engine` (Blender only) `"cycles"` or `"eevee"`; `tier` `"economy"`,
/// `"standard"` or `"priority"`; `output` `"scene"` (Blender writes the frames with the scene's
/// own colour management, compositor and format: the default for Blender), `"png"` (the default
/// for the built-in renderer), `"png16"` or `"exr"`; `budget_cap` the most
/// to pay, in credits as decimal text (`"2.5"`).
#[pyclass(module = "pictor._pictor", frozen, from_py_object)]
#[derive(Clone, Debug)]
pub struct JobSpec {
    pub(crate) spec: pictor_core::JobSpec,
}

#[pymethods]
impl JobSpec {
    #[new]
    #[pyo3(signature = (scene, frames, *, renderer = "blender", engine = None, width = 640, height = 360, samples = 64, tier = "standard", output = None, budget_cap = None, deadline_secs = None, tags = Vec::new()))]
    #[allow(
        clippy::too_many_arguments,
        reason = "a Python constructor with keyword arguments"
    )]
    fn new(
        scene: &str,
        frames: &str,
        renderer: &str,
        engine: Option<&str>,
        width: u32,
        height: u32,
        samples: u32,
        tier: &str,
        output: Option<&str>,
        budget_cap: Option<&str>,
        deadline_secs: Option<u64>,
        tags: Vec<String>,
    ) -> PyResult<Self> {
        let scene = scene.parse().map_err(IntoPyErr::into_py_err)?;
        let frames: FrameSet = frames.parse().map_err(IntoPyErr::into_py_err)?;
        let renderer: RendererKind = renderer.parse().map_err(IntoPyErr::into_py_err)?;
        let tier: Tier = tier.parse().map_err(IntoPyErr::into_py_err)?;
        let mut builder = pictor_core::JobSpec::builder(scene, frames)
            .renderer(renderer)
            .resolution(width, height)
            .samples(samples)
            .tier(tier);
        if let Some(output) = output {
            let output: OutputFormat = output.parse().map_err(IntoPyErr::into_py_err)?;
            builder = builder.output(output);
        }
        if let Some(engine) = engine {
            builder = builder.engine(parse_wire::<Engine>("engine", engine)?);
        }
        if let Some(cap) = budget_cap {
            builder = builder.budget_cap(parse_money("budget_cap", cap)?);
        }
        if let Some(seconds) = deadline_secs {
            builder = builder.deadline_secs(seconds);
        }
        for tag in tags {
            builder = builder.tag(tag);
        }
        let spec = builder.build().map_err(IntoPyErr::into_py_err)?;
        Ok(JobSpec { spec })
    }

    /// An upscale of the asset's images (`000001.png`, … one per frame, all `input_width ×
    /// input_height`) by `factor` (2, 4, 8 or 16) with the catalog's SPAN models, each pass in
    /// `tile`-pixel tiles with `context` pixels around them; `output` `"png"` or `"png16"`;
    /// `task_tile` cuts a single image's output into tasks of that many pixels a side.
    #[staticmethod]
    #[pyo3(signature = (scene, frames, *, factor, input_width, input_height, tile = 128, context = 24, output = "png", tier = "standard", budget_cap = None, task_tile = None))]
    #[allow(
        clippy::too_many_arguments,
        reason = "a Python constructor with keyword arguments"
    )]
    fn upscale(
        scene: &str,
        frames: &str,
        factor: u32,
        input_width: u32,
        input_height: u32,
        tile: u32,
        context: u32,
        output: &str,
        tier: &str,
        budget_cap: Option<&str>,
        task_tile: Option<u32>,
    ) -> PyResult<Self> {
        let scene = scene.parse().map_err(IntoPyErr::into_py_err)?;
        let frames: FrameSet = frames.parse().map_err(IntoPyErr::into_py_err)?;
        let input = pictor_core::job::Resolution {
            width: input_width,
            height: input_height,
        };
        let upscale = pictor_core::job::catalog::span_spec(factor, input, tile, context)
            .map_err(IntoPyErr::into_py_err)?;
        let output: OutputFormat = output.parse().map_err(IntoPyErr::into_py_err)?;
        let tier: Tier = tier.parse().map_err(IntoPyErr::into_py_err)?;
        let mut builder = pictor_core::JobSpec::builder(scene, frames)
            .upscale(upscale)
            .output(output)
            .tier(tier);
        if let Some(cap) = budget_cap {
            builder = builder.budget_cap(parse_money("budget_cap", cap)?);
        }
        if let Some(side) = task_tile {
            builder = builder.split(pictor_core::job::SplitMode::Tiles {
                tile_width: side,
                tile_height: side,
            });
        }
        let spec = builder.build().map_err(IntoPyErr::into_py_err)?;
        Ok(JobSpec { spec })
    }

    /// The upscale factor of an upscale job (`renderer == "upscale"`), else `None`.
    #[getter]
    fn upscale_factor(&self) -> Option<u32> {
        self.spec.upscale.as_ref().map(|upscale| upscale.factor)
    }

    /// The scene's asset id.
    #[getter]
    fn scene(&self) -> String {
        self.spec.scene.to_string()
    }

    /// The frames, as text (`"1-4"`).
    #[getter]
    fn frames(&self) -> String {
        self.spec.frames.to_string()
    }

    /// The renderer: `blender`, `builtin`, or `upscale` for an upscale job.
    #[getter]
    fn renderer(&self) -> String {
        wire_name(&self.spec.renderer.kind)
    }

    /// Output width in pixels.
    #[getter]
    fn width(&self) -> u32 {
        self.spec.resolution.width
    }

    /// Output height in pixels.
    #[getter]
    fn height(&self) -> u32 {
        self.spec.resolution.height
    }

    /// Samples per pixel.
    #[getter]
    fn samples(&self) -> u32 {
        self.spec.samples
    }

    /// The service tier: `economy`, `standard` or `priority` (price multiplier and dispatch order).
    #[getter]
    fn tier(&self) -> String {
        wire_name(&self.spec.tier)
    }

    /// The budget cap in credits, if any.
    #[getter]
    fn budget_cap(&self) -> Option<String> {
        self.spec.budget_cap.map(|cap| cap.to_string())
    }

    /// The spec as the network's JSON.
    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.spec)
            .map_err(|error| crate::error::invalid("spec", error.to_string()))
    }

    fn __repr__(&self) -> String {
        format!(
            "JobSpec(scene={:?}, frames={:?}, renderer={:?}, width={}, height={}, samples={}, tier={:?})",
            self.scene(),
            self.frames(),
            self.renderer(),
            self.width(),
            self.height(),
            self.samples(),
            self.tier()
        )
    }
}
