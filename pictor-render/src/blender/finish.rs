//! Faithful renders: one frame rendered and written by Blender exactly as the creator's own
//! `blender -b scene.blend -f N` would, with the evidence the checker needs kept beside it.
//!
//! [`Renderer::render_finished`](crate::Renderer::render_finished) on [`BlenderRenderer`] runs the constant script [`FINISH_SCRIPT`] (`finish.py`)
//! on a [`FinishSpec`]. Unlike the verifier's renders ([`crate::Renderer::render`]), nothing of
//! the scene's look is overridden:
//!
//! - **Kept from the scene**: the engine (unless the job names one), colour management (view
//!   transform, look, exposure, gamma, curves, display device), dither, the denoiser and its
//!   passes, adaptive sampling (noise threshold, min samples), the compositor, every view layer,
//!   the output format and its settings (unless the job names one), and the output naming
//!   (`####` padding, the extension).
//! - **Set by the job**: the resolution (at 100 %), the samples (Cycles' maximum under adaptive
//!   sampling; Eevee's TAA samples), the frame, and the Cycles seed — the verifier must know the
//!   worker's seed to choose independent ones. Cycles renders on the CPU with no time limit and
//!   no animated seed, so the same request renders the same pixels anywhere.
//! - **Written by Blender**: the deliverable comes from Blender's animation writer over one frame
//!   (the code path of `-f N`), into [`FinishRequest::out_dir`] under the scene's own file name.
//!   Pixels are Blender's bit for bit; the metadata Blender stamps into the file (date, render
//!   time, the scene's path on the worker) describes the worker's run.
//! - **Evidence**: the whole Render Result — every view layer with every pass — saved as a 32-bit
//!   float multilayer OpenEXR ([`crate::evidence`]). The composite layer Blender adds is left out:
//!   it is the deliverable before encoding, and the checker refinishes it from the passes. With denoising the
//!   denoiser's passes are stored ("Noisy Image", albedo, normal): extra passes change no other
//!   pass, but a multilayer EXR deliverable carries them too. Per-pixel sample counts under
//!   adaptive sampling are not evidence: Blender 3.4's "Debug Sample Count" pass is normalised by
//!   each pixel's own count (it reads 1.0 everywhere, measured); the checker renders its
//!   references with the scene's adaptive sampling instead (docs/VERIFICATION.md).

use super::{BlenderRenderer, BlenderSession, Script, ScriptRun, resolve_scene};
use crate::error::{RenderError, Result};
use crate::request::RenderControl;
use pictor_core::job::{Engine, OutputFormat, Resolution};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The faithful-render script Blender runs. A constant: everything variable is in the spec.
pub const FINISH_SCRIPT: &str = include_str!("finish.py");
/// The checker's refinishing script: the scene's finishing run on a frame's evidence.
pub const REFINISH_SCRIPT: &str = include_str!("refinish.py");

/// One frame to render with the scene's own settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FinishRequest {
    /// The `.blend` to render.
    pub scene: PathBuf,
    /// Frame number (the scene's own numbering).
    pub frame: u32,
    /// Full-frame size in pixels (rendered at 100 %).
    pub resolution: Resolution,
    /// Samples per pixel (Cycles' maximum with adaptive sampling, Eevee's TAA samples).
    pub samples: u32,
    /// Monte Carlo seed (folded to Cycles' 31 bits as for every Blender render).
    pub seed: u64,
    /// The engine, when the job overrides the scene's.
    pub engine: Option<Engine>,
    /// The output format, when the job overrides the scene's; [`OutputFormat::Scene`] or `None`
    /// keep the scene's.
    pub output: Option<OutputFormat>,
    /// Where Blender writes the deliverable, under the scene's own file name.
    pub out_dir: PathBuf,
    /// Where the evidence (multilayer OpenEXR) goes.
    pub evidence: PathBuf,
}

