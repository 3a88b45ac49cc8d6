//! `pictor job quote|submit|status|watch|download|cancel`: price and submit render jobs, follow them,
//! fetch their frames.

use super::ExitStatus;
use super::network_args::{NetworkArgs, runtime};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use futures_util::TryStreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use pictor_core::api::{JobEvent, JobView};
use pictor_core::job::JobState;
use pictor_core::{
    AssetId, FrameSet, JobId, JobSpec, Money, OutputFormat, Quote, RendererKind, Tier,
};
use pictor_sdk::{Client, UploadedAsset};
use serde::Serialize;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// The exit status of `pictor job watch` when the job ends failed or cancelled.
pub const EXIT_JOB_UNSUCCESSFUL: u8 = 3;

/// `pictor job …`.
#[derive(Debug, Subcommand)]
pub enum JobCommand {
    /// Upload a scene and price a job on the workers online now (nothing is held).
    Quote(SpecArgs),
    /// Upload a scene and submit a job: its P90 cost (the escrow hold) leaves your balance.
    Submit(SpecArgs),
    /// Show a job's state and progress.
    Status(JobArgs),
    /// Follow a job's events until it ends (a bar of accepted tasks on a terminal).
    #[command(after_help = "Exit status: 0 completed, 3 failed or cancelled, 1 any other error.")]
    Watch(JobArgs),
    /// Download the job's accepted frames into --out (frame_NNNN.EXT, checked against their hashes).
    Download(JobArgs),
    /// Cancel a job; unused escrow returns to your balance.
    Cancel(JobArgs),
}

/// Renderers a job can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RendererArg {
    /// The built-in deterministic path tracer.
    Builtin,
    /// Blender (Cycles), headless.
    Blender,
}

/// Output encodings a job can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// The scene's own output settings, finished and written by Blender (Blender's default).
    Scene,
    /// 8-bit sRGB PNG.
    Png,
    /// 16-bit sRGB PNG.
    Png16,
    /// Linear OpenEXR.
    Exr,
}

/// Service tiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TierArg {
    /// Cheapest capacity, whenever it is free (×0.8).
    Economy,
    /// The default (×1).
    Standard,
    /// Fastest reliable capacity first (×1.5).
    Priority,
}

/// Arguments of `pictor job quote` and `pictor job submit`.
#[derive(Debug, Args)]
pub struct SpecArgs {
    #[command(flatten)]
    network: NetworkArgs,
    /// The scene: a file, sent alone (a `.blend` is packed first by a background Blender, so its
    /// textures travel inside it), or a folder, sent whole (then --main-file names the main file).
    #[arg(long, value_name = "PATH")]
    scene: PathBuf,
    /// The main file, relative to the scene folder (needed when --scene is a folder).
    #[arg(long, value_name = "NAME")]
    main_file: Option<String>,
    /// Frames: `1-24`, `1,5,9`, `1-100x10` (the scene's own numbers).
    #[arg(long, value_parser = parse_frames)]
    frames: FrameSet,
    /// Samples per pixel.
    #[arg(long, default_value_t = 64)]
    samples: u32,
    /// Frame width in pixels.
    #[arg(long, default_value_t = 640)]
    width: u32,
    /// Frame height in pixels.
    #[arg(long, default_value_t = 360)]
    height: u32,
    /// Output: the scene's own settings (the default for a .blend: Blender's colour management,
    /// compositor and file format), or a linear render Pictor encodes (png, png16, exr; the
    /// built-in renderer's default is png).
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
    /// Service tier.
    #[arg(long, value_enum, default_value = "standard")]
    tier: TierArg,
    /// The job's name, shown in lists and searched by (`Shot 010, final`).
    #[arg(long, value_name = "TEXT")]
    name: Option<String>,
    /// Renderer (default: the scene's own: Blender for a `.blend`, the built-in renderer for a
    /// `.toml`).
    #[arg(long, value_enum)]
    renderer: Option<RendererArg>,
    /// `submit`: the most you agree to have held, in credits. Without it, `submit` quotes first,
    /// shows the quote, and agrees to exactly its hold: the network refuses the job rather than
    /// hold more (if the market moved in between, quote again).
    #[arg(long, value_name = "CREDITS")]
    max_cost: Option<String>,
    /// Print one JSON object instead of a summary (and no progress bar).
    #[arg(long)]
    json: bool,
}

