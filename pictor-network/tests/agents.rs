//! The worker and checker agents against a real coordinator on 127.0.0.1: a job rendered,
//! verified and delivered byte-equal to a local render; the blob cache reused across jobs and
//! evicting least-recently-used blobs; scene materialization refusing traversal; the idle command;
//! and a cheating worker caught by the real checker.
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Network;
use common::agents::{
    DEMO_HEIGHT as HEIGHT, DEMO_SAMPLES as SAMPLES, DEMO_WIDTH as WIDTH, demo_spec as spec,
    start_checker, start_worker, upload_demo_scene,
};
use pictor_agent::scene::materialize;
use pictor_agent::{BlobCache, WorkerConfig, WorkerEvent, WorkerSummary, init_worker};
use pictor_core::api::Role;
use pictor_core::asset::{BlobHash, Manifest, ManifestEntry};
use pictor_core::job::JobState;
use pictor_core::{JobId, JobSpec, Money};
use pictor_network::service::Config;
use pictor_render::{BuiltinRenderer, RenderControl, RenderRequest, Renderer};
use pictor_sdk::Client;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A worker account registered through `init_worker`, its config in `dir`.
async fn worker_config(network: &Network, name: &str, dir: &Path) -> WorkerConfig {
    let created = network
        .admin
        .accounts()
        .create(Role::Worker, name)
        .await
        .expect("worker account");
    let out = dir.join("worker.toml");
    let config = init_worker(
        &network.url,
        &created.api_key,
        name,
        Money::from_credits(2).expect("price"),
        &out,
        false,
        &pictor_agent::RenderersOffered::builtin(),
    )
    .await
    .expect("init");
    assert!(
        init_worker(
            &network.url,
            &created.api_key,
            name,
            Money::ZERO,
            &out,
            false,
            &pictor_agent::RenderersOffered::builtin(),
        )
        .await
        .is_err(),
        "init refuses to overwrite without force"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&config.key_file)
            .expect("key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(WorkerConfig::load(&out).expect("load"), config);
    config
}

/// Two built-in workers' configs, in `dir/cheat` and `dir/honest`.
async fn cheat_and_honest(network: &Network, dir: &Path) -> (WorkerConfig, WorkerConfig) {
    std::fs::create_dir_all(dir.join("cheat")).expect("dir");
    std::fs::create_dir_all(dir.join("honest")).expect("dir");
    (
        worker_config(network, "cheat", &dir.join("cheat")).await,
        worker_config(network, "honest", &dir.join("honest")).await,
    )
}

/// The demo's cheating worker (a quarter of the samples) on `config`, once it holds its first
/// lease.
async fn cheat_leases_first(config: WorkerConfig) -> common::agents::Running<WorkerSummary> {
    let events = Arc::new(Mutex::new(Vec::new()));
    let cheat = start_worker(config, Some(4), events.clone());
    let started = Instant::now();
    while !events
        .lock()
        .unwrap()
        .iter()
        .any(|e| matches!(e, WorkerEvent::Leased { .. }))
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the cheat never leased"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cheat
}

async fn wait_completed(creator: &Client, job: JobId, limit: Duration) {
    let started = Instant::now();
    loop {
        let view = creator.jobs().get(job).await.expect("job");
        if view.state == JobState::Completed {
            return;
        }
        assert!(
            started.elapsed() < limit,
            "job {job:?} not completed after {limit:?}: {view:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What a local `pictor render` of the frame gives, encoded like the job's output.
fn local_render(scene: &Path, spec: &JobSpec, frame: u32) -> Vec<u8> {
    let request = RenderRequest {
        scene: Some(scene.to_path_buf()),
        frame,
        seed: spec.seed.seed_for(frame),
        ..RenderRequest::new(WIDTH, HEIGHT, SAMPLES, 0)
    };
    let output = BuiltinRenderer::default()
        .render(&request, &RenderControl::default())
        .expect("local render");
    output.regions[0].image.encode(spec.output).expect("encode")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn workers_and_checker_render_verify_and_deliver_and_the_cache_is_reused() {
    common::log();
    let network = Network::start(Config::default()).await;
    let (creator, _) = network.creator(1_000).await;
    let (_scene_dir, folder, asset) = upload_demo_scene(&creator).await;
    let manifest = creator
        .assets()
        .manifest(&asset.id)
        .await
        .expect("manifest")
        .manifest;

    let work = tempfile::tempdir().expect("temp");
    let config = worker_config(&network, "gpu-1", work.path()).await;
    let events = Arc::new(Mutex::new(Vec::new()));
    let worker = start_worker(config, None, events.clone());
    let checker = start_checker(&network, &work.path().join("checker")).await;

    let first = spec(asset.id.clone(), "1-3");
    let job = creator
        .jobs()
        .submit(first.clone())
        .send()
        .await
        .expect("submit");
    wait_completed(&creator, job.id, Duration::from_secs(40)).await;

    let out = tempfile::tempdir().expect("out");
    let frames = creator
        .jobs()
        .download_frames(job.id, out.path())
        .await
        .expect("download");
    assert_eq!(frames.len(), 3);
    for frame in 1..=3u32 {
        let bytes = std::fs::read(
            out.path()
                .join(pictor_sdk::frames::frame_file_name(frame, "exr")),
        )
        .expect("frame file");
        assert!(
            bytes == local_render(&folder.join("scene.toml"), &first, frame),
            "frame {frame} equals a local render of the same frame and seed"
        );
    }

    // A second job on the same scene: every blob comes from the cache.
    let second = creator
        .jobs()
        .submit(spec(asset.id.clone(), "4-5"))
        .send()
        .await
        .expect("submit");
    wait_completed(&creator, second.id, Duration::from_secs(40)).await;

    let summary = worker.stop().await;
    let checked = checker.stop().await;
    assert_eq!(summary.tasks_done, 5, "{summary:?}");
    assert_eq!(summary.tasks_failed, 0, "{summary:?}");
    assert_eq!(
        summary.bytes_downloaded,
        manifest.total_size(),
        "the scene's blobs were downloaded once, for the first job only"
    );
    assert_eq!(checked.accepted, 5, "{checked:?}");
    assert_eq!(checked.rejected, 0, "{checked:?}");
    let events = events.lock().unwrap();
    assert!(
        matches!(events.first(), Some(WorkerEvent::Connected { .. })),
        "{events:?}"
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, WorkerEvent::Submitted { .. }))
            .count(),
        5
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cheating_worker_is_rejected_and_an_honest_one_rerenders() {
    common::log();
    let network = Network::start(Config::default()).await;
    let (creator, _) = network.creator(1_000).await;
    let (_scene_dir, _, asset) = upload_demo_scene(&creator).await;
    let work = tempfile::tempdir().expect("temp");
    let (cheat_config, honest_config) = cheat_and_honest(&network, work.path()).await;
    let cheat_key = cheat_config.api_key.clone();
    let honest_key = honest_config.api_key.clone();

    let job = creator
        .jobs()
        .submit(spec(asset.id.clone(), "1-3"))
        .send()
        .await
        .expect("submit");
    // The cheat leases first; then the honest worker and the checker join.
    let cheat = cheat_leases_first(cheat_config).await;
    let honest = start_worker(honest_config, None, Arc::new(Mutex::new(Vec::new())));
    let checker = start_checker(&network, &work.path().join("checker")).await;
    wait_completed(&creator, job.id, Duration::from_secs(50)).await;

    let cheat_summary = cheat.stop().await;
    let honest_summary = honest.stop().await;
    let checked = checker.stop().await;
    assert!(
        cheat_summary.tasks_done >= 1,
        "the cheat delivered: {cheat_summary:?}"
    );
    assert!(
        checked.rejected >= 1,
        "the checker rejected the cheat: {checked:?}"
    );
    assert_eq!(checked.accepted, 3, "{checked:?}");
    assert!(honest_summary.tasks_done >= 1, "{honest_summary:?}");
    let balance = |key: String| {
        let client = common::client(&network.url, &key);
        async move { client.accounts().me().await.expect("account").balance }
    };
    assert_eq!(
        balance(cheat_key).await,
        Money::ZERO,
        "the cheat earns nothing"
    );
    assert!(
        balance(honest_key).await > Money::ZERO,
        "the honest worker is paid"
    );
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            // The state follows the parenthesised command name.
            let state = stat
                .rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().chars().next());
            !matches!(state, Some(Some('Z' | 'X')))
        })
        .unwrap_or(false)
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_idle_command_runs_while_idle_and_stops_when_a_task_arrives() {
    common::log();
    let network = Network::start(Config::default()).await;
    let (creator, _) = network.creator(1_000).await;
    let (_scene_dir, _, asset) = upload_demo_scene(&creator).await;
    let work = tempfile::tempdir().expect("temp");
    let mut config = worker_config(&network, "miner", work.path()).await;
    let pid_file = work.path().join("idle.pid");
    config.idle_command = Some(format!(
        "echo $$ > '{}'; exec sleep 1000",
        pid_file.display()
    ));
    let events = Arc::new(Mutex::new(Vec::new()));
    let worker = start_worker(config, None, events.clone());

    let started = Instant::now();
    let pid = loop {
        if let Some(pid) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|t| t.trim().parse::<u32>().ok())
        {
            break pid;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the idle command never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(alive(pid), "sleep 1000 runs while the worker is idle");

    creator
        .jobs()
        .submit(spec(asset.id.clone(), "1"))
        .send()
        .await
        .expect("submit");
    let started = Instant::now();
    while !events
        .lock()
        .unwrap()
        .iter()
        .any(|e| matches!(e, WorkerEvent::Leased { .. }))
    {
        assert!(started.elapsed() < Duration::from_secs(10), "no lease");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let leased = Instant::now();
    while alive(pid) {
        assert!(
            leased.elapsed() < Duration::from_secs(6),
            "the idle command outlived the grace period"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let summary = worker.stop().await;
    assert_eq!(summary.tasks_done, 1, "{summary:?}");
    assert!(!alive(pid));
}

#[test]
fn the_cache_evicts_least_recently_used_blobs_but_not_pinned_ones() {
    let dir = tempfile::tempdir().expect("temp");
    let cache = BlobCache::open(dir.path(), 250).expect("cache");
    let a = cache.insert_bytes(&[1u8; 100]).expect("a");
    let b = cache.insert_bytes(&[2u8; 100]).expect("b");
    assert!(cache.touch(&a).is_some());
    let c = cache.insert_bytes(&[3u8; 100]).expect("c");
    assert!(
        cache.contains(&a) && cache.contains(&c),
        "recently used stay"
    );
    assert!(!cache.contains(&b), "the least recently used goes");
    assert!(!cache.path_of(&b).exists(), "its file is removed");
    assert_eq!(cache.total_bytes(), 200);

    // A pinned blob survives even when it is the least recently used.
    let pin = cache.pin([a.clone()]);
    assert!(cache.touch(&c).is_some());
    let d = cache.insert_bytes(&[4u8; 100]).expect("d");
    assert!(cache.contains(&a), "pinned");
    assert!(!cache.contains(&c));
    assert!(cache.contains(&d));
    drop(pin);

    // Reopening indexes what is on disk.
    let reopened = BlobCache::open(dir.path(), 1 << 20).expect("reopen");
    assert!(reopened.contains(&a) && reopened.contains(&d));
    assert_eq!(reopened.total_bytes(), 200);
}

#[test]
fn materialization_links_the_tree_and_refuses_traversal() {
    let dir = tempfile::tempdir().expect("temp");
    let cache = BlobCache::open(&dir.path().join("cache"), 1 << 20).expect("cache");
    let scene = cache.insert_bytes(b"scene").expect("scene");
    let texture = cache.insert_bytes(b"texture").expect("texture");
    let entry = |path: &str, hash: &str, size: u64| ManifestEntry {
        path: path.into(),
        hash: hash.parse::<BlobHash>().expect("hash"),
        size,
    };
    let manifest = Manifest {
        entries: vec![
            entry("scene.toml", &scene, 5),
            entry("tex/a/wood.png", &texture, 7),
        ],
        main_file: "scene.toml".into(),
    };
    let root = dir.path().join("task");
    let main = materialize(&cache, &manifest, &root).expect("materialize");
    assert_eq!(main, root.join("scene.toml"));
    assert_eq!(
        std::fs::read(root.join("tex/a/wood.png")).expect("texture"),
        b"texture"
    );

    for hostile in ["../evil", "/etc/evil", "tex/../../evil", "a//b"] {
        let manifest = Manifest {
            entries: vec![entry("scene.toml", &scene, 5), entry(hostile, &texture, 7)],
            main_file: "scene.toml".into(),
        };
        let root = dir.path().join("hostile");
        assert!(
            materialize(&cache, &manifest, &root).is_err(),
            "{hostile:?} refused"
        );
        assert!(!dir.path().join("evil").exists());
        assert!(!root.exists(), "nothing written for {hostile:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tiled_still_is_verified_tile_by_tile_and_downloads_merged() {
    common::log();
    let network = Network::start(Config::default()).await;
    let (creator, _) = network.creator(1_000).await;
    let (_scene_dir, folder, asset) = upload_demo_scene(&creator).await;
    let work = tempfile::tempdir().expect("temp");
    let (cheat_config, honest_config) = cheat_and_honest(&network, work.path()).await;
    let mut still = spec(asset.id.clone(), "4");
    still.split = pictor_core::job::SplitMode::Tiles {
        tile_width: WIDTH / 2,
        tile_height: HEIGHT,
    };
    still.validate().expect("a tiled still");
    let job = creator
        .jobs()
        .submit(still.clone())
        .send()
        .await
        .expect("submit");
    // The cheat (a quarter of the samples) takes a tile first; then the honest worker and the
    // real checker join.
    let cheat = cheat_leases_first(cheat_config).await;
    let honest = start_worker(honest_config, None, Arc::new(Mutex::new(Vec::new())));
    let checker = start_checker(&network, &work.path().join("checker")).await;
    wait_completed(&creator, job.id, Duration::from_secs(60)).await;
    let cheat_summary = cheat.stop().await;
    honest.stop().await;
    let checked = checker.stop().await;
    assert!(cheat_summary.tasks_done >= 1, "{cheat_summary:?}");
    assert!(
        checked.rejected >= 1,
        "the cheating tile was rejected: {checked:?}"
    );
    assert_eq!(
        checked.accepted, 2,
        "every tile verified and accepted: {checked:?}"
    );

    // Two accepted tiles, one frame: it downloads merged, pixel for pixel the still a local
    // render of the whole frame gives.
    let frames = creator.jobs().frames(job.id).await.expect("frames");
    assert_eq!(frames.len(), 2, "{frames:?}");
    let out = work.path().join("out");
    let downloaded = creator
        .jobs()
        .download_frames(job.id, &out)
        .await
        .expect("download the merged still");
    assert_eq!(downloaded.len(), 1, "{downloaded:?}");
    let merged = image::open(&downloaded[0].path)
        .expect("decode")
        .to_rgba32f();
    let local = local_render(&folder.join("scene.toml"), &still, 4);
    let local = image::load_from_memory(&local)
        .expect("decode")
        .to_rgba32f();
    assert_eq!(merged.dimensions(), (WIDTH, HEIGHT));
    let differing: Vec<(u32, u32)> = merged
        .enumerate_pixels()
        .filter(|(x, y, p)| local.get_pixel(*x, *y) != *p)
        .map(|(x, y, _)| (x, y))
        .collect();
    assert!(
        differing.is_empty(),
        "the merged still is the whole frame's render; {} pixels differ, first {:?}: {:?} vs {:?}",
        differing.len(),
        &differing[..differing.len().min(8)],
        merged.get_pixel(0, 0),
        local.get_pixel(0, 0)
    );
}
