//! The network as separate OS processes of the `pictor` binary: a coordinator, three workers and a
//! checker render a 12-frame job with the built-in renderer; every frame equals a local `pictor render`
//! of the same frame and seed, and the ledger balances and verifies. Fault: a worker SIGKILLed
//! mid-task has its task re-leased after the lease TTL, and nothing is paid twice.
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{client, serve_with, wait_healthy};
use futures_util::StreamExt;
use pictor_core::api::Role;
use pictor_core::job::{JobState, OutputFormat};
use pictor_core::ledger::{Ledger, PostingKind};
use pictor_core::{JobSpec, Money};
use pictor_network::service::ADMIN_KEY_FILE;
use pictor_sdk::Client;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const PICTOR: &str = env!("CARGO_BIN_EXE_pictor");
const WIDTH: u32 = 192;
const HEIGHT: u32 = 108;
const SAMPLES: u32 = 16;
/// Task and check leases of a few seconds, for the tests that kill the coordinator.
const SHORT_LEASES: &[&str] = &["--lease-ttl-secs", "5", "--check-lease-ttl-secs", "3"];

/// A child process killed when dropped.
struct Agent(Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn pictor(args: &[&str]) -> std::process::Output {
    Command::new(PICTOR)
        .args(args)
        .output()
        .expect("pictor runs")
}

/// `pictor worker init` then `pictor worker run` as a child process (built-in renderer).
async fn start_worker(
    url: &str,
    admin: &Client,
    dir: &Path,
    name: &str,
    price: &str,
) -> (Agent, u64) {
    start_worker_with(url, admin, dir, name, price, "builtin").await
}

/// Writes an account's API key to a 0600 file for `--api-key-file` (never on the command line).
fn private_key_file(dir: &Path, name: &str, key: &str) -> String {
    let path = dir.join(format!("{name}.api-key"));
    std::fs::write(&path, key).expect("key file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    path.to_str().expect("utf-8").to_string()
}

/// `pictor worker init --renderer RENDERER` then `pictor worker run` as a child process.
async fn start_worker_with(
    url: &str,
    admin: &Client,
    dir: &Path,
    name: &str,
    price: &str,
    renderer: &str,
) -> (Agent, u64) {
    let account = admin
        .accounts()
        .create(Role::Worker, name)
        .await
        .expect("worker account");
    let config = dir.join(format!("{name}.toml"));
    let key_file = private_key_file(dir, name, &account.api_key);
    let init = pictor(&[
        "worker",
        "init",
        "--network",
        url,
        "--api-key-file",
        &key_file,
        "--name",
        name,
        "--price",
        price,
        "--out",
        config.to_str().expect("utf-8 path"),
        "--renderer",
        renderer,
    ]);
    assert!(
        init.status.success(),
        "worker init: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    let child = Command::new(PICTOR)
        .args(["worker", "run", "--poll-secs", "0.2", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("worker run");
    (Agent(child), account.account.id.0)
}

async fn start_checker(url: &str, admin: &Client, dir: &Path) -> Agent {
    let account = admin
        .accounts()
        .create(Role::Checker, "checker")
        .await
        .expect("checker account");
    let key_file = private_key_file(dir, "checker", &account.api_key);
    let child = Command::new(PICTOR)
        .args([
            "checker",
            "run",
            "--poll-secs",
            "0.2",
            "--network",
            url,
            "--api-key-file",
            &key_file,
            "--cache-dir",
        ])
        .arg(dir.join("checker-cache"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("checker run");
    Agent(child)
}

/// A checker named `name` verifying with `blenders` (none: `PICTOR_BLENDER` or `PATH`'s), its
/// standard error in `dir/<name>.log`.
async fn start_named_checker(
    url: &str,
    admin: &Client,
    dir: &Path,
    name: &str,
    blenders: &[std::ffi::OsString],
) -> Agent {
    let account = admin
        .accounts()
        .create(Role::Checker, name)
        .await
        .expect("checker account");
    let key = private_key_file(dir, name, &account.api_key);
    let mut command = Command::new(PICTOR);
    command
        .args(["checker", "run", "--poll-secs", "0.2", "--network", url])
        .args(["--api-key-file", &key, "--cache-dir"])
        .arg(dir.join(format!("{name}-cache")));
    for blender in blenders {
        command.arg("--blender").arg(blender);
    }
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).expect("log");
    Agent(
        command
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("checker run"),
    )
}

struct Setup {
    served: common::Served,
    admin: Client,
    creator: Client,
    /// The creator's API key in a 0600 file, for the CLI.
    creator_key_file: String,
    scene: PathBuf,
    _data: tempfile::TempDir,
    work: tempfile::TempDir,
}

async fn setup(extra: &[&str]) -> Setup {
    let data = tempfile::tempdir().expect("temp");
    let mut setup = setup_in(data.path(), Some(extra)).await;
    setup._data = data;
    setup
}

/// A coordinator on `data` (kept by the caller), a funded creator and the demo scene.
async fn setup_in(data: &Path, extra: Option<&[&str]>) -> Setup {
    let work = tempfile::tempdir().expect("temp");
    let served = serve_with(data, extra.unwrap_or(&[]));
    wait_healthy(&served.url).await;
    let admin_key = std::fs::read_to_string(data.join(ADMIN_KEY_FILE)).expect("admin key");
    let admin = client(&served.url, admin_key.trim());
    let created = admin
        .accounts()
        .create(Role::Creator, "studio")
        .await
        .expect("creator");
    admin
        .accounts()
        .deposit(
            created.account.id,
            Money::from_credits(1_000).expect("credits"),
        )
        .send()
        .await
        .expect("deposit");
    let creator = client(&served.url, &created.api_key);
    let creator_key_file = private_key_file(work.path(), "creator", &created.api_key);
    let scene_dir = work.path().join("scene");
    std::fs::create_dir_all(&scene_dir).expect("scene dir");
    let scene = scene_dir.join("scene.toml");
    std::fs::write(&scene, pictor_render::builtin::scene::demo_scene_toml()).expect("scene");
    Setup {
        served,
        admin,
        creator,
        creator_key_file,
        scene,
        _data: tempfile::tempdir().expect("temp"),
        work,
    }
}

async fn submit(setup: &Setup, frames: &str) -> (pictor_core::api::JobView, JobSpec) {
    submit_sized(setup, frames, (WIDTH, HEIGHT, SAMPLES)).await
}

/// Uploads the setup's scene folder and submits `frames` at `(width, height, samples)`, EXR,
/// priority tier, once a worker is online.
async fn submit_sized(
    setup: &Setup,
    frames: &str,
    (width, height, samples): (u32, u32, u32),
) -> (pictor_core::api::JobView, JobSpec) {
    let folder = setup.scene.parent().expect("folder");
    let asset = setup
        .creator
        .assets()
        .upload_folder(folder, "scene.toml")
        .send()
        .await
        .expect("upload");
    let spec = JobSpec::builder(asset.id, frames.parse().expect("frames"))
        .resolution(width, height)
        .samples(samples)
        .output(OutputFormat::Exr)
        .tier(pictor_core::job::Tier::Priority)
        .build()
        .expect("spec");
    let job = submit_when_online(&setup.creator, &spec, 100).await;
    (job, spec)
}

/// How the frames of a finished job are rendered again locally for comparison.
struct LocalRender<'a> {
    renderer: &'a str,
    scene: &'a Path,
    /// Frames 1..=frames.
    frames: u32,
    size: (u32, u32, u32),
}

/// Downloads `job`'s frames and checks each is byte-equal to `pictor render` of the same frame,
/// size and seed on this machine.
async fn assert_frames_equal_local_renders(
    setup: &Setup,
    job: pictor_core::JobId,
    spec: &JobSpec,
    local: LocalRender<'_>,
) {
    let out = setup.work.path().join("frames");
    let downloaded = setup
        .creator
        .jobs()
        .download_frames(job, &out)
        .await
        .expect("download");
    assert_eq!(downloaded.len() as u32, local.frames);
    let (width, height, samples) = local.size;
    for frame in 1..=local.frames {
        let path = setup
            .work
            .path()
            .join(format!("local-{}-{frame}.exr", local.renderer));
        let rendered = pictor(&[
            "render",
            "--renderer",
            local.renderer,
            "--scene",
            local.scene.to_str().expect("utf-8"),
            "--frame",
            &frame.to_string(),
            "--width",
            &width.to_string(),
            "--height",
            &height.to_string(),
            "--samples",
            &samples.to_string(),
            "--seed",
            &spec.seed.seed_for(frame).to_string(),
            "--out",
            path.to_str().expect("utf-8"),
        ]);
        assert!(
            rendered.status.success(),
            "{}",
            String::from_utf8_lossy(&rendered.stderr)
        );
        let network = std::fs::read(out.join(pictor_sdk::frames::frame_file_name(frame, "exr")))
            .expect("frame");
        assert!(
            network == std::fs::read(&path).expect("local"),
            "{} frame {frame} equals the local render",
            local.renderer
        );
    }
}

/// True when a file called `name` (any file, for `""`) is somewhere under `dir`.
fn holds_file_named(dir: &Path, name: &str) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.filter_map(Result::ok).any(|entry| {
        let path = entry.path();
        if path.is_dir() {
            holds_file_named(&path, name)
        } else {
            name.is_empty() || entry.file_name() == name
        }
    })
}

/// Follows `job`'s events until one of `kind` arrives (panics after `within` without one).
async fn wait_for_event(creator: &Client, job: pictor_core::JobId, kind: &str, within: Duration) {
    let mut events = Box::pin(creator.jobs().events(job));
    loop {
        let event = tokio::time::timeout(within, events.next())
            .await
            .unwrap_or_else(|_| panic!("no {kind} event within {within:?}"))
            .expect("stream")
            .expect("event");
        if event.kind() == kind {
            return;
        }
    }
}

/// Submits `spec`, retrying every 100 ms (up to `tries` times) while the network answers 422 —
/// the workers register as they start, and a job needs one online.
async fn submit_when_online(
    creator: &Client,
    spec: &JobSpec,
    tries: u32,
) -> pictor_core::api::JobView {
    for _ in 0..tries {
        match creator.jobs().submit(spec.clone()).send().await {
            Ok(job) => return job,
            Err(error) if error.status() == Some(422) => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(error) => panic!("submit: {error}"),
        }
    }
    panic!("no worker came online");
}

async fn wait_final(
    creator: &Client,
    job: pictor_core::JobId,
) -> Vec<pictor_core::api::JobEventView> {
    tokio::time::timeout(Duration::from_secs(900), async {
        creator
            .jobs()
            .events(job)
            .map(|e| e.expect("event"))
            .collect::<Vec<_>>()
            .await
    })
    .await
    .expect("the job ends in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_worker_processes_and_a_checker_render_twelve_frames() {
    let setup = setup(&[]).await;
    let url = setup.served.url.clone();
    let mut agents = Vec::new();
    for (i, price) in ["2", "2.5", "3"].iter().enumerate() {
        agents.push(
            start_worker(
                &url,
                &setup.admin,
                setup.work.path(),
                &format!("w{i}"),
                price,
            )
            .await
            .0,
        );
    }
    agents.push(start_checker(&url, &setup.admin, setup.work.path()).await);
    let (job, spec) = submit(&setup, "1-12").await;
    let events = wait_final(&setup.creator, job.id).await;
    assert_eq!(
        events.last().map(|e| e.kind()),
        Some("completed"),
        "{events:?}"
    );
    let done = setup.creator.jobs().get(job.id).await.expect("job");
    assert_eq!(done.state, JobState::Completed);

    assert_frames_equal_local_renders(
        &setup,
        job.id,
        &spec,
        LocalRender {
            renderer: "builtin",
            scene: &setup.scene,
            frames: 12,
            size: (WIDTH, HEIGHT, SAMPLES),
        },
    )
    .await;

    let verified = pictor(&["ledger", "verify", "--network", &url, "--json"]);
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&verified.stdout).expect("json");
    assert_eq!(report["ok"], true);
    let ledger = Ledger::replay(
        setup
            .creator
            .ledger()
            .fetch_journal()
            .await
            .expect("journal")
            .entries(),
    )
    .expect("replay");
    assert_eq!(ledger.trial_balance(), 0);
    assert_eq!(ledger.escrow_total(), 0);
    drop(agents);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_s_task_is_re_leased_and_paid_once() {
    let setup = setup(&["--lease-ttl-secs", "2"]).await;
    let url = setup.served.url.clone();
    let (victim, victim_id) =
        start_worker(&url, &setup.admin, setup.work.path(), "victim", "2").await;
    let (job, _) = submit(&setup, "1-3").await;
    // Wait for the victim's first lease, then SIGKILL it mid-task.
    wait_for_event(
        &setup.creator,
        job.id,
        "task_leased",
        Duration::from_secs(300),
    )
    .await;
    drop(victim);
    let (_rescuer, _) = start_worker(&url, &setup.admin, setup.work.path(), "rescuer", "2").await;
    let _checker = start_checker(&url, &setup.admin, setup.work.path()).await;
    let events = wait_final(&setup.creator, job.id).await;
    assert_eq!(events.last().map(|e| e.kind()), Some("completed"));
    assert!(
        events.iter().any(|e| e.kind() == "task_expired"),
        "the victim's lease expired"
    );
    let journal = setup
        .creator
        .ledger()
        .fetch_journal()
        .await
        .expect("journal");
    let settles = journal
        .entries()
        .iter()
        .filter(|e| e.posting.kind == PostingKind::Settle)
        .count();
    assert_eq!(
        settles, 9,
        "three tasks, each paid once to worker, checker and network"
    );
    let ledger = Ledger::replay(journal.entries()).expect("replay");
    assert_eq!(ledger.escrow_total(), 0);
    let victim_paid = ledger.balance(pictor_core::ledger::Account::Worker(
        pictor_core::AccountId(victim_id),
    ));
    assert!(victim_paid >= 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_checker_s_check_is_reassigned() {
    let setup = setup(&["--check-lease-ttl-secs", "2"]).await;
    let url = setup.served.url.clone();
    let (_worker, _) = start_worker(&url, &setup.admin, setup.work.path(), "w", "2").await;
    // A frame large enough that verifying it takes the checker a while.
    let (job, _) = submit_sized(&setup, "1", (640, 360, 32)).await;
    // Wait for the result, then start a checker and SIGKILL it as soon as it holds the check.
    wait_for_event(
        &setup.creator,
        job.id,
        "task_uploaded",
        Duration::from_secs(300),
    )
    .await;
    let first = start_checker(&url, &setup.admin, setup.work.path()).await;
    let mut leased = false;
    for _ in 0..1_000 {
        let stats = setup.admin.stats().await.expect("stats");
        if stats.checks_pending == 0 {
            leased = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(leased, "the first checker leased the check");
    drop(first); // SIGKILL mid-check.
    let done = setup.creator.jobs().get(job.id).await.expect("job");
    assert_eq!(
        done.state,
        JobState::Running,
        "the killed checker delivered no verdict"
    );
    let second_dir = setup.work.path().join("second");
    std::fs::create_dir_all(&second_dir).expect("dir");
    let _second = start_checker(&url, &setup.admin, &second_dir).await;
    let events = wait_final(&setup.creator, job.id).await;
    assert_eq!(events.last().map(|e| e.kind()), Some("completed"));
    let journal = setup
        .creator
        .ledger()
        .fetch_journal()
        .await
        .expect("journal");
    let settles = journal
        .entries()
        .iter()
        .filter(|e| e.posting.kind == PostingKind::Settle)
        .count();
    assert_eq!(
        settles, 3,
        "one task paid once to worker, checker and network"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_reconnect_to_a_restarted_coordinator_and_the_job_completes() {
    let data = tempfile::tempdir().expect("temp");
    // Short leases: whatever an agent held when the coordinator died (a download, a check in
    // progress) comes back within seconds instead of minutes.
    let setup_first = setup_in(data.path(), Some(SHORT_LEASES)).await;
    let url = setup_first.served.url.clone();
    let port = url.rsplit(':').next().expect("port").to_string();
    let (_worker, _) =
        start_worker(&url, &setup_first.admin, setup_first.work.path(), "w", "2").await;
    let _checker = start_checker(&url, &setup_first.admin, setup_first.work.path()).await;
    let (job, _) = submit(&setup_first, "1-6").await;
    wait_for_event(
        &setup_first.creator,
        job.id,
        "task_accepted",
        Duration::from_secs(300),
    )
    .await;
    let Setup {
        served,
        creator,
        work,
        ..
    } = setup_first;
    drop(served); // SIGKILL the coordinator mid-job.
    let listen = format!("127.0.0.1:{port}");
    let restarted = serve_with(
        data.path(),
        &[&["--listen", &listen][..], SHORT_LEASES].concat(),
    );
    wait_healthy(&restarted.url).await;
    assert_eq!(
        restarted.url, url,
        "same address: the agents reconnect by themselves"
    );
    let events = wait_final(&creator, job.id).await;
    assert_eq!(events.last().map(|e| e.kind()), Some("completed"));
    let journal = creator.ledger().fetch_journal().await.expect("journal");
    let settles = journal
        .entries()
        .iter()
        .filter(|e| e.posting.kind == PostingKind::Settle)
        .count();
    assert_eq!(
        settles, 18,
        "six tasks, each paid once to worker, checker and network"
    );
    drop(work);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blender_workers_and_checker_render_four_frames() {
    if !common::blender_or_skip() {
        return;
    }
    let setup = setup(&[]).await;
    let url = setup.served.url.clone();
    // Blender's factory scene, saved as the job's scene.
    let folder = setup.work.path().join("blend");
    std::fs::create_dir_all(&folder).expect("folder");
    let blend = folder.join("factory.blend");
    common::save_factory_scene(&blend, false);
    let mut agents = Vec::new();
    for (i, price) in ["2", "3"].iter().enumerate() {
        agents.push(
            start_worker_with(
                &url,
                &setup.admin,
                setup.work.path(),
                &format!("b{i}"),
                price,
                "blender",
            )
            .await
            .0,
        );
    }
    agents.push(start_checker(&url, &setup.admin, setup.work.path()).await);
    let asset = setup
        .creator
        .assets()
        .upload_folder(&folder, "factory.blend")
        .send()
        .await
        .expect("upload");
    let (width, height, samples) = (160u32, 96u32, 16u32);
    let spec = JobSpec::builder(asset.id, "1-4".parse().expect("frames"))
        .renderer(pictor_core::job::RendererKind::Blender)
        .resolution(width, height)
        .samples(samples)
        .output(OutputFormat::Exr)
        .build()
        .expect("spec");
    let job = submit_when_online(&setup.creator, &spec, 200).await;
    let events = wait_final(&setup.creator, job.id).await;
    assert_eq!(
        events.last().map(|e| e.kind()),
        Some("completed"),
        "{events:?}"
    );
    assert_frames_equal_local_renders(
        &setup,
        job.id,
        &spec,
        LocalRender {
            renderer: "blender",
            scene: &blend,
            frames: 4,
            size: (width, height, samples),
        },
    )
    .await;
    let verified = pictor(&["ledger", "verify", "--network", &url, "--json"]);
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    drop(agents);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_finished_while_the_network_is_down_is_delivered_when_it_is_back() {
    let data = tempfile::tempdir().expect("temp");
    let first = setup_in(data.path(), Some(&["--check-lease-ttl-secs", "3"])).await;
    let url = first.served.url.clone();
    let port = url.rsplit(':').next().expect("port").to_string();
    let (_worker, _) = start_worker(&url, &first.admin, first.work.path(), "w", "2").await;
    // One frame that takes a few seconds to render.
    let (job, _) = submit_sized(&first, "1", (640, 360, 48)).await;
    wait_for_event(
        &first.creator,
        job.id,
        "task_leased",
        Duration::from_secs(300),
    )
    .await;
    let Setup {
        served,
        admin,
        creator,
        work,
        ..
    } = first;
    // The network goes away once the worker holds the scene (`<config>-cache/blobs`) and renders,
    // and stays away until the frame is written (`<config>-cache/tasks/…/out/frame_0001.exr`,
    // before its upload). Both waited for, not slept on: a busy machine's slow download or render
    // cannot change what is tested.
    let cache = work.path().join("w-cache");
    let downloaded = tokio::time::timeout(Duration::from_secs(300), async {
        while !holds_file_named(&cache.join("blobs"), "") {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(downloaded.is_ok(), "the worker downloaded the scene");
    drop(served);
    let tasks = cache.join("tasks");
    let rendered = tokio::time::timeout(Duration::from_secs(600), async {
        while !holds_file_named(&tasks, "frame_0001.exr") {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(
        rendered.is_ok(),
        "the worker finished its frame while the network was down"
    );
    let listen = format!("127.0.0.1:{port}");
    let back = serve_with(
        data.path(),
        &["--listen", &listen, "--check-lease-ttl-secs", "3"],
    );
    wait_healthy(&back.url).await;
    let _checker = start_checker(&back.url, &admin, work.path()).await;
    let events = wait_final(&creator, job.id).await;
    assert_eq!(
        events.last().map(|e| e.kind()),
        Some("completed"),
        "{events:?}"
    );
    let leases = events.iter().filter(|e| e.kind() == "task_leased").count();
    assert_eq!(
        leases, 1,
        "delivered from the worker's spool, not rendered again: {events:?}"
    );
    let uploaded = events
        .iter()
        .find(|e| e.kind() == "task_uploaded")
        .expect("uploaded");
    assert_eq!(
        uploaded.event.data()["worker"],
        events
            .iter()
            .find(|e| e.kind() == "task_leased")
            .expect("leased")
            .event
            .data()["worker"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blend_submitted_from_the_cli_renders_with_blender_and_sends_only_the_scene() {
    if !common::blender_or_skip() {
        return;
    }
    let setup = setup(&[]).await;
    let url = setup.served.url.clone();
    // A newcomer's Downloads: the scene (with an external texture it needs) among unrelated files.
    let downloads = setup.work.path().join("Downloads");
    std::fs::create_dir_all(&downloads).expect("folder");
    let blend = downloads.join("shot.blend");
    let script = format!(
        "import bpy\n\
         image = bpy.data.images.new('wood', 64, 64)\n\
         image.filepath_raw = {texture:?}\n\
         image.file_format = 'PNG'\n\
         image.save()\n\
         image.use_fake_user = True\n\
         bpy.ops.wm.save_as_mainfile(filepath={blend:?})\n",
        texture = downloads.join("wood.png").display().to_string(),
        blend = blend.display().to_string(),
    );
    let saved =
        Command::new(std::env::var_os("PICTOR_BLENDER").unwrap_or_else(|| "blender".into()))
            .args(["-b", "--factory-startup", "--python-expr", &script])
            .output()
            .expect("blender runs");
    assert!(
        saved.status.success() && blend.exists(),
        "{}",
        String::from_utf8_lossy(&saved.stderr)
    );
    let unrelated = 24 << 20;
    std::fs::write(downloads.join("holiday.mov"), vec![7u8; unrelated]).expect("junk");
    std::fs::write(downloads.join("notes.txt"), b"not a scene file").expect("junk");

    let (_worker, _) =
        start_worker_with(&url, &setup.admin, setup.work.path(), "b0", "2", "blender").await;
    let _checker = start_checker(&url, &setup.admin, setup.work.path()).await;
    let (width, height, samples) = (160u32, 96u32, 16u32);
    let (size, frames) = (format!("{width}"), format!("{height}"));
    let args = [
        "job",
        "submit",
        "--network",
        url.as_str(),
        "--api-key-file",
        setup.creator_key_file.as_str(),
        "--scene",
        blend.to_str().expect("utf-8"),
        "--frames",
        "1-2",
        "--width",
        size.as_str(),
        "--height",
        frames.as_str(),
        "--samples",
        "16",
        "--format",
        "exr",
        "--json",
    ];
    // No --renderer: a .blend is Blender's. Retried while the worker comes online.
    let mut submitted = None;
    for _ in 0..600 {
        let output = pictor(&args);
        if output.status.success() {
            submitted = Some(output);
            break;
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("no worker"), "{stderr}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let output = submitted.expect("submitted once the worker was online");
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("sending shot.blend") && said.contains("packed in by Blender"),
        "the CLI says what it sends before sending it: {said}"
    );
    let job: pictor_core::api::JobView =
        serde_json::from_slice(&output.stdout).expect("the job as JSON");
    assert_eq!(
        job.spec.renderer.kind,
        pictor_core::job::RendererKind::Blender
    );

    // Only the packed scene travelled: one file, far smaller than the unrelated ones.
    let manifest = setup
        .creator
        .assets()
        .manifest(&job.spec.scene)
        .await
        .expect("manifest")
        .manifest;
    let paths: Vec<&str> = manifest.entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["shot.blend"]);
    assert!(
        manifest.total_size() < (unrelated as u64) / 4,
        "{}",
        manifest.total_size()
    );

    let events = wait_final(&setup.creator, job.id).await;
    assert_eq!(
        events.last().map(|e| e.kind()),
        Some("completed"),
        "{events:?}"
    );
    let spec = job.spec.clone();
    assert_frames_equal_local_renders(
        &setup,
        job.id,
        &spec,
        LocalRender {
            renderer: "blender",
            scene: &blend,
            frames: 2,
            size: (width, height, samples),
        },
    )
    .await;
}

/// Saves the factory scene with `options` (pictor-render/tests/scenes/make_scene.py) with `blender`.
fn make_scene(blender: &std::ffi::OsStr, path: &Path, mut options: serde_json::Value) {
    options["save_as"] = serde_json::json!(path);
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../pictor-render/tests/scenes/make_scene.py");
    let saved = std::process::Command::new(blender)
        .args([
            "-b",
            "--factory-startup",
            "-noaudio",
            "--python-exit-code",
            "1",
        ])
        .arg("--python")
        .arg(&script)
        .arg("--")
        .arg(options.to_string())
        .output()
        .expect("blender runs");
    assert!(
        saved.status.success() && path.is_file(),
        "{}",
        String::from_utf8_lossy(&saved.stderr)
    );
}

/// Submits an `output: scene` job of frames 1-2 of the scene in `folder`, waits for it to
/// complete, downloads it, and asserts every frame equals `blender -b scene -f N` and carries the
/// scene's file name `expected_name(frame)`.
async fn assert_scene_output_job(
    setup: &Setup,
    blender: &std::ffi::OsStr,
    folder: &Path,
    main_file: &str,
    expected_name: impl Fn(u32) -> String,
) {
    let (width, height, samples, seed) = (96u32, 64u32, 16u32, 11u64);
    let asset = setup
        .creator
        .assets()
        .upload_folder(folder, main_file)
        .send()
        .await
        .expect("upload");
    let spec = JobSpec::builder(asset.id, "1-2".parse().expect("frames"))
        .renderer(pictor_core::job::RendererKind::Blender)
        .resolution(width, height)
        .samples(samples)
        .seed(pictor_core::job::SeedPolicy::Fixed(seed))
        .build()
        .expect("spec");
    assert_eq!(spec.output, OutputFormat::Scene, "the default for Blender");
    let job = submit_when_online(&setup.creator, &spec, 200).await;
    let events = wait_final(&setup.creator, job.id).await;
    assert_eq!(
        events.last().map(|e| e.kind()),
        Some("completed"),
        "{main_file}: {events:?}"
    );
    let out = folder.join("delivered");
    let downloaded = setup
        .creator
        .jobs()
        .download_frames(job.id, &out)
        .await
        .expect("download");
    assert_eq!(downloaded.len(), 2);
    for (frame, file) in (1u32..=2).zip(&downloaded) {
        assert_eq!(
            file.path.file_name().and_then(|n| n.to_str()),
            Some(expected_name(frame).as_str()),
            "{main_file}: the scene's own naming"
        );
        let direct_dir = folder.join(format!("direct-{frame}"));
        let direct = std::process::Command::new(blender)
            .args(["-b", "--factory-startup", "-noaudio"])
            .arg(folder.join(main_file))
            .arg("-o")
            .arg(direct_dir.join("f_####"))
            .args(["-f", &frame.to_string()])
            .output()
            .expect("blender runs");
        assert!(direct.status.success());
        let direct_file = std::fs::read_dir(&direct_dir)
            .expect("Blender wrote its frame")
            .next()
            .expect("one file")
            .expect("entry")
            .path();
        let difference = pictor_render::compare::compare_frames(
            &std::fs::read(&file.path).expect("delivered"),
            &std::fs::read(&direct_file).expect("direct"),
        )
        .expect("comparable");
        assert!(
            difference.identical(),
            "{main_file} frame {frame}: {difference:?}"
        );
    }
}

/// Issue 15's promise through the real network: jobs with `output: scene` (the default for a
/// .blend) deliver the frames the creator's own `blender -b scene.blend -f N` writes — Filmic with
/// a look and exposure (16-bit PNG), Standard (8-bit PNG), adaptive sampling (JPEG), a glare
/// compositor (multilayer EXR) — under the scene's file names, and the checker accepts them after
/// refinishing each frame's evidence and checking it statistically.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scene_output_jobs_deliver_blender_s_own_frames_and_are_verified() {
    if !common::blender_or_skip() {
        return;
    }
    let setup = setup(&[]).await;
    let url = setup.served.url.clone();
    let blender = std::env::var_os("PICTOR_BLENDER").unwrap_or_else(|| "blender".into());
    let mut agents = vec![
        start_worker_with(&url, &setup.admin, setup.work.path(), "f0", "2", "blender")
            .await
            .0,
    ];
    // The checker's Blender logs each start, to count the Blender sessions it opens.
    let work = setup.work.path();
    let logged_blender = work.join("blender-logged");
    std::fs::write(
        &logged_blender,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            work.join("blender-starts.log").display(),
            which_blender(&blender).display()
        ),
    )
    .expect("wrapper");
    std::fs::set_permissions(
        &logged_blender,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    agents.push(
        start_named_checker(
            &url,
            &setup.admin,
            work,
            "checker",
            &[logged_blender.clone().into_os_string()],
        )
        .await,
    );
    let scenes = [
        (
            serde_json::json!({"view_transform": "Filmic", "look": "Medium High Contrast",
                               "exposure": 0.5, "file_format": "PNG", "color_depth": "16",
                               "filepath": "//render/sh010_####"}),
            "sh010_",
            "png",
        ),
        (
            serde_json::json!({"view_transform": "Standard", "file_format": "PNG",
                               "color_depth": "8"}),
            "frame_",
            "png",
        ),
        (
            serde_json::json!({"adaptive": true, "file_format": "JPEG", "quality": 90}),
            "frame_",
            "jpg",
        ),
        (
            serde_json::json!({"glare": true, "file_format": "OPEN_EXR_MULTILAYER",
                               "color_depth": "32"}),
            "frame_",
            "exr",
        ),
    ];
    for (index, (options, prefix, extension)) in scenes.into_iter().enumerate() {
        let folder = setup.work.path().join(format!("faithful-{index}"));
        std::fs::create_dir_all(&folder).expect("folder");
        let mut options = options;
        options["seed"] = serde_json::json!(11);
        make_scene(&blender, &folder.join("shot.blend"), options);
        assert_scene_output_job(&setup, &blender, &folder, "shot.blend", |frame| {
            format!("{prefix}{frame:04}.{extension}")
        })
        .await;
    }
    drop(agents);
    // Each scene stayed open in one Blender session for all its checks (two frames, two tasks,
    // two checks a job at least): one session a scene, not one a check.
    let checks = std::fs::read_to_string(work.join("checker.log"))
        .expect("checker log")
        .lines()
        .filter(|line| line.starts_with("pictor: check ") && line.ends_with("): Accept"))
        .count();
    let starts = std::fs::read_to_string(work.join("blender-starts.log")).expect("starts log");
    let sessions = starts
        .lines()
        .filter(|line| line.contains("pictor_session.py"))
        .count();
    assert!(checks >= 8, "{checks} checks accepted");
    assert_eq!(sessions, 4, "one Blender session per scene: {starts}");
}

/// The executable `blender` names: a path, or a name looked up on `PATH`.
fn which_blender(blender: &std::ffi::OsStr) -> PathBuf {
    let named = Path::new(blender);
    if named.components().count() > 1 {
        return named.to_path_buf();
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(named))
        .find(|path| path.is_file())
        .expect("blender on PATH")
}

/// Denoising through the real network, on Blender 4.2 (`PICTOR_BLENDER_4`, an official build with
/// OpenImageDenoise): the scene, saved by 4.2, goes only to a worker offering 4.2; its denoised
/// AgX frames equal Blender's own and a checker running 4.2 accepts them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denoised_scene_output_job_on_blender_4_is_delivered_and_verified() {
    let Some(blender) = std::env::var_os("PICTOR_BLENDER_4") else {
        assert!(
            std::env::var("PICTOR_REQUIRE_BLENDER_4").as_deref() != Ok("1"),
            "PICTOR_REQUIRE_BLENDER_4=1 but PICTOR_BLENDER_4 is not set"
        );
        println!("SKIP: PICTOR_BLENDER_4 is not set (scripts/install-bpy-blender)");
        return;
    };
    let setup = setup(&[]).await;
    let url = setup.served.url.clone();
    let account = setup
        .admin
        .accounts()
        .create(Role::Worker, "b4")
        .await
        .expect("worker account");
    let dir = setup.work.path();
    let config = dir.join("b4.toml");
    let key_file = private_key_file(dir, "b4", &account.api_key);
    let init = pictor(&[
        "worker",
        "init",
        "--network",
        &url,
        "--api-key-file",
        &key_file,
        "--name",
        "b4",
        "--price",
        "2",
        "--out",
        config.to_str().expect("utf-8 path"),
        "--renderer",
        "blender",
        "--blender",
        blender.to_str().expect("utf-8 path"),
    ]);
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let worker = Agent(
        Command::new(PICTOR)
            .args(["worker", "run", "--poll-secs", "0.2", "--config"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("worker run"),
    );
    // Two checkers: one with Debian's Blender only, one with both Blenders. The frames Blender
    // 4.2 finished are leased only to the second (the first could not refinish them exactly).
    let debian_blender =
        std::env::var_os("PICTOR_BLENDER").unwrap_or_else(|| std::ffi::OsString::from("blender"));
    let checker_3 = start_named_checker(
        &url,
        &setup.admin,
        dir,
        "checker-3",
        std::slice::from_ref(&debian_blender),
    )
    .await;
    let checker = start_named_checker(
        &url,
        &setup.admin,
        dir,
        "checker-4",
        &[debian_blender, blender.clone()],
    )
    .await;
    let folder = dir.join("denoised");
    std::fs::create_dir_all(&folder).expect("folder");
    make_scene(
        &blender,
        &folder.join("shot.blend"),
        serde_json::json!({"denoise": true, "adaptive": true, "view_transform": "AgX",
                           "file_format": "PNG", "color_depth": "8", "seed": 11}),
    );
    assert_scene_output_job(&setup, &blender, &folder, "shot.blend", |frame| {
        format!("frame_{frame:04}.png")
    })
    .await;
    drop((worker, checker, checker_3));
    let log = |name: &str| std::fs::read_to_string(dir.join(format!("{name}.log"))).expect("log");
    let (only_3, both) = (log("checker-3"), log("checker-4"));
    assert!(only_3.contains("checker connected"), "{only_3}");
    assert!(
        !only_3.contains("pictor: check "),
        "the checker without Blender 4.2 was leased nothing: {only_3}"
    );
    assert!(both.contains("): Accept"), "{both}");
}