/// Arguments of the commands on one job.
#[derive(Debug, Args)]
pub struct JobArgs {
    #[command(flatten)]
    network: NetworkArgs,
    /// The job's id.
    #[arg(value_name = "JOB_ID")]
    job: u64,
    /// Folder to download frames into (`download`; default ./job-JOB_ID).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Print one JSON object instead of a summary (and no progress bar).
    #[arg(long)]
    json: bool,
}

/// Parses a frame set.
fn parse_frames(text: &str) -> Result<FrameSet, String> {
    text.parse::<FrameSet>().map_err(|error| error.to_string())
}

/// What `pictor job quote --json` prints.
#[derive(Debug, Serialize)]
struct QuoteReport<'a> {
    scene: &'a AssetId,
    quote: &'a Quote,
}

/// One frame in what `pictor job download --json` prints.
#[derive(Debug, Serialize)]
struct FrameReport {
    frame: u32,
    path: String,
    size: u64,
    downloaded: bool,
}

/// What `pictor job download --json` prints.
#[derive(Debug, Serialize)]
struct DownloadReport {
    job: u64,
    out: String,
    frames: Vec<FrameReport>,
}

/// Runs `pictor job …`.
pub fn run(command: JobCommand) -> Result<()> {
    match command {
        JobCommand::Quote(args) => quote_or_submit(args, false),
        JobCommand::Submit(args) => quote_or_submit(args, true),
        JobCommand::Status(args) => status(args),
        JobCommand::Watch(args) => watch(args),
        JobCommand::Download(args) => download(args),
        JobCommand::Cancel(args) => cancel(args),
    }
}

/// What `--scene` names: a folder to send whole, or one file to send alone.
struct SceneSource {
    /// The folder the main file is in.
    folder: PathBuf,
    /// The main file, relative to `folder`.
    main_file: String,
    /// True when `--scene` named a file: only that file is sent.
    single_file: bool,
}

/// Reads `--scene` and `--main-file`.
fn scene_source(scene: &Path, main_file: Option<&str>) -> Result<SceneSource> {
    let metadata = std::fs::metadata(scene)
        .with_context(|| format!("reading the scene {}", scene.display()))?;
    if metadata.is_dir() {
        let Some(main) = main_file else {
            bail!(
                "--scene {} is a folder: name its main file with --main-file",
                scene.display()
            );
        };
        if !scene.join(main).is_file() {
            bail!("--main-file {main} is not a file in {}", scene.display());
        }
        return Ok(SceneSource {
            folder: scene.to_path_buf(),
            main_file: main.to_string(),
            single_file: false,
        });
    }
    let Some(name) = scene.file_name().and_then(|n| n.to_str()) else {
        bail!("the scene file name of {} is not UTF-8", scene.display());
    };
    if let Some(main) = main_file
        && main != name
    {
        bail!("--main-file {main} differs from the scene file {name}; give one or the other");
    }
    let folder = match scene.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok(SceneSource {
        folder,
        main_file: name.to_string(),
        single_file: true,
    })
}

/// The renderer: `--renderer`, else the one whose scenes look like the main file.
fn renderer_for(args: &SpecArgs, main_file: &str) -> Result<RendererKind> {
    match args.renderer {
        Some(RendererArg::Builtin) => Ok(RendererKind::Builtin),
        Some(RendererArg::Blender) => Ok(RendererKind::Blender),
        None => match RendererKind::for_main_file(main_file) {
            Some(RendererKind::Upscale) => {
                bail!("{main_file} is an image: upscale images with `pictor upscale submit`")
            }
            Some(kind) => Ok(kind),
            None => bail!(
                "{main_file} is neither a .blend (Blender) nor a .toml (built-in) scene; choose --renderer"
            ),
        },
    }
}

