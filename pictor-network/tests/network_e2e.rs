//! End to end through the SDK against the real coordinator on 127.0.0.1: accounts, deposits, a
//! deduplicated scene upload, quote, submit, signed worker results, checker verdicts, live events,
//! frame downloads, and a ledger that balances and verifies.
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Network, scene_folder};
use ed25519_dalek::SigningKey;
use futures_util::StreamExt;
use pictor_core::api::{Role, TaskLease, Verdict};
use pictor_core::ledger::{Account, Ledger, verify};
use pictor_core::{JobSpec, Money};
use pictor_network::blobs::BlobStore;
use pictor_network::service::Config;
use pictor_sdk::Client;
use serde_json::json;
use std::path::Path;
use std::time::Duration;

/// What a worker "renders" for a frame: distinct bytes per frame and worker.
pub fn fake_frame(frame: u32, tag: &str) -> Vec<u8> {
    format!("frame {frame} by {tag}").into_bytes().repeat(100)
}

/// Leases one task and completes it with a signed result. Answers the lease.
pub async fn render_one(
    worker: &Client,
    key: &SigningKey,
    dir: &Path,
    tag: &str,
) -> Option<TaskLease> {
    let lease = worker.workers().lease().await.expect("lease")?;
    let frames = match &lease.work {
        pictor_core::task::TaskWork::Frames { frames } => frames.clone(),
        pictor_core::task::TaskWork::Tile { frame, .. } => vec![*frame],
    };
    let mut outputs = Vec::new();
    for frame in frames {
        let path = dir.join(format!("{tag}-{}-{frame}.png", lease.task.0));
        std::fs::write(&path, fake_frame(frame, tag)).expect("write frame");
        outputs.push(
            worker
                .workers()
                .upload_output(path, frame)
                .await
                .expect("upload output"),
        );
    }
    let result =
        pictor_sdk::sign_result(key, lease.task, lease.attempt, outputs, 10).expect("sign");
    worker
        .workers()
        .submit_result(lease.task, result)
        .await
        .expect("result accepted for checking");
    Some(lease)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_runs_end_to_end_and_the_ledger_balances() {
    let network = Network::start(Config::default()).await;
    let (creator, creator_id) = network.creator(1_000).await;
    let (worker, worker_id, worker_key) = network.worker("gpu-1", 2).await;
    let (checker, checker_id) = network.account(Role::Checker, "checker-1").await;

    // Upload the scene twice: the second upload moves no blob bytes.
    let (_scene, folder) = scene_folder();
    let first = creator
        .assets()
        .upload_folder(&folder, "scene.toml")
        .send()
        .await
        .expect("upload");
    assert_eq!(first.files, 2);
    assert!(first.stats.bytes_sent >= 300_000);
    let received = network.coordinator.blobs().bytes_received();
    let second = creator
        .assets()
        .upload_folder(&folder, "scene.toml")
        .send()
        .await
        .expect("second upload");
    assert_eq!(second.id, first.id, "same folder, same asset id");
    assert_eq!(
        second.stats.bytes_sent, 0,
        "a re-upload sends no blob bytes"
    );
    assert_eq!(
        network.coordinator.blobs().bytes_received(),
        received,
        "the server received no blob bytes for the re-upload"
    );

    let spec = JobSpec::builder(first.id.clone(), "1-3".parse().expect("frames"))
        .resolution(64, 36)
        .samples(16)
        .build()
        .expect("spec");
    let quote = creator.quotes().create(spec.clone()).await.expect("quote");
    assert!(quote.cost_p90 >= quote.cost_p50 && quote.escrow_hold > Money::ZERO);
    let job = creator.jobs().submit(spec).send().await.expect("submit");
    assert_eq!(job.tasks_total, 3);
    assert_eq!(
        job.escrow, quote.escrow_hold,
        "the quote's hold is in escrow"
    );

    let events = tokio::spawn({
        let creator = creator.clone();
        async move {
            creator
                .jobs()
                .events(job.id)
                .map(|event| event.expect("event"))
                .collect::<Vec<_>>()
                .await
        }
    });

    let work = tempfile::tempdir().expect("temp");
    let mut leases = 0;
    while let Some(_lease) = render_one(&worker, &worker_key, work.path(), "w1").await {
        leases += 1;
        let check = checker
            .checks()
            .lease()
            .await
            .expect("check lease")
            .expect("a check waits");
        assert_eq!(check.outputs.len(), 1);
        checker
            .checks()
            .verdict(check.check, Verdict::Accept, json!({"test": "accept"}))
            .await
            .expect("verdict");
    }
    assert_eq!(leases, 3);

    let events = tokio::time::timeout(std::time::Duration::from_secs(30), events)
        .await
        .expect("the event stream ends after completion")
        .expect("events task");
    let kinds: Vec<&str> = events.iter().map(|e| e.kind()).collect();
    assert_eq!(kinds.first(), Some(&"submitted"));
    assert_eq!(kinds.last(), Some(&"completed"));
    assert_eq!(kinds.iter().filter(|k| **k == "task_accepted").count(), 3);
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "events in order, no gaps: {seqs:?}"
    );

    // Resuming from an event id replays only what came after it.
    let resumed: Vec<_> = creator
        .jobs()
        .events_after(job.id, 3)
        .map(|event| event.expect("event"))
        .collect()
        .await;
    assert_eq!(resumed.first().map(|e| e.seq), Some(4));
    assert_eq!(resumed.len(), events.len() - 3);

    let done = creator.jobs().get(job.id).await.expect("job");
    assert_eq!(done.state, pictor_core::job::JobState::Completed);
    assert_eq!(done.tasks_accepted, 3);
    assert_eq!(done.escrow, Money::ZERO, "nothing left in escrow");

    let out = tempfile::tempdir().expect("temp");
    let frames = creator
        .jobs()
        .download_frames(job.id, out.path())
        .await
        .expect("download");
    assert_eq!(frames.len(), 3);
    for frame in 1..=3u32 {
        let bytes = std::fs::read(
            out.path()
                .join(pictor_sdk::frames::frame_file_name(frame, "png")),
        )
        .expect("frame file");
        assert_eq!(bytes, fake_frame(frame, "w1"));
    }

    // The ledger as anyone can fetch it: it verifies against the network key, and replaying it
    // gives balances where the creator's spend is exactly what worker, checker and network got.
    let journal = creator.ledger().fetch_journal().await.expect("journal");
    let head = creator.ledger().head().await.expect("head");
    let key_bytes: [u8; 32] = hex::decode(&head.public_key_hex)
        .expect("hex")
        .try_into()
        .expect("32 bytes");
    let key = pictor_core::ledger::VerifyingKey::from_bytes(&key_bytes).expect("key");
    verify(&journal, &key).expect("the journal verifies");
    let ledger = Ledger::replay(journal.entries()).expect("replay");
    assert_eq!(ledger.trial_balance(), 0);
    let deposit = 1_000_000_000i128;
    let creator_left = ledger.balance(Account::Creator(creator_id));
    let worker_got = ledger.balance(Account::Worker(worker_id));
    let checker_got = ledger.balance(Account::Checker(checker_id));
    let network_got = ledger.balance(Account::NetworkFees);
    assert!(worker_got > 0 && checker_got > 0 && network_got > 0);
    assert_eq!(
        deposit - creator_left,
        worker_got + checker_got + network_got,
        "creator debit = worker + checker + network fee (the refund is back in the balance)"
    );
    assert_eq!(
        i128::from(done.spent.micros()),
        worker_got + checker_got + network_got
    );
    assert_eq!(ledger.escrow_total(), 0);
    let me = worker.accounts().me().await.expect("worker account");
    assert_eq!(i128::from(me.balance.micros()), worker_got);

    // The bootstrap admin key is private to its owner; metrics count what happened.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(network.data.path().join("admin.key"))
            .expect("admin key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let mode = std::fs::metadata(network.data.path().join("network.key"))
            .expect("network key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let metrics = reqwest::get(format!("{}/metrics", network.url))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(metrics.contains("pictor_settlements_total 3"), "{metrics}");
    assert!(metrics.contains("pictor_leases_total 3"), "{metrics}");
}

/// `pictor sim`'s engine on a small scale: 30 simulated workers and 2 checkers drain a 60-task
/// job through the real coordinator without an error, and the work is spread over the workers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_workers_drain_a_job_and_share_it() {
    let options = pictor_network::sim::SimOptions {
        workers: 30,
        checkers: 2,
        tasks: 60,
        poll_interval: Duration::from_millis(50),
        time_limit: Duration::from_secs(120),
        ..pictor_network::sim::SimOptions::default()
    };
    let report = pictor_network::sim::simulate_fresh(&options)
        .await
        .expect("simulation");
    assert!(report.completed, "{report:?}");
    assert_eq!(report.accepted, 60, "{report:?}");
    assert_eq!(report.errors, 0, "{report:?}");
    assert_eq!(
        report.dispatch.count, 60,
        "one dispatch per task: {report:?}"
    );
    assert!(report.lease.count >= 60, "{report:?}");
    assert!(report.workers_served >= 10, "{report:?}");
    assert!(report.fairness > 0.3, "{report:?}");
    assert!(report.cycles_per_second > 0.0, "{report:?}");
}
