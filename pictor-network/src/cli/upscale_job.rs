//! `pictor upscale submit`: an upscale job on the network — of images (one frame each), of a
//! video (split into frames here, joined again here with its timing and audio: the network never
//! runs ffmpeg), or of a finished render job's frames ("render at 1080p, deliver 4K"). With
//! `--out` it waits for the job and writes the result: the frames, or the video.

use super::ExitStatus;
use super::job::{EXIT_JOB_UNSUCCESSFUL, TierArg, parse_max_cost, progress_bar, submit_agreed};
use super::model::is_video;
use super::network_args::{NetworkArgs, runtime};
use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use pictor_core::api::JobView;
use pictor_core::job::{
    FrameSet, JobState, OutputFormat, Resolution, SplitMode, Tier, catalog, input_file_stem,
    is_upscale_input,
};
use pictor_core::{JobId, JobSpec};
use pictor_sdk::Client;
use pictor_upscale::TileSpec;
use pictor_upscale::video::{self, VideoInfo};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Bit depths an upscale job writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DepthArg {
    /// 8-bit PNG.
    Png,
    /// 16-bit PNG.
    Png16,
}

/// `pictor upscale submit`.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    #[command(flatten)]
    network: NetworkArgs,
    /// Images (PNG, JPEG or OpenEXR; frames 1, 2, … in the order given, all one size) or one
    /// video (mp4, mov, mkv, webm, avi, m4v).
    #[arg(value_name = "INPUT", required_unless_present = "from_job")]
    inputs: Vec<PathBuf>,
    /// Upscale the frames of this finished render job instead (it must be completed, its frames
    /// PNG).
    #[arg(long, value_name = "JOB_ID", conflicts_with = "inputs")]
    from_job: Option<u64>,
    /// Output pixels per input pixel along each side: 2, 4, 8 (×4 then ×2) or 16 (×4 then ×4).
    #[arg(long, default_value_t = 4)]
    factor: u32,
    /// Tile side, in input pixels of each pass.
    #[arg(long, default_value_t = TileSpec::DEFAULT.tile)]
    tile: u32,
    /// Context around each tile, in input pixels.
    #[arg(long, default_value_t = TileSpec::DEFAULT.context)]
    context: u32,
    /// Cut a single image's output into tasks of this many pixels a side (a multiple of the last
    /// pass's output tile), so a 16K frame runs on many workers at once.
    #[arg(long, value_name = "PIXELS")]
    task_tile: Option<u32>,
    /// Output bit depth.
    #[arg(long, value_enum, default_value = "png")]
    format: DepthArg,
    /// Service tier.
    #[arg(long, value_enum, default_value = "standard")]
    tier: TierArg,
    /// The most you agree to have held, in credits (default: the quote's hold, shown first).
    #[arg(long, value_name = "CREDITS")]
    max_cost: Option<String>,
    /// Wait for the job and write the result here: a folder of frames, or for a video a video
    /// file (H.264, the original's timing and audio).
    #[arg(long, value_name = "PATH")]
    out: Option<PathBuf>,
    /// Print one JSON object (the job, once submitted) instead of a summary.
    #[arg(long)]
    json: bool,
}

/// What is being upscaled, gathered into one folder of `000001.png`-named inputs.
struct Gathered {
    /// The folder uploaded as the job's asset (kept while the command runs).
    folder: tempfile::TempDir,
    /// The input images' size.
    input: Resolution,
    /// The frames, as the inputs are numbered.
    frames: FrameSet,
    /// The main file (the first frame's input).
    main_file: String,
    /// The video the frames came from, with what ffprobe saw of it.
    video: Option<(PathBuf, VideoInfo)>,
}