/// The settings Blender rendered with, as it reported them: what the network delivered, shown to
/// creators and used by the checker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SceneSettings {
    /// `CYCLES`, `BLENDER_EEVEE` or `BLENDER_EEVEE_NEXT`.
    pub engine: String,
    /// The view transform (`Filmic`, `AgX`, `Standard`, ...).
    pub view_transform: String,
    /// The look (`None`, `Medium High Contrast`, ...).
    pub look: String,
    /// Exposure in stops.
    pub exposure: f32,
    /// Display gamma.
    pub gamma: f32,
    /// Whether the colour-management curves apply.
    pub use_curve_mapping: bool,
    /// The display device (`sRGB`, ...).
    pub display_device: String,
    /// Dither intensity (0: none).
    pub dither: f32,
    /// Whether the compositor ran.
    pub compositing: bool,
    /// Blender's file format name (`PNG`, `JPEG`, `OPEN_EXR_MULTILAYER`, ...).
    pub file_format: String,
    /// Bits per channel as Blender names them (`8`, `16`, `32`).
    pub color_depth: String,
    /// The view layers rendered.
    pub view_layers: Vec<String>,
    /// Whether Cycles denoised.
    pub denoise: bool,
    /// Whether Cycles sampled adaptively.
    pub adaptive_sampling: bool,
    /// The adaptive noise threshold, when adaptive.
    pub adaptive_threshold: Option<f32>,
    /// The adaptive minimum samples (0: automatic), when adaptive.
    pub adaptive_min_samples: Option<u32>,
}

/// A faithful render's files and what made them.
#[derive(Clone, Debug, PartialEq)]
pub struct FinishedFrame {
    /// The file Blender wrote, in [`FinishRequest::out_dir`], under the scene's own name.
    pub deliverable: PathBuf,
    /// The evidence: the Render Result as a multilayer OpenEXR.
    pub evidence: PathBuf,
    /// The settings Blender used.
    pub settings: SceneSettings,
    /// Wall-clock time of the render, ms.
    pub render_ms: u64,
    /// Blender's version.
    pub renderer_version: String,
}

/// What `finish.py` reads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FinishSpec {
    /// The canonical scene path (checked against `bpy.data.filepath`).
    pub scene: PathBuf,
    /// `CYCLES` / `BLENDER_EEVEE` when the job overrides the engine.
    pub engine: Option<String>,
    /// Full-frame width.
    pub width: u32,
    /// Full-frame height.
    pub height: u32,
    /// Samples per pixel.
    pub samples: u32,
    /// The Cycles seed, `0..=i32::MAX`.
    pub seed: u32,
    /// Frame number.
    pub frame: u32,
    /// The output format override, in Blender's names.
    pub output: Option<OutputOverride>,
    /// The deliverable's folder.
    pub out_dir: PathBuf,
    /// The evidence file.
    pub evidence: PathBuf,
    /// Where the script reports the deliverable's path and the settings.
    pub report: PathBuf,
    /// An operator-supplied Python file run first.
    pub setup_script: Option<PathBuf>,
}

/// An output format in Blender's terms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputOverride {
    /// `PNG` or `OPEN_EXR`.
    pub file_format: String,
    /// `8`, `16` or `32`.
    pub color_depth: String,
}

impl OutputOverride {
    /// Blender's settings for a job's output format; `None` keeps the scene's.
    pub fn of(format: OutputFormat) -> Option<OutputOverride> {
        let (file_format, color_depth) = match format {
            OutputFormat::Scene => return None,
            OutputFormat::Png8 => ("PNG", "8"),
            OutputFormat::Png16 => ("PNG", "16"),
            OutputFormat::Exr => ("OPEN_EXR", "32"),
        };
        Some(OutputOverride {
            file_format: file_format.to_string(),
            color_depth: color_depth.to_string(),
        })
    }
}

/// The script's report file.
#[derive(Deserialize)]
struct Report {
    deliverable: PathBuf,
    settings: SceneSettings,
}