/// A bar on stderr, or a hidden one under `--json` or when stderr is not a terminal.
pub(super) fn progress_bar(json: bool, length: u64, template: &str) -> ProgressBar {
    if json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(length), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Uploads the scene with a byte progress bar: a folder whole, a single file alone, a `.blend`
/// packed first. Says on stderr what it sends before sending it.
async fn upload_scene(
    client: &Client,
    args: &SpecArgs,
    source: &SceneSource,
) -> Result<UploadedAsset> {
    let blend = source.single_file && RendererKind::Blender.reads_main_file(&source.main_file);
    let packed = if blend {
        let path = source.folder.join(&source.main_file);
        let packed = pictor_sdk::pack_blend(&path)
            .await
            .with_context(|| format!("packing {}", path.display()))?;
        if !packed.packed {
            eprintln!(
                "pictor: Blender was not found (set {}): sending {} as it is; files it links from \
                 outside are not sent",
                pictor_sdk::blend::BLENDER_ENV,
                source.main_file
            );
        }
        Some(packed)
    } else {
        None
    };
    let (folder, main_file) = match &packed {
        Some(packed) => (packed.folder.clone(), packed.main_file.clone()),
        None => (source.folder.clone(), source.main_file.clone()),
    };
    // What will be sent, before it is: on stderr, also under --json (stdout stays one object).
    match (&packed, source.single_file) {
        (Some(packed), _) => eprintln!(
            "pictor: sending {} ({} bytes{})",
            main_file,
            packed.size,
            if packed.packed {
                ", its external files packed in by Blender"
            } else {
                ""
            }
        ),
        (None, true) => eprintln!("pictor: sending {main_file} alone"),
        (None, false) => eprintln!(
            "pictor: sending the folder {} (main file {main_file})",
            folder.display()
        ),
    }
    let bar = progress_bar(
        args.json,
        0,
        "uploading {bar:30} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
    );
    let progress = bar.clone();
    let mut upload = client
        .assets()
        .upload_folder(&folder, main_file)
        .progress(move |event| {
            progress.set_length(event.bytes_total);
            progress.set_position(event.bytes_done);
        });
    if source.single_file {
        upload = upload.only_main_file();
    }
    let uploaded = upload
        .send()
        .await
        .with_context(|| format!("uploading the scene {}", args.scene.display()));
    bar.finish_and_clear();
    uploaded
}

fn build_spec(args: &SpecArgs, scene: AssetId, renderer: RendererKind) -> Result<JobSpec> {
    let format = args.format.unwrap_or(match renderer {
        RendererKind::Blender => FormatArg::Scene,
        RendererKind::Builtin | RendererKind::Upscale => FormatArg::Png,
    });
    let output = match format {
        FormatArg::Scene => OutputFormat::Scene,
        FormatArg::Png => OutputFormat::Png8,
        FormatArg::Png16 => OutputFormat::Png16,
        FormatArg::Exr => OutputFormat::Exr,
    };
    let tier = match args.tier {
        TierArg::Economy => Tier::Economy,
        TierArg::Standard => Tier::Standard,
        TierArg::Priority => Tier::Priority,
    };
    let mut builder = JobSpec::builder(scene, args.frames.clone())
        .renderer(renderer)
        .resolution(args.width, args.height)
        .samples(args.samples)
        .output(output)
        .tier(tier);
    if let Some(name) = &args.name {
        builder = builder.name(name);
    }
    builder.build().context("the job settings")
}

fn quote_or_submit(args: SpecArgs, submit: bool) -> Result<()> {
    let client = args.network.client()?;
    // Refuse bad settings before uploading anything.
    let source = scene_source(&args.scene, args.main_file.as_deref())?;
    let renderer = renderer_for(&args, &source.main_file)?;
    build_spec(&args, AssetId::of_bytes(b"settings check"), renderer)?;
    let max_cost = parse_max_cost(args.max_cost.as_deref())?;
    runtime()?.block_on(async {
        let asset = upload_scene(&client, &args, &source).await?;
        let spec = build_spec(&args, asset.id.clone(), renderer)?;
        if submit {
            let job = submit_agreed(&client, spec, max_cost, args.json).await?;
            if args.json {
                println!("{}", serde_json::to_string(&job)?);
            } else {
                println!(
                    "job {} {}: {} tasks, {} credits held in escrow (scene {})",
                    job.id,
                    state_name(job.state),
                    job.tasks_total,
                    job.escrow,
                    asset.id
                );
            }
        } else {
            let quote = client
                .quotes()
                .create(spec)
                .await
                .context("quoting the job")?;
            if args.json {
                let report = QuoteReport {
                    scene: &asset.id,
                    quote: &quote,
                };
                println!("{}", serde_json::to_string(&report)?);
            } else {
                println!("{}", quote_line(&quote, &asset.id));
            }
        }
        anyhow::Ok(())
    })
}

/// The creator's `--max-cost` in credits, if given; a bad amount is an error naming the option.
pub(crate) fn parse_max_cost(text: Option<&str>) -> Result<Option<Money>> {
    text.map(str::parse::<Money>)
        .transpose()
        .map_err(|error| anyhow::anyhow!("--max-cost: {error}"))
}

/// Submits `spec` once the creator agreed to a cost before anything is held: `max_cost`, or
/// the quote's hold, shown first on stderr (unless `json`).
pub(super) async fn submit_agreed(
    client: &Client,
    spec: JobSpec,
    max_cost: Option<Money>,
    json: bool,
) -> Result<JobView> {
    let agreed = match max_cost {
        Some(max_cost) => max_cost,
        None => {
            let quote = client
                .quotes()
                .create(spec.clone())
                .await
                .context("quoting the job")?;
            if !json {
                eprintln!("{}", quote_line(&quote, &spec.scene));
            }
            quote.escrow_hold
        }
    };
    client
        .jobs()
        .submit(spec)
        .max_cost(agreed)
        .send()
        .await
        .context("submitting the job")
}

/// The one-line summary of a quote.
fn quote_line(quote: &Quote, scene: &AssetId) -> String {
    format!(
        "cost {} credits (P50) to {} credits (P90); ETA {} (P50) to {} (P90); \
         escrow hold {} credits{} (scene {scene})",
        quote.cost_p50,
        quote.cost_p90,
        duration(quote.eta_p50_secs),
        duration(quote.eta_p90_secs),
        quote.escrow_hold,
        if quote.capped { ", capped" } else { "" },
    ) + &farm_part(quote)
        + if quote.queued_until_online {
            "; no worker is online now: the job waits in the queue and starts when one connects"
        } else {
            ""
        }
}

/// Which share of the job the plan routes to render farms (empty when none).
fn farm_part(quote: &Quote) -> String {
    let share = quote.farm_share;
    if share.tasks == 0 {
        return String::new();
    }
    format!(
        "; farms: {} of {} tasks ({} credits at P50)",
        share.tasks, share.of_tasks, share.cost_p50
    )
}

/// `1h 02m`, `3m 20s`, `12s`.
fn duration(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return "unknown".to_string();
    }
    let whole = secs.round() as u64;
    match whole {
        0..60 => format!("{whole}s"),
        60..3600 => format!("{}m {:02}s", whole / 60, whole % 60),
        _ => format!("{}h {:02}m", whole / 3600, (whole % 3600) / 60),
    }
}

