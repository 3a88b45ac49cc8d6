//! The real worker and checker agents (`pictor-agent`) run as tasks of the test against its
//! coordinator, and stopped when the test is done.

use super::Network;
use pictor_agent::{
    CheckerEvent, CheckerOptions, CheckerSummary, WorkerConfig, WorkerEvent, WorkerOptions,
    WorkerSummary, init_worker, run_checker, run_worker,
};
use pictor_core::JobSpec;
use pictor_core::Money;
use pictor_core::OutputFormat;
use pictor_core::api::Role;
use pictor_core::job::SeedPolicy;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// An agent running as a task: stop it to get its summary.
pub struct Running<T> {
    stop: oneshot::Sender<()>,
    handle: JoinHandle<anyhow::Result<T>>,
}

impl<T> Running<T> {
    /// An agent spawned as `handle`, stopped by sending on `stop`.
    pub fn new(stop: oneshot::Sender<()>, handle: JoinHandle<anyhow::Result<T>>) -> Self {
        Running { stop, handle }
    }

    pub async fn stop(self) -> T {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(30), self.handle)
            .await
            .expect("stops in time")
            .expect("join")
            .expect("ran")
    }
}

pub fn start_worker(
    config: WorkerConfig,
    cheat: Option<u32>,
    events: Arc<Mutex<Vec<WorkerEvent>>>,
) -> Running<WorkerSummary> {
    let mut options = WorkerOptions::default();
    if let Some(divisor) = cheat {
        // The demo's cheating worker: the production worker wrapped around a cheating renderer.
        options.renderers = Some(pictor_network::demo::CheatingRenderer::factory(divisor));
    }
    start_worker_with(config, options, events)
}

/// The real worker agent on `config` with `options` (its events pushed to `events`, asking for
/// work every 100 ms).
pub fn start_worker_with(
    config: WorkerConfig,
    options: WorkerOptions,
    events: Arc<Mutex<Vec<WorkerEvent>>>,
) -> Running<WorkerSummary> {
    let (stop, stopped) = oneshot::channel::<()>();
    let options = WorkerOptions {
        on_event: Some(Arc::new(move |event| {
            if !matches!(event, WorkerEvent::Idle) {
                eprintln!("worker: {event:?}");
            }
            events.lock().unwrap().push(event);
        })),
        poll_interval: Duration::from_millis(100),
        ..options
    };
    let handle = tokio::spawn(run_worker(config, options, async move {
        let _ = stopped.await;
    }));
    Running { stop, handle }
}

/// The real checker agent on a new checker account of `network`, its scenes in `dir`.
pub async fn start_checker(network: &Network, dir: &Path) -> Running<CheckerSummary> {
    let created = network
        .admin
        .accounts()
        .create(Role::Checker, "checker")
        .await
        .expect("checker account");
    start_checker_with_key(network, dir, &created.api_key)
}

/// The real checker agent on the checker account of `key`, its scenes in `dir`.
pub fn start_checker_with_key(network: &Network, dir: &Path, key: &str) -> Running<CheckerSummary> {
    let events = Arc::new(Mutex::new(Vec::new()));
    let (stop, stopped) = oneshot::channel::<()>();
    let options = CheckerOptions {
        poll_interval: Duration::from_millis(100),
        on_event: Some(Arc::new(move |event: CheckerEvent| {
            eprintln!("checker: {event:?}");
            events.lock().unwrap().push(event);
        })),
        ..CheckerOptions::new(&network.url, key, dir.to_path_buf())
    };
    let handle = tokio::spawn(run_checker(options, async move {
        let _ = stopped.await;
    }));
    Running { stop, handle }
}

/// A worker account `name` offering the built-in renderer at 2 credits a bench-hour, its config
/// written in `dir` by `pictor worker init`'s code.
pub async fn built_in_worker_config(network: &Network, name: &str, dir: &Path) -> WorkerConfig {
    let created = network
        .admin
        .accounts()
        .create(Role::Worker, name)
        .await
        .expect("worker account");
    init_worker(
        &network.url,
        &created.api_key,
        name,
        Money::from_credits(2).expect("price"),
        &dir.join("worker.toml"),
        false,
        &pictor_agent::RenderersOffered::builtin(),
    )
    .await
    .expect("init")
}