impl BlenderRenderer {
    /// [`crate::Renderer::render_finished`] for Blender (see the module docs).
    pub(super) fn finish_frame(
        &self,
        request: &FinishRequest,
        control: &RenderControl,
    ) -> Result<FinishedFrame> {
        let started = Instant::now();
        control.report(0.0, started);
        let probe = crate::RenderRequest {
            scene: Some(request.scene.clone()),
            frame: request.frame,
            resolution: request.resolution,
            samples: request.samples,
            seed: request.seed,
            regions: Vec::new(),
            engine: request.engine,
            scene_sampling: false,
        };
        probe.validate()?;
        super::script::validate_for_blender(&probe)?;
        let scene = resolve_scene(&request.scene)?;
        let setup = self.setup_script_path()?;
        let install = self.install()?;
        control.check(started)?;
        for dir in [
            Some(request.out_dir.as_path()),
            request
                .evidence
                .parent()
                .filter(|p| !p.as_os_str().is_empty()),
        ]
        .into_iter()
        .flatten()
        {
            std::fs::create_dir_all(dir)
                .map_err(|error| RenderError::io(format!("creating {}", dir.display()), error))?;
        }
        let out_dir = absolute(&request.out_dir)?;
        let evidence = absolute(&request.evidence)?;

        let work = self.work_folder()?;
        let report_path = work.path().join("report.json");
        let spec = FinishSpec {
            scene: scene.clone(),
            engine: request
                .engine
                .map(|engine| super::script::engine_name(engine).to_string()),
            width: request.resolution.width,
            height: request.resolution.height,
            samples: request.samples,
            seed: super::script::cycles_seed(request.seed),
            frame: request.frame,
            output: request.output.and_then(OutputOverride::of),
            out_dir: out_dir.clone(),
            evidence: evidence.clone(),
            report: report_path.clone(),
            setup_script: setup,
        };
        let run = ScriptRun {
            script: Script::Finish,
            install: &install,
            scene: Some(&scene),
            work: work.path(),
            regions: 1,
        };
        let finished = self.run_script(&run, &spec, control, started, None)?;
        if !finished.succeeded() {
            let eevee = request.engine == Some(Engine::Eevee);
            return Err(super::process::failure(&finished, Some(&scene), eevee));
        }
        let report_bytes =
            std::fs::read(&report_path).map_err(|error| RenderError::BlenderFailed {
                status: format!("the render script wrote no report ({error})"),
                last_lines: finished.lines.join("\n"),
            })?;
        let report: Report =
            serde_json::from_slice(&report_bytes).map_err(|error| RenderError::BlenderFailed {
                status: format!("the render script's report does not parse: {error}"),
                last_lines: finished.lines.join("\n"),
            })?;
        // The deliverable must be a plain file Blender wrote inside the folder asked for.
        let deliverable = absolute(&report.deliverable)?;
        if deliverable.parent() != Some(out_dir.as_path()) || !deliverable.is_file() {
            return Err(RenderError::BlenderFailed {
                status: format!(
                    "Blender wrote {} instead of a file in {}",
                    deliverable.display(),
                    out_dir.display()
                ),
                last_lines: finished.lines.join("\n"),
            });
        }
        without_composite(&evidence)?;
        control.report(1.0, started);
        Ok(FinishedFrame {
            deliverable,
            evidence,
            settings: report.settings,
            render_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            renderer_version: install.version.to_string(),
        })
    }
}

/// A frame's evidence to finish again with the scene's settings (the checker's second check).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RefinishRequest {
    /// The `.blend` the frame was rendered from.
    pub scene: PathBuf,
    /// Frame number.
    pub frame: u32,
    /// Full-frame size in pixels.
    pub resolution: Resolution,
    /// The evidence (multilayer OpenEXR) the worker delivered beside the frame.
    pub evidence: PathBuf,
    /// Where Blender writes the refinished frame.
    pub out_dir: PathBuf,
}

/// What `refinish.py` reads.
#[derive(Serialize)]
struct RefinishSpec {
    scene: PathBuf,
    width: u32,
    height: u32,
    frame: u32,
    evidence: PathBuf,
    out_dir: PathBuf,
    report: PathBuf,
}

#[derive(Deserialize)]
struct RefinishReport {
    output: PathBuf,
    adaptive_sampling: bool,
    denoise: bool,
}

