//! Upscale jobs through the real network: the coordinator on 127.0.0.1, the real worker agent
//! running the SPAN models from its models folder, the real checker agent recomputing tiles.
//! An image ×4 (two frames) delivered equal to a local run of the same models and better than
//! bicubic on the project's detailed fixture; a still cut into tiles merged seamlessly; a worker
//! upscaling with bicubic instead of the model caught by the checker, the job then finished by
//! an honest worker and the ledger sound. The models come from the pinned wheel
//! (`PICTOR_SPAN_WHEEL`; the tests skip without it unless `PICTOR_REQUIRE_MODELS=1`, as in CI).
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "../../pictor-upscale/tests/common/mod.rs"]
mod fixture;

use common::Network;
use common::agents::{Running, built_in_worker_config};
use common::ledger::assert_ledger_sound;
use image::RgbImage;
use pictor_agent::{CheckerEvent, CheckerOptions, CheckerSummary, Upscaler, WorkerConfig};
use pictor_core::api::{Role, Verdict};
use pictor_core::job::{JobState, SplitMode, UpscaleSpec};
use pictor_core::{JobId, JobSpec};
use pictor_network::service::Config;
use pictor_sdk::Client;
use pictor_upscale::chain::Rect;
use pictor_upscale::{Agreement, ModelShelf, RgbPlanes, TileSpec, job_chain, upscale_spec};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Small tiles, so even a small image is several output tiles for the checker to draw from.
const TILES: TileSpec = TileSpec {
    tile: 32,
    context: 24,
};

/// The real checker agent with the upscale models, its events kept.
async fn start_upscale_checker(
    network: &Network,
    dir: &Path,
    models: &Path,
    events: Arc<Mutex<Vec<CheckerEvent>>>,
) -> Running<CheckerSummary> {
    let created = network
        .admin
        .accounts()
        .create(Role::Checker, "upscale-checker")
        .await
        .expect("checker account");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let options = CheckerOptions {
        poll_interval: Duration::from_millis(100),
        models_dir: Some(models.to_path_buf()),
        on_event: Some(Arc::new(move |event: CheckerEvent| {
            eprintln!("checker: {event:?}");
            events.lock().unwrap().push(event);
        })),
        ..CheckerOptions::new(&network.url, &created.api_key, dir.to_path_buf())
    };
    let handle = tokio::spawn(pictor_agent::run_checker(options, async move {
        let _ = stopped.await;
    }));
    Running::new(stop, handle)
}

/// A worker account's config offering upscaling with `models`.
async fn upscale_worker_config(
    network: &Network,
    name: &str,
    dir: &Path,
    models: &Path,
) -> WorkerConfig {
    std::fs::create_dir_all(dir).expect("dir");
    let mut config = built_in_worker_config(network, name, dir).await;
    config.models_dir = Some(models.to_path_buf());
    config
}

/// The real worker agent on `config` with `options`, once it has registered (so a job
/// submitted next finds it in the market).
async fn start_connected(
    config: WorkerConfig,
    options: pictor_agent::WorkerOptions,
) -> Running<pictor_agent::WorkerSummary> {
    let events = Arc::new(Mutex::new(Vec::new()));
    let worker = common::agents::start_worker_with(config, options, events.clone());
    let started = Instant::now();
    while !events
        .lock()
        .unwrap()
        .iter()
        .any(|event| matches!(event, pictor_agent::WorkerEvent::Connected { .. }))
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the worker never registered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    worker
}

/// An upscaling worker `name` (registered before this returns) and an upscale checker, their
/// files under `work`.
async fn start_agents(
    network: &Network,
    work: &Path,
    models: &Path,
    name: &str,
) -> (
    Running<pictor_agent::WorkerSummary>,
    Running<CheckerSummary>,
) {
    let config = upscale_worker_config(network, name, &work.join(name), models).await;
    let worker = start_connected(config, pictor_agent::WorkerOptions::default()).await;
    let checker = start_upscale_checker(
        network,
        &work.join("checker"),
        models,
        Arc::new(Mutex::new(Vec::new())),
    )
    .await;
    (worker, checker)
}

