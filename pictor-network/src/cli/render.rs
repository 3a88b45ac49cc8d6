//! `pictor render`: render one frame, or one region of it, with the built-in path tracer or Blender.

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use pictor_core::OutputFormat;
use pictor_core::job::Resolution;
use pictor_core::task::PixelRect;
use pictor_render::image::write_atomically;
use pictor_render::{RenderControl, RenderRequest, Renderer};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Which renderer to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RendererChoice {
    /// The built-in deterministic path tracer (no installation needed).
    Builtin,
    /// Blender, headless (found on PATH or through PICTOR_BLENDER).
    Blender,
}

impl RendererChoice {
    /// The renderer behind the choice.
    pub fn renderer(self) -> Box<dyn Renderer> {
        match self {
            RendererChoice::Builtin => Box::new(pictor_render::BuiltinRenderer::default()),
            RendererChoice::Blender => Box::new(pictor_render::BlenderRenderer::default()),
        }
    }
}

/// Output encodings `--format` accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum FormatChoice {
    /// 8-bit sRGB PNG.
    Png,
    /// 16-bit sRGB PNG.
    Png16,
    /// Linear OpenEXR.
    Exr,
}

/// What frame to render, with which renderer and settings: shared by `pictor render` and
/// `pictor verify` (which renders its references with the same settings as the worker).
#[derive(Debug, Args)]
pub struct FrameArgs {
    /// Renderer.
    #[arg(long, value_enum, default_value = "builtin")]
    pub renderer: RendererChoice,
    /// Scene file (.blend for Blender, .toml/.json for builtin); default: the renderer's own scene.
    #[arg(long)]
    pub scene: Option<PathBuf>,
    /// Frame number.
    #[arg(long, default_value_t = 1)]
    pub frame: u32,
    /// Frame width in pixels.
    #[arg(long)]
    pub width: u32,
    /// Frame height in pixels.
    #[arg(long)]
    pub height: u32,
    /// Samples per pixel (for `verify`: what the worker was asked for).
    #[arg(long)]
    pub samples: u32,
    /// Monte Carlo seed (for `verify`: the worker's; the references use other, secret seeds).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Arguments of `pictor render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    settings: FrameArgs,
    /// Render only this region: X,Y,W,H in pixels from the top-left corner.
    #[arg(long, value_parser = parse_region)]
    region: Option<PixelRect>,
    /// Output file (.png or .exr).
    #[arg(long)]
    out: PathBuf,
    /// Output encoding; default from the file extension (.png → 8-bit PNG, .exr → OpenEXR).
    #[arg(long, value_enum)]
    format: Option<FormatChoice>,
    /// Stop the render after this many seconds.
    #[arg(long, default_value_t = 3600)]
    timeout_secs: u64,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    json: bool,
}

/// What `pictor render --json` prints.
#[derive(Debug, Serialize)]
struct RenderReport {
    width: u32,
    height: u32,
    samples: u32,
    seed: u64,
    frame: u32,
    render_ms: u64,
    renderer: String,
    renderer_version: String,
    out: String,
}

/// Parses `X,Y,W,H`.
pub fn parse_region(text: &str) -> Result<PixelRect, String> {
    let numbers: Vec<u32> = text
        .split(',')
        .map(|part| part.trim().parse::<u32>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("{text:?} is not X,Y,W,H (four non-negative integers)"))?;
    match numbers[..] {
        [x, y, width, height] if width > 0 && height > 0 => Ok(PixelRect {
            x,
            y,
            width,
            height,
        }),
        [_, _, _, _] => Err("a region needs a width and height of at least 1".to_string()),
        _ => Err(format!("{text:?} is not X,Y,W,H (four numbers)")),
    }
}

fn output_format(choice: Option<FormatChoice>, out: &Path) -> Result<OutputFormat> {
    let extension = out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let format = match (choice, extension.as_deref()) {
        (Some(FormatChoice::Png), Some("png")) | (None, Some("png")) => OutputFormat::Png8,
        (Some(FormatChoice::Png16), Some("png")) => OutputFormat::Png16,
        (Some(FormatChoice::Exr), Some("exr")) | (None, Some("exr")) => OutputFormat::Exr,
        (Some(choice), _) => bail!(
            "--format {choice:?} does not match the extension of {}",
            out.display()
        ),
        (None, _) => bail!("--out must end in .png or .exr: {}", out.display()),
    };
    Ok(format)
}

/// Runs `pictor render`.
pub fn run(args: RenderArgs) -> Result<()> {
    let format = output_format(args.format, &args.out)?;
    let request = RenderRequest {
        scene: args.settings.scene.clone(),
        frame: args.settings.frame,
        resolution: Resolution {
            width: args.settings.width,
            height: args.settings.height,
        },
        samples: args.settings.samples,
        seed: args.settings.seed,
        regions: args.region.into_iter().collect(),
        engine: None,
        scene_sampling: false,
    };
    let renderer = args.settings.renderer.renderer();
    let control = RenderControl::with_timeout(Duration::from_secs(args.timeout_secs));
    let output = renderer.render(&request, &control)?;
    let Some(rendered) = output.regions.into_iter().next() else {
        bail!("the renderer returned no image");
    };
    let bytes = rendered.image.encode(format)?;
    write_atomically(&args.out, &bytes).context("writing the output")?;
    let report = RenderReport {
        width: rendered.image.width(),
        height: rendered.image.height(),
        samples: args.settings.samples,
        seed: args.settings.seed,
        frame: args.settings.frame,
        render_ms: output.render_ms,
        renderer: output.renderer,
        renderer_version: output.renderer_version,
        out: args.out.display().to_string(),
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "{} {}: {}×{} at {} spp, frame {}, in {} ms → {}",
            report.renderer,
            report.renderer_version,
            report.width,
            report.height,
            report.samples,
            report.frame,
            report.render_ms,
            report.out
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_parse_and_refuse_nonsense() {
        assert_eq!(
            parse_region("1, 2,3,4"),
            Ok(PixelRect {
                x: 1,
                y: 2,
                width: 3,
                height: 4
            })
        );
        for bad in ["1,2,3", "1,2,3,4,5", "a,b,c,d", "0,0,0,5", "-1,0,2,2", ""] {
            assert!(parse_region(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn format_follows_the_extension() {
        let png = Path::new("frame.png");
        assert_eq!(output_format(None, png).ok(), Some(OutputFormat::Png8));
        assert_eq!(
            output_format(Some(FormatChoice::Png16), png).ok(),
            Some(OutputFormat::Png16)
        );
        assert!(output_format(Some(FormatChoice::Exr), png).is_err());
        assert!(output_format(None, Path::new("frame.jpg")).is_err());
    }
}
