//! `pictor migrate`: a network on SQLite with a finished and a running job moves to PostgreSQL and
//! goes on there — the running job completes, new accounts get fresh ids, the ledger head is the
//! one SQLite had and verifies, online and offline (`pictor ledger verify --data --database`) —
//! and a second migration onto the now non-empty database is refused. Runs whatever the run's store (it needs PostgreSQL's binaries; skips without them
//! unless `PICTOR_REQUIRE_POSTGRES=1`).
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Network, check_once, deliver, small_spec as spec, upload_test_scene as scene};
use pictor_core::api::{Role, Verdict};
use pictor_core::job::JobState;
use pictor_core::ledger::SigningKey;
use pictor_network::service::Config;
use std::process::Command;

const PICTOR: &str = env!("CARGO_BIN_EXE_pictor");

fn migrate(data: &std::path::Path, to: &str) -> std::process::Output {
    Command::new(PICTOR)
        .args(["migrate", "--json", "--data"])
        .arg(data)
        .args(["--to", to])
        .output()
        .expect("pictor migrate runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_network_moves_from_sqlite_to_postgres_and_goes_on() {
    if !common::postgres::available_or_skip() {
        return;
    }
    let data = tempfile::tempdir().expect("temp dir");
    let network = Network::start_sqlite_in(data, Config::default()).await;
    let (creator, creator_id, creator_api_key) =
        network.account_with_key(Role::Creator, "studio").await;
    network
        .admin
        .accounts()
        .deposit(
            creator_id,
            pictor_core::Money::from_credits(1_000).expect("credits"),
        )
        .send()
        .await
        .expect("deposit");
    let (worker, worker_id, worker_api_key) = network.account_with_key(Role::Worker, "w").await;
    let key = SigningKey::from_bytes(&common::rand_seed(worker_id.0));
    worker
        .workers()
        .register(common::register_request("w", &key, 2))
        .await
        .expect("register");
    let (checker, _, checker_api_key) = network.account_with_key(Role::Checker, "checker").await;
    let (_, _, viewer_api_key) = network.account_with_key(Role::Creator, "viewer").await;
    let asset = scene(&creator).await;
    // A finished job, and a running one with one of its three frames accepted.
    let finished = creator
        .jobs()
        .submit(spec(asset.clone(), "1-2"))
        .send()
        .await
        .expect("submit");
    let running = creator
        .jobs()
        .submit(spec(asset, "1-3"))
        .send()
        .await
        .expect("submit");
    for _ in 0..3 {
        let lease = worker
            .workers()
            .lease()
            .await
            .expect("lease")
            .expect("task");
        deliver(&worker, &key, &lease, "w").await.expect("result");
        check_once(&checker, Verdict::Accept).await;
    }
    assert_eq!(
        creator.jobs().get(finished.id).await.expect("job").state,
        JobState::Completed
    );
    let head = network.coordinator.ledger_head().await.expect("head");
    assert!(head.seq > 0);
    let data = network.stop().await;

    let url = common::postgres::Cluster::get().create_database();
    let moved = migrate(data.path(), &url);
    assert!(
        moved.status.success(),
        "{}",
        String::from_utf8_lossy(&moved.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&moved.stdout).expect("one JSON line");
    assert_eq!(report["ledger_head"], head.hash, "{report}");
    // Entries are numbered from 0: the head is the last one.
    assert_eq!(report["ledger_entries"], head.seq + 1, "{report}");
    let rows = |table: &str| {
        report["tables"]
            .as_array()
            .expect("tables")
            .iter()
            .find(|t| t["table"] == table)
            .map(|t| t["rows"].as_u64().expect("rows"))
            .expect("table listed")
    };
    assert_eq!(rows("jobs"), 2);
    assert_eq!(rows("tasks"), 5);
    assert_eq!(rows("frames"), 3);

    // The same network on PostgreSQL: the same head, the same accounts and keys (clients now talk
    // to the new address), the running job completes.
    let network = Network::start_postgres_in(data, &url, Config::default()).await;
    let worker = common::client(&network.url, &worker_api_key);
    let checker = common::client(&network.url, &checker_api_key);
    let creator = common::client(&network.url, &creator_api_key);
    let viewer = common::client(&network.url, &viewer_api_key);
    assert!(
        viewer.jobs().get(running.id).await.is_err(),
        "another creator's job stays out of sight"
    );
    let after = network.coordinator.ledger_head().await.expect("head");
    assert_eq!((after.seq, &after.hash), (head.seq, &head.hash));
    let view = creator
        .jobs()
        .get(running.id)
        .await
        .expect("the running job");
    assert_eq!(view.state, JobState::Running);
    for _ in 0..2 {
        let lease = worker
            .workers()
            .lease()
            .await
            .expect("lease")
            .expect("task");
        assert_eq!(lease.job, running.id);
        deliver(&worker, &key, &lease, "w").await.expect("result");
        check_once(&checker, Verdict::Accept).await;
    }
    let done = creator.jobs().get(running.id).await.expect("job");
    assert_eq!(done.state, JobState::Completed);
    // New accounts get ids after the moved ones.
    let (_, newcomer) = network.account(Role::Creator, "newcomer").await;
    assert!(
        newcomer.0 > creator_id.0,
        "{newcomer:?} after {creator_id:?}"
    );
    let verify = Command::new(PICTOR)
        .args(["ledger", "verify", "--network", &network.url])
        .output()
        .expect("ledger verify");
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    let data = network.stop().await;
    // Offline too: the journal in the PostgreSQL database verifies with the data dir's key.
    let offline = Command::new(PICTOR)
        .args(["ledger", "verify", "--json", "--data"])
        .arg(data.path())
        .args(["--database", &url])
        .output()
        .expect("ledger verify --data --database");
    assert!(
        offline.status.success(),
        "{}{}",
        String::from_utf8_lossy(&offline.stdout),
        String::from_utf8_lossy(&offline.stderr)
    );
    let verified: serde_json::Value = serde_json::from_slice(&offline.stdout).expect("json");
    assert_eq!(verified["ok"], true, "{verified}");
    assert!(verified["entries"].as_u64().expect("entries") > head.seq + 1);

    // Migrating again onto the database, now holding a network, is refused.
    let again = migrate(data.path(), &url);
    assert!(!again.status.success());
    let message = String::from_utf8_lossy(&again.stderr);
    assert!(message.contains("not empty"), "{message}");
}
