//! Render farms as compute sources, on a real Slurm cluster (started by the test, FARMS.md) and the
//! real coordinator on 127.0.0.1: a job split between an independent worker and a Slurm farm,
//! verified by the real checker and paid per accepted task; the farm adapter SIGKILLed and
//! restarted; the studio's own work preempting Pictor's tasks; a node lost; a creator's cancel
//! reaching the farm's queue.
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Network;
use common::agents::{
    Running, built_in_worker_config, demo_spec, start_checker, start_farm, start_worker,
    upload_demo_scene,
};
use common::ledger::assert_ledger_sound;
use common::slurm::SlurmCluster;
use pictor_agent::RenderersOffered;
use pictor_agent::farm::{
    EngineConfig, FarmConfig, FarmEvent, FarmOffer, FarmSettings, FarmSummary, SlurmSettings,
    init_farm,
};
use pictor_core::api::Role;
use pictor_core::job::JobState;
use pictor_core::ledger::{Account, PostingKind};
use pictor_core::{AccountId, JobId, JobSpec, Money};
use pictor_network::service::Config;
use pictor_sdk::Client;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A farm account on `network` registered by `pictor farm init`'s code against `cluster`, its
/// config in `dir`, its tasks under `dir/shared`: answers the config and the farm's account id.
async fn slurm_farm(
    network: &Network,
    cluster: &SlurmCluster,
    dir: &Path,
    slots: u32,
    renderers: RenderersOffered,
) -> (FarmConfig, AccountId) {
    let created = network
        .admin
        .accounts()
        .create(Role::Farm, "render-farm")
        .await
        .expect("farm account");
    let settings = FarmSettings {
        shared_dir: dir.join("shared"),
        queue_delay_secs: 30,
        max_requeues: 3,
        engine: EngineConfig::Slurm(SlurmSettings {
            partition: "pictor".into(),
            slurm_conf: Some(cluster.conf.clone()),
            node_command: env!("CARGO_BIN_EXE_pictor").into(),
            sbatch_args: Vec::new(),
        }),
    };
    let offer = FarmOffer {
        name: "render-farm".into(),
        price: Money::from_credits(2).expect("price"),
        slots,
        renderers,
    };
    let config = init_farm(
        &network.url,
        &created.api_key,
        &offer,
        settings,
        &dir.join("farm.toml"),
        false,
    )
    .await
    .expect("farm init");
    assert!(
        config.identity.speed_millis > 0,
        "the nodes' speed was measured"
    );
    (config, created.account.id)
}

/// What each Slurm test starts with: a cluster, a network, a creator with 1,000 credits and the
/// demo scene uploaded.
struct Setup {
    cluster: SlurmCluster,
    network: Network,
    dir: tempfile::TempDir,
    creator: Client,
    scene: pictor_sdk::assets::UploadedAsset,
    _scene_dir: tempfile::TempDir,
}

/// [`Setup`] with a cluster of `nodes`; `None` (the test skips) without Slurm.
async fn setup(nodes: usize) -> Option<Setup> {
    let cluster = SlurmCluster::start_or_skip(nodes)?;
    let network = Network::start(Config::default()).await;
    let (creator, _) = network.creator(1_000).await;
    let (_scene_dir, _, scene) = upload_demo_scene(&creator).await;
    Some(Setup {
        cluster,
        network,
        dir: tempfile::tempdir().unwrap(),
        creator,
        scene,
        _scene_dir,
    })
}