/// The state as the API spells it.
fn state_name(state: JobState) -> &'static str {
    match state {
        JobState::Quoted => "quoted",
        JobState::Queued => "queued",
        JobState::Running => "running",
        JobState::Paused => "paused",
        JobState::Completed => "completed",
        JobState::Failed => "failed",
        JobState::Cancelled => "cancelled",
    }
}

fn print_view(view: &JobView, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string(view)?);
    } else {
        let paused = match view.paused_reason {
            Some(reason) => format!(" ({reason:?})").to_lowercase(),
            None => String::new(),
        };
        println!(
            "job {} {}{}: {}/{} tasks accepted, {} credits spent, {} credits in escrow",
            view.id,
            state_name(view.state),
            paused,
            view.tasks_accepted,
            view.tasks_total,
            view.spent,
            view.escrow
        );
    }
    Ok(())
}

fn status(args: JobArgs) -> Result<()> {
    let client = args.network.client()?;
    let view = runtime()?.block_on(client.jobs().get(JobId(args.job)))?;
    print_view(&view, args.json)
}

fn cancel(args: JobArgs) -> Result<()> {
    let client = args.network.client()?;
    let view = runtime()?
        .block_on(client.jobs().cancel(JobId(args.job)))
        .with_context(|| format!("cancelling job {}", args.job))?;
    print_view(&view, args.json)
}

