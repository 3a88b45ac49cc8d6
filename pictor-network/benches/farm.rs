//! The render farm path's per-task overhead (criterion), next to its baseline in the same run:
//!
//! - `farm/worker_agent_1280x720` — one 1280×720 frame of the demo scene (32 spp, EXR) as a job,
//!   from submit until the worker agent (`pictor worker run`'s code, one slot) has delivered its
//!   signed result;
//! - `farm/slurm_farm_1280x720` — the same frame through the farm adapter (`pictor farm run`'s
//!   code, one slot) on a throwaway one-node Slurm cluster (`tests/common/slurm.rs`): lease, lay
//!   out on the farm's storage, `sbatch --hold` + release, `pictor farm exec` on the node, collect,
//!   deliver.
//!
//! Both poll every 100 ms; checking is left out (it is the same for both). The ratio of the two is
//! the farm path's overhead (goal ≤ 1.10×, docs/BENCHMARKS.md). Needs Slurm (`apt install
//! slurm-wlm munge`); without it only the baseline runs.
//!
//! Run: `cargo bench -p pictor-network --bench farm`.
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use common::Network;
use common::agents::{
    built_in_worker_config, demo_spec, start_farm, start_worker, upload_demo_scene,
};
use common::slurm::SlurmCluster;
use criterion::{Criterion, criterion_group, criterion_main};
use pictor_agent::farm::{
    EngineConfig, FarmEvent, FarmOffer, FarmSettings, SlurmSettings, init_farm,
};
use pictor_agent::{RenderersOffered, WorkerEvent};
use pictor_core::api::Role;
use pictor_core::{AssetId, JobSpec, Money};
use pictor_network::service::Config;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn frame_spec(scene: AssetId) -> JobSpec {
    let mut spec = demo_spec(scene, "1");
    spec.resolution.width = 1280;
    spec.resolution.height = 720;
    spec.samples = 32;
    spec
}

/// Submits one one-frame job and waits until `delivered` counts one more delivery.
async fn one_task(creator: &pictor_sdk::Client, scene: &AssetId, delivered: &dyn Fn() -> usize) {
    let before = delivered();
    creator
        .jobs()
        .submit(frame_spec(scene.clone()))
        .send()
        .await
        .expect("submit");
    let started = Instant::now();
    while delivered() == before {
        assert!(started.elapsed() < Duration::from_secs(300), "no delivery");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn farm(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("farm");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(60));

    // Baseline: the worker agent.
    let dir = tempfile::tempdir().unwrap();
    let (network, creator, scene, _scene_dir) = rt.block_on(async {
        let network = Network::start(Config::default()).await;
        let (creator, _) = network.creator(1_000_000).await;
        let (scene_dir, _, scene) = upload_demo_scene(&creator).await;
        (network, creator, scene.id, scene_dir)
    });
    let events = Arc::new(Mutex::new(Vec::new()));
    let worker = rt.block_on(async {
        let config = built_in_worker_config(&network, "gpu", dir.path()).await;
        start_worker(config, None, events.clone())
    });
    let delivered = || {
        events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| matches!(e, WorkerEvent::Submitted { .. }))
            .count()
    };
    group.bench_function("worker_agent_1280x720", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    one_task(&creator, &scene, &delivered).await;
                }
                start.elapsed()
            })
        })
    });
    rt.block_on(worker.stop());

    // The farm path on a one-node Slurm cluster.
    let Some(cluster) = SlurmCluster::start_or_skip(1) else {
        return;
    };
    let farm_dir = tempfile::tempdir().unwrap();
    let (network, creator, scene, _scene_dir) = rt.block_on(async {
        let network = Network::start(Config::default()).await;
        let (creator, _) = network.creator(1_000_000).await;
        let (scene_dir, _, scene) = upload_demo_scene(&creator).await;
        (network, creator, scene.id, scene_dir)
    });
    let farm_events = Arc::new(Mutex::new(Vec::new()));
    let farm = rt.block_on(async {
        let account = network
            .admin
            .accounts()
            .create(Role::Farm, "farm")
            .await
            .unwrap();
        let settings = FarmSettings {
            shared_dir: farm_dir.path().join("shared"),
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
            name: "farm".into(),
            price: Money::from_credits(2).unwrap(),
            slots: 1,
            renderers: RenderersOffered::builtin(),
        };
        let config = init_farm(
            &network.url,
            &account.api_key,
            &offer,
            settings,
            &farm_dir.path().join("farm.toml"),
            false,
        )
        .await
        .unwrap();
        start_farm(config, farm_events.clone())
    });
    let farm_delivered = || {
        farm_events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| matches!(e, FarmEvent::Task(WorkerEvent::Submitted { .. })))
            .count()
    };
    group.bench_function("slurm_farm_1280x720", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    one_task(&creator, &scene, &farm_delivered).await;
                }
                start.elapsed()
            })
        })
    });
    rt.block_on(farm.stop());
    group.finish();
}

criterion_group!(benches, farm);
criterion_main!(benches);