async fn wait_for_state(creator: &Client, job: JobId, state: JobState, limit: Duration) {
    let started = Instant::now();
    loop {
        let view = creator.jobs().get(job).await.expect("job");
        if view.state == state {
            return;
        }
        assert!(
            started.elapsed() < limit,
            "job {job:?} not {state:?} after {limit:?}: {view:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Settlements paid to each worker account (one per accepted task).
async fn settlements(client: &Client) -> HashMap<AccountId, u32> {
    let journal = client.ledger().fetch_journal().await.expect("journal");
    let mut paid = HashMap::new();
    for entry in journal.entries() {
        if let (PostingKind::Settle, Account::Worker(id)) =
            (entry.posting.kind, entry.posting.credit)
        {
            *paid.entry(id).or_default() += 1;
        }
    }
    paid
}

/// The Slurm jobs the adapter submitted, by lease tag (`pictor:<task>:<attempt>`).
fn farm_jobs(cluster: &SlurmCluster) -> HashMap<String, Vec<serde_json::Value>> {
    let mut jobs: HashMap<String, Vec<serde_json::Value>> = HashMap::new();
    for job in cluster.jobs() {
        if let Some(tag) = job["comment"].as_str().filter(|c| c.starts_with("pictor:")) {
            // What the tests read of a job (the whole record is a page long).
            let slim = serde_json::json!({
                "job_id": job["job_id"],
                "job_state": job["job_state"],
                "state_reason": job["state_reason"],
                "restart_cnt": job["restart_cnt"],
                "nodes": job["nodes"],
                "partition": job["partition"],
            });
            jobs.entry(tag.to_string()).or_default().push(slim);
        }
    }
    jobs
}

async fn submit(creator: &Client, spec: JobSpec) -> JobId {
    creator.jobs().submit(spec).send().await.expect("submit").id
}

fn events() -> Arc<Mutex<Vec<FarmEvent>>> {
    Arc::new(Mutex::new(Vec::new()))
}

async fn stop_farm(farm: Running<FarmSummary>) -> FarmSummary {
    farm.stop().await
}

#[tokio::test]
async fn a_job_split_between_a_worker_and_a_slurm_farm_completes_verified_and_paid() {
    let Some(Setup {
        cluster,
        network,
        dir,
        creator,
        scene,
        _scene_dir,
    }) = setup(1).await
    else {
        return;
    };
    let (farm_config, farm_id) = slurm_farm(
        &network,
        &cluster,
        dir.path(),
        2,
        RenderersOffered::builtin(),
    )
    .await;
    std::fs::create_dir_all(dir.path().join("worker")).unwrap();
    let worker_config = built_in_worker_config(&network, "gpu", &dir.path().join("worker")).await;
    let job = submit(&creator, demo_spec(scene.id, "1-8")).await;

    let farm_events = events();
    let farm = start_farm(farm_config, farm_events.clone());
    let worker = start_worker(worker_config, None, Arc::new(Mutex::new(Vec::new())));
    let checker = start_checker(&network, &dir.path().join("checker")).await;
    wait_for_state(&creator, job, JobState::Completed, Duration::from_secs(240)).await;
    let farm_summary = stop_farm(farm).await;
    let worker_summary = worker.stop().await;
    checker.stop().await;

    // Split: both rendered, every task delivered once, each a Slurm job of its own.
    assert!(
        farm_summary.delivered >= 1,
        "the farm rendered nothing: {farm_summary:?}"
    );
    assert!(
        worker_summary.tasks_done >= 1,
        "the worker rendered nothing"
    );
    assert_eq!(farm_summary.failed, 0, "{farm_summary:?}");
    let jobs = farm_jobs(&cluster);
    assert_eq!(
        jobs.len() as u64,
        farm_summary.delivered,
        "one Slurm job per farm task: {jobs:?}"
    );
    for (tag, runs) in &jobs {
        assert_eq!(runs.len(), 1, "{tag} submitted once");
        assert_eq!(runs[0]["job_state"], "COMPLETED", "{tag}: {:?}", runs[0]);
        assert_eq!(runs[0]["partition"], "pictor");
    }
    let queued = farm_events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, FarmEvent::Queued { .. }))
        .count() as u64;
    assert_eq!(queued, farm_summary.delivered);
    // Every frame checked and accepted; the farm paid once per accepted task, through escrow.
    let view = creator.jobs().get(job).await.unwrap();
    assert_eq!((view.tasks_accepted, view.tasks_total), (8, 8));
    let paid = settlements(&creator).await;
    assert_eq!(u64::from(paid[&farm_id]), farm_summary.delivered);
    assert_eq!(
        u64::from(paid.values().sum::<u32>()),
        8,
        "each task paid once: {paid:?}"
    );
    let farm_balance = network.admin.accounts().get(farm_id).await.unwrap().balance;
    assert!(farm_balance > Money::ZERO, "the farm earned");
    assert_ledger_sound(&creator).await;
    // The farm's frames are the frames: downloaded, every one decodes at the job's size.
    let frames = creator.jobs().frames(job).await.unwrap();
    assert_eq!(frames.len(), 8);
}

/// A job of the demo scene whose frames take seconds each here (480×270 at 64 spp, debug build),
/// so the farm's jobs are caught running.
fn slow_spec(scene: pictor_core::AssetId, frames: &str) -> JobSpec {
    let mut spec = demo_spec(scene, frames);
    spec.resolution.width = 480;
    spec.resolution.height = 270;
    spec.samples = 64;
    spec
}

/// Waits (at most `limit`) until `done` holds of the farm's Slurm jobs.
async fn until_jobs(
    cluster: &SlurmCluster,
    limit: Duration,
    what: &str,
    done: impl Fn(&HashMap<String, Vec<serde_json::Value>>) -> bool,
) {
    let started = Instant::now();
    loop {
        let jobs = farm_jobs(cluster);
        if done(&jobs) {
            return;
        }
        assert!(started.elapsed() < limit, "{what} never happened: {jobs:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How many of the farm's Slurm jobs are in `state`.
fn count_in(jobs: &HashMap<String, Vec<serde_json::Value>>, state: &str) -> usize {
    jobs.values()
        .flatten()
        .filter(|job| job["job_state"] == state)
        .count()
}

#[tokio::test]
async fn a_creators_cancel_cancels_the_farms_jobs_within_seconds() {
    let Some(Setup {
        cluster,
        network,
        dir,
        creator,
        scene,
        _scene_dir,
    }) = setup(1).await
    else {
        return;
    };
    let (config, _) = slurm_farm(
        &network,
        &cluster,
        dir.path(),
        2,
        RenderersOffered::builtin(),
    )
    .await;
    let job = submit(&creator, slow_spec(scene.id, "1-6")).await;
    let farm_events = events();
    let farm = start_farm(config, farm_events.clone());
    until_jobs(
        &cluster,
        Duration::from_secs(60),
        "two farm jobs running",
        |jobs| count_in(jobs, "RUNNING") == 2,
    )
    .await;

    creator.jobs().cancel(job).await.expect("cancel");
    let cancelled_at = Instant::now();
    until_jobs(
        &cluster,
        Duration::from_secs(15),
        "the farm's jobs cancelled",
        |jobs| {
            jobs.values()
                .flatten()
                .all(|job| job["job_state"] == "CANCELLED")
        },
    )
    .await;
    let took = cancelled_at.elapsed();
    assert!(took < Duration::from_secs(10), "cancelled after {took:?}");
    let jobs = farm_jobs(&cluster);
    assert_eq!(count_in(&jobs, "CANCELLED"), 2, "{jobs:?}");
    let summary = stop_farm(farm).await;
    assert_eq!(summary.delivered, 0);
    wait_for_state(&creator, job, JobState::Cancelled, Duration::from_secs(5)).await;
    let cancelled = farm_events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, FarmEvent::Cancelled { .. }))
        .count();
    assert_eq!(cancelled, 2);
    assert_ledger_sound(&creator).await;
}

#[tokio::test]
async fn the_studios_own_work_preempts_pictor_tasks_and_the_job_completes_paid_once() {
    let Some(Setup {
        cluster,
        network,
        dir,
        creator,
        scene,
        _scene_dir,
    }) = setup(1).await
    else {
        return;
    };
    let (config, farm_id) = slurm_farm(
        &network,
        &cluster,
        dir.path(),
        2,
        RenderersOffered::builtin(),
    )
    .await;
    let job = submit(&creator, slow_spec(scene.id, "1-2")).await;
    let farm_events = events();
    let farm = start_farm(config, farm_events.clone());
    let checker = start_checker(&network, &dir.path().join("checker")).await;
    until_jobs(
        &cluster,
        Duration::from_secs(60),
        "both tasks running",
        |jobs| count_in(jobs, "RUNNING") == 2,
    )
    .await;

    // The studio's own job takes every CPU of the node on the higher-priority partition.
    let studio = cluster.run(
        "sbatch",
        &[
            "--parsable",
            "--partition=studio",
            "--cpus-per-task=4",
            "--wrap",
            "sleep 3",
        ],
    );
    let studio = studio.trim().to_string();
    until_jobs(
        &cluster,
        Duration::from_secs(15),
        "Pictor's tasks requeued",
        |jobs| {
            jobs.values()
                .flatten()
                .all(|job| job["restart_cnt"].as_u64() >= Some(1))
        },
    )
    .await;
    wait_for_state(&creator, job, JobState::Completed, Duration::from_secs(180)).await;
    let summary = stop_farm(farm).await;
    checker.stop().await;

    let studio_state = cluster
        .jobs()
        .into_iter()
        .find(|j| j["job_id"].as_u64().map(|id| id.to_string()) == Some(studio.clone()))
        .expect("the studio's job");
    assert_eq!(
        studio_state["job_state"], "COMPLETED",
        "the studio's work ran first"
    );
    assert_eq!(summary.delivered, 2, "{summary:?}");
    assert!(summary.requeues >= 2, "{summary:?}");
    assert!(
        farm_events
            .lock()
            .unwrap()
            .iter()
            .any(|e| matches!(e, FarmEvent::Requeued { .. }))
    );
    // One Slurm job per task (requeued, not resubmitted), each paid once.
    let jobs = farm_jobs(&cluster);
    assert_eq!(jobs.len(), 2);
    assert!(jobs.values().all(|runs| runs.len() == 1));
    assert_eq!(settlements(&creator).await.get(&farm_id), Some(&2));
    assert_ledger_sound(&creator).await;
}

#[tokio::test]
async fn the_farm_adapter_killed_mid_job_and_restarted_renders_nothing_twice() {
    let Some(Setup {
        cluster,
        network,
        dir,
        creator,
        scene,
        _scene_dir,
    }) = setup(1).await
    else {
        return;
    };
    let (_, farm_id) = slurm_farm(
        &network,
        &cluster,
        dir.path(),
        2,
        RenderersOffered::builtin(),
    )
    .await;
    let config_path = dir.path().join("farm.toml");
    let job = submit(&creator, slow_spec(scene.id, "1-4")).await;
    let checker = start_checker(&network, &dir.path().join("checker")).await;
    let adapter = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_pictor"))
            .args(["farm", "run", "--poll-secs", "0.2", "--config"])
            .arg(&config_path)
            .stdin(std::process::Stdio::null())
            .spawn()
            .expect("pictor farm run")
    };
    let mut first = adapter();
    until_jobs(
        &cluster,
        Duration::from_secs(60),
        "two farm jobs running",
        |jobs| count_in(jobs, "RUNNING") == 2,
    )
    .await;
    first.kill().expect("SIGKILL");
    first.wait().expect("reaped");
    // The farm keeps rendering meanwhile; a restart picks up its jobs and their leases.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut second = adapter();
    wait_for_state(&creator, job, JobState::Completed, Duration::from_secs(240)).await;
    second.kill().expect("stop");
    second.wait().expect("reaped");
    checker.stop().await;

    let jobs = farm_jobs(&cluster);
    assert_eq!(jobs.len(), 4, "every task went to the farm: {jobs:?}");
    for (tag, runs) in &jobs {
        assert_eq!(runs.len(), 1, "{tag} submitted once: {runs:?}");
        assert_eq!(runs[0]["restart_cnt"], 0, "{tag} rendered once");
        assert_eq!(runs[0]["job_state"], "COMPLETED");
    }
    assert_eq!(settlements(&creator).await.get(&farm_id), Some(&4));
    assert_ledger_sound(&creator).await;
}

#[tokio::test]
async fn a_node_lost_mid_task_requeues_it_and_the_job_completes() {
    let Some(Setup {
        mut cluster,
        network,
        dir,
        creator,
        scene,
        _scene_dir,
    }) = setup(2).await
    else {
        return;
    };
    let (config, farm_id) = slurm_farm(
        &network,
        &cluster,
        dir.path(),
        1,
        RenderersOffered::builtin(),
    )
    .await;
    let job = submit(&creator, slow_spec(scene.id, "1")).await;
    let farm_events = events();
    let farm = start_farm(config, farm_events.clone());
    let checker = start_checker(&network, &dir.path().join("checker")).await;
    until_jobs(
        &cluster,
        Duration::from_secs(60),
        "the task running",
        |jobs| count_in(jobs, "RUNNING") == 1,
    )
    .await;
    let running = farm_jobs(&cluster).into_values().flatten().next().unwrap();
    let node = running["nodes"].as_str().unwrap().to_string();
    let lost = cluster.lose_node(&node);
    assert_eq!(lost.len(), 1, "the task ran on {node}");

    // Slurm notices the silent node (SlurmdTimeout), requeues the task; it runs on the other.
    wait_for_state(&creator, job, JobState::Completed, Duration::from_secs(240)).await;
    let summary = stop_farm(farm).await;
    checker.stop().await;
    let runs: Vec<serde_json::Value> = farm_jobs(&cluster).into_values().flatten().collect();
    assert_eq!(runs.len(), 1, "requeued, not resubmitted: {runs:?}");
    assert!(runs[0]["restart_cnt"].as_u64() >= Some(1), "{runs:?}");
    assert_ne!(
        runs[0]["nodes"].as_str(),
        Some(node.as_str()),
        "it ran elsewhere"
    );
    assert_eq!(summary.delivered, 1, "{summary:?}");
    assert_eq!(settlements(&creator).await.get(&farm_id), Some(&1));
    assert_ledger_sound(&creator).await;
}

#[tokio::test]
async fn a_blender_job_split_between_a_worker_and_a_slurm_farm_completes_verified() {
    let Some(cluster) = SlurmCluster::start_or_skip(1) else {
        return;
    };
    if !common::blender_or_skip() {
        return;
    }
    let network = Network::start(Config::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let (creator, _) = network.creator(1_000).await;
    let folder = dir.path().join("blend");
    std::fs::create_dir_all(&folder).unwrap();
    common::save_factory_scene(&folder.join("factory.blend"), false);
    let asset = creator
        .assets()
        .upload_folder(&folder, "factory.blend")
        .send()
        .await
        .expect("upload");
    let blender = RenderersOffered {
        renderer: "blender".into(),
        blender: Vec::new(),
        models_dir: None,
    };
    let (config, farm_id) = slurm_farm(&network, &cluster, dir.path(), 1, blender.clone()).await;
    let worker_account = network
        .admin
        .accounts()
        .create(Role::Worker, "blender-gpu")
        .await
        .unwrap();
    std::fs::create_dir_all(dir.path().join("worker")).unwrap();
    let worker_config = pictor_agent::init_worker(
        &network.url,
        &worker_account.api_key,
        "blender-gpu",
        Money::from_credits(2).unwrap(),
        &dir.path().join("worker/worker.toml"),
        false,
        &blender,
    )
    .await
    .expect("worker init");
    let (width, height) = (160u32, 96u32);
    let spec = JobSpec::builder(asset.id, "1-4".parse().unwrap())
        .renderer(pictor_core::job::RendererKind::Blender)
        .resolution(width, height)
        .samples(16)
        .output(pictor_core::OutputFormat::Exr)
        .build()
        .unwrap();
    let job = submit(&creator, spec).await;
    let farm = start_farm(config, events());
    let worker = start_worker(worker_config, None, Arc::new(Mutex::new(Vec::new())));
    let checker = start_checker(&network, &dir.path().join("checker")).await;
    wait_for_state(&creator, job, JobState::Completed, Duration::from_secs(300)).await;
    let summary = stop_farm(farm).await;
    let worker_summary = worker.stop().await;
    checker.stop().await;

    assert!(
        summary.delivered >= 1,
        "the farm rendered with Blender: {summary:?}"
    );
    assert!(worker_summary.tasks_done >= 1, "the worker rendered too");
    let paid = settlements(&creator).await;
    assert_eq!(u64::from(paid[&farm_id]), summary.delivered);
    assert_eq!(paid.values().sum::<u32>(), 4);
    let out = dir.path().join("frames");
    let downloaded = creator
        .jobs()
        .download_frames(job, &out)
        .await
        .expect("download");
    let mut decoded = 0;
    for frame in downloaded {
        let image = image::open(&frame.path).expect("a frame decodes");
        assert_eq!((image.width(), image.height()), (width, height));
        decoded += 1;
    }
    assert_eq!(decoded, 4);
    assert_ledger_sound(&creator).await;
}

#[tokio::test]
async fn quotes_route_tasks_to_a_farm_by_cost_and_time_and_show_its_share() {
    let network = Network::start(Config::default()).await;
    let (creator, _) = network.creator(1_000).await;
    let scene = common::upload_test_scene(&creator).await;
    // One machine at 3 credits per bench-hour, and a farm of 8 slots at 2 whose tasks wait
    // 120 s in its own queue.
    let (worker, _, worker_key) = network.worker("gpu", 3).await;
    let (farm, farm_id, _) = network.account_with_key(Role::Farm, "farm").await;
    let farm_key = pictor_core::ledger::SigningKey::from_bytes(&common::rand_seed(77));
    let mut request = common::register_request("farm", &farm_key, 2);
    request.slots = 8;
    request.queue_delay_secs = Some(120);
    let view = farm
        .workers()
        .register(request.clone())
        .await
        .expect("farm registers");
    assert_eq!(view.farm_queue_delay_secs, Some(120));

    // An hour to spare, economy: the cheaper farm takes a share despite its queue. (Without a
    // deadline the plan allows 3 × the fastest finish, well under the farm's queue delay for a
    // job this small.)
    let mut spec = common::small_spec(scene, "1-16");
    spec.tier = pictor_core::job::Tier::Economy;
    spec.deadline_secs = Some(3_600);
    let quote = creator.quotes().create(spec.clone()).await.expect("quote");
    assert_eq!(quote.farm_share.of_tasks, 16);
    assert!(quote.farm_share.tasks > 0, "{quote:?}");
    assert!(quote.farm_share.cost_p50 > Money::ZERO);
    assert!(quote.farm_share.cost_p50 <= quote.cost_p50);
    assert!(
        quote.eta_p50_secs >= 120.0,
        "the farm's queue delay is planned: {quote:?}"
    );

    // A deadline shorter than the farm's queue delay: the machine renders everything.
    spec.deadline_secs = Some(100);
    let quote = creator.quotes().create(spec.clone()).await.expect("quote");
    assert_eq!(quote.farm_share.tasks, 0, "{quote:?}");
    assert!(quote.eta_p50_secs <= 100.0, "{quote:?}");

    // A farm whose queue is short enough takes part again…
    request.queue_delay_secs = Some(1);
    farm.workers()
        .register(request.clone())
        .await
        .expect("re-registers");
    let quote = creator.quotes().create(spec.clone()).await.expect("quote");
    assert!(quote.farm_share.tasks > 0, "{quote:?}");
    // …but not in the priority tier, planned for the fastest finish: the machine starts now.
    spec.tier = pictor_core::job::Tier::Priority;
    let quote = creator.quotes().create(spec).await.expect("quote");
    assert_eq!(quote.farm_share.tasks, 0, "{quote:?}");

    // Only a farm declares a queue delay, and a sane one.
    let mut bad = common::register_request("gpu", &worker_key, 3);
    bad.queue_delay_secs = Some(5);
    let refused = worker
        .workers()
        .register(bad)
        .await
        .expect_err("a worker has no queue");
    assert!(
        refused
            .to_string()
            .contains("only a farm account declares a queue delay"),
        "{refused}"
    );
    request.queue_delay_secs = Some(10 * 86_400);
    let refused = farm
        .workers()
        .register(request)
        .await
        .expect_err("too long");
    assert!(refused.to_string().contains("at most 86400"), "{refused}");
    let listed = creator.workers().list().await.unwrap();
    let listed_farm = listed.iter().find(|w| w.id.0 == farm_id.0).unwrap();
    assert_eq!(
        listed_farm.farm_queue_delay_secs,
        Some(1),
        "a refused registration changed nothing"
    );
}

/// What the journal of `client`'s network paid each worker account (settlements).
async fn earned(client: &Client) -> HashMap<AccountId, Money> {
    let journal = client.ledger().fetch_journal().await.expect("journal");
    let mut paid: HashMap<AccountId, Money> = HashMap::new();
    for entry in journal.entries() {
        if let (PostingKind::Settle, Account::Worker(id)) =
            (entry.posting.kind, entry.posting.credit)
        {
            let total = paid.entry(id).or_insert(Money::ZERO);
            *total = total.checked_add(entry.posting.amount).unwrap();
        }
    }
    paid
}

#[tokio::test]
async fn a_pictor_network_serves_as_a_farm_of_another_and_both_ledgers_reconcile() {
    let outer = Network::start(Config::default()).await;
    let inner = Network::start(Config::default()).await;
    let dir = tempfile::tempdir().unwrap();
    // The farm's own network: a worker, a checker, and the operator's creator account there.
    let (inner_creator, inner_creator_id, inner_key) =
        inner.creator_named("farm-operator", 100).await;
    std::fs::create_dir_all(dir.path().join("inner-worker")).unwrap();
    let inner_worker_config =
        built_in_worker_config(&inner, "inner-gpu", &dir.path().join("inner-worker")).await;
    let inner_worker = start_worker(inner_worker_config, None, Arc::new(Mutex::new(Vec::new())));
    let inner_checker = start_checker(&inner, &dir.path().join("inner-checker")).await;

    // The network the creator uses: the inner network is a farm of it.
    let (creator, _) = outer.creator(1_000).await;
    let (_scene_dir, _, scene) = upload_demo_scene(&creator).await;
    let farm_account = outer
        .admin
        .accounts()
        .create(Role::Farm, "inner-network")
        .await
        .unwrap();
    let settings = FarmSettings {
        shared_dir: dir.path().join("shared"),
        queue_delay_secs: 5,
        max_requeues: 3,
        engine: EngineConfig::Pictor(pictor_agent::farm::PictorSettings {
            network: inner.url.clone(),
            api_key: inner_key,
        }),
    };
    let offer = FarmOffer {
        name: "inner-network".into(),
        price: Money::from_credits(2).unwrap(),
        slots: 2,
        renderers: RenderersOffered::builtin(),
    };
    let config = init_farm(
        &outer.url,
        &farm_account.api_key,
        &offer,
        settings,
        &dir.path().join("farm.toml"),
        false,
    )
    .await
    .expect("the inner network registers as a farm");
    let job = submit(&creator, demo_spec(scene.id, "1-4")).await;
    let farm = start_farm(config, events());
    let outer_checker = start_checker(&outer, &dir.path().join("outer-checker")).await;
    wait_for_state(&creator, job, JobState::Completed, Duration::from_secs(240)).await;
    let summary = stop_farm(farm).await;
    let inner_summary = inner_worker.stop().await;
    inner_checker.stop().await;
    outer_checker.stop().await;

    // Every frame rendered by the inner network's worker, checked on both networks.
    assert_eq!(summary.delivered, 4, "{summary:?}");
    assert_eq!(inner_summary.tasks_done, 4);
    let mut inner_jobs = Vec::new();
    let mut listing = Box::pin(inner_creator.jobs().list().send());
    while let Some(view) = futures_util::StreamExt::next(&mut listing).await {
        inner_jobs.push(view.unwrap());
    }
    assert_eq!(inner_jobs.len(), 4, "one inner job per forwarded task");
    assert!(inner_jobs.iter().all(|j| j.state == JobState::Completed));
    assert!(
        inner_jobs
            .iter()
            .all(|j| j.spec.tags.iter().all(|t| t.starts_with("pictor:"))),
        "the inner jobs carry the lease tags, nothing of the outer creator's"
    );
    // The frames the creator gets are the inner worker's, byte for byte.
    let outer_frames = creator
        .jobs()
        .download_frames(job, dir.path().join("outer-frames"))
        .await
        .unwrap();
    for inner_job in &inner_jobs {
        let frames = inner_creator
            .jobs()
            .download_frames(
                inner_job.id,
                dir.path().join(format!("inner-{}", inner_job.id.0)),
            )
            .await
            .unwrap();
        for frame in frames {
            let outer_frame = outer_frames
                .iter()
                .find(|f| f.frame == frame.frame)
                .unwrap();
            assert_eq!(
                std::fs::read(&frame.path).unwrap(),
                std::fs::read(&outer_frame.path).unwrap(),
                "frame {}",
                frame.frame
            );
        }
    }
    // Money: each ledger verifies; the outer network paid the farm per accepted task, the inner
    // one charged its creator exactly what its jobs spent and paid its worker for each.
    assert_ledger_sound(&creator).await;
    assert_ledger_sound(&inner_creator).await;
    let outer_paid = settlements(&creator).await;
    assert_eq!(outer_paid.get(&farm_account.account.id), Some(&4));
    let farm_earned = earned(&creator).await[&farm_account.account.id];
    let farm_balance = outer
        .admin
        .accounts()
        .get(farm_account.account.id)
        .await
        .unwrap();
    assert_eq!(farm_balance.balance, farm_earned);
    let inner_spent = inner_jobs
        .iter()
        .fold(Money::ZERO, |total, j| total.checked_add(j.spent).unwrap());
    let operator = inner.admin.accounts().get(inner_creator_id).await.unwrap();
    assert_eq!(
        operator.balance,
        Money::from_credits(100)
            .unwrap()
            .checked_sub(inner_spent)
            .unwrap(),
        "the operator paid the inner network what its jobs spent"
    );
    assert_eq!(settlements(&inner_creator).await.values().sum::<u32>(), 4);
}

#[tokio::test]
async fn a_farm_whose_queue_falls_behind_its_offer_is_planned_later() {
    let Some(Setup {
        cluster,
        network,
        dir,
        creator,
        scene,
        _scene_dir,
    }) = setup(1).await
    else {
        return;
    };
    let (mut config, farm_id) = slurm_farm(
        &network,
        &cluster,
        dir.path(),
        1,
        RenderersOffered::builtin(),
    )
    .await;
    config.farm.queue_delay_secs = 1;
    // The studio's own work holds every CPU of the node for a while.
    cluster.run(
        "sbatch",
        &[
            "--parsable",
            "--partition=studio",
            "--cpus-per-task=4",
            "--wrap",
            "sleep 8",
        ],
    );
    let job = submit(&creator, demo_spec(scene.id, "1")).await;
    let farm_events = events();
    let farm = start_farm(config, farm_events.clone());
    let checker = start_checker(&network, &dir.path().join("checker")).await;
    wait_for_state(&creator, job, JobState::Completed, Duration::from_secs(120)).await;
    stop_farm(farm).await;
    checker.stop().await;

    let changed: Vec<u32> = farm_events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            FarmEvent::OfferChanged { queue_delay_secs } => Some(*queue_delay_secs),
            _ => None,
        })
        .collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert!(
        changed[0] >= 5,
        "the task waited ~8 s behind the studio's job: {changed:?}"
    );
    let listed = creator.workers().list().await.unwrap();
    let farm_view = listed.iter().find(|w| w.id.0 == farm_id.0).unwrap();
    assert_eq!(
        farm_view.farm_queue_delay_secs,
        Some(changed[0]),
        "the network plans with it"
    );
}