/// Runs `pictor upscale submit`.
pub fn submit(args: SubmitArgs) -> Result<()> {
    let client = args.network.client()?;
    let max_cost = parse_max_cost(args.max_cost.as_deref())?;
    // Refuse bad settings before reading or uploading anything.
    let probe_input = Resolution {
        width: 16,
        height: 16,
    };
    catalog::span_spec(args.factor, probe_input, args.tile, args.context)?;
    runtime()?.block_on(async {
        let gathered = gather(&client, &args).await?;
        let spec = build_spec(&args, &gathered)?;
        let asset = client
            .assets()
            .upload_folder(gathered.folder.path(), gathered.main_file.clone())
            .send()
            .await
            .context("uploading the inputs")?;
        let spec = JobSpec {
            scene: asset.id.clone(),
            ..spec
        };
        let job = submit_agreed(&client, spec, max_cost, args.json).await?;
        if args.json {
            println!("{}", serde_json::to_string(&job)?);
        } else {
            println!(
                "upscale job {}: {} frame(s) ×{} to {}×{}, {} tasks, {} credits held",
                job.id,
                gathered.frames.len(),
                args.factor,
                gathered.input.width * args.factor,
                gathered.input.height * args.factor,
                job.tasks_total,
                job.escrow
            );
        }
        if let Some(out) = &args.out {
            let view = wait(&client, job.id, args.json).await?;
            if view.state != JobState::Completed {
                return Err(ExitStatus::new(
                    EXIT_JOB_UNSUCCESSFUL,
                    format!("upscale job {} ended {:?}", view.id, view.state),
                )
                .into());
            }
            deliver(&client, job.id, &gathered, out).await?;
        }
        anyhow::Ok(())
    })
}

/// The job's spec (its asset filled in after the upload).
fn build_spec(args: &SubmitArgs, gathered: &Gathered) -> Result<JobSpec> {
    let upscale = catalog::span_spec(args.factor, gathered.input, args.tile, args.context)?;
    let mut builder = JobSpec::builder(
        pictor_core::AssetId::of_bytes(b"filled in after the upload"),
        gathered.frames.clone(),
    )
    .upscale(upscale)
    .tier(match args.tier {
        TierArg::Economy => Tier::Economy,
        TierArg::Standard => Tier::Standard,
        TierArg::Priority => Tier::Priority,
    })
    .output(match args.format {
        DepthArg::Png => OutputFormat::Png8,
        DepthArg::Png16 => OutputFormat::Png16,
    });
    if let Some(side) = args.task_tile {
        builder = builder.split(SplitMode::Tiles {
            tile_width: side,
            tile_height: side,
        });
    }
    Ok(builder.build()?)
}

/// The inputs, named by frame in a fresh folder: images copied, a video split, a render job's
/// frames downloaded.
async fn gather(client: &Client, args: &SubmitArgs) -> Result<Gathered> {
    let folder = tempfile::tempdir().context("a temporary folder for the inputs")?;
    if let Some(job) = args.from_job {
        return from_job(client, JobId(job), folder).await;
    }
    if let [single] = args.inputs.as_slice()
        && is_video(single)
    {
        let info = video::probe(single)?;
        let frames = video::split_frames(single, folder.path())?;
        if frames.len() as u64 != info.frames {
            bail!(
                "{}: {} frames decoded where ffprobe counted {}",
                single.display(),
                frames.len(),
                info.frames
            );
        }
        let count = u32::try_from(frames.len()).context("too many frames")?;
        return Ok(Gathered {
            input: Resolution {
                width: info.width,
                height: info.height,
            },
            frames: format!("1-{count}").parse()?,
            main_file: format!("{}.png", input_file_stem(1)),
            video: Some((single.clone(), info)),
            folder,
        });
    }
    let mut input: Option<Resolution> = None;
    for (index, path) in args.inputs.iter().enumerate() {
        let name = path.to_string_lossy();
        if is_video(path) {
            bail!("{name}: a video is upscaled alone");
        }
        if !is_upscale_input(&name) {
            bail!("{name}: not a .png, .jpg, .jpeg or .exr image");
        }
        let (width, height) = image::image_dimensions(path)
            .with_context(|| format!("{name}: not a readable image"))?;
        let size = Resolution { width, height };
        match input {
            Some(first) if first != size => bail!(
                "{name} is {width}×{height}, the first image {}×{}: one job upscales images of one size",
                first.width,
                first.height
            ),
            _ => input = Some(size),
        }
        let frame = u32::try_from(index + 1).context("too many images")?;
        let extension = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        std::fs::copy(
            path,
            folder
                .path()
                .join(format!("{}.{extension}", input_file_stem(frame))),
        )
        .with_context(|| format!("reading {name}"))?;
    }
    let input = input.context("no input given")?;
    let main_file = std::fs::read_dir(folder.path())?
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .find(|name| name.starts_with(&input_file_stem(1)))
        .context("the first input")?;
    Ok(Gathered {
        input,
        frames: format!("1-{}", args.inputs.len()).parse()?,
        main_file,
        video: None,
        folder,
    })
}