fn watch(args: JobArgs) -> Result<()> {
    let client = args.network.client()?;
    let id = JobId(args.job);
    let view = runtime()?.block_on(async {
        let view = client.jobs().get(id).await?;
        let bar = progress_bar(
            args.json,
            u64::from(view.tasks_total),
            "{spinner} job {prefix} {bar:30} {pos}/{len} tasks accepted {msg}",
        );
        bar.set_prefix(id.to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        let events = client.jobs().events(id);
        futures_util::pin_mut!(events);
        let mut accepted: u64 = 0;
        while let Some(event) = events.try_next().await.inspect_err(|_| bar.abandon())? {
            if matches!(event.event, JobEvent::TaskAccepted { .. }) {
                accepted += 1;
                bar.set_position(accepted.min(u64::from(view.tasks_total)));
            }
            bar.set_message(event.kind());
        }
        let view = client.jobs().get(id).await?;
        bar.set_position(u64::from(view.tasks_accepted));
        bar.finish_and_clear();
        anyhow::Ok(view)
    })?;
    print_view(&view, args.json)?;
    match view.state {
        JobState::Completed => Ok(()),
        state => Err(ExitStatus::new(
            EXIT_JOB_UNSUCCESSFUL,
            format!("job {} ended {}", view.id, state_name(state)),
        )
        .into()),
    }
}

fn download(args: JobArgs) -> Result<()> {
    let client = args.network.client()?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("job-{}", args.job)));
    let frames = runtime()?
        .block_on(client.jobs().download_frames(JobId(args.job), &out))
        .with_context(|| format!("downloading the frames of job {}", args.job))?;
    if args.json {
        let report = DownloadReport {
            job: args.job,
            out: out.display().to_string(),
            frames: frames
                .iter()
                .map(|frame| FrameReport {
                    frame: frame.frame,
                    path: frame.path.display().to_string(),
                    size: frame.size,
                    downloaded: frame.downloaded,
                })
                .collect(),
        };
        println!("{}", serde_json::to_string(&report)?);
    } else {
        let fresh = frames.iter().filter(|frame| frame.downloaded).count();
        println!(
            "{} frames in {} ({fresh} downloaded, {} already there)",
            frames.len(),
            out.display(),
            frames.len() - fresh
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(duration(12.4), "12s");
        assert_eq!(duration(200.0), "3m 20s");
        assert_eq!(duration(3720.0), "1h 02m");
        assert_eq!(duration(f64::NAN), "unknown");
    }

    #[test]
    fn a_scene_file_is_sent_alone_and_a_folder_needs_a_main_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("scene.toml");
        std::fs::write(&file, "x").unwrap();
        let source = scene_source(&file, None).unwrap();
        assert_eq!(
            (
                source.folder.as_path(),
                source.main_file.as_str(),
                source.single_file
            ),
            (dir.path(), "scene.toml", true)
        );
        assert!(scene_source(dir.path(), None).is_err());
        assert!(scene_source(dir.path(), Some("other.toml")).is_err());
        assert!(scene_source(&file, Some("other.toml")).is_err());
        let source = scene_source(dir.path(), Some("scene.toml")).unwrap();
        assert_eq!(
            (
                source.folder.as_path(),
                source.main_file.as_str(),
                source.single_file
            ),
            (dir.path(), "scene.toml", false)
        );
    }
}
