//! Replicas: two `pictor serve` processes on one PostgreSQL database and one data directory serve
//! one network, with no load balancer — every simulated agent (`pictor_network::sim`) sends its
//! requests to both in turn. Through a SIGKILL of one replica mid-job, and then a crash and
//! restart of PostgreSQL mid-job, every job completes, every task is paid exactly once, the one
//! ledger verifies and both replicas name the same head; an upload whose chunks alternate
//! between the replicas completes; a job's events written by one replica reach a stream on the
//! other; a coordinator with another network key is refused. Runs whatever the run's store (it
//! needs PostgreSQL's binaries; skips without them unless `PICTOR_REQUIRE_POSTGRES=1`).
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::client;
use common::postgres::{Cluster, available_or_skip};
use common::replicas::{Replica, job_through, upload_alternating, wait_healthy};
use futures_util::StreamExt;
use pictor_core::api::{JobEvent, Role};
use pictor_core::ledger::{Ledger, TransferKind, TransferStatus, verify};
use pictor_network::store::postgres::PgStore;
use pictor_sdk::Client;
use serde_json::Value;
use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

const PICTOR: &str = env!("CARGO_BIN_EXE_pictor");

/// Tasks per simulated job.
const TASKS: u32 = common::replicas::TASKS;

/// Submits a one-frame job nobody works on (the simulated workers have stopped) and answers it.
async fn submit_idle_job(creator: &Client) -> pictor_core::JobId {
    let folder = tempfile::tempdir().expect("scene folder");
    std::fs::write(folder.path().join("scene.toml"), b"# replica test scene\n").expect("scene");
    let scene = creator
        .assets()
        .upload_folder(folder.path(), "scene.toml")
        .send()
        .await
        .expect("upload")
        .id;
    let spec = pictor_core::JobSpec::builder(scene, "1".parse().expect("frames"))
        .resolution(16, 16)
        .samples(1)
        .build()
        .expect("spec");
    creator.jobs().submit(spec).send().await.expect("submit").id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_serve_one_network_through_a_replica_kill_and_a_database_restart() {
    if !available_or_skip() {
        return;
    }
    let cluster = Cluster::get();
    let database = cluster.create_database();
    let data = tempfile::tempdir().expect("data dir");
    let mut first = Replica::start(data.path(), &database);
    let second = Replica::start(data.path(), &database);
    let admin_key = std::fs::read_to_string(data.path().join("admin.key")).expect("admin key");
    let admin_key = admin_key.trim();
    let admins = vec![
        client(&first.url, admin_key),
        client(&second.url, admin_key),
    ];
    for admin in &admins {
        wait_healthy(admin).await;
    }

    // A coordinator with a network key of its own (another data directory) must not join: it
    // would seal the shared ledger with another key.
    let stranger = tempfile::tempdir().expect("another data dir");
    let refused = Command::new(PICTOR)
        .args(["serve", "--listen", "127.0.0.1:0", "--json", "--data"])
        .arg(stranger.path())
        .args(["--database", &database])
        .env("PICTOR_LOG", "off")
        .output()
        .expect("pictor serve runs");
    assert!(!refused.status.success(), "a stranger's key was accepted");
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("network key"), "{said}");

    // One resumable upload, its chunks alternating between the replicas.
    let creator = admins[0]
        .accounts()
        .create(Role::Creator, "uploader")
        .await
        .expect("creator");
    let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    upload_alternating(
        (&first.url, &creator.api_key),
        (&second.url, &creator.api_key),
        &bytes,
    )
    .await;

    let first_report = job_through(&admins, async || {}).await;
    assert_eq!(first_report.workers_served, 8, "{first_report:?}");

    // A job's events written by one replica reach a stream held open on the other at once
    // (LISTEN/NOTIFY; without it the stream would re-read only every 5 s).
    admins[1]
        .accounts()
        .deposit(
            creator.account.id,
            pictor_core::Money::from_credits(100).expect("credits"),
        )
        .send()
        .await
        .expect("deposit");
    let on_first = client(&first.url, &creator.api_key);
    let on_second = client(&second.url, &creator.api_key);
    let job = submit_idle_job(&on_first).await;
    let stream = on_second.jobs().events(job);
    futures_util::pin_mut!(stream);
    let opened = stream.next().await.expect("an event").expect("event");
    assert!(!opened.event.is_final(), "{opened:?}");
    // Drain what is already there, then cancel through the other replica.
    while let Ok(Some(event)) =
        tokio::time::timeout(Duration::from_millis(300), stream.next()).await
    {
        assert!(!event.expect("event").event.is_final());
    }
    let cancelled_at = Instant::now();
    on_first.jobs().cancel(job).await.expect("cancel");
    let last = loop {
        let event = stream.next().await.expect("a final event").expect("event");
        if event.event.is_final() {
            break event;
        }
    };
    assert!(matches!(last.event, JobEvent::Cancelled { .. }), "{last:?}");
    let waited = cancelled_at.elapsed();
    assert!(
        waited < Duration::from_secs(3),
        "the cancel reached the other replica's stream after {waited:?}"
    );

    // SIGKILL one replica mid-job: the job completes through the other.
    let kill_report = job_through(&admins, async || first.kill()).await;
    eprintln!("through a replica kill: {kill_report:?}");

    // The killed replica comes back; PostgreSQL crashes and restarts mid-job: the same.
    first = Replica::start(data.path(), &database);
    let admins = vec![
        client(&first.url, admin_key),
        client(&second.url, admin_key),
    ];
    wait_healthy(&admins[0]).await;
    let restart_report = job_through(&admins, async || {
        tokio::task::spawn_blocking(|| cluster.crash())
            .await
            .expect("crash");
        // While the database is down a request is answered 503 `unavailable` with Retry-After
        // (the SDK's retry policy waits and tries again), not 500.
        let answer = common::http_client()
            .get(format!("{}/v1/account", first.url))
            .bearer_auth(admin_key)
            .send()
            .await
            .expect("an answer");
        assert_eq!(answer.status().as_u16(), 503, "{answer:?}");
        assert_eq!(
            answer.headers().get("retry-after").map(|v| v.as_bytes()),
            Some(&b"1"[..])
        );
        let body: Value = answer.json().await.expect("error body");
        assert_eq!(body["error"]["code"], "unavailable", "{body}");
        tokio::time::sleep(Duration::from_secs(1)).await;
        tokio::task::spawn_blocking(|| cluster.recover())
            .await
            .expect("start");
    })
    .await;
    eprintln!("through a database restart: {restart_report:?}");

    // Every task of the three jobs paid exactly once, in one journal that verifies.
    let store = PgStore::open(database.parse().expect("database URL"))
        .await
        .expect("open the database");
    let journal = pictor_network::service::read_journal(&store)
        .await
        .expect("journal");
    let key = pictor_core::ledger::SigningKey::from_bytes(&{
        let text = std::fs::read_to_string(data.path().join("network.key")).expect("key");
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut bytes).expect("hex");
        bytes
    });
    let report = verify(&journal, &key.verifying_key()).expect("the ledger verifies");
    let ledger = Ledger::from_journal(journal).expect("replays");
    let mut settled_per_task: HashMap<u128, u32> = HashMap::new();
    for transfer in ledger.transfers() {
        if transfer.kind == TransferKind::Pending
            && transfer.id.0 >> 126 == 0
            && matches!(transfer.status, TransferStatus::PendingPosted { .. })
        {
            *settled_per_task.entry(transfer.id.0 >> 32).or_default() += 1;
        }
    }
    assert_eq!(settled_per_task.len(), 3 * TASKS as usize);
    assert!(
        settled_per_task.values().all(|&count| count == 1),
        "a task paid twice: {settled_per_task:?}"
    );
    ledger.check_invariants().expect("invariants");
    for admin in &admins {
        let head = admin.ledger().head().await.expect("head");
        assert_eq!(Some(head.seq), report.sealed_upto, "{head:?} vs {report:?}");
    }
    let offline = Command::new(PICTOR)
        .args(["ledger", "verify", "--json", "--data"])
        .arg(data.path())
        .args(["--database", &database])
        .output()
        .expect("ledger verify");
    assert!(
        offline.status.success(),
        "{}",
        String::from_utf8_lossy(&offline.stdout)
    );
}
