//! A `.blend` is only sent to workers whose Blender can open it (issue 15, "Blender versions"):
//! the coordinator reads the version that saved the scene from the file's header (plain, zstd or
//! gzip), the job asks at least for that Blender, and a job no worker can open gets a clear 422.
//! Against the real coordinator on 127.0.0.1; the last test saves scenes with the real Blender.

// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Network;
use pictor_core::api::Role;
use pictor_core::job::{RendererKind, Version, VersionConstraint};
use pictor_core::{AssetId, JobSpec};
use pictor_network::service::Config;
use pictor_sdk::Client;

/// Registers a worker offering Blender `blender` and the built-in renderer; answers its client and
/// signing key.
async fn blender_worker(
    network: &Network,
    blender: Version,
) -> (Client, ed25519_dalek::SigningKey) {
    let (worker, id) = network.account(Role::Worker, "blender-box").await;
    let key = ed25519_dalek::SigningKey::from_bytes(&common::rand_seed(id.0));
    let mut request = common::register_request("blender-box", &key, 2);
    request
        .hardware
        .renderers
        .push((RendererKind::Blender, blender));
    worker.workers().register(request).await.expect("register");
    (worker, key)
}

/// Uploads a folder holding one main file `name` with `bytes`.
async fn upload(creator: &Client, name: &str, bytes: &[u8]) -> AssetId {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join(name), bytes).expect("write");
    creator
        .assets()
        .upload_folder(dir.path(), name)
        .send()
        .await
        .expect("upload")
        .id
}

fn blender_spec(scene: AssetId, version: VersionConstraint) -> JobSpec {
    JobSpec::builder(scene, "1".parse().expect("frames"))
        .renderer(RendererKind::Blender)
        .renderer_version(version)
        .resolution(64, 36)
        .samples(4)
        .build()
        .expect("spec")
}