/// What refinishing a frame's evidence gave.
#[derive(Clone, Debug, PartialEq)]
pub struct Refinished {
    /// The file Blender wrote with the scene's finishing of the evidence.
    pub output: PathBuf,
    /// Whether the scene samples adaptively (Cycles' noise threshold): its frames are then
    /// checked against references sampled the same way.
    pub adaptive_sampling: bool,
    /// Whether the scene denoises: the refinishing's Denoise node then matches Cycles' own
    /// denoiser only within [`crate::compare::DENOISED_TOLERANCE`].
    pub denoise: bool,
}

impl BlenderRenderer {
    /// [`crate::Renderer::refinish_frame`] for Blender: in `session` when it has the scene open,
    /// else in a Blender process of its own.
    pub(super) fn refinish(
        &self,
        request: &RefinishRequest,
        control: &RenderControl,
        session: Option<&BlenderSession>,
    ) -> Result<Refinished> {
        let started = Instant::now();
        request
            .resolution
            .validate()
            .map_err(|error| RenderError::invalid("resolution", error.to_string()))?;
        let scene = resolve_scene(&request.scene)?;
        let install = self.install()?;
        std::fs::create_dir_all(&request.out_dir).map_err(|error| {
            RenderError::io(format!("creating {}", request.out_dir.display()), error)
        })?;
        let out_dir = absolute(&request.out_dir)?;
        let work = self.work_folder()?;
        let report_path = work.path().join("report.json");
        let spec = RefinishSpec {
            scene: scene.clone(),
            width: request.resolution.width,
            height: request.resolution.height,
            frame: request.frame,
            evidence: absolute(&request.evidence)?,
            out_dir: out_dir.clone(),
            report: report_path.clone(),
        };
        let run = ScriptRun {
            script: Script::Refinish,
            install: &install,
            scene: Some(&scene),
            work: work.path(),
            regions: 1,
        };
        let finished = self.run_script(&run, &spec, control, started, session)?;
        if !finished.succeeded() {
            return Err(super::process::failure(&finished, Some(&scene), false));
        }
        let report: RefinishReport = std::fs::read(&report_path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(|| RenderError::BlenderFailed {
                status: "the refinishing script wrote no report".to_string(),
                last_lines: finished.lines.join("\n"),
            })?;
        let output = absolute(&report.output)?;
        if output.parent() != Some(out_dir.as_path()) || !output.is_file() {
            return Err(RenderError::BlenderFailed {
                status: format!(
                    "Blender wrote {} instead of a file in {}",
                    output.display(),
                    out_dir.display()
                ),
                last_lines: finished.lines.join("\n"),
            });
        }
        Ok(Refinished {
            output,
            adaptive_sampling: report.adaptive_sampling,
            denoise: report.denoise,
        })
    }
}

/// Rewrites the evidence Blender saved at `path` without its composite layer: the composite is
/// the deliverable itself before encoding, and the checker refinishes it from the render passes,
/// so it would only double what the worker uploads and the checker reads (1920×1080: 47 MB with
/// it). A render without a compositor has no composite layer and is left as Blender wrote it.
fn without_composite(path: &Path) -> Result<()> {
    let bytes = std::fs::read(path)
        .map_err(|error| RenderError::io(format!("reading {}", path.display()), error))?;
    let mut evidence = crate::evidence::Evidence::decode(&bytes)?;
    if evidence.remove_layer(crate::evidence::COMPOSITE_LAYER) {
        std::fs::write(path, evidence.encode()?)
            .map_err(|error| RenderError::io(format!("writing {}", path.display()), error))?;
    }
    Ok(())
}

/// `path` made absolute against the current folder (Blender runs in its own work folder).
fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path)
        .map_err(|error| RenderError::io(format!("resolving {}", path.display()), error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_overrides_name_blender_formats_and_scene_keeps_the_scene_s() {
        assert_eq!(OutputOverride::of(OutputFormat::Scene), None);
        let png16 = OutputOverride::of(OutputFormat::Png16).expect("an override");
        assert_eq!(
            (png16.file_format.as_str(), png16.color_depth.as_str()),
            ("PNG", "16")
        );
        let exr = OutputOverride::of(OutputFormat::Exr).expect("an override");
        assert_eq!(exr.file_format, "OPEN_EXR");
        assert!(
            !FINISH_SCRIPT.contains("{{"),
            "the script is not a template"
        );
    }
}