/// The demo jobs' resolution and samples.
pub const DEMO_WIDTH: u32 = 192;
pub const DEMO_HEIGHT: u32 = 108;
pub const DEMO_SAMPLES: u32 = 16;
// EXR, not 8-bit PNG: at 16 spp the verifier rejects honest PNG8 frames of the demo scene about half
// the time (quantization is not modelled; reported to the verify owner). EXR frames verify cleanly.

/// [`demo_scene`] uploaded by `creator`: the folder (kept while the `TempDir` lives) and its asset.
pub async fn upload_demo_scene(
    creator: &pictor_sdk::Client,
) -> (TempDir, PathBuf, pictor_sdk::assets::UploadedAsset) {
    let (dir, folder) = demo_scene();
    let asset = creator
        .assets()
        .upload_folder(&folder, "scene.toml")
        .send()
        .await
        .expect("upload");
    (dir, folder, asset)
}

/// The built-in demo scene plus a second file, as a creator's scene folder.
pub fn demo_scene() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("scene.toml"),
        pictor_render::builtin::scene::demo_scene_toml(),
    )
    .expect("scene");
    std::fs::create_dir_all(dir.path().join("tex")).expect("tex");
    std::fs::write(dir.path().join("tex/extra.bin"), vec![3u8; 40_000]).expect("extra");
    let path = dir.path().to_path_buf();
    (dir, path)
}

/// A job of the built-in demo scene: [`DEMO_WIDTH`]×[`DEMO_HEIGHT`], EXR, a seed per frame.
pub fn demo_spec(scene: pictor_core::AssetId, frames: &str) -> JobSpec {
    JobSpec::builder(scene, frames.parse().expect("frames"))
        .resolution(DEMO_WIDTH, DEMO_HEIGHT)
        .samples(DEMO_SAMPLES)
        .seed(SeedPolicy::PerFrame(7))
        .output(OutputFormat::Exr)
        .build()
        .expect("spec")
}

/// Renders a job of the demo scene's `frames` for `creator` (uploading the scene) with the agents
/// running on the network, and waits until it completes (at most 2 minutes); answers its id.
pub async fn render_demo_job(creator: &pictor_sdk::Client, frames: &str) -> pictor_core::JobId {
    let (_scene_dir, _, scene) = upload_demo_scene(creator).await;
    let job = creator
        .jobs()
        .submit(demo_spec(scene.id, frames))
        .send()
        .await
        .expect("submit")
        .id;
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let view = creator.jobs().get(job).await.expect("the job");
        if view.state == pictor_core::job::JobState::Completed {
            return job;
        }
        assert!(!view.state.is_final(), "the job ended {:?}", view.state);
        assert!(
            std::time::Instant::now() < deadline,
            "the job never completed: {view:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The real farm adapter (`pictor farm run`'s code) on `config`, its events pushed to `events`.
pub fn start_farm(
    config: pictor_agent::farm::FarmConfig,
    events: Arc<Mutex<Vec<pictor_agent::farm::FarmEvent>>>,
) -> Running<pictor_agent::farm::FarmSummary> {
    let (stop, stopped) = oneshot::channel::<()>();
    let options = pictor_agent::farm::FarmOptions {
        on_event: Some(Arc::new(move |event| {
            if !matches!(
                event,
                pictor_agent::farm::FarmEvent::Task(
                    WorkerEvent::Idle | WorkerEvent::Progress { .. }
                )
            ) {
                eprintln!("farm: {event:?}");
            }
            events.lock().unwrap().push(event);
        })),
        poll_interval: Duration::from_millis(100),
        ..pictor_agent::farm::FarmOptions::default()
    };
    let handle = tokio::spawn(pictor_agent::farm::run_farm(config, options, async move {
        let _ = stopped.await;
    }));
    Running { stop, handle }
}