/// A plain `.blend` header from Blender `major.minor` (up to 4.x), then some bytes.
fn header(major: u32, minor: u32) -> Vec<u8> {
    let mut bytes = format!("BLENDER-v{major}{minor:02}").into_bytes();
    bytes.extend_from_slice(b"REND and the rest of a scene");
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blender_job_asks_at_least_for_the_blender_that_saved_its_scene() {
    let network = Network::start(Config::default()).await;
    let (creator, _) = network.creator(1_000).await;
    blender_worker(&network, Version::new(3, 4, 1)).await;
    let scene = upload(&creator, "shot.blend", &header(3, 4)).await;
    let quote = creator
        .quotes()
        .create(blender_spec(scene.clone(), VersionConstraint::Any))
        .await
        .expect("a 3.4 scene is priced on a 3.4.1 worker");
    assert!(quote.escrow_hold.micros() > 0);
    let job = creator
        .jobs()
        .submit(blender_spec(scene, VersionConstraint::Any))
        .send()
        .await
        .expect("submit");
    assert_eq!(
        job.spec.renderer.version,
        VersionConstraint::AtLeast(Version::new(3, 4, 0)),
        "the job names the Blender its scene needs"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scene_no_worker_can_open_is_refused_naming_the_versions() {
    let network = Network::start(Config::default()).await;
    let (creator, _) = network.creator(1_000).await;
    blender_worker(&network, Version::new(3, 4, 1)).await;
    // Saved by a Blender newer than any worker's: never sent, a 422 that says why.
    let newer = upload(&creator, "shot.blend", &header(4, 2)).await;
    let error = creator
        .quotes()
        .create(blender_spec(newer.clone(), VersionConstraint::Any))
        .await
        .expect_err("no worker has Blender 4.2");
    assert_eq!(error.status(), Some(422), "{error}");
    assert_eq!(error.field(), Some("renderer.version"), "{error}");
    let message = error.to_string();
    assert!(
        message.contains(">=4.2.0") && message.contains("3.4.1"),
        "{message}"
    );
    let refused = creator
        .jobs()
        .submit(blender_spec(newer.clone(), VersionConstraint::Any))
        .send()
        .await
        .expect_err("nothing is submitted");
    assert_eq!(refused.status(), Some(422));
    assert_eq!(
        futures_util::StreamExt::collect::<Vec<_>>(creator.jobs().list().send())
            .await
            .len(),
        0,
        "no job was created"
    );
    // Asking for an older Blender than the one that saved the scene cannot work either.
    let asked_older = creator
        .quotes()
        .create(blender_spec(
            newer,
            VersionConstraint::Exactly(Version::new(3, 4, 1)),
        ))
        .await
        .expect_err("Blender 3.4.1 cannot open a 4.2 scene");
    assert_eq!(asked_older.status(), Some(422));
    assert_eq!(asked_older.field(), Some("renderer.version"));
    assert!(
        asked_older.to_string().contains("saved by Blender 4.2"),
        "{asked_older}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_main_file_that_is_not_a_blend_or_does_not_decompress_is_refused() {
    let network = Network::start(Config::default()).await;
    let (creator, _) = network.creator(1_000).await;
    blender_worker(&network, Version::new(3, 4, 1)).await;
    for (bytes, what) in [
        (&b"PK\x03\x04 a zip named .blend"[..], "not a Blender file"),
        (
            &b"\x28\xb5\x2f\xfd not really zstd"[..],
            "does not decompress",
        ),
        (&b"\x1f\x8b\x08 not really gzip"[..], "does not decompress"),
    ] {
        let scene = upload(&creator, "shot.blend", bytes).await;
        let error = creator
            .quotes()
            .create(blender_spec(scene, VersionConstraint::Any))
            .await
            .expect_err("refused");
        assert_eq!(error.status(), Some(400), "{error}");
        assert_eq!(error.field(), Some("scene"), "{error}");
        assert!(error.to_string().contains(what), "{error}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenes_saved_by_the_real_blender_plain_and_compressed_are_read() {
    if !common::blender_or_skip() {
        return;
    }
    let installed = pictor_render::BlenderRenderer::new()
        .install()
        .expect("blender")
        .version;
    let network = Network::start(Config::default()).await;
    let (creator, _) = network.creator(1_000).await;
    blender_worker(&network, installed).await;
    let dir = tempfile::tempdir().expect("dir");
    for compress in [false, true] {
        let path = dir.path().join(format!("factory-{compress}.blend"));
        common::save_factory_scene(&path, compress);
        let bytes = std::fs::read(&path).expect("read");
        assert_eq!(
            pictor_core::asset::blend::compression_of(&bytes).is_some(),
            compress,
            "Blender compressed the file as asked"
        );
        let scene = upload(&creator, "scene.blend", &bytes).await;
        let job = creator
            .jobs()
            .submit(blender_spec(scene, VersionConstraint::Any))
            .send()
            .await
            .expect("submit");
        assert_eq!(
            job.spec.renderer.version,
            VersionConstraint::AtLeast(Version::new(installed.major, installed.minor, 0)),
            "compress={compress}"
        );
    }
}

/// A scene-output Blender job on a scene saved by Blender `version` leased by a worker with that
/// Blender, its frame and evidence uploaded: answers the worker, its key, the lease and the
/// complete output (evidence, the scene's name, the finishing Blender's version), not yet
/// submitted.
async fn leased_scene_output_task(
    network: &Network,
    version: Version,
) -> (
    Client,
    ed25519_dalek::SigningKey,
    pictor_core::api::TaskLease,
    pictor_core::api::TaskOutput,
) {
    let (creator, _) = network.creator(1_000).await;
    let (worker, key) = blender_worker(network, version).await;
    let scene = upload(
        &creator,
        "shot.blend",
        &header(version.major, version.minor),
    )
    .await;
    let spec = JobSpec::builder(scene, "1".parse().expect("frames"))
        .renderer(RendererKind::Blender)
        .resolution(64, 36)
        .samples(4)
        .build()
        .expect("spec");
    assert_eq!(
        spec.output,
        pictor_core::job::OutputFormat::Scene,
        "the default"
    );
    creator.jobs().submit(spec).send().await.expect("submit");
    let lease = worker
        .workers()
        .lease()
        .await
        .expect("lease")
        .expect("a task");
    let frame = worker
        .workers()
        .upload_output_bytes(b"delivered frame".repeat(10), 1)
        .await
        .expect("upload");
    let evidence = worker
        .workers()
        .upload_output_bytes(b"evidence exr".repeat(10), 1)
        .await
        .expect("upload");
    let mut output = frame.clone();
    output.name = Some("sh010_0001.png".into());
    output.renderer_version = Some(version.to_string());
    output.evidence = Some(pictor_core::api::EvidenceFile {
        hash: evidence.hash.clone(),
        size: evidence.size,
    });
    (worker, key, lease, output)
}

/// A result for an `output: scene` Blender job must carry, for every frame, its evidence, the name
/// the scene gives it and the Blender that finished it, and an evidence blob the worker uploaded;
/// a name with a path in it cannot be signed. Each refusal is a 400 naming the field, and changes
/// nothing: the honest result is taken afterwards on the same lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scene_output_result_carries_evidence_name_and_version_and_nothing_else_does() {
    let network = Network::start(Config::default()).await;
    let (worker, key, lease, complete) =
        leased_scene_output_task(&network, Version::new(3, 4, 1)).await;
    let refused = |output: pictor_core::api::TaskOutput, field: &'static str| {
        let (worker, key, lease) = (worker.clone(), key.clone(), lease.clone());
        async move {
            let result = pictor_sdk::sign_result(&key, lease.task, lease.attempt, vec![output], 5)
                .expect("signed");
            let error = worker
                .workers()
                .submit_result(lease.task, result)
                .await
                .expect_err("refused");
            assert_eq!(error.status(), Some(400), "{field}: {error}");
            assert_eq!(error.field(), Some(field), "{error}");
        }
    };
    let mut no_evidence = complete.clone();
    no_evidence.evidence = None;
    refused(no_evidence, "outputs[0].evidence").await;
    let mut no_name = complete.clone();
    no_name.name = None;
    refused(no_name, "outputs[0].name").await;
    let mut no_version = complete.clone();
    no_version.renderer_version = None;
    refused(no_version, "outputs[0].renderer_version").await;
    let mut not_uploaded = complete.clone();
    not_uploaded.evidence = Some(pictor_core::api::EvidenceFile {
        hash: "ab".repeat(32),
        size: 3,
    });
    refused(not_uploaded, "outputs[0].evidence.hash").await;
    // A name with a path in it cannot even be signed.
    let mut with_path = complete.clone();
    with_path.name = Some("../../etc/passwd".into());
    assert!(pictor_sdk::sign_result(&key, lease.task, lease.attempt, vec![with_path], 5).is_err());
    // The complete result is taken on the same lease.
    let result = pictor_sdk::sign_result(&key, lease.task, lease.attempt, vec![complete], 5)
        .expect("signed");
    let state = worker
        .workers()
        .submit_result(lease.task, result)
        .await
        .expect("taken");
    assert_eq!(state.state, "verifying");
}

/// [`leased_scene_output_task`], its complete result submitted: answers the task's lease.
async fn submitted_scene_output_task(
    network: &Network,
    version: Version,
) -> pictor_core::api::TaskLease {
    let (worker, key, lease, output) = leased_scene_output_task(network, version).await;
    let result =
        pictor_sdk::sign_result(&key, lease.task, lease.attempt, vec![output], 5).expect("signed");
    worker
        .workers()
        .submit_result(lease.task, result)
        .await
        .expect("taken");
    lease
}

/// A frame Blender finished with the scene's settings is refinished sample for sample only by the
/// same Blender version, so its check is leased only to a checker that declares that version; a
/// checker that declares nothing takes any check, and a declaration too long is a 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_frame_s_check_goes_only_to_a_checker_with_its_blender() {
    use pictor_core::api::{CheckLeaseRequest, MAX_CHECKER_RENDERERS};
    let network = Network::start(Config::default()).await;
    let lease = submitted_scene_output_task(&network, Version::new(4, 2, 0)).await;
    let (checker, _) = network.account(Role::Checker, "checker").await;
    let declaring = |renderers: Vec<(RendererKind, Version)>| {
        let checker = checker.clone();
        async move {
            checker
                .checks()
                .lease_for(CheckLeaseRequest {
                    renderers,
                    ..CheckLeaseRequest::default()
                })
                .await
        }
    };
    let builtin = (RendererKind::Builtin, Version::new(0, 1, 0));
    let blender = |major, minor, patch| (RendererKind::Blender, Version::new(major, minor, patch));
    assert!(declaring(vec![builtin]).await.expect("lease").is_none());
    assert!(
        declaring(vec![builtin, blender(3, 4, 1), blender(4, 1, 0)])
            .await
            .expect("lease")
            .is_none(),
        "no checker without Blender 4.2.0 gets it"
    );
    let error = declaring(vec![blender(4, 2, 0); MAX_CHECKER_RENDERERS + 1])
        .await
        .expect_err("too many");
    assert_eq!(error.status(), Some(400), "{error}");
    assert_eq!(error.field(), Some("renderers"), "{error}");
    let check = declaring(vec![builtin, blender(3, 4, 1), blender(4, 2, 0)])
        .await
        .expect("lease")
        .expect("the checker with Blender 4.2.0 gets it");
    assert_eq!(check.task, lease.task);
    assert_eq!(check.outputs[0].renderer_version.as_deref(), Some("4.2.0"));

    // A checker that declares nothing (`{}`, what older checkers send) is leased any check.
    let lease = submitted_scene_output_task(&network, Version::new(4, 2, 0)).await;
    let check = checker
        .checks()
        .lease()
        .await
        .expect("lease")
        .expect("any check");
    assert_eq!(check.task, lease.task);
}