/// A completed render job's frames (PNG, or EXR shown through the sRGB transform), downloaded
/// and named by their frame numbers.
async fn from_job(client: &Client, job: JobId, folder: tempfile::TempDir) -> Result<Gathered> {
    let view = client.jobs().get(job).await.context("the render job")?;
    if view.state != JobState::Completed {
        bail!(
            "job {job} is {:?}: upscale a completed job's frames",
            view.state
        );
    }
    let downloaded = tempfile::tempdir()?;
    let frames = client
        .jobs()
        .download_frames(job, downloaded.path())
        .await
        .with_context(|| format!("downloading job {job}'s frames"))?;
    let mut input: Option<Resolution> = None;
    let mut main_file: Option<String> = None;
    for frame in &frames {
        let name = frame.path.to_string_lossy().into_owned();
        let extension = frame
            .path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if !matches!(extension.as_str(), "png" | "exr") {
            bail!(
                "job {job}'s frame {} is not a PNG or EXR ({name})",
                frame.frame
            );
        }
        let (width, height) = image::image_dimensions(&frame.path)
            .with_context(|| format!("job {job}'s frame {}", frame.frame))?;
        input.get_or_insert(Resolution { width, height });
        let named = format!("{}.{extension}", input_file_stem(frame.frame));
        if main_file.is_none() {
            main_file = Some(named.clone());
        }
        std::fs::rename(&frame.path, folder.path().join(named))?;
    }
    let input = input.context("the job has no frames")?;
    Ok(Gathered {
        input,
        main_file: main_file.context("the job has no frames")?,
        frames: view.spec.frames,
        video: None,
        folder,
    })
}

/// Waits for the job to end, showing the tasks accepted.
async fn wait(client: &Client, job: JobId, json: bool) -> Result<JobView> {
    let mut view = client.jobs().get(job).await?;
    let bar = progress_bar(
        json,
        u64::from(view.tasks_total),
        "upscaling {bar:30} {pos}/{len} tasks",
    );
    while !view.state.is_final() {
        tokio::time::sleep(Duration::from_millis(500)).await;
        view = client.jobs().get(job).await?;
        bar.set_position(u64::from(view.tasks_accepted));
    }
    bar.finish_and_clear();
    Ok(view)
}

/// Writes the finished job's result to `out`: its frames, or the video joined again.
async fn deliver(client: &Client, job: JobId, gathered: &Gathered, out: &Path) -> Result<()> {
    let Some((original, info)) = &gathered.video else {
        let frames = client
            .jobs()
            .download_frames(job, out)
            .await
            .context("downloading the upscaled frames")?;
        println!("{} upscaled frame(s) in {}", frames.len(), out.display());
        return Ok(());
    };
    let downloaded = tempfile::tempdir()?;
    let frames = client
        .jobs()
        .download_frames(job, downloaded.path())
        .await
        .context("downloading the upscaled frames")?;
    let joined = tempfile::tempdir()?;
    for frame in &frames {
        std::fs::rename(
            &frame.path,
            joined
                .path()
                .join(format!("{}.png", input_file_stem(frame.frame))),
        )?;
    }
    let audio = video::join_frames(joined.path(), original, info, out)?;
    println!(
        "{} upscaled ({} frames at {}/{} fps, audio {})",
        out.display(),
        frames.len(),
        info.frame_rate.0,
        info.frame_rate.1,
        match audio {
            video::AudioJoin::None => "none",
            video::AudioJoin::Copied => "copied",
            video::AudioJoin::ReEncoded => "re-encoded as AAC",
        }
    );
    Ok(())
}
