//! A newcomer's first jobs against the real coordinator on 127.0.0.1 (issue 22): a job whose
//! renderer cannot read its scene is refused before any worker sees it, and a job submitted while no
//! worker is online waits in the queue and completes once one connects, within its confirmed hold.
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Network, check_once, deliver};
use pictor_core::api::{ErrorCode, Role, Verdict};
use pictor_core::clock::ManualClock;
use pictor_core::job::{JobState, RendererKind};
use pictor_core::{JobSpec, Money};
use pictor_network::service::Config;
use std::sync::Arc;

fn spec(scene: pictor_core::AssetId, renderer: RendererKind) -> JobSpec {
    JobSpec::builder(scene, "1-2".parse().expect("frames"))
        .renderer(renderer)
        .resolution(64, 36)
        .samples(16)
        .build()
        .expect("spec")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_renderer_cannot_read_its_scene_is_refused_naming_the_field() {
    let network = Network::start(Config::default()).await;
    let (creator, creator_id) = network.creator(100).await;
    let (_worker, _, _) = network.worker("w", 2).await;
    let folder = tempfile::tempdir().expect("dir");
    std::fs::write(folder.path().join("shot.blend"), b"BLENDER-v304 not really").expect("blend");
    let blend = creator
        .assets()
        .upload_folder(folder.path(), "shot.blend")
        .send()
        .await
        .expect("upload");
    let before = network
        .admin
        .accounts()
        .get(creator_id)
        .await
        .expect("account")
        .balance;
    let error = creator
        .quotes()
        .create(spec(blend.id.clone(), RendererKind::Builtin))
        .await
        .expect_err("the built-in renderer cannot read a .blend");
    assert_eq!(error.code(), Some(ErrorCode::InvalidInput), "{error}");
    let text = format!("{error:?}");
    assert!(
        text.contains("renderer") && text.contains("blender"),
        "{text}"
    );
    let error = creator
        .jobs()
        .submit(spec(blend.id, RendererKind::Builtin))
        .send()
        .await
        .expect_err("refused at submit too");
    assert_eq!(error.status(), Some(400), "{error}");
    let after = network
        .admin
        .accounts()
        .get(creator_id)
        .await
        .expect("account")
        .balance;
    assert_eq!(after, before, "nothing held");

    // And a .toml scene is not Blender's.
    std::fs::write(folder.path().join("scene.toml"), b"# scene\n").expect("toml");
    let toml = creator
        .assets()
        .upload_folder(folder.path(), "scene.toml")
        .send()
        .await
        .expect("upload");
    let error = creator
        .quotes()
        .create(spec(toml.id, RendererKind::Blender))
        .await
        .expect_err("Blender cannot read a .toml scene");
    assert_eq!(error.status(), Some(400), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_submitted_with_no_worker_online_waits_and_completes_within_its_hold() {
    let clock = Arc::new(ManualClock::starting_now());
    let config = Config {
        clock: clock.clone(),
        ..Config::default()
    };
    let online_ms = config.worker_online_ms;
    let network = Network::start(config).await;
    let (creator, _) = network.creator(100).await;
    let (worker, _, key) = network.worker("night-shift", 2).await;
    let (checker, _) = network.account(Role::Checker, "checker").await;
    let (_dir, folder) = common::scene_folder();
    let asset = creator
        .assets()
        .upload_folder(&folder, "scene.toml")
        .send()
        .await
        .expect("upload");
    // The worker goes quiet: no request for longer than the online window (the coordinator's
    // clock moves past it; nobody waits).
    clock.advance_ms(online_ms + 1);
    let workers = creator.workers().list().await.expect("workers");
    assert!(
        workers.iter().all(|w| !w.online),
        "the worker went offline: {workers:?}"
    );
    let quote = creator
        .quotes()
        .create(spec(asset.id.clone(), RendererKind::Builtin))
        .await
        .expect("a job is priced with no worker online");
    assert!(
        quote.queued_until_online,
        "the quote says the job will wait"
    );
    let job = creator
        .jobs()
        .submit(spec(asset.id, RendererKind::Builtin))
        .max_cost(quote.escrow_hold)
        .send()
        .await
        .expect("queued");
    assert_eq!(job.state, JobState::Queued);
    // The worker connects in the morning and renders it.
    while let Some(lease) = worker.workers().lease().await.expect("lease") {
        deliver(&worker, &key, &lease, "morning")
            .await
            .expect("result");
        check_once(&checker, Verdict::Accept).await;
    }
    let done = creator.jobs().get(job.id).await.expect("job");
    assert_eq!(done.state, JobState::Completed);
    assert!(done.spent <= quote.escrow_hold, "charged within the hold");
    assert!(done.spent > Money::ZERO);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_worker_ever_seen_there_is_no_market_and_the_quote_says_why() {
    let network = Network::start(Config::default()).await;
    let (creator, _) = network.creator(100).await;
    let (_dir, folder) = common::scene_folder();
    let asset = creator
        .assets()
        .upload_folder(&folder, "scene.toml")
        .send()
        .await
        .expect("upload");
    let error = creator
        .quotes()
        .create(spec(asset.id, RendererKind::Builtin))
        .await
        .expect_err("no market");
    assert_eq!(error.code(), Some(ErrorCode::Infeasible), "{error}");
    assert!(format!("{error}").contains("seen"), "{error}");
}