/// `images` written as an upscale job's asset (`000001.png`, …) and uploaded by `creator`.
async fn upload_inputs(
    creator: &Client,
    images: &[RgbImage],
) -> (tempfile::TempDir, pictor_core::AssetId) {
    let dir = tempfile::tempdir().expect("temp");
    for (index, image) in images.iter().enumerate() {
        let frame = u32::try_from(index + 1).unwrap();
        image
            .save(
                dir.path()
                    .join(format!("{}.png", pictor_core::job::input_file_stem(frame))),
            )
            .expect("input");
    }
    let asset = creator
        .assets()
        .upload_folder(dir.path(), "000001.png")
        .send()
        .await
        .expect("upload");
    (dir, asset.id)
}

async fn wait_state(creator: &Client, job: JobId, state: JobState, limit: Duration) {
    let started = Instant::now();
    loop {
        let view = creator.jobs().get(job).await.expect("job");
        if view.state == state {
            return;
        }
        assert!(!view.state.is_final(), "the job ended {:?}", view.state);
        assert!(
            started.elapsed() < limit,
            "job not {state:?} after {limit:?}: {view:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The whole output of a local run of the same models on `input`, as 8-bit pixels.
fn local_upscale(models: &Path, spec: &UpscaleSpec, input: &RgbImage) -> RgbImage {
    let shelf = ModelShelf::open(models).expect("models");
    let chosen = shelf.models_for(spec).expect("the job's models");
    let planes = fixture::planes(input);
    let chain = job_chain(&planes, &chosen, spec).expect("chain");
    chain
        .upscale_all(|_, _, _| {})
        .expect("local run")
        .to_rgb8()
}

fn downloaded(dir: &Path, frame: u32) -> RgbImage {
    image::open(dir.join(pictor_sdk::frames::frame_file_name(frame, "png")))
        .expect("a delivered frame")
        .to_rgb8()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn images_upscaled_x4_through_the_network_equal_a_local_run_and_beat_bicubic() {
    common::log();
    let Some(models) = fixture::models_dir() else {
        return;
    };
    let network = Network::start(Config::default()).await;
    let (creator, _) = network.creator(1_000).await;
    let work = tempfile::tempdir().expect("temp");
    // Ground truth at 192×160; the job's inputs are it made 4× smaller (the degradation
    // super-resolution is measured on), a second frame from another seed.
    let truth = [
        fixture::detailed_fixture(192, 160, 11),
        fixture::detailed_fixture(192, 160, 12),
    ];
    let inputs: Vec<RgbImage> = truth.iter().map(|t| fixture::downscale(t, 4)).collect();
    let (_inputs_dir, asset) = upload_inputs(&creator, &inputs).await;
    let upscale = upscale_spec(4, (48, 40), TILES).expect("upscale spec");
    let spec = JobSpec::builder(asset.clone(), "1-2".parse().unwrap())
        .upscale(upscale.clone())
        .build()
        .expect("spec");
    let (worker, checker) = start_agents(&network, work.path(), &models, "upscaler").await;
    let job = creator
        .jobs()
        .submit(spec.clone())
        .send()
        .await
        .expect("submit")
        .id;
    wait_state(&creator, job, JobState::Completed, Duration::from_secs(120)).await;

    let out = tempfile::tempdir().expect("out");
    let frames = creator
        .jobs()
        .download_frames(job, out.path())
        .await
        .expect("download");
    assert_eq!(frames.len(), 2);
    for (index, (input, truth)) in inputs.iter().zip(&truth).enumerate() {
        let frame = u32::try_from(index + 1).unwrap();
        let got = downloaded(out.path(), frame);
        assert_eq!(got.dimensions(), (192, 160));
        let local = local_upscale(&models, &upscale, input);
        let agreement = Agreement::of(local.as_raw(), got.as_raw()).expect("same size");
        assert!(
            agreement.accepts(),
            "frame {frame} agrees with a local run: {agreement:?}"
        );
        let network_psnr = fixture::psnr_y(truth, &got, 4);
        let bicubic_psnr = fixture::psnr_y(truth, &fixture::bicubic(input, 4), 4);
        eprintln!("frame {frame}: SPAN {network_psnr:.2} dB, bicubic {bicubic_psnr:.2} dB");
        assert!(
            network_psnr >= bicubic_psnr + 1.0,
            "frame {frame}: {network_psnr:.2} dB is not bicubic's {bicubic_psnr:.2} + 1"
        );
    }
    // Priced by the models' work: ×8 (×4, then ×2 on 16 times the pixels) costs more than ×4.
    let x8 = JobSpec::builder(asset, "1-2".parse().unwrap())
        .upscale(upscale_spec(8, (48, 40), TILES).expect("×8"))
        .build()
        .expect("spec");
    let quote_x4 = creator.quotes().create(spec).await.expect("quote ×4");
    let quote_x8 = creator.quotes().create(x8).await.expect("quote ×8");
    assert!(quote_x4.cost_p50 > pictor_core::Money::ZERO, "{quote_x4:?}");
    assert!(
        quote_x8.cost_p50 > quote_x4.cost_p50,
        "{quote_x8:?} vs {quote_x4:?}"
    );
    let summary = worker.stop().await;
    let checked = checker.stop().await;
    assert_eq!(summary.tasks_done, 2, "{summary:?}");
    assert_eq!(checked.accepted, 2, "{checked:?}");
    assert_eq!(checked.rejected, 0, "{checked:?}");
    assert_ledger_sound(&network.admin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_still_cut_into_tiles_is_merged_without_seams() {
    common::log();
    let Some(models) = fixture::models_dir() else {
        return;
    };
    let network = Network::start(Config::default()).await;
    let (creator, _) = network.creator(1_000).await;
    let work = tempfile::tempdir().expect("temp");
    let input = fixture::downscale(&fixture::detailed_fixture(320, 192, 21), 2);
    let (_inputs_dir, asset) = upload_inputs(&creator, std::slice::from_ref(&input)).await;
    let upscale = upscale_spec(2, (160, 96), TILES).expect("upscale spec");
    // Output tiles are 64 px (32 input px × 2): tasks of 128 × 128 make a 3 × 2 grid.
    let unaligned = JobSpec::builder(asset.clone(), "1".parse().unwrap())
        .upscale(upscale.clone())
        .split(SplitMode::Tiles {
            tile_width: 100,
            tile_height: 128,
        })
        .build();
    assert!(unaligned.is_err(), "tasks of parts of output tiles refused");
    let spec = JobSpec::builder(asset, "1".parse().unwrap())
        .upscale(upscale.clone())
        .split(SplitMode::Tiles {
            tile_width: 128,
            tile_height: 128,
        })
        .build()
        .expect("spec");
    let (worker, checker) = start_agents(&network, work.path(), &models, "upscaler").await;
    let job = creator.jobs().submit(spec).send().await.expect("submit").id;
    wait_state(&creator, job, JobState::Completed, Duration::from_secs(120)).await;
    let out = tempfile::tempdir().expect("out");
    creator
        .jobs()
        .download_frames(job, out.path())
        .await
        .expect("download");
    let got = downloaded(out.path(), 1);
    let local = local_upscale(&models, &upscale, &input);
    let agreement = Agreement::of(local.as_raw(), got.as_raw()).expect("same size");
    assert!(agreement.accepts(), "the merged still: {agreement:?}");
    let summary = worker.stop().await;
    let checked = checker.stop().await;
    assert_eq!(summary.tasks_done, 6, "{summary:?}");
    assert_eq!(checked.accepted, 6, "{checked:?}");
    assert_ledger_sound(&network.admin).await;
}

/// A dishonest worker: Catmull-Rom interpolation where the job pins the model — cheap, and
/// plausible to the eye.
struct BicubicUpscaler;

impl Upscaler for BicubicUpscaler {
    fn upscale_region(
        &self,
        spec: &UpscaleSpec,
        input: &RgbPlanes,
        region: Rect,
        on_tile: &mut dyn FnMut(usize, usize),
    ) -> Result<RgbPlanes, String> {
        let whole = image::imageops::resize(
            &input.to_rgb8(),
            spec.output().width,
            spec.output().height,
            image::imageops::FilterType::CatmullRom,
        );
        let cropped =
            image::imageops::crop_imm(&whole, region.left, region.top, region.width, region.height)
                .to_image();
        on_tile(1, 1);
        Ok(fixture::planes(&cropped))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_upscaling_with_bicubic_is_rejected_and_an_honest_one_finishes_the_job() {
    common::log();
    let Some(models) = fixture::models_dir() else {
        return;
    };
    let network = Network::start(Config::default()).await;
    let (creator, _) = network.creator(1_000).await;
    let work = tempfile::tempdir().expect("temp");
    let input = fixture::downscale(&fixture::detailed_fixture(192, 160, 31), 4);
    let (_inputs_dir, asset) = upload_inputs(&creator, std::slice::from_ref(&input)).await;
    let upscale = upscale_spec(4, (48, 40), TILES).expect("upscale spec");
    let spec = JobSpec::builder(asset, "1".parse().unwrap())
        .upscale(upscale.clone())
        .build()
        .expect("spec");

    let mut cheat_config =
        upscale_worker_config(&network, "bicubic", &work.path().join("cheat"), &models).await;
    cheat_config.models_dir = None;
    let cheat = start_connected(
        cheat_config,
        pictor_agent::WorkerOptions {
            upscaler: Some(Arc::new(BicubicUpscaler)),
            ..pictor_agent::WorkerOptions::default()
        },
    )
    .await;
    let events = Arc::new(Mutex::new(Vec::new()));
    let checker = start_upscale_checker(
        &network,
        &work.path().join("checker"),
        &models,
        events.clone(),
    )
    .await;
    let job = creator.jobs().submit(spec).send().await.expect("submit").id;
    let started = Instant::now();
    while !events.lock().unwrap().iter().any(|event| {
        matches!(
            event,
            CheckerEvent::Checked {
                verdict: Verdict::Reject,
                ..
            }
        )
    }) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the bicubic result was never rejected"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let cheat_summary = cheat.stop().await;
    assert!(cheat_summary.tasks_done >= 1, "{cheat_summary:?}");

    let honest = start_connected(
        upscale_worker_config(&network, "honest", &work.path().join("honest"), &models).await,
        pictor_agent::WorkerOptions::default(),
    )
    .await;
    wait_state(&creator, job, JobState::Completed, Duration::from_secs(120)).await;
    let out = tempfile::tempdir().expect("out");
    creator
        .jobs()
        .download_frames(job, out.path())
        .await
        .expect("download");
    let got = downloaded(out.path(), 1);
    let local = local_upscale(&models, &upscale, &input);
    assert!(
        Agreement::of(local.as_raw(), got.as_raw())
            .expect("size")
            .accepts(),
        "the delivered frame is the model's, not the cheat's"
    );
    honest.stop().await;
    let checked = checker.stop().await;
    assert!(checked.rejected >= 1, "{checked:?}");
    assert_ledger_sound(&network.admin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upscale_jobs_missing_inputs_or_with_foreign_models_are_refused() {
    common::log();
    let network = Network::start(Config::default()).await;
    let (creator, _) = network.creator(1_000).await;
    let input = fixture::detailed_fixture(48, 40, 5);
    let (_dir, asset) = upload_inputs(&creator, std::slice::from_ref(&input)).await;
    let upscale = upscale_spec(4, (48, 40), TILES).expect("upscale spec");
    // Frame 2 has no 000002.png in the asset.
    let missing = JobSpec::builder(asset.clone(), "1-2".parse().unwrap())
        .upscale(upscale.clone())
        .build()
        .expect("spec");
    let refused = creator
        .jobs()
        .submit(missing)
        .send()
        .await
        .expect_err("a frame without its input");
    assert!(refused.to_string().contains("000002"), "{refused}");
    // A spec whose input size is not the images'.
    let wrong_size = JobSpec::builder(asset.clone(), "1".parse().unwrap())
        .upscale(upscale_spec(4, (50, 40), TILES).expect("spec"))
        .build()
        .expect("a well-formed spec");
    let refused = creator
        .jobs()
        .submit(wrong_size)
        .send()
        .await
        .expect_err("the images are 48×40");
    assert!(refused.to_string().contains("48×40"), "{refused}");
    // The ch52 sibling under the ch48 model's id: not the catalog's files.
    let mut foreign = upscale.clone();
    foreign.passes[0].files_hash = pictor_upscale::catalog::find("spanx4_ch52")
        .unwrap()
        .files_hash
        .to_string();
    let sibling = JobSpec::builder(asset, "1".parse().unwrap())
        .upscale(foreign)
        .build()
        .expect("a well-formed spec");
    let refused = creator
        .jobs()
        .submit(sibling)
        .send()
        .await
        .expect_err("a model not the catalog's");
    assert!(refused.to_string().contains("files hash"), "{refused}");
    use futures_util::StreamExt;
    let jobs: Vec<_> = creator.jobs().list().send().collect().await;
    assert!(jobs.is_empty(), "nothing was created: {jobs:?}");
}

/// Runs the `pictor` binary as `key`'s creator against `network` (on a blocking thread: the
/// agents share this process's runtime); answers its stdout, or panics with its stderr.
async fn pictor_cli(network: &Network, key: &str, args: Vec<String>) -> String {
    let url = network.url.clone();
    let key = key.to_string();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_pictor"))
            .args(&args)
            .args(["--network", &url])
            .env("PICTOR_API_KEY", key)
            .output()
            .expect("the pictor binary runs")
    })
    .await
    .expect("join");
    assert!(
        output.status.success(),
        "pictor failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_two_second_video_upscaled_x2_through_the_network_keeps_frames_timing_and_audio() {
    common::log();
    if !fixture::ffmpeg_available() {
        return;
    }
    let Some(models) = fixture::models_dir() else {
        return;
    };
    let network = Network::start(Config::default()).await;
    let (_creator, _, key) = network.creator_named("studio", 1_000).await;
    let work = tempfile::tempdir().expect("temp");
    let original = fixture::make_clip(work.path());
    let before = pictor_upscale::video::probe(&original).unwrap();

    let (worker, checker) = start_agents(&network, work.path(), &models, "upscaler").await;
    let out = work.path().join("clip_x2.mp4");
    let printed = pictor_cli(
        &network,
        &key,
        [
            "upscale",
            "submit",
            original.to_str().unwrap(),
            "--factor",
            "2",
            "--tile",
            "32",
            "--out",
            out.to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec(),
    )
    .await;
    assert!(printed.contains("audio copied"), "{printed}");
    let after = pictor_upscale::video::probe(&out).unwrap();
    assert_eq!((after.width, after.height), (96, 64));
    assert_eq!(after.frames, before.frames, "frame count kept");
    assert_eq!(after.frame_rate, before.frame_rate, "timing kept");
    assert_eq!(
        fixture::audio_md5(&out),
        fixture::audio_md5(&original),
        "audio copied, not re-encoded"
    );
    let summary = worker.stop().await;
    let checked = checker.stop().await;
    assert_eq!(summary.tasks_done, 24, "one task per frame: {summary:?}");
    assert_eq!(checked.accepted, 24, "{checked:?}");
    assert_ledger_sound(&network.admin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_render_job_s_frames_upscaled_from_the_job_equal_a_local_upscale_of_them() {
    common::log();
    let Some(models) = fixture::models_dir() else {
        return;
    };
    let network = Network::start(Config::default()).await;
    let (creator, _, key) = network.creator_named("studio", 1_000).await;
    let work = tempfile::tempdir().expect("temp");
    // One worker renders (the built-in renderer) and upscales; one checker verifies both.
    let (worker, checker) = start_agents(&network, work.path(), &models, "gpu").await;
    let render = common::agents::render_demo_job(&creator, "1").await;
    let out = work.path().join("x2");
    let printed = pictor_cli(
        &network,
        &key,
        [
            "upscale",
            "submit",
            "--from-job",
            &render.0.to_string(),
            "--factor",
            "2",
            "--tile",
            "64",
            "--out",
            out.to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec(),
    )
    .await;
    assert!(printed.contains("upscaled frame"), "{printed}");
    let rendered = tempfile::tempdir().expect("temp");
    creator
        .jobs()
        .download_frames(render, rendered.path())
        .await
        .expect("the render");
    let exr = rendered
        .path()
        .join(pictor_sdk::frames::frame_file_name(1, "exr"));
    let input = pictor_upscale::io::read_input(&exr, pictor_upscale::io::ViewTransform::Standard)
        .expect("the rendered frame");
    let upscale = upscale_spec(
        2,
        (input.width(), input.height()),
        TileSpec {
            tile: 64,
            context: 24,
        },
    )
    .expect("spec");
    let shelf = ModelShelf::open(&models).expect("models");
    let chosen = shelf.models_for(&upscale).expect("models");
    let local = job_chain(&input, &chosen, &upscale)
        .expect("chain")
        .upscale_all(|_, _, _| {})
        .expect("local")
        .to_rgb8();
    let got = downloaded(&out, 1);
    let agreement = Agreement::of(local.as_raw(), got.as_raw()).expect("size");
    assert!(agreement.accepts(), "{agreement:?}");
    worker.stop().await;
    let checked = checker.stop().await;
    assert_eq!(
        checked.accepted, 2,
        "the render and the upscale: {checked:?}"
    );
    assert_ledger_sound(&network.admin).await;
}
